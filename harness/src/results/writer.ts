// The result files (results.json, results.tap, junit.xml, report.html), written from the run's events: a target's files after every suite and at
// its end (so a crash or ^C still leaves what was gathered), the matrix files and
// results/latest when the run is over.
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Listener } from '../events.js';
import { toJUnit, toMatrixJUnit } from './junit.js';
import type { ResultsFile, RunResult } from './model.js';
import { ioError } from '../util/out-file.js';
import { targetResultsFile } from './results-file.js';
import { type TapVersion, toMatrixTap, toTap } from './tap-writer.js';
import { toHtml, type TargetLogs } from '../report/html.js';
import { runLogs } from '../report/logs.js';
import { appendStepSummary } from '../report/step-summary.js';

/** The old file stays whole when the new one cannot be written (a full disk): no half file, no .tmp left. */
async function writeAtomic(path: string, text: string): Promise<void> {
  try {
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
  } catch (err) {
    await rm(`${path}.tmp`, { force: true }).catch(() => undefined);
    throw ioError(path, err);
  }
}

/** How the reports are written: the TAP version of results.tap (13 for prove), each target's logs for report.html. */
export interface ReportOptions {
  tapVersion?: TapVersion;
  /** Target i's dmesg and console tails (report.html); none when absent. */
  logs?: TargetLogs[];
}

/** results.json, results.tap, junit.xml and report.html of one target as it stands now. */
export function resultFiles(run: RunResult, opts: ReportOptions = {}): Record<string, string> {
  return runFiles(targetResultsFile(run), opts);
}

/** The run's results.json, results.tap, junit.xml and report.html: one target's own TAP and JUnit, or the matrix's. */
export function runFiles(results: ResultsFile, opts: ReportOptions = {}): Record<string, string> {
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const html = toHtml(results, opts.logs);
  const [only] = results.targets;
  if (!results.matrix && only && results.targets.length === 1)
    return { 'results.json': json, 'results.tap': toTap(only, opts.tapVersion), 'junit.xml': toJUnit(only), 'report.html': html };
  return {
    'results.json': json,
    'results.tap': toMatrixTap(results.targets, results.infraError, opts.tapVersion),
    'junit.xml': toMatrixJUnit(results.targets, results.infraError),
    'report.html': html,
  };
}

/**
 * The event consumer that writes results. Each event's files are rendered at once (the run
 * object goes on changing) and written in order, one event after another. After a failed write
 * (ENOSPC, EACCES) the later ones still run, and the run's final write rejects with the first
 * failure of all, so the run ends as an infrastructure error naming the file even when a later
 * write went through.
 */
export function resultsWriter(opts: { tapVersion?: TapVersion; env?: NodeJS.ProcessEnv } = {}): Listener {
  let queue = Promise.resolve();
  let firstError: Error | undefined;
  const keep = (err: unknown): void => void (firstError ??= err instanceof Error ? err : new Error(String(err)));
  const tap = opts.tapVersion !== undefined ? { tapVersion: opts.tapVersion } : {};
  // The results are copied at once (the run object goes on changing); the logs are read when written.
  const write = (dir: string, snapshot: ResultsFile, latest = false): Promise<void> => {
    queue = queue
      .catch(() => undefined)
      .then(async () => {
        const files = runFiles(snapshot, { ...tap, logs: await runLogs(snapshot, dir) });
        // Each file on its own: one that cannot be written (EISDIR) does not cost the others.
        for (const [name, text] of Object.entries(files)) await writeAtomic(join(dir, name), text).catch(keep);
        if (latest) await appendStepSummary(snapshot, opts.env).catch(keep);
        if (latest) await linkLatest(dir).catch(keep);
        if (latest && firstError !== undefined) throw firstError;
      });
    return queue;
  };
  return (event) => {
    if (event.type === 'target-results') return write(event.dir, structuredClone(targetResultsFile(event.run)));
    if (event.type === 'run-results') return write(event.dir, structuredClone(event.results), true);
    return undefined;
  };
}

/** Points results/latest at this run (a relative symlink, replaced atomically). */
async function linkLatest(dir: string): Promise<void> {
  const latest = join(dirname(dir), 'latest');
  const tmp = `${latest}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(basename(dir), tmp);
  try {
    await rename(tmp, latest);
  } catch {
    // A directory named latest is the user's: it stays, the run's results (whose path the
    // summary prints) do not fail for it.
    await rm(tmp, { force: true });
  }
}
