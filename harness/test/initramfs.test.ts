// buildInitramfs against the host's real kernel modules, busybox and dropbear: the same inputs
// give the same bytes, another input other bytes, and the archive holds everything the guest
// needs to boot and be reached (read back with readCpio).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCpio, type CpioRecord } from '../src/image/cpio.js';
import { buildInitramfs, type InitramfsInput } from '../src/image/initramfs.js';
import { makeRunKeys } from '../src/image/keys.js';
import { parseModulesDep } from '../src/image/modules-dep.js';

/** These builds are never cancelled. */
const never = new AbortController().signal;
import { findHostKernel } from '../src/kernel/host.js';
import { repoRoot } from '../src/util/paths.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

const kernel = await findHostKernel().catch(() => undefined);
const depText = kernel ? readFileSync(join(kernel.modulesDir, 'modules.dep'), 'utf8') : '';
// e1000 as every run loads it, and vxlan (two dependencies) when this kernel has it, so the
// dependency closure is exercised on real data.
const vxlan = [...parseModulesDep(depText).keys()].find((p) => /\/vxlan\.ko(\.(xz|zst|gz))?$/.test(p));
const bootModules = ['e1000', ...(vxlan ? ['vxlan'] : [])];

const dir = mkdtempSync(join(tmpdir(), 'sockvm-initramfs-'));
// newtcp.ko and the suites are only copied in, so any file does.
const ko = join(dir, 'newtcp.ko');
writeFileSync(ko, 'not really a module\n');
const suiteA = join(dir, 'create');
const suiteB = join(dir, 'stream');
writeFileSync(suiteA, '#!/bin/sh\necho create\n');
writeFileSync(suiteB, '#!/bin/sh\necho stream\n');
const bpfObj = join(dir, 'prog.bpf.o');
writeFileSync(bpfObj, 'not really a BPF object\n');
// A program suite's files keep their modes under /suites/<name>.d/.
const program = join(dir, 'selftest');
writeFileSync(program, '#!/bin/sh\necho ok\n');
const programData = join(dir, 'input.txt');
writeFileSync(programData, 'data\n');

async function input(authorizedKey?: string): Promise<InitramfsInput> {
  if (!kernel) throw new Error('no host kernel');
  const keys = await makeRunKeys(mkdtempSync(join(dir, 'keys-')), new AbortController().signal);
  return {
    rootfsDir: join(repoRoot, 'images', 'rootfs'),
    modulesDir: kernel.modulesDir,
    bootModules,
    busybox: '/bin/busybox',
    dropbear: '/usr/sbin/dropbear',
    newtcpKo: ko,
    suites: [
      { name: 'create', path: suiteA },
      { name: 'stream', path: suiteB, bpf: [bpfObj] },
      {
        name: 'mine',
        path: suiteA,
        files: [
          { rel: 'selftest', source: program, mode: 0o750 },
          { rel: 'data/input.txt', source: programData, mode: 0o640 },
        ],
      },
    ],
    hostKey: keys.hostKey,
    authorizedKey: authorizedKey ?? keys.clientPublicLine,
    settings: { mgmtAddr: '10.0.2.15/24', mgmtGateway: '10.0.2.2' },
  };
}

/** ldd's absolute library paths, parsed here rather than with the code under test. */
function lddPaths(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return []; // "not a dynamic executable" exits 1 (busybox-static)
  }
  return out
    .split('\n')
    .map((l) => (l.includes('=>') ? l.split('=>')[1] : l)?.trim().split(/\s+/)[0] ?? '')
    .filter((p) => p.startsWith('/'));
}

/** A module's file, uncompressed, as the guest's busybox insmod needs it. */
function moduleOnDisk(rel: string): Buffer {
  const path = join(kernel?.modulesDir ?? '', rel);
  if (path.endsWith('.xz')) return execFileSync('xz', ['-dc', path]);
  if (path.endsWith('.zst')) return execFileSync('zstd', ['-dc', path]);
  if (path.endsWith('.gz')) return execFileSync('gzip', ['-dc', path]);
  return readFileSync(path);
}

