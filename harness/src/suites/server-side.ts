// The server side of a two-guest suite: started on guest 2 before the client, ready when it
// says "# ready", and after the client ended, given 15 s to exit on its own.
import type { ExecResult } from '../guest/ssh.js';
import { abortReason } from '../util/cancel.js';
import { InfraError } from '../util/errors.js';
import type { LabGuest } from '../vm/lab.js';
import { AppendLog, writeOut } from '../util/out-file.js';

/**
 * `work`, or `late` once `ms` have passed or `signal` aborted, whichever comes first. The timer is
 * cleared when the race is decided: a guard left pending would keep the process alive for its 30 s.
 */
async function within<T, L>(work: Promise<T>, ms: number, late: L, signal: AbortSignal): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => {};
  const guard = new Promise<L>((resolve) => {
    timer = setTimeout(() => resolve(late), ms);
    onAbort = () => resolve(late);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

export interface ServerSide {
  done: Promise<ExecResult>;
  guest: LabGuest;
  /** Its output, as it came. */
  log: AppendLog;
}

/** Runs `command` on `server`, its output in `log`, and waits (30 s at most) for "# ready". */
export async function startServer(suite: string, server: LabGuest, command: string, seconds: number, log: string, signal: AbortSignal): Promise<ServerSide> {
  await writeOut(log, '');
  const out = new AppendLog(log);
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => (ready = r));
  const done = server.ssh.exec(command, {
    timeoutMs: seconds * 1000 + 5000,
    onStdoutLine: (line) => {
      out.append(`${line}\n`);
      if (/^#\s*ready\b/.test(line)) ready();
    },
  });
  const outcome = await within(Promise.race([isReady.then(() => 'ready' as const), done.then(() => 'ended' as const)]), 30000, 'timeout' as const, signal);
  if (outcome !== 'ready') {
    if (signal.aborted)
      throw new InfraError(`suite ${suite}: the server side on ${server.name} stopped (${abortReason(signal)})`, undefined, { cause: signal.reason });
    // Not ready in time: it must not go on beside the next two-guest suite's server.
    if (outcome === 'timeout') await server.ssh.exec(`pkill -KILL -f /suites/${suite}`, { timeoutMs: 5000 }).catch(() => undefined);
    const r = await within(done, 0, undefined, signal);
    throw new InfraError(
      `suite ${suite}: the server side on ${server.name} ${outcome === 'ended' ? `exited (code ${r?.code}) before saying "# ready"` : 'did not say "# ready" within 30 s'}; see ${log}`,
    );
  }
  return { done, guest: server, log: out };
}

/**
 * The server side's end once the client's is over: `lost` when its SSH session dropped (its
 * guest may be gone), `error` when it failed or had to be killed.
 */
export async function serverEnd(server: ServerSide, suite: string, resultName: string, signal: AbortSignal): Promise<{ lost: boolean; error?: string }> {
  const s = await within(server.done, 15000, undefined, signal);
  // Interrupted: the lab is going down, nothing to kill and nothing to judge.
  if (!s && signal.aborted) return { lost: true };
  if (!s) {
    await server.guest.ssh.exec(`pkill -KILL -f /suites/${suite}`, { timeoutMs: 5000 });
    return { lost: false, error: `the server side on ${server.guest.name} did not exit within 15 s of the client and was killed` };
  }
  if (s.code !== 0 && !s.lost)
    return { lost: false, error: `the server side on ${server.guest.name} exited with code ${s.code}; see ${resultName}.server.log` };
  return { lost: s.lost };
}
