// The result files, written from the run's events: a target's files after every suite and at
// its end (so a crash or ^C still leaves what was gathered), the matrix files and
// results/latest when the run is over.
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Listener } from '../events.js';
import { toJUnit, toMatrixJUnit } from './junit.js';
import type { RunResult } from './model.js';
import { toMatrixTap, toTap } from './tap-writer.js';

async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

/** results.json, results.tap and junit.xml of one run as it stands now. */
export function resultFiles(run: RunResult): Record<string, string> {
  return { 'results.json': `${JSON.stringify(run, null, 2)}\n`, 'results.tap': toTap(run), 'junit.xml': toJUnit(run) };
}

/**
 * The event consumer that writes results. Each event's files are rendered at once (the run
 * object goes on changing) and written in order, one event after another.
 */
export function resultsWriter(): Listener {
  let queue = Promise.resolve();
  const write = (dir: string, files: Record<string, string>, latest = false): Promise<void> => {
    queue = queue.then(async () => {
      for (const [name, text] of Object.entries(files)) await writeAtomic(join(dir, name), text);
      if (latest) await linkLatest(dir);
    });
    return queue;
  };
  return (event) => {
    if (event.type === 'target-results') return write(event.dir, resultFiles(event.run));
    if (event.type === 'run-results') {
      const m = event.matrix;
      const files: Record<string, string> = m ? { 'results.json': `${JSON.stringify(m, null, 2)}\n`, 'results.tap': toMatrixTap(m.targets, m.infraError), 'junit.xml': toMatrixJUnit(m.targets, m.infraError) } : {};
      return write(event.dir, files, true);
    }
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
