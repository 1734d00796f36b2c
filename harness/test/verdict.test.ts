// The verdict decides a test, a suite (crash, hang, timeout, killsPeer, server side, kernel
// findings), a target and the run, and the exit codes, once: failures, infrastructure, interrupts, and runs that
// tested nothing (a --test glob that matched no test, suites that only skipped) are not green.
import t from 'tap';
import type { RunResult, SuiteEvidence, SuiteResult, TestResult } from '../src/results/model.js';
import { parseTap } from '../src/results/tap-parser.js';
import { countTests, judgeRun, judgeSuite, judgeTarget, judgeTest } from '../src/results/verdict.js';

const test = (name: string, status: TestResult['status']): TestResult => ({ id: 1, name, status, diagnostics: [] });
const suite = (name: string, tests: TestResult[], status: SuiteResult['status'] = 'pass'): SuiteResult => ({
  name,
  status,
  durationMs: 1,
  exitCode: 0,
  tests,
  errors: [],
  kernelFindings: [],
});
const run = (suites: SuiteResult[], extra: Partial<RunResult> = {}): RunResult => ({
  runId: 'r',
  startedAt: '',
  command: '',
  status: 'pass',
  exitCode: 0,
  phases: {},
  suites,
  ...extra,
});

await t.test('passing tests pass; a failed suite fails; infrastructure is 2; an interrupt keeps its code', async (t) => {
  t.same(judgeTarget(run([suite('a', [test('x', 'pass'), test('y', 'skip')])])), { status: 'pass', exitCode: 0 });
  t.same(judgeTarget(run([suite('a', [test('x', 'fail')], 'fail')])), { status: 'fail', exitCode: 1 });
  t.same(judgeTarget(run([suite('a', [test('x', 'pass')])], { infraError: 'boot' })), { status: 'error', exitCode: 2 });
  t.equal(judgeTarget(run([suite('a', [test('x', 'pass')])]), { interruptExit: 130 }).exitCode, 130);
  t.same(judgeTarget(run([suite('a', [test('x', 'pass')])], { guest: { kmemleak: ['unreferenced object'] } })), { status: 'fail', exitCode: 1 });
});

await t.test('a run that tested nothing is a failure that says why', async (t) => {
  const filtered = judgeTarget(run([suite('create', [test('x', 'skip'), test('y', 'skip')])]), { testFilter: 'nosuch*' });
  t.equal(filtered.exitCode, 1);
  t.match(filtered.problem, /--test 'nosuch\*' matched none of the 2 tests of create/);
  t.match(judgeTarget(run([])).problem, /no suite was selected/);
  t.match(judgeTarget(run([suite('policy', [test('x', 'skip')])])).problem, /policy reported 1 skipped and none passed or failed/);
  // A crash that produced no test result is infrastructure, not "nothing tested".
  t.equal(judgeTarget(run([suite('a', [], 'error')], { infraError: 'crashed' })).exitCode, 2);
});

await t.test('the run takes the worst target; no target at all is a failure', async (t) => {
  t.same(judgeRun([{ exitCode: 0 }, { exitCode: 1 }]), { status: 'fail', exitCode: 1 });
  t.same(judgeRun([{ exitCode: 2 }, { exitCode: 1 }]), { status: 'error', exitCode: 2 });
  t.equal(judgeRun([]).exitCode, 1);
  t.same(judgeRun([{ exitCode: 0 }], { setupError: 'x' }), { status: 'error', exitCode: 2 });
  t.same(judgeRun([{ exitCode: 0 }], { interruptExit: 143 }), { status: 'error', exitCode: 143 });
});

await t.test('a coverage floor that could not be measured is not met, and says why', async (t) => {
  const v = judgeTarget(run([suite('a', [test('x', 'pass')])], { coverageFloor: { percent: 85, met: false } }));
  t.equal(v.exitCode, 1);
  t.match(v.problem, /coverageFloor 85% could not be checked: no coverage was measured/);
});

// Each kind of evidence decides a suite, and through it the target, once.
const tap2 = 'TAP version 14\n1..2\nok 1 - a\nok 2 - b\n';
const none = { exitCode: 0, harnessErrors: [], kernelFindings: [] };
const judged = (name: string, tap: string, ev: Partial<SuiteEvidence> = {}): SuiteResult => ({
  name,
  durationMs: 1,
  ...judgeSuite(parseTap(tap), { ...none, ...ev }),
});

