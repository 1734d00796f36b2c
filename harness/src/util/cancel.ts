// Cancellation. The CLI owns one AbortController; its signal goes down to every stage, child
// process, QEMU and wait. A long child (make, gcc, debootstrap, apt, dpkg-deb) runs in a process
// group of its own, which is killed whole when the signal aborts (TERM, KILL 1 s later), so no
// build runs on after the run has ended and no cache entry is completed behind the user's back.
// `setpriv --pdeathsig` ends the group's leader even when sockvm itself is killed outright.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { InfraError } from './errors.js';

/** The reason the CLI aborts with on SIGINT/SIGTERM; it carries the exit code. */
export class Interrupted extends InfraError {
  constructor(readonly signalName: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signalName}`);
    this.name = 'Interrupted';
  }

  get exitCode(): number {
    return this.signalName === 'SIGINT' ? 130 : 143;
  }
}

/** The exit code an interrupt asks for (130 SIGINT, 143 SIGTERM), once the user interrupted. */
export function interruptExit(signal: AbortSignal): number | undefined {
  return signal.aborted && signal.reason instanceof Interrupted ? signal.reason.exitCode : undefined;
}

/** Why the signal aborted, as the message of whatever it stopped. */
export function abortReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
}

const SETPRIV = '/usr/bin/setpriv';

/** `cmd args` wrapped so the child dies with us (SIGKILL included), where setpriv exists. */
export function dieWithUs(cmd: string, args: string[]): { cmd: string; args: string[] } {
  return existsSync(SETPRIV) ? { cmd: SETPRIV, args: ['--pdeathsig', 'KILL', cmd, ...args] } : { cmd, args };
}

/**
 * The same as words to put before each command of a `sh -c` script: pdeathsig is not inherited,
 * so each stage of a pipeline needs its own to die with the shell that dies with us.
 */
export function dieWithUsPrefix(): string {
  return existsSync(SETPRIV) ? `${SETPRIV} --pdeathsig KILL` : '';
}

export interface GroupResult {
  failed: boolean;
  exitCode: number | undefined;
  stdout: string;
  /** stdout and stderr interleaved. */
  all: string;
  shortMessage: string;
}

/**
 * Runs a long child the way every long child runs: in a process group of its own that `signal`
 * kills whole, and dying with us. Resolves once the child and, when aborted, its whole group are
 * gone; never rejects for the child's own failure (see `failed`) nor for the abort (`aborted`).
 */
export async function runGroupChild(
  cmd: string,
  args: string[],
  o: { signal?: AbortSignal | undefined; cwd?: string | undefined; env?: Record<string, string> | undefined },
): Promise<GroupResult & { aborted: boolean }> {
  const argv = dieWithUs(cmd, args);
  const child = execa(argv.cmd, argv.args, {
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    ...(o.env !== undefined ? { env: o.env } : {}),
    all: true,
    reject: false,
    stdin: 'ignore',
    detached: true,
  });
  if (o.signal) killGroupOnAbort(child, o.signal);
  const r = await child;
  const aborted = o.signal?.aborted === true;
  if (aborted) await groupGone(child.pid);
  return { failed: r.failed, exitCode: r.exitCode, stdout: r.stdout, all: r.all ?? '', shortMessage: r.shortMessage ?? '', aborted };
}

/**
 * runGroupChild for apt, tar, dpkg-deb: rejects with the signal's reason once an aborted child's
 * group is gone. Never rejects for the child's own failure: see `failed`.
 */
export async function runInGroup(
  cmd: string,
  args: string[],
  o: { signal?: AbortSignal | undefined; cwd?: string; env?: Record<string, string> },
): Promise<GroupResult> {
  o.signal?.throwIfAborted();
  const { aborted, ...result } = await runGroupChild(cmd, args, o);
  if (aborted) o.signal?.throwIfAborted();
  return result;
}

/**
 * Waits (at most `limitMs`) until no process of group `pgid` is left: a killed group's members
 * die a moment after its leader, and an interrupted run exits only once they are gone.
 */
export async function groupGone(pgid: number | undefined, limitMs = 3000): Promise<void> {
  if (!pgid) return;
  for (const start = Date.now(); Date.now() - start < limitMs;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Kills the process group led by `child` when `signal` aborts (the child must have been
 * spawned with `detached: true`); stops watching when it ends.
 */
export function killGroupOnAbort(child: { pid?: number | undefined; finally(f: () => void): unknown }, signal: AbortSignal): void {
  const pid = child.pid;
  if (!pid) return;
  const kill = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  let force: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    kill('SIGTERM');
    force = setTimeout(() => kill('SIGKILL'), 1000);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  child.finally(() => {
    signal.removeEventListener('abort', onAbort);
    // The leader is gone; a member that ignored TERM still gets its KILL, then nothing is left.
    if (force) {
      clearTimeout(force);
      kill('SIGKILL');
    }
  });
}
