// Turns events into what a person reads: an ora spinner per phase for a single target on a
// terminal; plain lines otherwise. With several targets each line carries its target's name,
// so targets run in parallel (--jobs) interleave whole lines instead of overwriting each other.
import ora, { type Ora } from 'ora';
import type { DevCycle, SockvmEvent } from '../events.js';
import type { TestResult } from '../results/model.js';

const PHASE_TITLES: Record<string, string> = {
  kernel: 'kernel',
  'module-build': 'build newtcp.ko',
  'suite-build': 'build suites',
  'image-build': 'build initramfs',
  'accel-probe': 'choose accelerator',
  boot: 'boot to SSH',
  suites: 'run suites',
  'guest-setup': 'load newtcp.ko',
  copy: 'copy into the guest',
  command: 'command in the guest',
  shell: 'shell in the guest',
  shutdown: 'power off',
  'dev-build': 'rebuild',
  'dev-copy': 'copy into the guests',
  'dev-reload': 'reload newtcp.ko',
  'dev-suites': 'run suites',
};

/** Phases whose output is the guest's own (a command, a shell): no spinner may draw over it. */
const GUEST_OWNS_TERMINAL = new Set(['command', 'shell']);

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A failed test's diagnostic lines shown on the console (results.tap keeps them all). */
const FAILURE_LINES = 4;

/** Without a terminal, a kernel build's progress is one line per target at most this often. */
const PLAIN_PROGRESS_MS = 30000;

export interface ReporterOptions {
  /** A terminal that can redraw a line. */
  interactive: boolean;
  verbose: boolean;
  /** Several targets in this run: every target's line is prefixed with its name, no spinner. */
  targets: number;
  out?: NodeJS.WritableStream;
  /** The clock that paces plain progress lines (tests fix it). */
  now?: () => number;
}

export function consoleReporter(o: ReporterOptions): (event: SockvmEvent) => void {
  const out = o.out ?? process.stdout;
  const now = o.now ?? Date.now;
  const prefixed = o.targets > 1;
  const spinning = o.interactive && !prefixed;
  let spinner: Ora | undefined;
  const lastProgress = new Map<string, number>();
  // A suite prints a test's diagnostics after its result line, and the parser adds them to the
  // result it already emitted: a failure is shown once the suite has moved on.
  const failed = new Map<string, { suite: string; test: TestResult; tag: string }>();
  const print = (line: string): void => {
    if (spinner?.isSpinning) spinner.clear();
    out.write(`${line}\n`);
    if (spinner?.isSpinning) spinner.render();
  };
  return (event) => {
    const tag = prefixed && event.target !== undefined ? `[${event.target}] ` : '';
    const line = (text: string): void => print(`${tag}${text}`);
    const showFailure = (key: string): void => {
      const f = failed.get(key);
      if (!f) return;
      failed.delete(key);
      // A subtest shows its own numbers (3.2), not only its parent's.
      print(`${f.tag}  not ok ${f.test.idPath ?? f.test.id} - ${f.suite}: ${f.test.name}`);
      const diagnostics = f.test.diagnostics.filter((d) => d.trim());
      for (const d of diagnostics.slice(0, FAILURE_LINES)) print(`${f.tag}    # ${d}`);
      if (diagnostics.length > FAILURE_LINES) print(`${f.tag}    # … ${diagnostics.length - FAILURE_LINES} more in ${f.suite}.tap`);
    };
    const suiteKey = 'suite' in event ? `${event.target ?? ''}\0${event.suite}` : '';
    switch (event.type) {
      case 'run-started':
        line(`sockvm run ${event.runId} → ${event.resultsDir}`);
        break;
      case 'target-started':
        if (!prefixed) line(`── target ${event.target}`);
        else line('started');
        break;
      case 'phase-started': {
        const title = `${PHASE_TITLES[event.phase] ?? event.phase}${event.detail ? `: ${event.detail}` : ''}`;
        if (GUEST_OWNS_TERMINAL.has(event.phase)) line(`── ${title}`);
        else if (spinning) spinner = ora({ text: title, stream: out }).start();
        break;
      }
      case 'phase-ended': {
        const text = `${PHASE_TITLES[event.phase] ?? event.phase} ${secs(event.durationMs)}${event.detail ? ` (${event.detail})` : ''}`;
        if (spinner) {
          spinner.succeed(text);
          spinner = undefined;
        } else line(`✓ ${text}`);
        break;
      }
      case 'progress': {
        const key = event.target ?? '';
        const at = now();
        if (spinner) spinner.text = `${PHASE_TITLES[event.phase] ?? event.phase}: ${event.message}`;
        else if (at - (lastProgress.get(key) ?? -Infinity) >= PLAIN_PROGRESS_MS) {
          lastProgress.set(key, at);
          line(`  … ${event.message}`);
        }
        break;
      }
      case 'notice':
        line(`note: ${event.message}`);
        break;
      case 'instructions':
        line(event.title);
        for (const l of event.lines) line(`  ${l}`);
        break;
      case 'suite-line':
        if (o.verbose) line(`  ${event.suite}${event.guest && event.guest !== 'guest1' ? `@${event.guest}` : ''}| ${event.line}`);
        break;
      case 'test-result':
        showFailure(suiteKey);
        if (!o.verbose && event.test.status === 'fail') failed.set(suiteKey, { suite: event.suite, test: event.test, tag });
        break;
      case 'suite-ended':
        showFailure(suiteKey);
        line(`  suite ${event.suite}: ${event.status.toUpperCase()} in ${secs(event.durationMs)}${event.reason ? ` (${event.reason})` : ''}`);
        break;
      case 'dev-cycle':
        for (const l of devCycleLines(event.cycle)) line(l);
        break;
      case 'dev-waiting':
        line(`watching ${event.watching.join(', ')} (save to rerun; ^C ends)`);
        break;
      case 'run-ended':
        if (spinner) {
          spinner.fail();
          spinner = undefined;
        }
        for (const l of event.summary) print(l);
        break;
      default:
        break;
    }
  };
}

/** A dev cycle's verdict, what started it and each step's time. */
export function devCycleLines(c: DevCycle): string[] {
  const what = c.index === 0 ? 'after boot' : c.changed.length > 3 ? `${c.changed.slice(0, 3).join(', ')}, …` : c.changed.join(', ');
  const steps = (['build', 'copy', 'reload', 'reboot', 'suites'] as const).flatMap((s) => (c.steps[s] !== undefined ? [`${s} ${secs(c.steps[s])}`] : []));
  const tests = c.suites.map((s) => `${s.name} ${s.passed} passed${s.failed ? `, ${s.failed} failed` : ''}`).join('; ');
  const out = [`● ${c.status.toUpperCase()} #${c.index} (${what}) in ${secs(c.totalMs)}: ${steps.join(', ')}${tests ? ` — ${tests}` : ''}`];
  if (c.moduleBuild) out.push(`  newtcp.ko: ${c.moduleBuild}`);
  if (c.reason) out.push(...c.reason.split('\n').map((l) => `  ${l}`));
  for (const f of (c.kernelFindings ?? []).slice(0, 10)) out.push(`  kernel: ${f}`);
  return out;
}

/** --progress json: every event as one JSON line, for tools and tests that follow a run. */
export function jsonReporter(out: NodeJS.WritableStream = process.stderr): (event: SockvmEvent) => void {
  return (event) => {
    out.write(`${JSON.stringify(event)}\n`);
  };
}
