// Runs a build command with its output appended to a log file; a failure quotes the log's tail.
import { readFile } from 'node:fs/promises';
import { abortReason, runGroupChild } from './cancel.js';
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
  const result = await runGroupChild(cmd, args, opts);
  await appendOut(opts.log, `${result.all}\n`);
  if (result.aborted) throw new InfraError(`${what}: stopped (${abortReason(opts.signal)}); full log: ${opts.log}`, undefined, { cause: opts.signal.reason });
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exit code ${result.exitCode}` : result.shortMessage || 'failed to start';
    throw new InfraError(`${what} failed (${why}); full log: ${opts.log}`, await tail(opts.log));
  }
}
