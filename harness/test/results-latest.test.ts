// results/latest is a convenience: a directory of the user's named latest in the results root
// stays as it is, and a finished run still writes its results and succeeds (issue 13: it failed
// the run). A symlink from an earlier run is replaced.
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { resultsWriter } from '../src/results/writer.js';
import { singleResults } from './results-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'sockvm-latest-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

await t.test('a directory named latest: the run writes its results, resolves, and leaves the directory alone', async (t) => {
  const base = mkdtempSync(join(root, 'dir-'));
  mkdirSync(join(base, 'latest'));
  writeFileSync(join(base, 'latest', 'mine.txt'), "the user's\n");
  const dir = join(base, 'run-1');
  mkdirSync(dir);
  const results = singleResults();
  await t.resolves(Promise.resolve(resultsWriter()({ type: 'run-results', dir, results })), 'the final write succeeds');
  t.equal((JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { runId: string }).runId, results.runId, 'results.json written');
  t.ok(lstatSync(join(base, 'latest')).isDirectory(), 'latest is still the directory');
  t.equal(readFileSync(join(base, 'latest', 'mine.txt'), 'utf8'), "the user's\n", 'with its content');
});

await t.test('a symlink named latest: pointed at the new run', async (t) => {
  const base = mkdtempSync(join(root, 'link-'));
  for (const run of ['run-1', 'run-2']) {
    const dir = join(base, run);
    mkdirSync(dir);
    await resultsWriter()({ type: 'run-results', dir, results: singleResults() });
  }
  t.equal(readlinkSync(join(base, 'latest')), 'run-2');
});
