// Chooses KVM or TCG. /dev/kvm existing is not enough: under nested setups without
// virtualisation QEMU either aborts at once or the guest hangs silently. So `auto` boots the
// kernel under KVM with early console output and uses KVM only if the kernel speaks within a
// few seconds. The verdict is cached per (host kernel, QEMU version, CPU) in the cache dir.
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import type { Accel } from './qemu-args.js';
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

async function machineKey(qemu: string): Promise<string> {
  const version = (await execa(qemu, ['--version'], { reject: false })).stdout.split('\n')[0] ?? '';
  return `${release()} | ${version} | ${await cpuModel()}`;
}

/** Boots `kernel` under KVM without an initrd; KVM works if the kernel prints within `timeoutMs`. */
export async function probeKvm(qemu: string, kernel: string, logFile: string, timeoutMs = 6000): Promise<{ ok: boolean; reason: string }> {
  const args = ['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'q35', '-accel', 'kvm', '-cpu', 'host', '-m', '256'];
  args.push('-kernel', kernel, '-append', 'console=ttyS0 earlyprintk=serial,ttyS0 panic=-1', '-no-reboot');
  args.push('-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console');
  const vm = new Vm(qemu, args, logFile);
  try {
    await vm.waitForLine(/Linux version|Command line/, timeoutMs, 'KVM probe');
    return { ok: true, reason: 'KVM works (probe kernel printed within the time limit)' };
  } catch {
    const err = vm.qemuErrors().split('\n')[0];
    return {
      ok: false,
      reason: err ? `QEMU failed under KVM (${err})` : `a KVM guest printed nothing in ${timeoutMs / 1000} s (no nested virtualisation?)`,
    };
  } finally {
    await vm.stop(500);
  }
}

export async function chooseAccel(mode: AccelMode, opts: { qemu: string; kernel: string; cacheDir: string; probeLog: string }): Promise<AccelChoice> {
  if (mode === 'tcg') return { accel: 'tcg', reason: 'TCG requested (--accel tcg)', probed: false };
  if (mode === 'kvm') return { accel: 'kvm', reason: 'KVM requested (--accel kvm)', probed: false };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: 'KVM unusable: /dev/kvm is missing or not accessible; using TCG', probed: false };
  }
  const file = join(opts.cacheDir, 'accel.json');
  const key = await machineKey(opts.qemu);
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
  const probe = await probeKvm(opts.qemu, opts.kernel, opts.probeLog);
  await mkdir(dirname(file), { recursive: true });
  const verdict: Verdict = { key, kvm: probe.ok, reason: probe.reason, checkedAt: new Date().toISOString() };
  await writeFile(file, `${JSON.stringify(verdict, null, 2)}\n`);
  return probe.ok
    ? { accel: 'kvm', reason: probe.reason, probed: true }
    : { accel: 'tcg', reason: `KVM unusable: ${probe.reason}; using TCG (verdict cached in ${file})`, probed: true };
}
