// The verdict of a run with a command of the user's.
import t from 'tap';
import type { RunResult } from '../src/results/model.js';
import { judgeTarget } from '../src/results/verdict.js';

const base = (over: Partial<RunResult>): RunResult => ({
  runId: 'R',
  startedAt: '',
  command: '',
  status: 'pass',
  exitCode: 0,
  phases: {},
  suites: [],
  ...over,
});
const passing = {
  name: 'create',
  status: 'pass' as const,
  durationMs: 1,
  exitCode: 0,
  tests: [{ id: 1, name: 'a', status: 'pass' as const, diagnostics: [] }],
  errors: [],
  kernelFindings: [],
};

await t.test("with a command, the run's exit code is the command's", async (t) => {
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 0 } })), { status: 'pass', exitCode: 0 }, 'no suite asked for: not "no test ran"');
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 3 } })), { status: 'fail', exitCode: 3 });
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 137, signal: 'KILL' } })), { status: 'fail', exitCode: 137 });
  t.same(
    judgeTarget(base({ suites: [{ ...passing, status: 'fail' }], guestAccess: { mode: 'command', exitCode: 0 } })).exitCode,
    1,
    'a failed suite makes 0 into 1',
  );
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 0, kernelFindings: ['WARNING: x'] } })), { status: 'fail', exitCode: 1 });
  t.same(judgeTarget(base({ infraError: 'the command did not finish', guestAccess: { mode: 'command', exitCode: null } })).exitCode, 2);
  t.equal(judgeTarget(base({})).exitCode, 1, 'a plain run with no suite still proves nothing');
});
