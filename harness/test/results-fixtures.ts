// Fixed results for the golden files and the summary tests: suites judged from TAP text and
// evidence by the real verdict, targets by judgeTarget, the run by judgeRun. No clock, no VM.
import type { TargetLogs } from '../src/report/html.js';
import type { ResultsFile, RunResult, SuiteEvidence, SuiteResult } from '../src/results/model.js';
import { runResultsFile } from '../src/results/results-file.js';
import { type ParsedTap, TapParser } from '../src/results/tap-parser.js';
import { judgeRun, judgeSuite, judgeTarget } from '../src/results/verdict.js';

/** TAP text parsed on a stopped clock: a test without a time= directive took 0 ms, every time. */
function parseTap(text: string): ParsedTap {
  const parser = new TapParser(() => 0);
  for (const line of text.split('\n')) parser.line(line);
  return parser.finish();
}

const none: SuiteEvidence = { exitCode: 0, harnessErrors: [], kernelFindings: [] };

export function suite(name: string, tap: string, evidence: Partial<SuiteEvidence> = {}, durationMs = 1500): SuiteResult {
  const ev = { ...none, ...evidence };
  return { name, durationMs, ...judgeSuite(parseTap(tap), ev), evidence: ev };
}

export function target(name: string, suites: SuiteResult[], extra: Partial<RunResult> = {}): RunResult {
  const run: RunResult = {
    runId: '2026-01-02T03-04-05Z-gold',
    target: name,
    startedAt: '2026-01-02T03:04:05.000Z',
    command: `npm run sockvm -- run --target ${name} --accel tcg --seed 7`,
    status: 'pass',
    exitCode: 0,
    kernel: {
      release: '6.1.0-57-amd64',
      image: '/boot/vmlinuz-6.1.0-57-amd64',
      modulesDir: '/lib/modules/6.1.0-57-amd64',
      buildDir: '/lib/modules/6.1.0-57-amd64/build',
    },
    accelerator: 'tcg',
    accelReason: 'KVM unusable: /dev/kvm is missing',
    seed: 7,
    cpus: 2,
    boot: { toReadyMs: 4200, sshMs: 800, kernelFormat: 'PVH vmlinux', guests: 1 },
    phases: { 'module-build': 10, boot: 5000, suites: 3000 },
    guest: { e1000Bound: true, interface: 'eth0', moduleLoaded: true, moduleUnloaded: true, family: 46 },
    suites,
    ...extra,
  };
  const v = judgeTarget(run);
  run.status = v.status;
  run.exitCode = v.exitCode;
  if (v.problem) run.problem = v.problem;
  if (v.infraError) run.infraError = v.infraError;
  return run;
}

/** One target: a passing suite with a skip and a TODO, a failing one with a kernel warning, a crash. */
export function singleTarget(): RunResult {
  return target('host', [
    suite('create', 'TAP version 14\n1..3\nok 1 - socket() # time=1.250ms\nok 2 - needs root # SKIP not root\nnot ok 3 - known gap # TODO later\n'),
    suite('stream', 'TAP version 14\n1..2\nok 1 - 64 MiB & <back>\nnot ok 2 - close wakes the reader\n# got 0, want 1\n', {
      exitCode: 1,
      kernelFindings: ['WARNING: CPU: 0 PID: 7 at net/newtcp/af.c:12'],
    }),
    suite('hang', 'TAP version 14\n1..2\nok 1 - before\n# running 2 - the guest stops answering\n', {
      exitCode: null,
      crashed: 'crashed: the guest died during the suite (test 2 (the guest stops answering) was running): guest1 stopped answering over SSH',
      crashedTest: { id: 2, name: 'the guest stops answering', status: 'error', durationMs: 900, diagnostics: ['crashed: the guest died during the suite'] },
      kernelFindings: ['watchdog: BUG: soft lockup - CPU#0 stuck for 22s!'],
    }),
  ]);
}

export function singleResults(): ResultsFile {
  const run = singleTarget();
  return runResultsFile([run], { runId: run.runId, command: 'npm run sockvm -- run', matrix: false, verdict: judgeRun([run]) });
}

/** Two targets: one green, one whose two-guest suite's server side failed, one that never booted. */
export function matrixTargets(): RunResult[] {
  const green = target(
    'debian-6.12',
    [suite('create', 'TAP version 14\n1..1\nok 1 - socket()\n'), suite('wire', 'TAP version 14\n1..1\nok 1 - handshake\n', {}, 9000)],
    { boot: { toReadyMs: 4200, sshMs: 800, kernelFormat: 'bzImage', guests: 2 } },
  );
  const server = target('debian-5.10', [
    suite('create', 'TAP version 14\n1..1\nok 1 - socket()\n'),
    suite('wire', 'TAP version 14\n1..1\nok 1 - handshake\n', { harnessErrors: ['the server side on guest2 exited with code 1; see wire.server.log'] }),
  ]);
  const infra = target('6.1-patched', [], { infraError: 'building the kernel (make bzImage modules) failed (exit code 2)\nmake: *** [Makefile:1] Error 2' });
  delete infra.kernel;
  delete infra.guest;
  return [green, server, infra];
}

export function matrixResults(): ResultsFile {
  const runs = matrixTargets();
  return runResultsFile(runs, { runId: '2026-01-02T03-04-05Z-gold', command: 'npm run sockvm -- run --all-targets', matrix: true, verdict: judgeRun(runs) });
}

/** Each target's dmesg and console tails for report.html: fixed text, a hostile line among it. */
export function fixtureLogs(results: ResultsFile): TargetLogs[] {
  return results.targets.map((r) => ({
    dmesg: `[    0.000000] Linux version ${r.kernel?.release ?? '?'}\n[    4.200000] newtcp: loaded\n[    9.100000] <script>alert(1)</script> & "quoted"\n`,
    console: `\u001b[1mSeaBIOS\u001b[0m\nBooting ${r.target ?? 'host'}\nlogin: <img src=x onerror=alert(1)>\n`,
  }));
}
