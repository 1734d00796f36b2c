// The verdict decides exit codes once: failures, infrastructure, interrupts, and runs that
// tested nothing (a --test glob that matched no test, suites that only skipped) are not green.
import t from 'tap';
import type { RunResult, SuiteResult, TestResult } from '../src/results/model.js';
import { judgeRun, judgeTarget } from '../src/results/verdict.js';

const test = (name: string, status: TestResult['status']): TestResult => ({ id: 1, name, status, diagnostics: [] });
const suite = (name: string, tests: TestResult[], status: SuiteResult['status'] = 'pass'): SuiteResult => ({ name, status, durationMs: 1, exitCode: 0, tests, errors: [], kernelFindings: [] });
const run = (suites: SuiteResult[], extra: Partial<RunResult> = {}): RunResult => ({ runId: 'r', startedAt: '', command: '', status: 'pass', exitCode: 0, phases: {}, suites, ...extra });

t.test('passing tests pass; a failed suite fails; infrastructure is 2; an interrupt keeps its code', async (t) => {
  t.same(judgeTarget(run([suite('a', [test('x', 'pass'), test('y', 'skip')])])), { status: 'pass', exitCode: 0 });
  t.same(judgeTarget(run([suite('a', [test('x', 'fail')], 'fail')])), { status: 'fail', exitCode: 1 });
  t.same(judgeTarget(run([suite('a', [test('x', 'pass')])], { infraError: 'boot' })), { status: 'error', exitCode: 2 });
  t.equal(judgeTarget(run([suite('a', [test('x', 'pass')])]), { interruptExit: 130 }).exitCode, 130);
  t.same(judgeTarget(run([suite('a', [test('x', 'pass')])], { guest: { kmemleak: ['unreferenced object'] } })), { status: 'fail', exitCode: 1 });
});

t.test('a run that tested nothing is a failure that says why', async (t) => {
  const filtered = judgeTarget(run([suite('create', [test('x', 'skip'), test('y', 'skip')])]), { testFilter: 'nosuch*' });
  t.equal(filtered.exitCode, 1);
  t.match(filtered.problem, /--test 'nosuch\*' matched none of the 2 tests of create/);
  t.match(judgeTarget(run([])).problem, /no suite was selected/);
  t.match(judgeTarget(run([suite('policy', [test('x', 'skip')])])).problem, /policy reported 1 skipped and none passed or failed/);
  // A crash that produced no test result is infrastructure, not "nothing tested".
  t.equal(judgeTarget(run([suite('a', [], 'error')], { infraError: 'crashed' })).exitCode, 2);
});

t.test('the run takes the worst target; no target at all is a failure', async (t) => {
  t.same(judgeRun([{ exitCode: 0 }, { exitCode: 1 }]), { status: 'fail', exitCode: 1 });
  t.same(judgeRun([{ exitCode: 2 }, { exitCode: 1 }]), { status: 'error', exitCode: 2 });
  t.equal(judgeRun([]).exitCode, 1);
  t.same(judgeRun([{ exitCode: 0 }], { setupError: 'x' }), { status: 'error', exitCode: 2 });
  t.same(judgeRun([{ exitCode: 0 }], { interruptExit: 143 }), { status: 'error', exitCode: 143 });
});

t.test('a coverage floor that could not be measured is not met, and says why', async (t) => {
  const v = judgeTarget(run([suite('a', [test('x', 'pass')])], { coverageFloor: { percent: 85, met: false } }));
  t.equal(v.exitCode, 1);
  t.match(v.problem, /coverageFloor 85% could not be checked: no coverage was measured/);
});
