// Shared by the end-to-end tests: runs the real CLI and inspects what it left behind.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { SockvmEvent } from '../src/events.js';
import type { ResultsFile, RunResult } from '../src/results/model.js';
import { repoRoot } from '../src/util/paths.js';
import { validResults } from './results-schema.js';

export const cli = join(repoRoot, 'harness', 'dist', 'src', 'cli.js');

/**
 * The command and argv that run the sockvm CLI as a user runs it. tap loads @tapjs/processinfo
 * into every node process a test starts (it patches spawn, so an env without NODE_OPTIONS is not
 * enough): 1.2 s of CPU per process, for coverage we do not collect. `env -u` drops it, and execs
 * node, so the child's pid is node's.
 */
export function cliArgv(args: string[]): [string, string[]] {
  return ['env', ['-u', 'NODE_OPTIONS', process.execPath, cli, ...args]];
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  resultsRoot: string;
}

/** Runs `sockvm run` with CI=true into a fresh results dir; `onOutput` may act mid-run. */
export function runSockvm(args: string[], onOutput?: (text: string, child: ReturnType<typeof spawn>, resultsRoot: string) => void): Promise<CliRun> {
  const resultsRoot = mkdtempSync(join(tmpdir(), 'sockvm-e2e-'));
  return new Promise((resolve) => {
    const child = spawn(...cliArgv(['run', '--results-dir', resultsRoot, ...args]), {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (chunk: Buffer): void => {
      output += chunk.toString();
      onOutput?.(output, child, resultsRoot);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('exit', (code, signal) => resolve({ code, signal, output, resultsRoot }));
  });
}

/** results/latest/results.json, validated against harness/schema/results.schema.json. */
export function readResults(resultsRoot: string, path = join('latest', 'results.json')): ResultsFile {
  const file = join(resultsRoot, path);
  return validResults(JSON.parse(readFileSync(file, 'utf8')), file);
}

/** The one target of a run without --target (validated as readResults does). */
export function readTargetResult(resultsRoot: string): RunResult {
  const results = readResults(resultsRoot);
  const [only] = results.targets;
  if (results.targets.length !== 1 || !only)
    throw new Error(`results.json of ${resultsRoot} holds ${results.targets.length} targets, not one${results.infraError ? `: ${results.infraError}` : ''}`);
  return only;
}

/** QEMU processes whose command line names this results dir (there must be none left). */
export function qemuLeftBehind(resultsRoot: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('qemu-system') && l.includes(resultsRoot));
}

/**
 * Feeds `--progress json` output: every chunk to `onText`, every event line (one JSON object a
 * line, among the reporter's other lines) to `onEvent`.
 */
export function onProgressEvents(stream: NodeJS.ReadableStream, onText: (text: string) => void, onEvent: (e: SockvmEvent) => void): void {
  let pending = '';
  stream.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    onText(text);
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{"')) onEvent(JSON.parse(line) as SockvmEvent);
  });
}

/** What `sockvm kernel build --json` says of one target's kernel. */
export interface Built {
  target: string;
  cached: boolean;
  image: string;
  buildDir: string;
  release: string;
  provenance?: { cacheKey: string; buildSeconds: number };
  uapiHeaders?: string;
}

/** Builds (or finds) the targets' kernels, as CI does: `sockvm kernel build --json`. */
export async function kernelBuild(targets: string[]): Promise<Built[]> {
  const { stdout } = await promisify(execFile)(...cliArgv(['kernel', 'build', ...targets.flatMap((x) => ['--target', x]), '--json']), {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as Built[];
}
