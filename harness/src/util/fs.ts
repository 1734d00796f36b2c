import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { execa } from 'execa';
import { InfraError } from './errors.js';
import { ioError, isIoError } from './out-file.js';

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * mkdir -p one component at a time. Node's recursive mkdir loops forever where the parent
 * refuses new entries with ENOENT (/proc); here the first refusal is an error naming the path.
 */
export async function makeDirs(path: string, mode?: number): Promise<void> {
  const parts = resolve(path).split(sep).filter(Boolean);
  let at: string = sep;
  for (const part of parts) {
    at = join(at, part);
    try {
      await mkdir(at, mode === undefined ? {} : { mode });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(at)).isDirectory()) continue;
      const why = code === 'EEXIST' ? 'it exists and is not a directory' : (code ?? String(err));
      throw Object.assign(new InfraError(`cannot create ${at}${at === resolve(path) ? '' : ` (for ${path})`}: ${why}`, undefined, { cause: err }), { code });
    }
  }
}

/** Hash of every file under `dir` (paths and contents), skipping names `skip` rejects. */
export async function hashTree(dir: string, skip: (name: string) => boolean = () => false): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const entries = (await readdir(join(dir, rel), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (skip(entry.name)) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        hash.update(`${path}\0`);
        hash.update(await readFile(join(dir, path)));
      }
    }
  };
  await walk('');
  return hash.digest('hex');
}

/**
 * Fills a cache directory atomically: `fill` writes into a temp dir that is renamed into place
 * only when complete, so an interrupted fill never leaves a half-written entry.
 */
/**
 * Moves a bad cache entry out of the way (atomically: no reader sees it half removed) and deletes
 * it. Another process may have moved it first, which is as good.
 */
export async function removeAside(dir: string): Promise<void> {
  const aside = `${dir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await rm(aside, { recursive: true, force: true });
}

/**
 * @check, when given, judges an existing entry: a problem (a missing or truncated file) moves
 * the entry aside and fills it again; `replaced` says why.
 */
export async function cachedDir(
  dir: string,
  fill: (tmp: string) => Promise<void>,
  check?: (dir: string) => Promise<string | undefined>,
): Promise<{ dir: string; hit: boolean; replaced?: string }> {
  let replaced: string | undefined;
  if (await exists(dir)) {
    replaced = check ? await check(dir) : undefined;
    if (!replaced) return { dir, hit: true };
    await removeAside(dir);
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  // A full disk (or any file system error) while filling names the entry, not only "ENOSPC, write".
  try {
    await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw isIoError(err) ? ioError(`cache entry ${dir}`, err) : err;
  }
  try {
    if ((await placeDir(tmp, dir)) === 'theirs') return { dir, hit: true };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw isIoError(err) ? ioError(`cache entry ${dir}`, err) : err;
  }
  return replaced ? { dir, hit: false, replaced } : { dir, hit: false };
}

/**
 * The last step of every atomic cache entry (cachedDir, a source kernel, a toolchain chroot): the
 * complete `tmp` renamed into `dir`. When another process put an entry there first, theirs is
 * kept (the same inputs made it) and `tmp` removed: 'theirs'. `replace` moves an existing entry
 * aside first (a forced rebuild, a chroot update). `remove` deletes a tree (a chroot's holds
 * mounts). Throws, leaving `tmp` to the caller, when nothing is in place afterwards.
 */
export async function placeDir(
  tmp: string,
  dir: string,
  o: { replace?: boolean; remove?: (path: string) => Promise<void> } = {},
): Promise<'placed' | 'theirs'> {
  const remove = o.remove ?? ((path: string) => rm(path, { recursive: true, force: true }));
  const old = o.replace && (await exists(dir)) ? `${dir}.old-${process.pid}` : undefined;
  if (old) await rename(dir, old);
  try {
    await rename(tmp, dir);
  } catch (err) {
    if (!(await exists(dir))) throw err;
    await remove(tmp);
    return 'theirs';
  } finally {
    if (old && (await exists(old))) await remove(old);
  }
  return 'placed';
}

/**
 * Replaces `path` with `text` whole or not at all (a temp file renamed over it): a cache index
 * read by another run, or after a crash or a full disk, is the old one or the new one, never half.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    // The write's own error is the one to report, not a failed clean-up's.
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/**
 * Bytes a tree uses on disk (du -sb, one file system), or undefined when du fails. `signal`: the
 * command's, when it handles signals (`sockvm toolchain`); `sockvm cache` installs no handler,
 * so ^C ends it, du included.
 */
export async function diskUsage(path: string, signal?: AbortSignal): Promise<number | undefined> {
  const r = await execa('du', ['-sb', '-x', path], { reject: false, ...(signal ? { cancelSignal: signal } : {}) });
  signal?.throwIfAborted();
  const n = Number((r.stdout ?? '').split(/\s/)[0]);
  return r.exitCode === 0 && Number.isFinite(n) ? n : undefined;
}

/** Whether a process still exists: a temp dir named after a dead one is a leftover. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
