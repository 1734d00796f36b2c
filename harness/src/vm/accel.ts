// Chooses KVM or TCG. /dev/kvm existing is not enough: under nested setups without
// virtualisation QEMU either aborts at once or the guest hangs silently, sometimes only after
// its first console lines. So `auto` boots the kernel under KVM without an initrd and uses KVM
// only if the kernel gets all the way to its end-of-boot line (no root to mount) within a few
// seconds. The verdict is cached per (host kernel, QEMU version, CPU) in the cache dir.
import { constants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Accel } from './qemu-args.js';
import { writeFileAtomic } from '../util/fs.js';
import { Vm } from './vm.js';

export type AccelMode = 'auto' | Accel;

export interface AccelChoice {
  accel: Accel;
  /** One line on why, shown to the user when it is not the obvious choice. */
  reason: string;
  probed: boolean;
}

interface Verdict {
  key: string;
  kvm: boolean;
  reason: string;
  checkedAt: string;
}

async function cpuModel(): Promise<string> {
  try {
    return /model name\s*:\s*(.*)/.exec(await readFile('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function machineKey(qemu: string, signal: AbortSignal | undefined): Promise<string> {
  const version = (await execa(qemu, ['--version'], { reject: false, ...(signal ? { cancelSignal: signal } : {}) })).stdout.split('\n')[0] ?? '';
  signal?.throwIfAborted();
  // The probe's kind is part of the key: verdicts of the older "first console line" probe, which
  // passed guests that hang later in boot, are not reused.
  return `${release()} | ${version} | ${await cpuModel()} | probe: end of boot`;
}

/**
 * What a kernel prints once it has finished booting and looks for userspace. With no initrd and
 * no root= (6.1 here: "Kernel panic - not syncing: VFS: Unable to mount root fs on
 * unknown-block(0,0)"); the others cover kernels with a built-in /init or other root handling.
 * "VFS:" alone is not enough: "VFS: Disk quotas dquot_6.6.0" comes early in boot.
 */
export const END_OF_BOOT = /VFS: Unable to mount root fs|VFS: Cannot open root device|No working init found|Run \/\S+ as init process/;

/** KVM boots to END_OF_BOOT in about 1 s; TCG-speed or stuck guests miss this by far. */
export const PROBE_TIMEOUT_MS = 12000;

/**
 * Boots `kernel` under KVM without an initrd or 'quiet'; KVM works if the kernel prints its
 * end-of-boot line (END_OF_BOOT) within `timeoutMs`. A guest that starts printing and then
 * hangs fails the probe, naming the last line it printed. `signal` stops QEMU at once and rejects
 * with its reason: an interrupted probe is no verdict.
 */
export async function probeKvm(
  qemu: string,
  kernel: string,
  logFile: string,
  timeoutMs = PROBE_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<{ ok: boolean; reason: string }> {
  signal?.throwIfAborted();
  const args = ['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-m', '256'];
  // panic=0: the kernel stays in its final panic until killed, so QEMU never exits on its own
  // (an exit could race the last console line).
  args.push('-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial,ttyS0 panic=0', '-no-reboot');
  args.push('-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console');
  const start = Date.now();
  const vm = new Vm(qemu, args, logFile);
  // QEMU's exit ends the wait below at once.
  const onAbort = (): void => void vm.stop(500);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const line = await vm.waitForLine(END_OF_BOOT, timeoutMs, 'KVM probe');
    signal?.throwIfAborted();
    const seconds = ((Date.now() - start) / 1000).toFixed(1);
    return { ok: true, reason: `KVM works (probe kernel booted to "${END_OF_BOOT.exec(line)?.[0] ?? line.trim()}" in ${seconds} s)` };
  } catch {
    signal?.throwIfAborted();
    const qemuErr = vm.qemuErrors().split('\n')[0];
    const last = vm
      .consoleTail(1)
      .trim()
      .replace(/^\[\s*\d+\.\d+\]\s*/, '');
    const limit = `${timeoutMs / 1000} s`;
    let reason: string;
    if (qemuErr) reason = `QEMU failed under KVM (${qemuErr})`;
    else if (vm.panicLine) reason = `the KVM guest kernel panicked before finishing boot (${vm.panicLine.trim()})`;
    else if (vm.exit)
      reason = `QEMU ${vm.exit.signal ? `was killed by ${vm.exit.signal}` : `exited with code ${vm.exit.code}`} before the KVM guest finished booting`;
    else if (last) reason = `a KVM guest started booting but hung: not booted after ${limit}, last console line "${last.slice(0, 120)}"`;
    else reason = `a KVM guest printed nothing in ${limit} (no nested virtualisation?)`;
    return { ok: false, reason };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await vm.stop(500);
  }
}

export interface AccelOptions {
  qemu: string;
  kernel: string;
  cacheDir: string;
  probeLog: string;
  /** The KVM device to check for access (tests point it at a file of their own). */
  kvmDevice?: string;
  probeTimeoutMs?: number;
  /** Stops the probe's QEMU at once; chooseAccel then rejects with its reason and caches nothing. */
  signal?: AbortSignal;
}

export async function chooseAccel(mode: AccelMode, opts: AccelOptions): Promise<AccelChoice> {
  if (mode === 'tcg') return { accel: 'tcg', reason: 'TCG requested (--accel tcg)', probed: false };
  if (mode === 'kvm') return { accel: 'kvm', reason: 'KVM requested (--accel kvm)', probed: false };
  try {
    await access(opts.kvmDevice ?? '/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: `KVM unusable: ${opts.kvmDevice ?? '/dev/kvm'} is missing or not accessible; using TCG`, probed: false };
  }
  const file = join(opts.cacheDir, 'accel.json');
  const key = await machineKey(opts.qemu, opts.signal);
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as Verdict;
    if (cached.key === key) {
      return cached.kvm
        ? { accel: 'kvm', reason: 'KVM works (cached probe)', probed: false }
        : { accel: 'tcg', reason: `KVM unusable: ${cached.reason}; using TCG (verdict cached in ${file})`, probed: false };
    }
  } catch {
    // No verdict yet.
  }
  const probe = await probeKvm(opts.qemu, opts.kernel, opts.probeLog, opts.probeTimeoutMs, opts.signal);
  await mkdir(dirname(file), { recursive: true });
  const verdict: Verdict = { key, kvm: probe.ok, reason: probe.reason, checkedAt: new Date().toISOString() };
  await writeFileAtomic(file, `${JSON.stringify(verdict, null, 2)}\n`);
  return probe.ok
    ? { accel: 'kvm', reason: probe.reason, probed: true }
    : { accel: 'tcg', reason: `KVM unusable: ${probe.reason}; using TCG (verdict cached in ${file})`, probed: true };
}
