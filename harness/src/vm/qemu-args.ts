// Builds the qemu-system-x86_64 command line. Pure, so tests can check every choice.

export type Accel = 'kvm' | 'tcg';

export interface QemuOptions {
  kernel: string;
  initrd: string;
  accel: Accel;
  memoryMiB: number;
  cpus: number;
  /** Host port forwarded (on 127.0.0.1 only) to the guest's SSH port. */
  sshPort: number;
  mgmtMac: string;
  /**
   * A second e1000 on a private L2 segment: datagrams between two QEMUs over unix sockets in a
   * directory only we can enter (a UDP port on 127.0.0.1 took frames from any local process).
   */
  link?: { mac: string; localPath: string; remotePath: string };
  /** Per-guest settings for the guest's init, passed as sockvm.<key>=<value>. */
  guestParams?: Record<string, string>;
  extraAppend?: string[];
  /**
   * The serial console into this file (QEMU appends) instead of QEMU's stdout: a guest kept
   * after sockvm exits (--keep) goes on logging with nobody reading a pipe.
   */
  consoleFile?: string;
  /** --gdb: QEMU's gdbstub on this port of 127.0.0.1, and the kernel without KASLR. */
  gdbPort?: number;
  /** qboot skips SeaBIOS's POST; undefined means use QEMU's default firmware. */
  firmware?: string;
}

export const QBOOT = '/usr/share/qemu/qboot.rom';

export function kernelCommandLine(extra: string[] = []): string {
  return [
    'console=ttyS0',
    // Reboot (which -no-reboot turns into exit) at once on panic, and panic on oops, so a
    // crashed guest ends the VM instead of hanging it.
    'panic=-1',
    'oops=panic',
    'quiet',
    'loglevel=4',
    // The guest's only entropy is early; trusting RDRAND avoids blocking in getrandom.
    'random.trust_cpu=on',
    // No PS/2 hardware here: skip the controller probe.
    'i8042.noaux',
    'i8042.nokbd',
    // A ring that does not wrap within a run, so per-suite dmesg reading by line counts holds.
    'log_buf_len=8M',
    // A task stuck uninterruptibly is reported within a suite's time, not after 120 s.
    'sysctl.kernel.hung_task_timeout_secs=60',
    ...extra,
  ].join(' ');
}

export function qemuArgs(o: QemuOptions): string[] {
  const args = ['-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'q35', '-accel', o.accel];
  args.push('-cpu', o.accel === 'kvm' ? 'host' : 'max', '-m', String(o.memoryMiB), '-smp', String(o.cpus));
  if (o.firmware) args.push('-bios', o.firmware);
  const params = Object.entries(o.guestParams ?? {}).map(([k, v]) => `sockvm.${k}=${v}`);
  // nokaslr: the module and kernel symbols a debugger loads sit where their files say.
  const debug = o.gdbPort !== undefined ? ['nokaslr'] : [];
  args.push('-kernel', o.kernel, '-initrd', o.initrd, '-append', kernelCommandLine([...params, ...debug, ...(o.extraAppend ?? [])]));
  args.push('-no-reboot');
  // The console comes to us on stdout; signal=off keeps a stray ^C from killing the guest.
  // QEMU's option syntax escapes a comma in a value by doubling it.
  if (o.consoleFile) args.push('-chardev', `file,id=console,path=${o.consoleFile.replace(/,/g, ',,')},append=on`, '-serial', 'chardev:console');
  else args.push('-chardev', 'stdio,id=console,signal=off', '-serial', 'chardev:console');
  // Local only: anyone who reaches a gdbstub owns the guest.
  if (o.gdbPort !== undefined) args.push('-gdb', `tcp:127.0.0.1:${o.gdbPort}`);
  args.push(
    '-netdev',
    `user,id=mgmt,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:${o.sshPort}-:22`,
    // romfile= drops the PXE option ROM (no boot delay); autonegotiation=off brings the link up
    // at once instead of after the emulated autoneg timer and the driver's 2 s watchdog.
    '-device',
    `e1000,netdev=mgmt,mac=${o.mgmtMac},romfile=,autonegotiation=off`,
  );
  if (o.link) {
    args.push(
      '-netdev',
      `dgram,id=link,local.type=unix,local.path=${o.link.localPath},remote.type=unix,remote.path=${o.link.remotePath}`,
      '-device',
      `e1000,netdev=link,mac=${o.link.mac},romfile=,autonegotiation=off`,
    );
  }
  return args;
}
