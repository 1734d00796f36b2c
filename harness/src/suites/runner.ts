// Runs one suite in a booted lab: its TAP streamed to <suite>.tap and the bus, with a deadline;
// a two-guest suite's server side on guest 2 and its client side (whose TAP is the result) on
// guest 1. What the run showed besides the TAP (exit code, timeout, a dead guest, new kernel
// reports) is the evidence results/verdict.ts judges the suite with.
import { join } from 'node:path';
import type { EventBus } from '../events.js';
import { exitCodeOf, type ExecResult } from '../guest/ssh.js';
import type { SuiteEvidence, SuiteResult } from '../results/model.js';
import { reportLines, scanDmesg } from '../results/dmesg-scan.js';
import { parseMetricLine } from '../results/metrics.js';
import { TapParser } from '../results/tap-parser.js';
import { judgeSuite } from '../results/verdict.js';
import type { TraceFile } from '../trace/trace-file.js';
import { abortReason } from '../util/cancel.js';
import { InfraError } from '../util/errors.js';
import { commandLine } from '../vm/boot.js';
import type { Lab } from '../vm/lab.js';
import { type GuestFacts, leakReports, prepareGuests, unloadModules } from './guest-setup.js';
import { guestHealth } from './guest-health.js';
import { kernelFindingsSince, markKernelLog } from './kernel-log.js';
import type { SuiteSpec } from './spec.js';
import { type ServerSide, serverEnd, startServer } from './server-side.js';
import { SuiteTracer } from './suite-trace.js';
import { reachedTimeLimit } from './time-limit.js';
import { AppendLog, writeOut } from '../util/out-file.js';

export interface SuiteRunOptions {
  /** A suite's limit when its suite.json names none. */
  defaultTimeoutMs: number;
  /** --suite-timeout: this limit for every suite, whatever its suite.json says. */
  overrideTimeout?: boolean;
  resultsDir: string;
  /** Passed to every suite as SOCKVM_SEED (the fuzzer's seed). */
  seed?: number | undefined;
  /** Passed to every suite as SOCKVM_TEST: a glob on test names the TAP library honours. */
  testFilter?: string | undefined;
  /** A suite's own SOCKVM_TEST (--rerun-failed: its one failed test), over testFilter. */
  suiteTestFilters?: Record<string, string> | undefined;
  /** Whether a suite runs under sockvm-trace (guest 1); its trace goes to onTrace. */
  traced?: (suite: SuiteSpec) => boolean;
  /** Every traced suite of the run: the tracer, started once per boot, watches them all. */
  tracedSuites?: string[];
  onTrace?: (suite: string, trace: TraceFile) => void;
  /** Aborted when the run is interrupted: the guests are stopped under the suite, which is not judged. */
  signal: AbortSignal;
}

export class SuiteRunner {
  /** Guests (by index) whose kernel has kmemleak, baselined before the module loaded. */
  private readonly kmemleak = new Set<number>();
  private readonly tracer: SuiteTracer;

  constructor(
    private readonly lab: Lab,
    private readonly bus: EventBus,
    private readonly o: SuiteRunOptions,
  ) {
    this.tracer = new SuiteTracer(bus, o.resultsDir, o.tracedSuites ?? [], o.onTrace);
  }

  /** Checks every guest's management e1000, loads newtcp.ko in each; facts are guest 1's. */
  async prepareGuests(facts: GuestFacts): Promise<void> {
    this.tracer.newBoot();
    await prepareGuests(this.lab, facts, this.kmemleak);
  }

  /** kmemleak's reports after the suites, on guests whose kernel has it; undefined when none has. */
  leakReports(): Promise<string[] | undefined> {
    return leakReports(this.lab, this.kmemleak);
  }

  /** Unloads newtcp.ko everywhere; kernel reports raised by the unload itself are returned. */
  async unloadModules(facts: GuestFacts): Promise<string[]> {
    await this.tracer.stop();
    return unloadModules(this.lab, facts);
  }

  /** The seed of the round being run (--repeat: each round its own), over the run's. */
  roundSeed: number | undefined;

