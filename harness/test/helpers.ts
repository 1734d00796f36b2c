// Shared by the end-to-end tests: runs the real CLI and inspects what it left behind.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from '../src/results/model.js';
import { repoRoot } from '../src/util/paths.js';

export const cli = join(repoRoot, 'harness', 'dist', 'src', 'cli.js');

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
    const child = spawn(process.execPath, [cli, 'run', '--results-dir', resultsRoot, ...args], {
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

export function readResults(resultsRoot: string): RunResult {
  return JSON.parse(readFileSync(join(resultsRoot, 'latest', 'results.json'), 'utf8')) as RunResult;
}

/** QEMU processes whose command line names this results dir (there must be none left). */
export function qemuLeftBehind(resultsRoot: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('qemu-system') && l.includes(resultsRoot));
}