await t.test('buildInitramfs on the host kernel', { skip: !kernel && 'no host kernel (apt-get install linux-image-amd64 linux-headers-amd64)' }, async (t) => {
  const base = await input();
  const first = await buildInitramfs(base, never);
  const second = await buildInitramfs({ ...base, suites: base.suites.map((s) => ({ ...s })), hostKey: Buffer.from(base.hostKey) }, never);

  await t.test('same inputs, byte-identical archive', async (t) => {
    t.ok(first.cpio.equals(second.cpio), `${first.cpio.length} vs ${second.cpio.length} bytes`);
    t.same(second.bootModules, first.bootModules);
  });

  await t.test('another input, other bytes', async (t) => {
    const otherClient = (await input()).authorizedKey;
    t.not(otherClient, base.authorizedKey);
    t.notOk((await buildInitramfs({ ...base, authorizedKey: otherClient }, never)).cpio.equals(first.cpio), 'another authorized key');
    t.notOk((await buildInitramfs({ ...base, suites: base.suites.slice(0, 1) }, never)).cpio.equals(first.cpio), 'one suite fewer');
  });

  await t.test('the archive holds what the guest needs', async (t) => {
    const records = readCpio(first.cpio);
    t.equal(records.length, first.entries, 'entry count as reported');
    const byPath = new Map<string, CpioRecord>(records.map((r) => [r.path, r]));
    const fileIs = (path: string, data: Buffer, mode?: number): void => {
      const r = byPath.get(path.replace(/^\//, ''));
      if (!r) {
        t.fail(`${path} is in the archive`);
        return;
      }
      t.equal(r.mode & S_IFMT, S_IFREG, `${path} is a regular file`);
      t.ok(r.data.equals(data), `${path} has the right ${data.length} bytes`);
      if (mode !== undefined) t.equal(r.mode & 0o7777, mode, `${path} mode ${mode.toString(8)}`);
    };

    fileIs('/init', readFileSync(join(repoRoot, 'images', 'rootfs', 'init')), 0o755);
    fileIs('/bin/busybox', readFileSync('/bin/busybox'), 0o755);
    fileIs('/sbin/dropbear', readFileSync('/usr/sbin/dropbear'), 0o755);
    const libs = [...new Set([...lddPaths('/bin/busybox'), ...lddPaths('/usr/sbin/dropbear')])];
    t.ok(lddPaths('/usr/sbin/dropbear').length > 0, 'dropbear is dynamic, so libraries are needed');
    for (const lib of libs) fileIs(lib, readFileSync(lib));

    // e1000 (and vxlan) plus everything modules.dep says they need, dependencies first.
    const deps = parseModulesDep(depText);
    const pathOf = (name: string): string => [...deps.keys()].find((p) => p.replace(/\.(xz|zst|gz)$/, '').endsWith(`/${name}.ko`)) ?? '';
    const needed: string[] = [];
    const walk = (rel: string): void => {
      for (const dep of deps.get(rel) ?? []) walk(dep);
      if (!needed.includes(rel)) needed.push(rel);
    };
    for (const name of bootModules) {
      const rel = pathOf(name);
      t.ok(rel, `${name} is in modules.dep`);
      walk(rel);
    }
    if (vxlan) t.ok(needed.length >= 3, `vxlan pulls in its dependencies: ${needed.join(' ')}`);
    const names = needed.map((rel) => rel.slice(rel.lastIndexOf('/') + 1).replace(/\.(xz|zst|gz)$/, ''));
    t.same(first.bootModules, names, 'boot modules in load order');
    needed.forEach((rel, i) => fileIs(`/lib/modules/${names[i]}`, moduleOnDisk(rel), 0o644));
    const env = byPath.get('etc/sockvm/guest.env')?.data.toString() ?? '';
    t.match(env, `BOOT_MODULES="${names.join(' ')}"`, 'guest.env loads them in that order');

    fileIs('/lib/modules/newtcp.ko', readFileSync(ko), 0o644);
    fileIs('/suites/create', readFileSync(suiteA), 0o755);
    fileIs('/suites/stream.bpf/prog.bpf.o', readFileSync(bpfObj), 0o644);
    fileIs('/suites/stream', readFileSync(suiteB), 0o755);
    fileIs('/suites/mine.d/selftest', readFileSync(program), 0o750);
    fileIs('/suites/mine.d/data/input.txt', readFileSync(programData), 0o640);
    fileIs('/etc/dropbear/host_key', base.hostKey, 0o600);
    fileIs('/root/.ssh/authorized_keys', Buffer.from(`${base.authorizedKey.trim()}\n`), 0o600);
    t.equal((byPath.get('root')?.mode ?? 0) & 0o777, 0o700, '/root is 0700');
    t.equal((byPath.get('root/.ssh')?.mode ?? 0) & 0o777, 0o700, '/root/.ssh is 0700');
    const console = byPath.get('dev/console');
    t.same([console ? console.mode & S_IFMT : 0, console?.rdevMajor, console?.rdevMinor], [S_IFCHR, 5, 1], '/dev/console is char 5:1');
  });
});
