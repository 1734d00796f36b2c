// Boots a guest and connects to it: QEMU up, console says SOCKVM-READY, SSH answers.
// Shared by `sockvm run` and the boot benchmark.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Guest } from '../guest/ssh.js';
import type { RunKeys } from '../image/keys.js';
import { exists } from '../util/fs.js';
import { freeLocalPort } from './ports.js';
import { QBOOT, qemuArgs, type QemuOptions } from './qemu-args.js';
import { Vm } from './vm.js';

export const QEMU = 'qemu-system-x86_64';
export const MGMT_MAC = '52:54:00:12:34:56';

export interface BootOptions {
  kernel: string;
  initrd: string;
  accel: QemuOptions['accel'];
  memoryMiB: number;
  cpus: number;
  keys: Pick<RunKeys, 'clientPrivate' | 'hostPublicBlob'>;
  /** Where console.log and qemu.cmdline go. */
  dir: string;
  timeoutMs: number;
  /** Last-minute changes to the QEMU arguments (the benchmark's variants). */
  editArgs?: (args: string[]) => string[];
  /** Called as soon as QEMU is spawned, so the caller can always stop it. */
  onVm?: (vm: Vm) => void;
}

export interface BootTimings {
  /** QEMU spawn → the guest init's ready line on the console. */
  toReadyMs: number;
  /** Ready line → SSH session established. */
  sshMs: number;
  /** Guest uptime (s) when init started and when it said ready. */
  guestInitUptime?: number;
  guestReadyUptime?: number;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}

const uptimeOf = (line: string | undefined): number | undefined => {
  const m = /\(uptime ([\d.]+)\)/.exec(line ?? '');
  return m ? Number(m[1]) : undefined;
};

export async function bootGuest(o: BootOptions): Promise<{ vm: Vm; guest: Guest; timings: BootTimings }> {
  const port = await freeLocalPort();
  let args = qemuArgs({
    kernel: o.kernel,
    initrd: o.initrd,
    accel: o.accel,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    sshPort: port,
    mgmtMac: MGMT_MAC,
    firmware: (await exists(QBOOT)) ? QBOOT : undefined,
  });
  if (o.editArgs) args = o.editArgs(args);
  await writeFile(join(o.dir, 'qemu.cmdline'), `${commandLine([QEMU, ...args])}\n`);
  const start = Date.now();
  const vm = new Vm(QEMU, args, join(o.dir, 'console.log'));
  o.onVm?.(vm);
  const ready = await vm.waitForLine(/SOCKVM-READY/, o.timeoutMs, 'booting the guest');
  const readyAt = Date.now();
  const guest = await Guest.connect({
    port,
    privateKey: o.keys.clientPrivate,
    hostKeyBlob: o.keys.hostPublicBlob,
    guestGone: () => vm.deathReason(),
    deadlineMs: o.timeoutMs - (readyAt - start),
  });
  const timings: BootTimings = { toReadyMs: readyAt - start, sshMs: Date.now() - readyAt };
  const initUptime = uptimeOf(await vm.waitForLine(/sockvm: init started/, 1, 'init line').catch(() => undefined));
  const readyUptime = uptimeOf(ready);
  if (initUptime !== undefined) timings.guestInitUptime = initUptime;
  if (readyUptime !== undefined) timings.guestReadyUptime = readyUptime;
  return { vm, guest, timings };
}
