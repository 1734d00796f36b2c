// results.json in and out: the one shape written (ResultsFile, harness/schema/results.schema.json)
// and the two shapes written before it, read as it: one target's bare result, and a matrix run's
// { runId, command, status, exitCode, targets } without a schemaVersion.
import { UsageError } from '../util/errors.js';
import { RESULTS_SCHEMA_VERSION, type ResultsFile, type RunResult, type RunShard } from './model.js';
import type { Verdict } from './verdict.js';

/** The run's results.json: its verdict over `targets`. */
export function runResultsFile(
  targets: RunResult[],
  run: { runId: string; command: string; matrix: boolean; verdict: Verdict; infraError?: string; shard?: RunShard; mergedFrom?: string[] },
): ResultsFile {
  const { verdict } = run;
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: run.runId,
    command: run.command,
    status: verdict.status,
    exitCode: verdict.exitCode,
    ...(run.infraError ? { infraError: run.infraError } : {}),
    ...(verdict.problem ? { problem: verdict.problem } : {}),
    matrix: run.matrix,
    ...(run.shard ? { shard: run.shard } : {}),
    ...(run.mergedFrom ? { mergedFrom: run.mergedFrom } : {}),
    targets,
  };
}

/**
 * One target's results.json as it stands (written after every suite, so a crash or ^C leaves
 * it): the target's own verdict, its files beside it.
 */
export function targetResultsFile(run: RunResult): ResultsFile {
  return { schemaVersion: RESULTS_SCHEMA_VERSION, runId: run.runId, command: run.command, status: run.status, exitCode: run.exitCode, matrix: false, targets: [run] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A parsed results.json of any shape sockvm wrote, as a ResultsFile; `path` names it in errors. */
export function readResultsFile(data: unknown, path: string): ResultsFile {
  if (!isObject(data)) throw new UsageError(`${path} is not a sockvm results.json (not a JSON object); give the results.json a run wrote`);
  const version = data.schemaVersion;
  if (version !== undefined) {
    if (version === RESULTS_SCHEMA_VERSION) return data as unknown as ResultsFile;
    throw new UsageError(`${path} has schemaVersion ${JSON.stringify(version)}; this sockvm reads ${RESULTS_SCHEMA_VERSION} and the unversioned files before it: use the sockvm that wrote it`);
  }
  if (Array.isArray(data.targets)) {
    // A matrix run's file: its targets' files are in directories named after them.
    const old = data as unknown as Omit<ResultsFile, 'schemaVersion' | 'matrix'>;
    return { ...old, schemaVersion: RESULTS_SCHEMA_VERSION, matrix: true };
  }
  if (Array.isArray(data.suites) && typeof data.runId === 'string') {
    const run = data as unknown as RunResult;
    return targetResultsFile(run);
  }
  throw new UsageError(`${path} is not a sockvm results.json (neither "targets" nor "suites"); give the results.json a run wrote`);
}
