// Writes the run's result files; called after every suite and at the end, so a crash or ^C
// still leaves what was gathered.
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { toJUnit } from './junit.js';
import type { RunResult } from './model.js';
import { toTap } from './tap-writer.js';

async function writeAtomic(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}

export async function writeResults(run: RunResult, dir: string): Promise<void> {
  await writeAtomic(join(dir, 'results.json'), `${JSON.stringify(run, null, 2)}\n`);
  await writeAtomic(join(dir, 'results.tap'), toTap(run));
  await writeAtomic(join(dir, 'junit.xml'), toJUnit(run));
}

/** Points results/latest at this run (a relative symlink, replaced atomically). */
export async function linkLatest(dir: string): Promise<void> {
  const latest = join(dirname(dir), 'latest');
  const tmp = `${latest}.tmp-${process.pid}`;
  await rm(tmp, { force: true });
  await symlink(basename(dir), tmp);
  await rename(tmp, latest);
}
