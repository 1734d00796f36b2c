// Boots a guest and connects to it: QEMU up, console says SOCKVM-READY, SSH answers.
// Shared by `sockvm run` and the boot benchmark.
import { join } from 'node:path';
import { Guest } from '../guest/ssh.js';
import { InfraError } from '../util/errors.js';
import type { RunKeys } from '../image/keys.js';
import { exists } from '../util/fs.js';
import { freeLocalPort } from './ports.js';
import { QBOOT, qemuArgs, type QemuOptions } from './qemu-args.js';
import { Vm } from './vm.js';
import { writeOut } from '../util/out-file.js';

export const QEMU = 'qemu-system-x86_64';

/** Guest n (1-based) of a run: its MACs, its address on the link, its file names. */
export function guestIdentity(n: number): { name: string; mgmtMac: string; linkMac: string; linkAddr: string; linkIp: string; suffix: string } {
  const hex = n.toString(16).padStart(2, '0');
  return {
    name: `guest${n}`,
    mgmtMac: `52:54:00:12:34:${hex}`,
    linkMac: `52:54:00:99:00:${hex}`,
    linkIp: `10.99.0.${n}`,
    linkAddr: `10.99.0.${n}/24`,
    suffix: n === 1 ? '' : `-guest${n}`,
  };
}

export interface BootOptions {
  kernel: string;
  initrd: string;
  accel: QemuOptions['accel'];
  memoryMiB: number;
  cpus: number;
  keys: Pick<RunKeys, 'clientPrivate' | 'hostPublicBlob'>;
  /** Where console.log and qemu.cmdline go. */
  dir: string;
  /** Which guest of the run this is (1-based); default 1. */
  index?: number;
  /** The inter-guest link's unix datagram sockets (ours, the peer's), when the run has two guests. */
  link?: { localPath: string; remotePath: string };
  /** Appends to an existing console log (a reboot after a crash) instead of replacing it. */
  appendConsole?: boolean;
  timeoutMs: number;
  /** Last-minute changes to the QEMU arguments (the benchmark's variants). */
  editArgs?: (args: string[]) => string[];
  /** Called as soon as QEMU is spawned, so the caller can always stop it. */
  onVm?: (vm: Vm) => void;
  /** --keep: QEMU may outlive us (see VmOptions.detachable). */
  detachable?: boolean;
  /** --gdb: a gdbstub on a free local port, the kernel booted with nokaslr. */
  gdb?: boolean;
  /** The console log could not be written (see VmOptions.onLogError). */
  onLogError?: (err: InfraError) => void;
}

/** The guest's local ports: SSH, and the gdbstub with --gdb. */
export interface GuestPorts {
  ssh: number;
  gdb?: number;
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

/** QEMU's words when the forward's (or the gdbstub's) port was taken between our probe and its bind. */
const PORT_TAKEN = /Could not set up host forwarding rule|Failed to bind socket|Address already in use/;

export async function bootGuest(o: BootOptions): Promise<{ vm: Vm; guest: Guest; timings: BootTimings; ports: GuestPorts }> {
  // A free port can be taken by another run before QEMU binds it: try a fresh one.
  for (let attempt = 1; ; attempt++) {
    try {
      const ports: GuestPorts = { ssh: await freeLocalPort() };
      if (o.gdb) ports.gdb = await freeLocalPort();
      return { ...(await bootOnce(o, ports, attempt > 1)), ports };
    } catch (err) {
      if (attempt >= 3 || !(err instanceof PortTaken)) throw err;
    }
  }
}

class PortTaken extends Error {}

async function bootOnce(o: BootOptions, ports: GuestPorts, retry: boolean): Promise<{ vm: Vm; guest: Guest; timings: BootTimings }> {
  const port = ports.ssh;
  const id = guestIdentity(o.index ?? 1);
  const consoleLog = join(o.dir, `console${id.suffix}.log`);
  const qemu: QemuOptions = {
    kernel: o.kernel,
    initrd: o.initrd,
    accel: o.accel,
    memoryMiB: o.memoryMiB,
    cpus: o.cpus,
    sshPort: port,
    mgmtMac: id.mgmtMac,
    guestParams: { name: id.name, mgmt_mac: id.mgmtMac },
  };
  if (await exists(QBOOT)) qemu.firmware = QBOOT;
  if (o.detachable) qemu.consoleFile = consoleLog;
  if (ports.gdb !== undefined) qemu.gdbPort = ports.gdb;
  if (o.link) {
    qemu.link = { mac: id.linkMac, ...o.link };
    Object.assign(qemu.guestParams ?? {}, { link_mac: id.linkMac, link_addr: id.linkAddr });
  }
  let args = qemuArgs(qemu);
  if (o.editArgs) args = o.editArgs(args);
  await writeOut(join(o.dir, `qemu${id.suffix}.cmdline`), `${commandLine([QEMU, ...args])}\n`);
  const start = Date.now();
  const vm = new Vm(QEMU, args, consoleLog, (o.appendConsole ?? false) || retry, {
    detachable: o.detachable ?? false,
    ...(o.onLogError ? { onLogError: o.onLogError } : {}),
  });
  o.onVm?.(vm);
  const ready = await vm.waitForLine(/SOCKVM-READY/, o.timeoutMs, 'booting the guest').catch((err: unknown) => {
    if (vm.exit && PORT_TAKEN.test(vm.qemuErrors())) throw new PortTaken(vm.qemuErrors());
    throw err;
  });
  const readyAt = Date.now();
  const guest = await Guest.connect({
    port,
    privateKey: o.keys.clientPrivate,
    hostKeyBlob: o.keys.hostPublicBlob,
    guestGone: () => vm.deathReason(),
    deadlineMs: o.timeoutMs - (readyAt - start),
  }).catch((err: unknown) => {
    // The guest said it was ready: what its console said since is the best clue.
    if (err instanceof InfraError && !err.detail) throw new InfraError(`${err.message}; console tail:`, vm.consoleTail());
    throw err;
  });
  const timings: BootTimings = { toReadyMs: readyAt - start, sshMs: Date.now() - readyAt };
  const initUptime = uptimeOf(await vm.waitForLine(/sockvm: init started/, 1, 'init line').catch(() => undefined));
  const readyUptime = uptimeOf(ready);
  if (initUptime !== undefined) timings.guestInitUptime = initUptime;
  if (readyUptime !== undefined) timings.guestReadyUptime = readyUptime;
  return { vm, guest, timings };
}
