// How a guest command ended, as the verdict sees it: a suite exec'd by the shell and killed by a
// signal is reported by SSH as that signal, and must count as 128 + its number (not as success).
import t from 'tap';
import { exitCodeOf, type ExecResult } from '../src/guest/ssh.js';
import { reachedTimeLimit } from '../src/suites/time-limit.js';

const r = (code: number | null, signal?: string): ExecResult => ({ code, ...(signal ? { signal } : {}), stdout: '', stderr: '', timedOut: false, lost: false });

await t.test('exit code, or 128 + the signal that ended the command', async (t) => {
  t.equal(exitCodeOf(r(0)), 0);
  t.equal(exitCodeOf(r(3)), 3);
  t.equal(exitCodeOf(r(null, 'KILL')), 137, 'the guest-side timeout (timeout -s KILL)');
  t.equal(exitCodeOf(r(null, 'SEGV')), 139);
  t.equal(exitCodeOf(r(null, 'SIGKILL')), 137, 'as ssh2 names it (with the SIG prefix)');
  t.equal(exitCodeOf(r(null)), null, 'no code and no signal: unknown');
  t.equal(exitCodeOf(r(null, 'NOSUCH')), null);
});

await t.test('reachedTimeLimit: killed by the guest-side limit, our deadline, or no exit status after the whole limit', async (t) => {
  const ended = (code: number | null, signal?: string, extra: Partial<ExecResult> = {}): ExecResult => ({ ...r(code, signal), ...extra });
  t.ok(reachedTimeLimit(ended(null, 'KILL'), 3100, 3), "signal KILL (the suite exec-ed in the shell's place)");
  t.ok(reachedTimeLimit(ended(137), 3100, 3), "the shell's 137");
  t.ok(reachedTimeLimit(ended(null, undefined, { timedOut: true }), 8000, 3), "our deadline, the guest's limit never came");
  t.ok(reachedTimeLimit(ended(null), 3050, 3), 'no exit status after running the whole limit: the limit ended it');
  t.notOk(reachedTimeLimit(ended(null), 1200, 3), 'no exit status well within the limit: something else');
  t.notOk(reachedTimeLimit(ended(null, undefined, { lost: true }), 5000, 3), 'the connection dropped: the guest health check decides');
  t.notOk(reachedTimeLimit(ended(1), 5000, 3), 'a failure exit after the limit is still a failure');
  t.notOk(reachedTimeLimit(ended(0), 5000, 3));
});
