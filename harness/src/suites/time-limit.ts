// Whether a suite ended because it reached its time limit. The guest's `timeout` kills it (a C
// suite by SIGKILL; a program suite's driver ends its programs and then itself by SIGKILL), which
// SSH reports as signal KILL, or as the shell's 137; our own deadline is the backstop. When the
// session ends without an exit status at all, the time it took says it: a suite whose status
// never came after it ran for its whole limit was ended by the limit, not by a failure.
import { exitCodeOf, type ExecResult } from '../guest/ssh.js';

/** 128 + SIGKILL: how the guest-side limit ends a suite. */
const KILLED = 137;

export function reachedTimeLimit(r: Pick<ExecResult, 'code' | 'signal' | 'timedOut' | 'lost'>, ranMs: number, limitSec: number): boolean {
  if (r.timedOut) return true;
  const code = exitCodeOf(r);
  if (code === KILLED) return true;
  return code === null && !r.lost && ranMs >= limitSec * 1000;
}
