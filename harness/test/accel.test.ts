// chooseAccel's KVM probe against fake QEMUs (bash scripts): KVM only when the probe kernel
// reaches its end-of-boot line, TCG with a one-line reason otherwise, verdicts cached.
import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseAccel, type AccelOptions } from '../src/vm/accel.js';

const root = mkdtempSync(join(tmpdir(), 'sockvm-accel-'));
const kernel = join(root, 'bzImage');
writeFileSync(kernel, 'not a kernel');
// Stands in for /dev/kvm: readable and writable, so the probe is what decides.
const kvmDevice = join(root, 'kvm');
writeFileSync(kvmDevice, '');

const BOOT_START = [
  '[    0.000000] Linux version 6.1.0-56-amd64 (fake) #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1',
  '[    0.000000] Command line: console=ttyS0 earlyprintk=serial,ttyS0 panic=0',
  // An early "VFS:" line that is not the end of boot.
  '[    0.412345] VFS: Disk quotas dquot_6.6.0',
  '[    0.500000] pci 0000:00:1f.0: [8086:2918] type 00 class 0x060100',
];
const BOOT_END = [
  '[    0.950000] VFS: Cannot open root device "" or unknown-block(0,0): error -6',
  '[    0.950100] Please append a correct "root=" boot option; here are the available partitions:',
  '[    0.951000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
];

let n = 0;
/**
 * A fake qemu-system-x86_64: answers --version, and otherwise records its arguments and pid,
 * then runs `body` (console on stdout, errors on stderr, like QEMU with -serial stdio).
 */
