// How a guest command ended, as the verdict sees it: a suite exec'd by the shell and killed by a
// signal is reported by SSH as that signal, and must count as 128 + its number (not as success).
import t from 'tap';
import { exitCodeOf, type ExecResult } from '../src/guest/ssh.js';

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
