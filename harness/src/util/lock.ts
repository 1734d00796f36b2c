// A lock between sockvm processes on one machine: a directory made atomically, holding the
// owner's pid. Two runs (or CI's background preparation and a test) that need the same cache
// entry take turns instead of building it twice; a lock whose owner died is taken over.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive } from './fs.js';

export interface LockOptions {
  /** Called once when another live process holds the lock and this one starts waiting. */
  onWait?: (ownerPid: number) => void;
  pollMs?: number;
}

async function ownerOf(lock: string): Promise<number | undefined> {
  const n = Number((await readFile(join(lock, 'pid'), 'utf8').catch(() => '')).trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Runs `fn` holding the lock directory `lock` (created with its parents); always releases it. */
export async function withLock<T>(lock: string, fn: () => Promise<T>, o: LockOptions = {}): Promise<T> {
  await mkdir(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await ownerOf(lock);
    // No pid yet: its owner is between mkdir and writeFile; a dead owner's lock is stale.
    if (owner !== undefined && !pidAlive(owner)) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (owner !== undefined && !told) {
      told = true;
      o.onWait?.(owner);
    }
    await sleep(o.pollMs ?? 1000);
  }
  try {
    await writeFile(join(lock, 'pid'), `${process.pid}\n`);
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
