// Guest access in a booted lab: --gdb's attach line, --copy, then the user's command (its output
// streamed to our stdout and stderr: the one place where guest output reaches the terminal
// without an event, byte for byte) or the interactive shell, and --keep's hand-over.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus, Phase } from '../events.js';
import { interactiveShell } from '../guest/interactive-shell.js';
import { GUEST_WORKDIR, guestCommandLine } from '../guest/quote.js';
import { exitCodeOf } from '../guest/ssh.js';
import { copyIntoGuest, streamCommand, type CommandOutcome, type GuestTerminal } from '../guest/stream.js';
import type { AccessPlan } from '../plan/plan.js';
import type { GuestAccessResult, RunResult } from '../results/model.js';
import { kernelFindingsSince, markKernelLog } from '../suites/kernel-log.js';
import { InfraError } from '../util/errors.js';
import { commandLine } from '../vm/boot.js';
import type { Lab } from '../vm/lab.js';
import { gdbInfo } from './gdb.js';
import { knownHostsText, processStart, saveKept, type KeptState } from './kept.js';

export type PhaseRunner = <T>(name: Phase, work: () => Promise<T>, detail?: (r: T) => string | undefined) => Promise<T>;

/** What results.json says about the access before anything ran. */
export function accessResult(access: AccessPlan): GuestAccessResult {
  const result: GuestAccessResult = { mode: access.shell ? 'shell' : access.command ? 'command' : 'keep' };
  if (access.command) result.command = guestCommandLine(access.command);
  if (access.command && 'argv' in access.command) result.argv = access.command.argv;
  if (access.copies.length) result.copies = access.copies;
  return result;
}

export interface AccessContext {
  lab: Lab;
  run: RunResult & { guestAccess: GuestAccessResult };
  bus: EventBus;
  phase: PhaseRunner;
  terminal: GuestTerminal;
  signal: AbortSignal;
}

/** --gdb: where the stub is and the line that attaches with the module's symbols (guest 1). */
export async function announceGdb(ctx: AccessContext, ko: string, kernel: { release: string; buildDir: string }): Promise<void> {
  const guest = ctx.lab.guests[0];
  const port = guest?.ports.gdb;
  if (!guest || port === undefined) return;
  const info = await gdbInfo(guest.ssh, port, ko, kernel);
  ctx.run.guestAccess.gdb = info;
  const lines = [info.command];
  if (info.vmlinuxMissing) lines.push(`(${info.vmlinuxMissing})`);
  lines.push('gdb stops the guest while it is attached (and on a breakpoint); "continue" resumes it, "detach" lets it go');
  ctx.bus.emit({ type: 'instructions', title: `gdb: QEMU's gdbstub on 127.0.0.1:${port}, kernel booted with nokaslr:`, lines });
}

/** --copy, then the command or the shell in guest 1; how it ended goes into results.json. */
export async function runAccess(access: AccessPlan, ctx: AccessContext): Promise<void> {
  const { lab, phase, signal } = ctx;
  const result = ctx.run.guestAccess;
  const guest = lab.guests[0];
  if (!guest) throw new InfraError('no guest is up to run the command in');
  if (access.copies.length) {
    await phase(
      'copy',
      async () => {
        for (const c of access.copies) await copyIntoGuest(guest.ssh, c.host, GUEST_WORKDIR, signal);
      },
      () => access.copies.map((c) => c.guest).join(' '),
    );
  }
  if (!access.command && !access.shell) return;
  const marks = await Promise.all(lab.guests.map((g) => markKernelLog(g.ssh)));
  const start = Date.now();
  const outcome = await phase<CommandOutcome>(
    access.shell ? 'shell' : 'command',
    () => (access.shell ? interactiveShell(guest.ssh, ctx.terminal) : streamCommand(guest.ssh, result.command ?? 'false', ctx.terminal)),
    (o) => (o.lost ? 'the connection dropped' : `exit ${exitCodeOf(o) ?? '?'}${o.signal ? `, ${o.signal}` : ''}`),
  );
  result.durationMs = Date.now() - start;
  result.exitCode = outcome.lost ? null : exitCodeOf(outcome);
  if (outcome.signal) result.signal = outcome.signal;
  signal.throwIfAborted();
  if (outcome.lost || result.exitCode === null) {
    const why = lab.deathReason() ?? 'the SSH connection dropped';
    throw new InfraError(`the ${access.shell ? 'shell' : 'command'} did not finish: ${why}; console tail:`, lab.consoleTail());
  }
  const findings: string[] = [];
  for (const [i, g] of lab.guests.entries()) findings.push(...(await kernelFindingsSince(g, marks[i], lab.guests.length)));
  if (findings.length) {
    result.kernelFindings = findings;
    ctx.bus.emit({ type: 'notice', message: `the kernel reported while the command ran (this fails the run):\n${findings.slice(0, 10).join('\n')}` });
  }
}

/**
 * --keep: the guests are let go (QEMU detached) and their state written for ssh-config and
 * stop; the user is told how to reach them.
 */
export async function keepGuests(ctx: AccessContext, o: { dir: string; hostKey: string; target: string }): Promise<void> {
  const consoles = new Map(ctx.lab.guests.map((g) => [g.name, join(o.dir, `console${g.index === 1 ? '' : `-${g.name}`}.log`)]));
  const { guests, linkDir } = ctx.lab.detach();
  const knownHosts = join(o.dir, 'guest', 'known_hosts');
  await writeFile(
    knownHosts,
    knownHostsText(
      o.hostKey,
      guests.map((g) => g.name),
    ),
  );
  const state: KeptState = {
    version: 1,
    runId: ctx.run.runId,
    target: o.target,
    keptAt: new Date().toISOString(),
    dir: o.dir,
    identityFile: join(o.dir, 'guest', 'id_ed25519'),
    knownHosts,
    hostKey: o.hostKey,
    guests: guests.map((g) => {
      const kept = { name: g.name, pid: g.pid, startTime: processStart(g.pid) ?? '', sshPort: g.ports.ssh, consoleLog: consoles.get(g.name) ?? '' };
      return g.ports.gdb !== undefined ? { ...kept, gdbPort: g.ports.gdb } : kept;
    }),
    ...(linkDir ? { linkDir } : {}),
  };
  ctx.run.guestAccess.keptState = await saveKept(state);
  const [first] = state.guests;
  const lines = state.guests.map(
    (g) => `${g.name}: QEMU pid ${g.pid}, ssh 127.0.0.1:${g.sshPort}${g.gdbPort !== undefined ? `, gdb 127.0.0.1:${g.gdbPort}` : ''}, console ${g.consoleLog}`,
  );
  if (first) {
    const ssh = [
      'ssh',
      '-i',
      state.identityFile,
      '-o',
      `UserKnownHostsFile=${knownHosts}`,
      '-o',
      `HostKeyAlias=sockvm-${first.name}`,
      '-o',
      'StrictHostKeyChecking=yes',
    ];
    lines.push(`reach guest 1: ${commandLine([...ssh, '-p', String(first.sshPort), 'root@127.0.0.1'])}`);
  }
  lines.push("or: npm run -s sockvm -- ssh-config > sockvm.ssh; ssh -F sockvm.ssh sockvm (scp -F and rsync -e 'ssh -F sockvm.ssh' too)");
  lines.push('power them off: npm run -s sockvm -- stop');
  ctx.bus.emit({ type: 'instructions', title: 'guests kept running:', lines });
}
