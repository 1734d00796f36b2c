// Cache locks (holders take turns, a dead owner's lock is taken over, released on error) and makeDirs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { withLock } from '../src/util/lock.js';
import { placeDir } from '../src/util/fs.js';

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
