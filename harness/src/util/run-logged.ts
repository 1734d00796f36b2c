// Runs a build command with its output appended to a log file; a failure quotes the log's tail.
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { abortReason, dieWithUs, groupGone, killGroupOnAbort } from './cancel.js';
import { InfraError } from './errors.js';
import { appendOut } from './out-file.js';

export async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function runLogged(
  what: string,
  cmd: string,
  args: string[],
  opts: { log: string; signal: AbortSignal; cwd?: string; env?: Record<string, string> },
): Promise<void> {
  await appendOut(opts.log, `$ ${cmd} ${args.join(' ')}\n`);
  if (opts.signal.aborted) throw new InfraError(`${what}: not started (${abortReason(opts.signal)})`, undefined, { cause: opts.signal.reason });
  const argv = dieWithUs(cmd, args);
  const child = execa(argv.cmd, argv.args, {
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.env !== undefined ? { env: opts.env } : {}),
    all: true,
    reject: false,
    stdin: 'ignore',
    detached: true,
  });
  killGroupOnAbort(child, opts.signal);
  const result = await child;
  await appendOut(opts.log, `${result.all ?? ''}\n`);
  if (opts.signal.aborted) await groupGone(child.pid);
  if (opts.signal.aborted)
    throw new InfraError(`${what}: stopped (${abortReason(opts.signal)}); full log: ${opts.log}`, undefined, { cause: opts.signal.reason });
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exit code ${result.exitCode}` : (result.shortMessage ?? 'failed to start');
    throw new InfraError(`${what} failed (${why}); full log: ${opts.log}`, await tail(opts.log));
  }
}
