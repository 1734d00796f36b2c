// Guest access in a booted lab: --copy, then the user's command (its output
// streamed to our stdout and stderr: the one place where guest output reaches the terminal
// without an event, byte for byte).
import type { EventBus, Phase } from '../events.js';
import { GUEST_WORKDIR, guestCommandLine } from '../guest/quote.js';
import { exitCodeOf } from '../guest/ssh.js';
import { copyIntoGuest, streamCommand, type CommandOutcome, type GuestTerminal } from '../guest/stream.js';
import type { AccessPlan } from '../plan/plan.js';
import type { GuestAccessResult, RunResult } from '../results/model.js';
import { kernelFindingsSince, markKernelLog } from '../suites/kernel-log.js';
import { InfraError } from '../util/errors.js';
import type { Lab } from '../vm/lab.js';

export type PhaseRunner = <T>(name: Phase, work: () => Promise<T>, detail?: (r: T) => string | undefined) => Promise<T>;

/** What results.json says about the access before anything ran. */
export function accessResult(access: AccessPlan): GuestAccessResult {
  const result: GuestAccessResult = { mode: 'command' };
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

/** --copy, then the command in guest 1; how it ended goes into results.json. */
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
  if (!access.command) return;
  const marks = await Promise.all(lab.guests.map((g) => markKernelLog(g.ssh)));
  const start = Date.now();
  const outcome = await phase<CommandOutcome>(
    'command',
    () => streamCommand(guest.ssh, result.command ?? 'false', ctx.terminal),
    (o) => (o.lost ? 'the connection dropped' : `exit ${exitCodeOf(o) ?? '?'}${o.signal ? `, ${o.signal}` : ''}`),
  );
  result.durationMs = Date.now() - start;
  result.exitCode = outcome.lost ? null : exitCodeOf(outcome);
  if (outcome.signal) result.signal = outcome.signal;
  signal.throwIfAborted();
  if (outcome.lost || result.exitCode === null) {
    const why = lab.deathReason() ?? 'the SSH connection dropped';
    throw new InfraError(`the command did not finish: ${why}; console tail:`, lab.consoleTail());
  }
  const findings: string[] = [];
  for (const [i, g] of lab.guests.entries()) findings.push(...(await kernelFindingsSince(g, marks[i], lab.guests.length)));
  if (findings.length) {
    result.kernelFindings = findings;
    ctx.bus.emit({ type: 'notice', message: `the kernel reported while the command ran (this fails the run):\n${findings.slice(0, 10).join('\n')}` });
  }
}
