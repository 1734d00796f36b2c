// The cache's trash: a build interrupted by the user leaves a tree of 1.5 GB and ~75k files, whose
// removal takes 5–10 s on a busy disk. Renaming it into <cache>/trash is instant (same file
// system), so the run exits at once with no temp dir left in the cache's entries; the trash is
// emptied by the next source-kernel build (before it unpacks) and by `sockvm cache prune`.
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runInGroup } from './cancel.js';
import { pidAlive } from './fs.js';

export const trashDir = (cacheDir: string): string => join(cacheDir, 'trash');

/**
 * Moves `dir` (named `<name>.tmp-<pid>`, this process's) into the trash; where it cannot be
 * renamed (another file system, a name taken) it is removed in place instead.
 */
export async function moveToTrash(dir: string, cacheDir: string): Promise<void> {
  const trash = trashDir(cacheDir);
  try {
    await mkdir(trash, { recursive: true });
    await rename(dir, join(trash, basename(dir)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Removes the trash of processes that are gone (names end in `-<pid>`), a killable `rm -rf` per
 * entry: an interrupt stops it and the next empties the rest.
 */
export async function emptyTrash(cacheDir: string, signal?: AbortSignal): Promise<string[]> {
  const trash = trashDir(cacheDir);
  const removed: string[] = [];
  for (const name of await readdir(trash).catch(() => [] as string[])) {
    const pid = /-(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && pidAlive(Number(pid))) continue;
    await runInGroup('rm', ['-rf', '--one-file-system', join(trash, name)], { signal });
    removed.push(name);
  }
  return removed;
}
