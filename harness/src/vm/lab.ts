// The guests of a run: one, or two joined by an e1000 link. Boots them together, reboots them
// after a crash, and always shuts them down.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '../util/errors.js';
import type { Guest } from '../guest/ssh.js';
import { bootGuest, guestIdentity, type BootOptions, type BootTimings, type GuestPorts } from './boot.js';
import type { Vm } from './vm.js';

export interface LabGuest {
  index: number;
  name: string;
  vm: Vm;
  ssh: Guest;
  mgmtMac: string;
  /** Address on the inter-guest link, when there is one. */
  linkIp?: string;
  /** Its ports on 127.0.0.1: SSH, and the gdbstub with --gdb. */
  ports: GuestPorts;
}

/** A guest left running by detach(): what `sockvm ssh-config` and `sockvm stop` need. */
export interface DetachedGuest {
  name: string;
  pid: number;
  ports: GuestPorts;
}

export type LabOptions = Omit<BootOptions, 'index' | 'link' | 'onVm' | 'appendConsole'>;

export class Lab {
  readonly guests: LabGuest[] = [];
  private readonly vms: Vm[] = [];
  private boots = 0;
  /** Set by shutdown(): an interrupted run's late work must not start guests again. */
  private closed = false;
  private linkDir: string | undefined;

  private readonly onAbort = (): void => void this.stopGuests();

  /** When `signal` aborts, every QEMU is stopped at once, which ends every wait on the guests. */
  constructor(
    readonly size: 1 | 2,
    private readonly o: LabOptions,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Boots every guest (in parallel); returns guest 1's timings. */
  async boot(): Promise<BootTimings> {
    this.signal.throwIfAborted();
    if (this.closed) throw new InfraError('the guests were shut down; not booting again');
    this.boots++;
    const sockets = this.size === 2 ? await this.linkSockets() : undefined;
    const booted = await Promise.all(
      Array.from({ length: this.size }, (_, i) => {
        const index = i + 1;
        const opts: BootOptions = {
          ...this.o,
          index,
          appendConsole: this.boots > 1,
          onVm: (vm) => (this.closed || this.signal.aborted ? void vm.stop() : this.vms.push(vm)),
        };
        if (sockets) {
          const [first, second] = sockets;
          opts.link = index === 1 ? { localPath: first, remotePath: second } : { localPath: second, remotePath: first };
        }
        return bootGuest(opts).then((b) => ({ index, ...b }));
      }),
    );
    for (const b of booted) {
      const id = guestIdentity(b.index);
      const g: LabGuest = { index: b.index, name: id.name, vm: b.vm, ssh: b.guest, mgmtMac: id.mgmtMac, ports: b.ports };
      if (this.size === 2) g.linkIp = id.linkIp;
      this.guests.push(g);
    }
    return (booted[0] as { timings: BootTimings }).timings;
  }

  /** Shut down, or being stopped by an interrupt: no guest is coming back to answer. */
  get stopping(): boolean {
    return this.closed || this.signal.aborted;
  }

  /** Why a guest is gone (panic, QEMU exit), if one is; `except` names guests whose death is expected. */
  deathReason(except: number[] = []): string | undefined {
    for (const g of this.guests) {
      if (except.includes(g.index)) continue;
      const reason = g.vm.deathReason();
      if (reason) return this.size > 1 ? `${g.name}: ${reason}` : reason;
    }
    return undefined;
  }

  consoleTail(lines = 25): string {
    return this.guests.map((g) => (this.size > 1 ? `[${g.name}]\n${g.vm.consoleTail(lines)}` : g.vm.consoleTail(lines))).join('\n');
  }

  /** Powers the guests off (politely if they answer) and reaps every QEMU this lab started; for good. */
  async shutdown(): Promise<void> {
    this.closed = true;
    // A signal during a polite power-off still hurries it.
    await this.stopGuests();
    this.signal.removeEventListener('abort', this.onAbort);
    if (this.linkDir) await rm(this.linkDir, { recursive: true, force: true });
  }

  /**
   * The link's two socket paths, in a 0700 directory of our own (short, under the temp dir:
   * a unix socket path has 108 bytes); a reboot's QEMUs bind them afresh.
   */
  private async linkSockets(): Promise<[string, string]> {
    this.linkDir ??= await mkdtemp(join(tmpdir(), 'sockvm-link-'));
    if (this.linkDir.includes(','))
      throw new InfraError(`the temp dir ${this.linkDir} holds a ',', which QEMU's -netdev cannot take; set TMPDIR to a plain path`);
    const paths: [string, string] = [join(this.linkDir, 'guest1'), join(this.linkDir, 'guest2')];
    await Promise.all(paths.map((p) => rm(p, { force: true })));
    return paths;
  }

  /**
   * Leaves the guests running without us (the lab was made with `detachable`): SSH sessions
   * closed, QEMUs let go, the link's socket directory kept (the guests still use it). For good:
   * shutdown() afterwards stops nothing.
   */
  detach(): { guests: DetachedGuest[]; linkDir?: string } {
    if (!this.o.detachable) throw new InfraError('these guests were not booted detachable (--keep); they cannot outlive sockvm');
    this.closed = true;
    this.signal.removeEventListener('abort', this.onAbort);
    const guests: DetachedGuest[] = [];
    for (const g of this.guests) {
      g.ssh.close();
      g.vm.detach();
      if (g.vm.pid !== undefined) guests.push({ name: g.name, pid: g.vm.pid, ports: g.ports });
    }
    this.guests.length = 0;
    this.vms.length = 0;
    const linkDir = this.linkDir;
    this.linkDir = undefined;
    return linkDir ? { guests, linkDir } : { guests };
  }

  async reboot(): Promise<BootTimings> {
    await this.stopGuests();
    return this.boot();
  }

  /** Powers the guests off, politely unless the run was interrupted, and reaps their QEMUs. */
  private async stopGuests(): Promise<void> {
    const polite = !this.signal.aborted;
    await Promise.all(
      this.guests.map(async (g) => {
        if (polite && g.vm.running) {
          void g.ssh.exec('poweroff -f', { timeoutMs: 2000 });
          await Promise.race([g.vm.exited, new Promise((r) => setTimeout(r, 3000))]);
        }
        g.ssh.close();
      }),
    );
    await Promise.all(this.vms.map((vm) => vm.stop(polite ? 2000 : 500)));
    this.guests.length = 0;
    this.vms.length = 0;
  }
}
