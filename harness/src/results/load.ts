// A results.json named on the command line: a run's directory (results/<run-id>, results/latest)
// or the file itself, read in any shape sockvm wrote. Every error names the path and the fix.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import type { ResultsFile } from './model.js';
import { readResultsFile } from './results-file.js';

export interface LoadedResults {
  /** The results.json read. */
  path: string;
  /** The directory its files are in. */
  dir: string;
  file: ResultsFile;
}

export async function loadResults(given: string, role: string): Promise<LoadedResults> {
  const abs = resolve(given);
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new UsageError(`${role} ${given}: no such file or directory; give a run's results directory (results/latest) or its results.json`);
  const path = st.isDirectory() ? join(abs, 'results.json') : abs;
  const dir = st.isDirectory() ? abs : resolve(abs, '..');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`${role} ${given}: no results.json in it; give the directory a run wrote (it holds results.json)`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${role} ${path} is not valid JSON (${err instanceof Error ? err.message : String(err)}); give the results.json a run wrote`);
  }
  return { path, dir, file: readResultsFile(data, path) };
}