await t.test('crash: the running test errors, the suite errors, the target is infrastructure and says which suite', async (t) => {
  const crashed = 'crashed: the guest died during the suite (test 2 (b) was running): Kernel panic';
  const s = judged('panic', 'TAP version 14\n1..2\nok 1 - a\n', {
    exitCode: null,
    crashed,
    crashedTest: { id: 2, name: 'b', status: 'error', diagnostics: [crashed] },
    kernelFindings: ['Kernel panic - not syncing: sysrq triggered crash'],
  });
  t.equal(s.status, 'error');
  t.same(
    s.tests.map((x) => judgeTest(x)),
    ['passed', 'failed'],
  );
  t.same(s.errors, [crashed, 'planned 2 tests but ran 1'], 'the crash first, then what the TAP lacks; no timeout or exit code blamed');
  const v = judgeTarget(run([s, judged('create', tap2)]));
  t.same(v, { status: 'error', exitCode: 2, infraError: 'the guest crashed during panic (the remaining suites ran on a fresh guest)' });
  t.notOk(judgeTarget(run([s], { infraError: 'boot failed' })).infraError, 'an infrastructure error already recorded is kept, not replaced');
});

await t.test('hang: a guest that stopped answering is a crash too, not a timeout', async (t) => {
  const gone = 'crashed: the guest died during the suite (test 1 was running): guest1 stopped answering over SSH (hung kernel?)';
  const s = judged('hang', 'TAP version 14\n1..1\n', { exitCode: null, crashed: gone, timedOutSec: 30 });
  t.equal(s.status, 'error');
  t.notOk(
    s.errors.some((e) => /timed out/.test(e)),
    'the hang explains the timeout',
  );
});

await t.test('timeout: the suite fails and says after how long', async (t) => {
  const s = judged('slow', 'TAP version 14\n1..2\nok 1 - a\n', { exitCode: null, timedOutSec: 30 });
  t.equal(s.status, 'fail');
  t.same(s.errors, ['timed out after 30 s and was killed', 'planned 2 tests but ran 1'], 'the timeout first: the unfinished TAP is its consequence');
  t.same(judgeTarget(run([s])), { status: 'fail', exitCode: 1 });
});

await t.test('killsPeer: a suite that crashed its peer on purpose passes on its tests, and the target with it', async (t) => {
  const s: SuiteResult = { ...judged('peer-crash', tap2), peerKilled: 'Kernel panic - not syncing: sysrq triggered crash' };
  t.equal(s.status, 'pass');
  t.same(judgeTarget(run([s])), { status: 'pass', exitCode: 0 });
});

await t.test('server side failed: the suite fails though every client test passed', async (t) => {
  const s = judged('wire', tap2, { harnessErrors: ['the server side on guest2 exited with code 1; see wire.server.log'] });
  t.equal(s.status, 'fail');
  t.same(s.errors, ['the server side on guest2 exited with code 1; see wire.server.log']);
  t.equal(judgeTarget(run([s])).exitCode, 1);
});

await t.test('dmesg findings fail a green suite; rmmod findings and kmemleak reports fail the target', async (t) => {
  const s = judged('stream', tap2, { kernelFindings: ['WARNING: CPU: 0 PID: 7 at net/newtcp/af.c:12'] });
  t.equal(s.status, 'fail');
  t.same(s.errors, [], 'a kernel finding is its own reason, not an error line');
  t.same(judgeTarget(run([s])), { status: 'fail', exitCode: 1 });
  const green = judged('create', tap2);
  t.same(judgeTarget(run([green], { guest: { unloadFindings: ['BUG: unable to handle page fault'] } })), { status: 'fail', exitCode: 1 });
  t.same(judgeTarget(run([green], { guest: { kmemleak: [] } })), { status: 'pass', exitCode: 0 }, 'kmemleak scanned, nothing found');
  t.equal(judged('x', tap2, { exitCode: 3 }).status, 'fail', 'an exit code no failing test explains');
});

await t.test('a test: TODO counts as passed, a crashed test as failed, SKIP as neither', async (t) => {
  t.same(
    (['pass', 'todo', 'fail', 'error', 'skip'] as const).map((status) => judgeTest({ status })),
    ['passed', 'passed', 'failed', 'failed', 'skipped'],
  );
  t.same(countTests([suite('a', [test('x', 'todo'), test('y', 'skip'), test('z', 'error')])]), { passed: 1, failed: 1, skipped: 1 });
});