function fakeQemu(body: string, version = 'QEMU emulator version 9.9.9 (fake)'): { path: string; argsFile: string; pidFile: string } {
  const dir = mkdtempSync(join(root, `qemu${++n}-`));
  const path = join(dir, 'qemu-system-x86_64');
  const argsFile = join(dir, 'args');
  const pidFile = join(dir, 'pid');
  writeFileSync(
    path,
    [
      '#!/bin/bash',
      `if [ "$1" = --version ]; then echo '${version}'; exit 0; fi`,
      `printf '%s\\n' "$@" > '${argsFile}'`,
      `echo $$ > '${pidFile}'`,
      body,
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  return { path, argsFile, pidFile };
}

const echoLines = (lines: string[]): string => lines.map((l) => `echo '${l}'`).join('\n');

function options(qemu: string, cacheDir = mkdtempSync(join(root, 'cache-'))): AccelOptions {
  return { qemu, kernel, cacheDir, probeLog: join(cacheDir, 'probe.log'), kvmDevice, probeTimeoutMs: 2000 };
}

/** The pid the fake QEMU wrote; 0 while its file is missing or still empty. */
function pidOf(pidFile: string): number {
  try {
    return Number(readFileSync(pidFile, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/** No process with the written pid: an empty file is no pid (kill(0) would test our own group). */
function gone(pidFile: string): boolean {
  const pid = pidOf(pidFile);
  if (!pid) throw new Error(`${pidFile}: no pid written`);
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

await t.test('a guest that prints "Linux version" and then hangs: TCG, the hang named, cached', async (t) => {
  const q = fakeQemu(`${echoLines(BOOT_START)}\nexec sleep 300`);
  const o = options(q.path);
  const start = Date.now();
  const choice = await chooseAccel('auto', o);
  t.equal(choice.accel, 'tcg');
  t.equal(choice.probed, true);
  t.match(choice.reason, /^KVM unusable: a KVM guest started booting but hung: not booted after 2 s, last console line "pci 0000:00:1f\.0/);
  t.notMatch(choice.reason, /\n/, 'one line');
  t.ok(Date.now() - start < 6000, 'gives up at the deadline');
  t.ok(gone(q.pidFile), 'the hung QEMU was killed');
  const verdict = JSON.parse(readFileSync(join(o.cacheDir, 'accel.json'), 'utf8')) as { kvm: boolean; reason: string };
  t.equal(verdict.kvm, false);
  t.match(verdict.reason, /hung/);
});

await t.test('a guest that boots through to the end-of-boot line: KVM, QEMU killed after', async (t) => {
  const q = fakeQemu(`${echoLines([...BOOT_START, ...BOOT_END])}\nexec sleep 300`);
  const o = options(q.path);
  const choice = await chooseAccel('auto', o);
  t.equal(choice.accel, 'kvm', choice.reason);
  t.equal(choice.probed, true);
  t.match(choice.reason, /^KVM works \(probe kernel booted to "VFS: (Cannot open root device|Unable to mount root fs)" in \d+\.\d s\)$/);
  t.ok(gone(q.pidFile), 'the probe QEMU was killed');
  const args = readFileSync(q.argsFile, 'utf8').split('\n');
  t.ok(args.includes('kvm'), 'booted with -accel kvm');
  t.notOk(args.includes('-initrd'), 'no initrd');
  const append = args[args.indexOf('-append') + 1] ?? '';
  t.notMatch(append, /\bquiet\b/, 'not quiet');
  t.notMatch(append, /\broot=/, 'no root=');
  // The console up to the line that ended the probe (QEMU is killed then, so maybe no further).
  t.match(readFileSync(o.probeLog, 'utf8'), /Linux version[^]*VFS: (Cannot open root device|Unable to mount root fs)/, 'console kept in the probe log');
  t.equal((JSON.parse(readFileSync(join(o.cacheDir, 'accel.json'), 'utf8')) as { kvm: boolean }).kvm, true);
});

await t.test('QEMU exits with an error: TCG, quoting it', async (t) => {
  const q = fakeQemu(`echo 'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69' >&2\nexit 1`);
  const start = Date.now();
  const choice = await chooseAccel('auto', options(q.path));
  t.equal(choice.accel, 'tcg');
  t.equal(choice.reason.split('; ')[0], 'KVM unusable: QEMU failed under KVM (qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69)');
  t.ok(Date.now() - start < 1500, 'at once, not at the deadline');
});

await t.test('a cached verdict is reused without booting QEMU', async (t) => {
  for (const [body, accel] of [
    [`${echoLines([...BOOT_START, ...BOOT_END])}\nexec sleep 300`, 'kvm'],
    [`${echoLines(BOOT_START)}\nexec sleep 300`, 'tcg'],
  ] as const) {
    const cacheDir = mkdtempSync(join(root, 'cache-'));
    const first = await chooseAccel('auto', options(fakeQemu(body).path, cacheDir));
    t.equal(first.accel, accel);
    t.equal(first.probed, true);
    // Same version line, so the same cache key; booting it fails loudly.
    const trap = fakeQemu(`echo 'qemu-system-x86_64: must not be run' >&2\nexit 1`);
    const again = await chooseAccel('auto', options(trap.path, cacheDir));
    t.equal(again.accel, accel, `${accel} from the cache`);
    t.equal(again.probed, false);
    t.match(again.reason, accel === 'kvm' ? /cached probe/ : /hung.*verdict cached in/);
    t.notOk(existsSync(trap.argsFile), 'QEMU was not booted');
    // Another QEMU version is another machine: probed again.
    const upgraded = fakeQemu(`${echoLines([...BOOT_START, ...BOOT_END])}\nexec sleep 300`, 'QEMU emulator version 10.0.0 (fake)');
    const third = await chooseAccel('auto', options(upgraded.path, cacheDir));
    t.equal(third.probed, true, 'a new QEMU version is probed again');
  }
});

await t.test('no usable KVM device: TCG without running QEMU', async (t) => {
  const q = fakeQemu('exit 1');
  const choice = await chooseAccel('auto', { ...options(q.path), kvmDevice: join(root, 'no-such-kvm') });
  t.equal(choice.accel, 'tcg');
  t.equal(choice.probed, false);
  t.match(choice.reason, /no-such-kvm is missing or not accessible/);
  t.notOk(existsSync(q.argsFile));
});

await t.test('an abort during the probe stops QEMU at once and caches no verdict', async (t) => {
  const q = fakeQemu(`${echoLines(BOOT_START)}\nexec sleep 300`);
  const o = options(q.path);
  const ac = new AbortController();
  const start = Date.now();
  // Once QEMU runs (its pid written, not just the file created), well inside the probe's 10 s.
  const poll = setInterval(() => pidOf(q.pidFile) && ac.abort(new Error('interrupted by SIGTERM')), 20);
  await t.rejects(chooseAccel('auto', { ...o, probeTimeoutMs: 10000, signal: ac.signal }), { message: 'interrupted by SIGTERM' });
  clearInterval(poll);
  t.ok(Date.now() - start < 3000, `ended ${Date.now() - start} ms after the probe began (its timeout is 10 s)`);
  t.ok(gone(q.pidFile), 'the probe QEMU was killed');
  t.notOk(existsSync(join(o.cacheDir, 'accel.json')), 'an interrupted probe is no verdict');
});
