// Golden files: results.json, results.tap, junit.xml, report.html, the step summary and the summary rendered from fixed results
// (results-fixtures.ts), one target and a matrix, compared byte for byte with harness/test/golden/.
// A change of any renderer or of the verdict shows as a diff here; when it is meant, rewrite
// them with SOCKVM_UPDATE_GOLDEN=1 and read the diff before committing.
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResultsFile } from '../src/results/model.js';
import { matrixTable, targetSummary, totalsLine } from '../src/results/summary.js';
import { runFiles } from '../src/results/writer.js';
import { repoRoot } from '../src/util/paths.js';
import { fixtureLogs, matrixResults, singleResults } from './results-fixtures.js';
import { toStepSummary } from '../src/report/step-summary.js';
import { schemaErrors } from './results-schema.js';

const GOLDEN = join(repoRoot, 'harness', 'test', 'golden');
const update = process.env.SOCKVM_UPDATE_GOLDEN === '1';

function summary(results: ResultsFile): string {
  const lines = results.matrix ? matrixTable(results.targets) : results.targets.flatMap((r) => targetSummary(r, '/results/2026-01-02T03-04-05Z-gold'));
  return `${[...lines, totalsLine(results.targets), `exit ${results.exitCode}`].join('\n')}\n`;
}

/** The golden file's text (written first under SOCKVM_UPDATE_GOLDEN=1), or a note that it is missing. */
function golden(name: string, text: string): string {
  const path = join(GOLDEN, name);
  if (update) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, text);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return `${path} is missing: write it with SOCKVM_UPDATE_GOLDEN=1 and read it`;
  }
}

for (const [name, results] of [
  ['single', singleResults()],
  ['matrix', matrixResults()],
] as const) {
  await t.test(`${name}: results.json, results.tap, junit.xml, report.html and the summaries`, async (t) => {
    t.same(schemaErrors(results), [], 'results.json matches the schema');
    const files = { ...runFiles(results, { logs: fixtureLogs(results) }), 'summary.txt': summary(results), 'step-summary.md': toStepSummary(results) };
    for (const [file, text] of Object.entries(files))
      t.equal(text, golden(`${name}.${file}`, text), `${name}.${file} as in harness/test/golden/ (SOCKVM_UPDATE_GOLDEN=1 rewrites it)`);
  });
}
