// --rerun-failed <dir> on fixed results: the failed targets and suites are planned again, one
// failed test narrows the run with an exact --test glob, and a run with nothing failed is an
// error naming the directory ("nothing to rerun" is not green).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { makePlan } from '../src/commands/run.js';
import { parseRunOptions, type RunOptions } from '../src/config/run-options.js';
import { failedSelection, literalGlob } from '../src/plan/rerun.js';
import type { ResultsFile, RunResult } from '../src/results/model.js';
import { runResultsFile } from '../src/results/results-file.js';
import { judgeRun } from '../src/results/verdict.js';
import { suite, target } from './results-fixtures.js';

const file = (runs: RunResult[], matrix = true): ResultsFile => runResultsFile(runs, { runId: 'r', command: 'c', matrix, verdict: judgeRun(runs) });
const create = suite('create', 'TAP version 14\n1..2\nok 1 - socket()\nok 2 - bind\n');
const errno = suite('errno', 'TAP version 14\n1..2\nok 1 - EAFNOSUPPORT\nnot ok 2 - EINVAL [*]\n', { exitCode: 1 });
const stream = suite('stream', 'TAP version 14\n1..1\nnot ok 1 - close wakes\n', { exitCode: 1 });

await t.test('what failed, per target; a suite with one failed test gets an exact glob', async (t) => {
  const one = failedSelection(file([target('host', [create, errno]), target('debian-6.1', [create])]), 'r', 'host');
  t.same(one.targets, [{ name: 'host', suites: ['errno'], testFilters: { errno: 'errno/EINVAL [[][*]]' } }]);
  // Two suites with one failure each: each its own glob. Two failures in one suite: the whole suite.
  const two = failedSelection(file([target('host', [create, errno, stream])]), 'r', 'host');
  t.same(two.targets, [{ name: 'host', suites: ['errno', 'stream'], testFilters: { errno: 'errno/EINVAL [[][*]]', stream: 'stream/close wakes' } }]);
  const both = suite('stream', 'TAP version 14\n1..2\nnot ok 1 - a\nnot ok 2 - b\n', { exitCode: 1 });
  t.same(failedSelection(file([target('host', [both])]), 'r', 'host').targets[0]?.testFilters, {});
  // A kernel warning besides the failed test: the whole suite.
  const warned = suite('stream', 'TAP version 14\n1..1\nnot ok 1 - a\n', { exitCode: 1, kernelFindings: ['WARNING: at af.c:1'] });
  t.same(failedSelection(file([target('host', [warned])]), 'r', 'host').targets[0]?.testFilters, {});
  // --repeat rounds are one suite; a target that failed before any suite reruns its own selection.
  const rounds = failedSelection(file([target('host', [suite('errno#1', 'TAP version 14\n1..1\nok 1 - x\n'), { ...errno, name: 'errno#2' }])]), 'r', 'host');
  t.same(rounds.targets, [{ name: 'host', suites: ['errno'], testFilters: { errno: 'errno/EINVAL [[][*]]' } }]);
  const noBoot = failedSelection(file([target('old', [], { infraError: 'boot failed' })]), 'r', 'host');
  t.same(noBoot.targets, [{ name: 'old', suites: [], testFilters: {} }]);
  t.equal(literalGlob("it's"), undefined);
});

await t.test('nothing failed: an error naming the directory, not a green rerun', async (t) => {
  t.throws(() => failedSelection(file([target('host', [create])]), 'results/latest', 'host'), {
    message: '--rerun-failed results/latest: nothing to rerun: its run passed; give the results of a run with failures',
  });
});

await t.test('the plan of a rerun: the failed target, suite and test, in a matrix directory', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-rerun-'));
  const dir = join(root, 'run');
  mkdirSync(dir);
  writeFileSync(join(dir, 'results.json'), JSON.stringify(file([target('host', [create, errno])], false)));
  const options = parseRunOptions(['--rerun-failed', dir, '--results-dir', root, '--accel', 'tcg']) as RunOptions;
  const plan = await makePlan(options);
  t.same(
    plan.targets.map((x) => [x.name, x.suites, x.testFilters]),
    [['host', ['errno'], { errno: 'errno/EINVAL [[][*]]' }]],
  );
  t.equal(plan.testFilter, undefined, "the run's own --test is untouched");
  t.equal(plan.rerunOf, dir);
  writeFileSync(join(dir, 'results.json'), JSON.stringify(file([target('host', [create])], false)));
  await t.rejects(makePlan(parseRunOptions(['--rerun-failed', dir]) as RunOptions), { message: /nothing to rerun: its run passed/ });
  await t.rejects(makePlan(parseRunOptions(['--rerun-failed', join(root, 'nope')]) as RunOptions), {
    message: /--rerun-failed .*nope: no such file or directory/,
  });
});
