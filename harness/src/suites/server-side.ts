// The server side of a two-guest suite: started on guest 2 before the client, ready when it
// says "# ready", and after the client ended, given 15 s to exit on its own.
import { appendFile, writeFile } from 'node:fs/promises';
import type { ExecResult } from '../guest/ssh.js';
import { InfraError } from '../util/errors.js';
import type { LabGuest } from '../vm/lab.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ServerSide {
  done: Promise<ExecResult>;
  guest: LabGuest;
}

/** Runs `command` on `server`, its output in `log`, and waits (30 s at most) for "# ready". */
export async function startServer(suite: string, server: LabGuest, command: string, seconds: number, log: string): Promise<ServerSide> {
  await writeFile(log, '');
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => (ready = r));
  const done = server.ssh.exec(command, {
    timeoutMs: seconds * 1000 + 5000,
    onStdoutLine: (line) => {
      void appendFile(log, `${line}\n`);
      if (/^#\s*ready\b/.test(line)) ready();
    },
  });
  const outcome = await Promise.race([isReady.then(() => 'ready' as const), done.then(() => 'ended' as const), sleep(30000).then(() => 'timeout' as const)]);
  if (outcome !== 'ready') {
    const r = await Promise.race([done, sleep(0).then(() => undefined)]);
    throw new InfraError(`suite ${suite}: the server side on ${server.name} ${outcome === 'ended' ? `exited (code ${r?.code}) before saying "# ready"` : 'did not say "# ready" within 30 s'}; see ${log}`);
  }
  return { done, guest: server };
}

/**
 * The server side's end once the client's is over: `lost` when its SSH session dropped (its
 * guest may be gone), `error` when it failed or had to be killed.
 */
export async function serverEnd(server: ServerSide, suite: string, resultName: string): Promise<{ lost: boolean; error?: string }> {
  const s = await Promise.race([server.done, sleep(15000).then(() => undefined)]);
  if (!s) {
    await server.guest.ssh.exec(`pkill -KILL -f /suites/${suite}`, { timeoutMs: 5000 });
    return { lost: false, error: `the server side on ${server.guest.name} did not exit within 15 s of the client and was killed` };
  }
  if (s.code !== 0 && !s.lost) return { lost: false, error: `the server side on ${server.guest.name} exited with code ${s.code}; see ${resultName}.server.log` };
  return { lost: s.lost };
}