  /** The guest's shell line for a suite: every word quoted, so names and filters stay data. */
  private command(suite: SuiteSpec, seconds: number, args: string[]): string {
    const env = ['PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `SOCKVM_SUITE=${suite.name}`];
    const seed = this.roundSeed ?? this.o.seed;
    if (seed !== undefined) env.push(`SOCKVM_SEED=${seed}`);
    const filter = this.o.suiteTestFilters?.[suite.name] ?? this.o.testFilter;
    if (filter) env.push(`SOCKVM_TEST=${filter}`);
    if (suite.manifest.bpf.length > 0) env.push(`SOCKVM_BPF_DIR=/suites/${suite.name}.bpf`);
    // The guest-side timeout kills a hung suite even if our connection stalls; ours is the backstop.
    // A program suite's driver gets TERM, on which it kills its whole process group (programs included).
    const signal = suite.files ? 'TERM' : 'KILL';
    return `cd /tmp && ${commandLine(['env', ...env, 'timeout', '-s', signal, String(seconds), `/suites/${suite.name}`, ...args])}`;
  }

  async runSuite(suite: SuiteSpec, resultName = suite.name): Promise<SuiteResult> {
    const started = Date.now();
    this.bus.emit({ type: 'suite-started', suite: resultName });
    const tapFile = join(this.o.resultsDir, `${resultName}.tap`);
    await writeOut(tapFile, '');
    const tapLog = new AppendLog(tapFile);
    const fallback = Math.ceil(this.o.defaultTimeoutMs / 1000);
    const seconds = this.o.overrideTimeout ? fallback : (suite.manifest.timeoutSec ?? fallback);
    const guests = this.lab.guests;
    const marks = await Promise.all(guests.map((g) => markKernelLog(g.ssh)));
    const [client, peer] = guests;
    if (!client) throw new InfraError(`suite ${resultName}: no guest is up to run it on (the lab was not booted)`);
    const result: SuiteResult = { name: resultName, status: 'pass', durationMs: 0, exitCode: null, tests: [], errors: [], kernelFindings: [] };
    const parser = new TapParser();
    /** Metric lines that did not parse: the suite's output is wrong, so it fails naming them. */
    const metricProblems: string[] = [];
    let r: ExecResult | undefined;
    /** How long the suite's command ran, by our clock (its limit runs on the guest's). */
    let ranMs = 0;
    let server: ServerSide | undefined;
    /** The server side's SSH session dropped: its guest may be gone. */
    let serverLost = false;
    const traced = this.o.traced?.(suite) ?? false;
    const traceNotes = traced ? await this.tracer.before(client) : [];
    try {
      const args: string[] = [];
      if (suite.manifest.guests === 2) {
        if (!peer) throw new InfraError(`suite ${suite.name} needs 2 guests (suite.json "guests"), but the lab booted ${guests.length}`);
        const serverCommand = this.command(suite, seconds, ['--role', 'server', '--local', peer.linkIp ?? '', '--peer', client.linkIp ?? '']);
        server = await startServer(suite.name, peer, serverCommand, seconds, join(this.o.resultsDir, `${resultName}.server.log`), this.o.signal);
        args.push('--role', 'client', '--local', client.linkIp ?? '', '--peer', server.guest.linkIp ?? '');
      }
      const execStart = Date.now();
      r = await client.ssh.exec(this.command(suite, seconds, args), {
        timeoutMs: seconds * 1000 + 5000,
        onStdoutLine: (line) => {
          tapLog.append(`${line}\n`);
          this.bus.emit({ type: 'suite-line', suite: resultName, guest: client.name, line });
          const seed = /^#\s*seed (\d+)\b/.exec(line);
          if (seed && result.seed === undefined) result.seed = Number(seed[1]);
          const metric = parseMetricLine(line, `${resultName}.tap`);
          if (metric?.metric) (result.metrics ??= []).push(metric.metric);
          else if (metric?.problem) metricProblems.push(metric.problem);
          for (const test of parser.feed(line)) this.bus.emit({ type: 'test-result', suite: resultName, test });
        },
      });
      ranMs = Date.now() - execStart;
      if (server) {
        const end = await serverEnd(server, suite.name, resultName, this.o.signal);
        serverLost = end.lost;
        if (end.error) result.errors.push(end.error);
      }
    } catch (err) {
      if (!(err instanceof InfraError)) throw err;
      result.errors.push(err.message);
    }
    // The TAP file and the server's log hold everything the guest said, or the run ends naming the file.
    await tapLog.flush();
    await server?.log.flush();
    if (this.o.signal.aborted) {
      // Cut short by the interrupt: its TAP ends early because we stopped it, not because it
      // failed ("planned N but ran M"); the run records the interrupt instead of a verdict.
      result.status = 'error';
      result.errors = [abortReason(this.o.signal)];
      result.durationMs = Date.now() - started;
      this.bus.emit({ type: 'notice', message: `suite ${resultName} stopped after ${Math.round(result.durationMs / 1000)} s: ${abortReason(this.o.signal)}` });
      return result;
    }
    if (traced && client.vm.running) {
      const trace = await this.tracer.after(resultName, traceNotes);
      if (trace) result.trace = trace;
    }
    const tap = parser.finish();
    // Errors the harness found while running it (server side, SSH) are evidence for the verdict.
    const exitCode = r ? exitCodeOf(r) : null;
    const evidence: SuiteEvidence = { exitCode, harnessErrors: [...result.errors.splice(0), ...metricProblems], kernelFindings: [] };

    const health = await guestHealth(this.lab, r, { killsPeer: suite.manifest.killsPeer, serverLost });
    if (health.peerKilled) result.peerKilled = health.peerKilled;
    if (health.gone) {
      // The test the suite announced ("# running N - name") and never reported crashed with it.
      const running = parser.running;
      const what = running ? `test ${running.id} (${running.name}) was running` : `test ${tap.tests.length + 1} was running`;
      evidence.crashed = `crashed: the guest died during the suite (${what}): ${health.gone}`;
      if (running)
        evidence.crashedTest = { id: running.id, name: running.name, status: 'error', durationMs: Date.now() - running.since, diagnostics: [evidence.crashed] };
      evidence.kernelFindings.push(...reportLines(scanDmesg(this.lab.consoleTail(60).split('\n'))));
      if (!evidence.kernelFindings.length) evidence.kernelFindings.push(...this.lab.consoleTail().split('\n'));
    } else {
      if (r && reachedTimeLimit(r, ranMs, seconds)) evidence.timedOutSec = seconds;
      if (r?.stderr.trim()) await writeOut(join(this.o.resultsDir, `${resultName}.stderr`), r.stderr);
      for (const [i, g] of guests.entries()) {
        if (health.living.includes(g)) evidence.kernelFindings.push(...(await kernelFindingsSince(g, marks[i], guests.length)));
      }
    }
    Object.assign(result, judgeSuite(tap, evidence), { evidence });
    result.durationMs = Date.now() - started;
    const ev = { type: 'suite-ended' as const, suite: resultName, status: result.status, durationMs: result.durationMs };
    this.bus.emit(result.errors[0] ? { ...ev, reason: result.errors[0] } : ev);
    return result;
  }
}
