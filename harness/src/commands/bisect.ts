// `sockvm bisect-run`: `sockvm run` with the exit codes `git bisect run` reads: 0 good, 1 bad,
// 125 skip (this commit cannot be tested: a build, boot or guest failure), and above 127 to stop
// the bisection (an interrupt, or a command line that is wrong at every commit).

export const BISECT_USAGE = `Usage: sockvm bisect-run [options of 'sockvm run']

Runs as 'sockvm run' with the same options, and exits as 'git bisect run' expects:
  0    every selected test passed (this commit is good)
  1    a test or suite failed, or nothing was tested (this commit is bad)
  125  the build, the boot or the guest failed (this commit cannot be tested: git skips it)
  128  bad usage (an option, a suite or a target that does not exist): the same at every
       commit, so the bisection stops instead of skipping them all
  130/143  interrupted (SIGINT/SIGTERM): the bisection stops
Narrow it to what broke, e.g.
  git bisect start <bad> <good>
  git bisect run npm run -s sockvm -- bisect-run --suite stream --test 'close*' --accel tcg`;

export const BISECT_SKIP = 125;
export const BISECT_ABORT = 128;

/** `sockvm run`'s exit code (or a thrown error's kind) as `git bisect run` reads it. */
export function bisectExit(runExit: number, usageError = false): number {
  if (usageError) return BISECT_ABORT;
  if (runExit === 0 || runExit === 1) return runExit;
  if (runExit === 130 || runExit === 143) return runExit;
  return BISECT_SKIP;
}
