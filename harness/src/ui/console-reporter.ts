// Turns events into what a person reads: an ora spinner per phase on a terminal, plain lines in
// CI or when output is not a terminal.
import ora, { type Ora } from 'ora';
import type { SockvmEvent } from '../events.js';

const PHASE_TITLES: Record<string, string> = {
  kernel: 'kernel',
  'module-build': 'build newtcp.ko',
  'suite-build': 'build suites',
  'image-build': 'build initramfs',
  'accel-probe': 'choose accelerator',
  boot: 'boot to SSH',
  suites: 'run suites',
  shutdown: 'power off',
};

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export interface ReporterOptions {
  interactive: boolean;
  verbose: boolean;
  out?: NodeJS.WritableStream;
}

export function consoleReporter(o: ReporterOptions): (event: SockvmEvent) => void {
  const out = o.out ?? process.stdout;
  const print = (line: string): void => {
    if (spinner?.isSpinning) spinner.clear();
    out.write(`${line}\n`);
    if (spinner?.isSpinning) spinner.render();
  };
  let spinner: Ora | undefined;
  let lastProgress = 0;
  return (event) => {
    switch (event.type) {
      case 'run-started':
        print(`sockvm run ${event.runId} → ${event.resultsDir}`);
        break;
      case 'target-started':
        print(`── target ${event.target}`);
        break;
      case 'phase-started': {
        const title = `${PHASE_TITLES[event.phase] ?? event.phase}${event.detail ? `: ${event.detail}` : ''}`;
        if (o.interactive) spinner = ora({ text: title, stream: out as NodeJS.WriteStream }).start();
        break;
      }
      case 'phase-ended': {
        const line = `${PHASE_TITLES[event.phase] ?? event.phase} ${secs(event.durationMs)}${event.detail ? ` (${event.detail})` : ''}`;
        if (spinner) {
          spinner.succeed(line);
          spinner = undefined;
        } else print(`✓ ${line}`);
        break;
      }
      case 'progress':
        // A moving line on a terminal; in CI at most one line every 30 s.
        if (spinner) spinner.text = `${PHASE_TITLES[event.phase] ?? event.phase}: ${event.message}`;
        else if (Date.now() - lastProgress > 30000) {
          lastProgress = Date.now();
          print(`  … ${event.message}`);
        }
        break;
      case 'notice':
        print(`note: ${event.message}`);
        break;
      case 'suite-line':
        if (o.verbose) print(`  ${event.suite}| ${event.line}`);
        break;
      case 'test-result':
        if (!o.verbose && event.test.status === 'fail') print(`  not ok ${event.test.id} - ${event.suite}: ${event.test.name}`);
        break;
      case 'suite-ended':
        print(`  suite ${event.suite}: ${event.status.toUpperCase()} in ${secs(event.durationMs)}${event.reason ? ` (${event.reason})` : ''}`);
        break;
      case 'run-ended':
        if (spinner) {
          spinner.fail();
          spinner = undefined;
        }
        for (const line of event.summary) print(line);
        break;
      default:
        break;
    }
  };
}
