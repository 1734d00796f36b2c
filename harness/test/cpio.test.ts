import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, lstatSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCpio, writeCpio, type CpioEntry } from '../src/image/cpio.js';
import { withParents } from '../src/image/initramfs.js';

const entries: CpioEntry[] = withParents(
  [
    { kind: 'file', path: '/bin/hello', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
    { kind: 'file', path: '/etc/odd', data: Buffer.from('abc'), mode: 0o600 },
    { kind: 'symlink', path: '/bin/sh', target: 'busybox' },
    { kind: 'chardev', path: '/dev/console', major: 5, minor: 1 },
    { kind: 'file', path: '/root/.ssh/authorized_keys', data: Buffer.from('k\n'), mode: 0o600 },
  ],
  { '/root': 0o700 },
);

await t.test('parents come first and carry their modes', async (t) => {
  const paths = entries.map((e) => e.path);
  t.ok(paths.indexOf('/root') < paths.indexOf('/root/.ssh'));
  t.ok(paths.indexOf('/root/.ssh') < paths.indexOf('/root/.ssh/authorized_keys'));
  t.equal((entries.find((e) => e.path === '/root') as { mode: number }).mode, 0o700);
});

await t.test('reads back what it wrote', async (t) => {
  const back = readCpio(writeCpio(entries));
  t.same(
    back.map((r) => r.path),
    entries.map((e) => e.path.slice(1)),
  );
  const hello = back.find((r) => r.path === 'bin/hello');
  t.equal(hello?.data.toString(), '#!/bin/sh\necho hi\n');
  t.equal(hello?.mode, 0o100755);
  t.equal(back.find((r) => r.path === 'bin/sh')?.data.toString(), 'busybox');
  const con = back.find((r) => r.path === 'dev/console');
  t.same([con?.mode, con?.rdevMajor, con?.rdevMinor], [0o020600, 5, 1]);
});

await t.test('same input, same bytes', async (t) => {
  t.ok(writeCpio(entries).equals(writeCpio(entries)));
});

await t.test('GNU cpio unpacks it', { skip: !execFileSync('sh', ['-c', 'command -v cpio || true']).toString().trim() && 'no cpio' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-cpio-'));
  writeFileSync(join(dir, 'a.cpio'), writeCpio(entries.filter((e) => e.kind !== 'chardev')));
  execFileSync('sh', ['-c', 'mkdir out && cd out && cpio -id --quiet < ../a.cpio'], { cwd: dir });
  t.equal(readFileSync(join(dir, 'out/etc/odd'), 'utf8'), 'abc');
  t.equal(lstatSync(join(dir, 'out/etc/odd')).mode & 0o777, 0o600);
  t.equal(readlinkSync(join(dir, 'out/bin/sh')), 'busybox');
});

await t.test('rejects garbage', async (t) => {
  t.throws(
    () => readCpio(Buffer.from('not a cpio archive at all, not even close to one....................................................................')),
    /bad magic/,
  );
});
