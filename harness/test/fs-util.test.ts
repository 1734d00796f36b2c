// Cache locks (holders take turns, a dead owner's lock is taken over, released on error) and makeDirs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { PIDLESS_STALE_MS, withLock } from '../src/util/lock.js';
import { cachedDir, placeDir, writeFileAtomic } from '../src/util/fs.js';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';

const dir = mkdtempSync(join(tmpdir(), 'sockvm-lock-'));

await t.test('two holders of one lock never overlap; the second is told whom it waits for', async (t) => {
  const lock = join(dir, 'locks', 'a');
  const events: string[] = [];
  let waitedFor: number | undefined;
  const holder = (name: string) =>
    withLock(
      lock,
      async () => {
        events.push(`${name} in`);
        await sleep(150);
        events.push(`${name} out`);
      },
      { pollMs: 20, onWait: (pid) => (waitedFor = pid) },
    );
  await Promise.all([holder('1'), sleep(30).then(() => holder('2'))]);
  t.same(events, ['1 in', '1 out', '2 in', '2 out']);
  t.equal(waitedFor, process.pid);
  t.notOk(existsSync(lock), 'released');
});

await t.test('a lock left by a dead process is taken over; an error still releases it', async (t) => {
  const lock = join(dir, 'b');
  mkdirSync(lock);
  writeFileSync(join(lock, 'pid'), '2147483646\n');
  t.equal(await withLock(lock, async () => 42, { pollMs: 20 }), 42);
  await t.rejects(
    withLock(lock, async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  t.notOk(existsSync(lock), 'released after the error');
});

await t.test('waiting for a lock ends at once on abort, with the reason; the holder keeps its lock', async (t) => {
  const lock = join(dir, 'held');
  mkdirSync(lock);
  // Held by a live process (this one), so it is never stale.
  writeFileSync(join(lock, 'pid'), `${process.pid}\n`);
  const ac = new AbortController();
  let entered = false;
  const start = Date.now();
  setTimeout(() => ac.abort(new Error('interrupted by SIGINT')), 100);
  await t.rejects(
    withLock(lock, async () => void (entered = true), { pollMs: 60_000, signal: ac.signal }),
    { message: 'interrupted by SIGINT' },
  );
  t.ok(Date.now() - start < 5000, `ended ${Date.now() - start} ms after the wait began (the poll is 60 s)`);
  t.notOk(entered);
  t.equal(readFileSync(join(lock, 'pid'), 'utf8'), `${process.pid}\n`, "the holder's lock is untouched");
  await t.rejects(
    withLock(join(dir, 'free'), async () => 1, { signal: ac.signal }),
    { message: 'interrupted by SIGINT' },
    'an aborted run takes no lock',
  );
  t.notOk(existsSync(join(dir, 'free')));
});

await t.test('a lock without a pid (its owner died between mkdir and write) is stale once old; a young one is waited for', async (t) => {
  const old = (Date.now() - PIDLESS_STALE_MS - 5000) / 1000;
  for (const [name, pid] of [
    ['empty', undefined],
    ['garbage', 'half-writ'],
    ['zero', '0\n'],
  ] as const) {
    const lock = join(dir, `pidless-${name}`);
    mkdirSync(lock);
    if (pid !== undefined) writeFileSync(join(lock, 'pid'), pid);
    utimesSync(lock, old, old);
    t.equal(await withLock(lock, async () => readFileSync(join(lock, 'pid'), 'utf8'), { pollMs: 20 }), `${process.pid}\n`, `${name}: taken over`);
    t.notOk(existsSync(lock), `${name}: released`);
  }
  t.same(
    readdirSync(dir).filter((n) => n.includes('.stale-')),
    [],
    'the stale locks renamed aside are removed',
  );
  // A fresh one may be a live owner about to write its pid: not taken.
  const young = join(dir, 'pidless-young');
  mkdirSync(young);
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('gave up')), 300);
  await t.rejects(
    withLock(young, async () => 1, { pollMs: 20, signal: ac.signal }),
    { message: 'gave up' },
  );
  t.ok(existsSync(young), 'the young pid-less lock is left to its owner');
});

await t.test('makeDirs: creates missing parents, fails at once under /proc and below a file', async (t) => {
  const { makeDirs } = await import('../src/util/fs.js');
  await makeDirs(join(dir, 'x', 'y', 'z'));
  t.ok(existsSync(join(dir, 'x', 'y', 'z')));
  await makeDirs(join(dir, 'x', 'y'));
  await t.rejects(makeDirs('/proc/sockvm-test/x'), /cannot create \/proc\/sockvm-test \(for \/proc\/sockvm-test\/x\): ENOENT/);
  writeFileSync(join(dir, 'file'), '');
  await t.rejects(makeDirs(join(dir, 'file', 'x')), /it exists and is not a directory/);
});

