// Runs the real sockvm CLI for a benchmark: wall time, exit code, its results and events.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SockvmEvent } from '../events.js';
import type { ResultsFile } from '../results/model.js';
import { repoRoot } from '../util/paths.js';

const CLI = join(repoRoot, 'harness', 'dist', 'src', 'cli.js');

export interface CliOutcome {
  code: number | null;
  wallMs: number;
  /** The tail of what it printed, for a failure's message. */
  tail: string;
}

/**
 * `sockvm <args>` with --progress json; `onEvent` sees every event (and may act: touch a file).
 * `env` adds to ours (XDG_CACHE_HOME for a cold cache).
 */
export function sockvm(args: string[], o: { env?: Record<string, string>; onEvent?: (e: SockvmEvent) => void } = {}): Promise<CliOutcome> {
  const start = Date.now();
  // uncancelled: the measured CLI stays in our process group, so a ^C reaches it as it reaches us.
  const child = spawn(process.execPath, [CLI, ...args, '--progress', 'json'], {
    env: { ...process.env, ...o.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let pending = '';
  const keep = (text: string): void => void (tail = (tail + text).slice(-4000));
  child.stdout.on('data', (c: Buffer) => keep(c.toString()));
  child.stderr.on('data', (c: Buffer) => {
    pending += c.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{"')) o.onEvent?.(JSON.parse(line) as SockvmEvent);
      else keep(`${line}\n`);
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, wallMs: Date.now() - start, tail })));
}

export async function readResults(resultsRoot: string): Promise<ResultsFile> {
  return JSON.parse(await readFile(join(resultsRoot, 'latest', 'results.json'), 'utf8')) as ResultsFile;
}

/** A run that had to pass and did not: the benchmark stops with what it printed. */
export function mustPass(what: string, r: CliOutcome): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.tail}`);
}
