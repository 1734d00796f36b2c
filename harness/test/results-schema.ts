// The tests' check of every results.json they read: valid against harness/schema/results.schema.json
// (ajv is a dev dependency; the harness itself never loads the schema).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ResultsFile } from '../src/results/model.js';
import { repoRoot } from '../src/util/paths.js';

export const RESULTS_SCHEMA = join(repoRoot, 'harness', 'schema', 'results.schema.json');

const validate = new Ajv2020({ allErrors: true, strict: true }).compile<ResultsFile>(JSON.parse(readFileSync(RESULTS_SCHEMA, 'utf8')) as object);

/** The schema's complaints about `data`, one line each ("/targets/0/suites/1: must have …"); none when valid. */
export function schemaErrors(data: unknown): string[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).map(
    (e) =>
      `${e.instancePath || '/'}: ${e.message ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
  );
}

/** `data` as a ResultsFile, or an error listing every way it breaks the schema. */
export function validResults(data: unknown, source: string): ResultsFile {
  const errors = schemaErrors(data);
  if (errors.length) throw new Error(`${source} does not match ${RESULTS_SCHEMA}:\n  ${errors.join('\n  ')}`);
  return data as ResultsFile;
}