await t.test('placeDir: a complete entry is renamed in; one put there first is kept; replace swaps it', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-place-'));
  const entry = join(root, 'entry');
  const fill = (name: string, marker: string): string => {
    const tmp = join(root, name);
    mkdirSync(tmp);
    writeFileSync(join(tmp, 'marker'), marker);
    return tmp;
  };
  t.equal(await placeDir(fill('a.tmp', 'first'), entry), 'placed');
  t.equal(readFileSync(join(entry, 'marker'), 'utf8'), 'first');
  // Another process's entry with the same inputs stays, and our temp dir goes.
  t.equal(await placeDir(fill('b.tmp', 'second'), entry), 'theirs');
  t.equal(readFileSync(join(entry, 'marker'), 'utf8'), 'first');
  t.notOk(existsSync(join(root, 'b.tmp')));
  t.equal(await placeDir(fill('c.tmp', 'third'), entry, { replace: true }), 'placed');
  t.equal(readFileSync(join(entry, 'marker'), 'utf8'), 'third');
  t.same(readdirSync(root), ['entry'], 'the replaced entry is gone, nothing left aside');
  await t.rejects(placeDir(join(root, 'missing.tmp'), join(root, 'other')), /ENOENT/);
});

await t.test('the trash: an interrupted tree is moved aside at once, and emptied once its process is gone', async (t) => {
  const { emptyTrash, moveToTrash, trashDir } = await import('../src/util/trash.js');
  const cache = mkdtempSync(join(tmpdir(), 'sockvm-trash-'));
  const fillTree = (path: string): void => {
    mkdirSync(join(path, 'tree', 'deep'), { recursive: true });
    writeFileSync(join(path, 'tree', 'deep', 'f'), 'x');
  };
  const mine = join(cache, 'kernel', `key.tmp-${process.pid}`);
  fillTree(mine);
  await moveToTrash(mine, cache);
  t.notOk(existsSync(mine), 'gone from the cache entries');
  t.ok(existsSync(join(trashDir(cache), `key.tmp-${process.pid}`, 'tree', 'deep', 'f')), 'whole in the trash');
  await moveToTrash(join(cache, 'kernel', 'never-made.tmp-1'), cache);
  const dead = join(trashDir(cache), 'other.tmp-2147483646');
  fillTree(dead);
  t.same(await emptyTrash(cache), ['other.tmp-2147483646'], "a dead process's trash is removed, a live one's kept");
  t.same(readdirSync(trashDir(cache)), [`key.tmp-${process.pid}`]);
});

await t.test('a full disk while filling a cache entry: an infrastructure error naming the entry, no temp dir left', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'sockvm-enospc-cache-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'sockvm-test', mnt]);
  } catch {
    t.pass('not checked: mounting a tmpfs needs root');
    return;
  }
  try {
    const dir = join(mnt, 'module', 'entry');
    const err = (await cachedDir(dir, (tmp) => writeFile(join(tmp, 'big'), Buffer.alloc(1 << 20))).catch((e: unknown) => e)) as Error;
    t.equal(err.name, 'InfraError');
    t.match(err.message, `cannot write cache entry ${dir}: ENOSPC (no space left on its filesystem)`);
    t.same(readdirSync(join(mnt, 'module')), [], 'no half-filled entry left');
  } finally {
    execFileSync('umount', [mnt]);
  }
});

await t.test('writeFileAtomic: a cache index is the old one or the new one, never half, and no temp file stays', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-atomic-'));
  t.teardown(() => execFileSync('rm', ['-rf', dir]));
  const index = join(dir, 'tarballs.json');
  await writeFileAtomic(index, '{"old": true}\n');
  await writeFileAtomic(index, '{"new": true}\n');
  t.equal(readFileSync(index, 'utf8'), '{"new": true}\n', 'replaced whole');
  // A write that cannot finish (its temp path is taken by a directory): the old index stays.
  mkdirSync(`${index}.tmp-${process.pid}`);
  await t.rejects(writeFileAtomic(index, '{"half": '), /EISDIR/);
  t.equal(readFileSync(index, 'utf8'), '{"new": true}\n', 'a failed write leaves the old index');
  execFileSync('rmdir', [`${index}.tmp-${process.pid}`]);
  await writeFileAtomic(index, '{"again": true}\n');
  t.same(readdirSync(dir), ['tarballs.json'], 'no temp file left');
});
