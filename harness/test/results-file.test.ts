// results.json's one shape: what the writer renders validates against the schema for one
// target and a matrix; the files of the shapes before it (saved from real runs in
// fixtures/results/legacy-*) are read as it and re-judged to their recorded verdict; the schema
// refuses a file that breaks it.
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultsFile } from '../src/results/model.js';
import { readResultsFile, targetResultsFile } from '../src/results/results-file.js';
import { rejudgeDir } from '../src/results/rejudge.js';
import { resultFiles, runFiles } from '../src/results/writer.js';
import { repoRoot } from '../src/util/paths.js';
import { matrixResults, singleResults, singleTarget } from './results-fixtures.js';
import { schemaErrors } from './results-schema.js';

const FIXTURES = join(repoRoot, 'harness', 'test', 'fixtures', 'results');
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

await t.test('every results.json the writer renders matches the schema: a run, a matrix, a target of a matrix', async (t) => {
  for (const [name, results] of [
    ['single', singleResults()],
    ['matrix', matrixResults()],
  ] as const) {
    const written = readJson(writeTo(runFiles(results)));
    t.same(schemaErrors(written), [], `${name} run`);
    t.equal((written as ResultsFile).targets.length, results.targets.length);
  }
  const own = readJson(writeTo(resultFiles(singleTarget())));
  t.same(schemaErrors(own), [], "a target's own results.json, written after every suite");
  t.match(own, { schemaVersion: 2, matrix: false, targets: [{ target: 'host' }] });
});

await t.test('the saved files of the shapes before schemaVersion 2 read as it, valid, and re-judge to what they recorded', async (t) => {
  const single = join(FIXTURES, 'legacy-single');
  const legacy = readJson(join(single, 'results.json'));
  t.notOk((legacy as Record<string, unknown>).schemaVersion, 'the fixture is the unversioned single-target shape');
  const upgraded = readResultsFile(legacy, 'legacy-single');
  t.same(schemaErrors(upgraded), []);
  t.equal(upgraded.matrix, false);
  const again = await rejudgeDir(single);
  t.same(again.changes, [], 'nothing changes on re-judging');
  t.same(again.missing, []);
  t.equal(again.verdict.exitCode, 2, 'the hang crashed the guest: infrastructure');
  t.match(again.runs[0]?.infraError, /the guest crashed during hang/);

  const matrix = join(FIXTURES, 'legacy-matrix');
  const upgradedMatrix = readResultsFile(readJson(join(matrix, 'results.json')), 'legacy-matrix');
  t.same(schemaErrors(upgradedMatrix), []);
  t.equal(upgradedMatrix.matrix, true, 'an unversioned file with targets was a matrix run');
  const m = await rejudgeDir(matrix);
  t.same(m.changes, []);
  t.equal(m.verdict.exitCode, 1);
  t.match(m.runs[0]?.problem, /no test ran: faults-bpf reported 9 skipped/);
  // A matrix target's own results.json, also the old single shape, re-judges from beside it.
  t.equal((await rejudgeDir(join(matrix, '6.1-patched'))).verdict.exitCode, 1);
});

await t.test('a results.json in the new shape re-judges from the directories "matrix" says', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-results-file-'));
  cpSync(join(FIXTURES, 'legacy-matrix'), dir, { recursive: true });
  const current = readResultsFile(readJson(join(dir, 'results.json')), 'x');
  writeFileSync(join(dir, 'results.json'), JSON.stringify(current));
  t.same((await rejudgeDir(dir)).missing, [], 'the .tap files were found in <dir>/<target>/');
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ ...current, matrix: false }));
  t.same((await rejudgeDir(dir)).missing, ['6.1-patched/faults-bpf'], 'matrix: false looks beside the file');
});

await t.test('the schema refuses a file that breaks it, naming where', async (t) => {
  const good = singleResults();
  t.match(schemaErrors({ ...good, status: 'passed' }), ['/status: must be equal to one of the allowed values']);
  t.match(schemaErrors({ ...good, schemaVersion: 1 }), ['/schemaVersion: must be equal to constant']);
  const { targets: _targets, ...noTargets } = good;
  t.match(schemaErrors(noTargets), ["/: must have required property 'targets'"]);
  const extra = structuredClone(good);
  (extra.targets[0] as unknown as Record<string, unknown>).surprise = 1;
  t.match(schemaErrors(extra), ['/targets/0: must NOT have additional properties (surprise)']);
  const badTest = structuredClone(good);
  (badTest.targets[0]?.suites[0]?.tests[0] as unknown as Record<string, unknown>).status = 'ok';
  t.match(schemaErrors(badTest), ['/targets/0/suites/0/tests/0/status: must be equal to one of the allowed values']);
});

await t.test('readResultsFile names the file and the fix for what it cannot read', async (t) => {
  t.throws(() => readResultsFile([], 'r.json'), /r\.json is not a sockvm results\.json \(not a JSON object\)/);
  t.throws(() => readResultsFile({ hello: 1 }, 'r.json'), /r\.json is not a sockvm results\.json \(neither "targets" nor "suites"\)/);
  t.throws(
    () => readResultsFile({ schemaVersion: 3, targets: [] }, 'r.json'),
    /r\.json has schemaVersion 3; this sockvm reads 2 .*use the sockvm that wrote it/,
  );
  t.equal(targetResultsFile(singleTarget()).status, 'error', "a target's own file carries its verdict");
});

/** Writes rendered result files to a fresh directory; returns its results.json. */
function writeTo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-results-file-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return join(dir, 'results.json');
}
