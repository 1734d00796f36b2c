// A lock between sockvm processes on one machine: a directory made atomically, holding the
// owner's pid. Two runs (or CI's background preparation and a test) that need the same cache
// entry take turns instead of building it twice; a lock whose owner died is taken over.
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from './fs.js';

/**
 * How old a lock without a readable pid must be before it counts as stale. Its owner writes the
 * pid right after the mkdir; a lock still without one after this long was left by a process that
 * died in between (or whose write failed on a full disk), and would otherwise wedge every run.
 */
export const PIDLESS_STALE_MS = 10_000;

export interface LockOptions {
  /** Called once when another live process holds the lock and this one starts waiting. */
  onWait?: (ownerPid: number) => void;
  pollMs?: number;
  /** Ends the wait at once, rejecting with the signal's reason (the lock is never taken). */
  signal?: AbortSignal;
}

async function ownerOf(lock: string): Promise<number | undefined> {
  const n = Number((await readFile(join(lock, 'pid'), 'utf8').catch(() => '')).trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Removes the stale lock `lock` if it is still the directory judged stale (inode `ino`). It is
 * renamed aside first: a rename is atomic, so of two waiters taking over the same lock one
 * removes it, and neither removes the fresh lock the other made since.
 */
async function takeOver(lock: string, ino: number): Promise<void> {
  const aside = `${lock}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(lock, aside);
  } catch {
    return; // another waiter took it over first
  }
  if ((await stat(aside).catch(() => undefined))?.ino !== ino) {
    // Not the lock judged stale but a live one made since: give it back.
    await rename(aside, lock).catch(() => {});
    return;
  }
  await rm(aside, { recursive: true, force: true });
}

/** A stale lock's inode (its owner is dead, or it has no pid and is old), or else its live owner (undefined while it has no pid yet). */
async function staleLock(lock: string): Promise<{ ino: number } | { owner: number | undefined }> {
  const st = await stat(lock).catch(() => undefined);
  if (!st) return { owner: undefined }; // released meanwhile: try again
  const owner = await ownerOf(lock);
  if (owner !== undefined) return pidAlive(owner) ? { owner } : { ino: st.ino };
  // No pid (yet): its owner is between mkdir and writeFile, or died there.
  return Date.now() - st.mtimeMs > PIDLESS_STALE_MS ? { ino: st.ino } : { owner: undefined };
}

/** Runs `fn` holding the lock directory `lock` (created with its parents); always releases it. */
export async function withLock<T>(lock: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  const { signal } = o;
  await mkdir(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    signal?.throwIfAborted();
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const state = await staleLock(lock);
    if ('ino' in state) {
      await takeOver(lock, state.ino);
      continue;
    }
    if (state.owner !== undefined && !told) {
      told = true;
      o.onWait?.(state.owner);
    }
    // The abort ends the sleep at once; throwIfAborted above turns it into the signal's reason.
    await sleep(o.pollMs ?? 1000, undefined, signal ? { signal } : {}).catch(() => signal?.throwIfAborted());
  }
  try {
    await writeFile(join(lock, 'pid'), `${process.pid}\n`);
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
