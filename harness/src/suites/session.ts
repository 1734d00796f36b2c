// The suites of one target in its lab, round after round (--repeat, --until-fail): each
// suite's result recorded as it ends, and fresh guests after a suite that crashed one (or
// crashed its peer on purpose), so the next suite never runs on a dying kernel.
import { join } from 'node:path';
import { SEED_MAX } from '../config/run-options.js';
import type { EventBus } from '../events.js';
import type { RunResult } from '../results/model.js';
import type { Lab } from '../vm/lab.js';
import type { SuiteRunner } from './runner.js';
import { roundName, type SuiteSpec } from './spec.js';
import { writeOut } from '../util/out-file.js';

export interface SessionOptions {
  lab: Lab;
  runner: SuiteRunner;
  bus: EventBus;
  /** The target's results directory. */
  dir: string;
  suites: SuiteSpec[];
  repeat: number;
  untilFail: boolean;
  /** Aborted when the run is interrupted: the guests were shut down under the running suite. */
  signal: AbortSignal;
}

/** Runs every round's suites into `run` (suites, phases); false when interrupted. */
export async function runRounds(run: RunResult, o: SessionOptions): Promise<boolean> {
  const { lab, runner, bus, dir } = o;
  for (let round = 1; round <= o.repeat; round++) {
    // Round n gets seed + n - 1: a hunt explores, and the pinned rerun line replays every round.
    if (run.seed !== undefined) runner.roundSeed = (run.seed + round - 1) % (SEED_MAX + 1);
    for (const suite of o.suites) {
      const name = roundName(suite.name, round, o.repeat);
      const result = await runner.runSuite(suite, name);
      // Interrupted: the guests were shut down under this suite; it did not crash.
      if (o.signal.aborted) return false;
      run.suites.push(result);
      run.phases[`suite:${name}`] = result.durationMs;
      // On disk an unfinished run is not a pass, in case sockvm dies before the final write.
      const unfinished = `unfinished: the run ended after suite ${name} without writing its final results`;
      bus.emit({ type: 'target-results', dir, run: { ...run, status: 'error', exitCode: 2, infraError: run.infraError ?? unfinished } });
      if (result.status === 'error' || result.peerKilled) {
        // The guest crashed or hung (or the suite crashed its peer): fresh ones take over.
        const why = result.status === 'error' ? 'crashed' : `crashed guest 2 on purpose (${result.peerKilled})`;
        bus.emit({ type: 'notice', message: `suite ${name} ${why}; rebooting the guest${lab.guests.length > 1 ? 's' : ''} for the next suite` });
        await saveCrashConsole(dir, lab, `crash-${name}`);
        const reboot = Date.now();
        await lab.reboot();
        run.phases[`reboot:${name}`] = Date.now() - reboot;
        await runner.prepareGuests({});
      }
    }
    if (o.untilFail && run.suites.some((s) => s.status !== 'pass')) {
      bus.emit({ type: 'notice', message: `--until-fail: round ${round} failed; stopping` });
      break;
    }
  }
  return true;
}

/** What the crashed guest's console showed, kept before the reboot replaces the guest. */
async function saveCrashConsole(dir: string, lab: Lab, name: string): Promise<void> {
  await writeOut(join(dir, `${name}.console.txt`), `${lab.consoleTail(300)}\n`);
}
