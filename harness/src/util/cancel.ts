// Cancellation of the processes a run starts. The CLI aborts `cancel` on the first SIGINT or
// SIGTERM; every long child (make, gcc, debootstrap, apt, dpkg-deb) runs in a process group of
// its own, which is then killed whole (TERM, KILL 2 s later), so no build runs on after the
// run has ended, and no cache entry is completed behind the user's back. `setpriv --pdeathsig`
// ends the group's leader even when sockvm itself is killed outright.
import { existsSync } from 'node:fs';

const controller = new AbortController();
export const cancel: AbortSignal = controller.signal;

/** Called once by the CLI when the user interrupts. */
export function cancelAll(reason: string): void {
  if (!controller.signal.aborted) controller.abort(reason);
}

const SETPRIV = '/usr/bin/setpriv';

/** `cmd args` wrapped so the child dies with us (SIGKILL included), where setpriv exists. */
export function dieWithUs(cmd: string, args: string[]): { cmd: string; args: string[] } {
  return existsSync(SETPRIV) ? { cmd: SETPRIV, args: ['--pdeathsig', 'KILL', cmd, ...args] } : { cmd, args };
}

/**
 * Kills the process group led by `child` when the run is cancelled (the child must have been
 * spawned with `detached: true`); stops watching when it ends.
 */
export function killGroupOnCancel(child: { pid?: number | undefined; finally(f: () => void): unknown }): void {
  const pid = child.pid;
  if (!pid) return;
  const kill = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  const onAbort = (): void => {
    kill('SIGTERM');
    setTimeout(() => kill('SIGKILL'), 2000).unref();
  };
  if (cancel.aborted) onAbort();
  else cancel.addEventListener('abort', onAbort, { once: true });
  child.finally(() => cancel.removeEventListener('abort', onAbort));
}

/** The error a cancelled build reports instead of its own failure. */
export function cancelledReason(): string | undefined {
  return cancel.aborted ? String(cancel.reason) : undefined;
}
