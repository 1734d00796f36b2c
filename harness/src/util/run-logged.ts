// Runs a build command with its output appended to a log file; a failure quotes the log's tail.
import { appendFile, readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { cancel, cancelledReason, dieWithUs, killGroupOnCancel } from './cancel.js';
import { InfraError } from './errors.js';

export async function tail(path: string, lines = 30): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function runLogged(what: string, cmd: string, args: string[], opts: { log: string; cwd?: string; env?: Record<string, string>; signal?: AbortSignal }): Promise<void> {
  await appendFile(opts.log, `$ ${cmd} ${args.join(' ')}\n`);
  if (cancel.aborted) throw new InfraError(`${what}: not started (${cancelledReason()})`);
  const argv = dieWithUs(cmd, args);
  const child = execa(argv.cmd, argv.args, { cwd: opts.cwd, env: opts.env, all: true, reject: false, stdin: 'ignore', detached: true });
  killGroupOnCancel(child);
  const result = await child;
  await appendFile(opts.log, `${result.all ?? ''}\n`);
  if (cancel.aborted) throw new InfraError(`${what}: stopped (${cancelledReason()}); full log: ${opts.log}`);
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exit code ${result.exitCode}` : (result.shortMessage ?? 'failed to start');
    throw new InfraError(`${what} failed (${why}); full log: ${opts.log}`, await tail(opts.log));
  }
}
