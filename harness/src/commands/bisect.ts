// `sockvm bisect-run`: `sockvm run` with the exit codes `git bisect run` reads: 0 good, 1 bad
// (a guest that crashed under a suite too: the module under test is the likeliest cause), 125
// skip (this commit cannot be tested: the build or the boot failed), and above 127 to stop the
// bisection (an interrupt, or a command line that is wrong at every commit).
import type { ResultsFile } from '../results/model.js';

export const BISECT_USAGE = `Usage: sockvm bisect-run [options of 'sockvm run']

Runs as 'sockvm run' with the same options, and exits as 'git bisect run' expects:
  0    every selected test passed (this commit is good)
  1    a test or suite failed, nothing was tested, or the guest crashed during a suite (a
       panic under the suites is the module's doing until shown otherwise): this commit is bad
  125  the build or the boot failed, or the harness did (this commit cannot be tested: git
       skips it; a build break is bisected with git bisect run make, not with this)
  128  bad usage (an option, a suite or a target that does not exist): the same at every
       commit, so the bisection stops instead of skipping them all
  130/143  interrupted (SIGINT/SIGTERM): the bisection stops
Narrow it to what broke, e.g.
  git bisect start <bad> <good>
  git bisect run npm run -s sockvm -- bisect-run --suite stream --test 'close*' --accel tcg`;

export const BISECT_SKIP = 125;
export const BISECT_ABORT = 128;

/** Whether a run's infrastructure error was a guest that died under a suite (a crash the code under test may have caused). */
export function crashedUnderSuite(results: ResultsFile | undefined): boolean {
  return results?.targets.some((t) => t.suites.some((s) => s.status === 'error')) ?? false;
}

/** `sockvm run`'s exit code (or a thrown error's kind) as `git bisect run` reads it. */
export function bisectExit(runExit: number, usageError = false, crashed = false): number {
  if (usageError) return BISECT_ABORT;
  if (runExit === 0 || runExit === 1) return runExit;
  if (runExit === 130 || runExit === 143) return runExit;
  return crashed ? 1 : BISECT_SKIP;
}
