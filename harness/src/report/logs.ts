// The logs report.html shows for a target: the ends of dmesg.txt and console.log in its results
// directory, read when the report is written (a file not there yet, or unreadable, is left out).
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultsFile } from '../results/model.js';
import type { TargetLogs } from './html.js';

/** Bytes read from a log's end: enough for the report's tail, never the whole console of a long run. */
const TAIL_BYTES = 64 * 1024;

async function readTail(path: string): Promise<string | undefined> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return undefined;
  try {
    const { size } = await file.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    await file.read(buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    // A tail cut mid-line starts at the next whole line.
    return start > 0 ? text.slice(text.indexOf('\n') + 1) : text;
  } catch {
    return undefined;
  } finally {
    await file.close();
  }
}

/** A target's logs in `dir`. */
export async function targetLogs(dir: string): Promise<TargetLogs> {
  const [dmesg, console] = await Promise.all([readTail(join(dir, 'dmesg.txt')), readTail(join(dir, 'console.log'))]);
  return { ...(dmesg !== undefined ? { dmesg } : {}), ...(console !== undefined ? { console } : {}) };
}

/** Each target's logs of a run written in `dir`: beside results.json, or in <dir>/<target>/ for a matrix. */
export function runLogs(results: ResultsFile, dir: string): Promise<TargetLogs[]> {
  return Promise.all(results.targets.map((t) => targetLogs(results.matrix ? join(dir, t.target ?? '') : dir)));
}
