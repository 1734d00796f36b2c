// Quilt-style patch series (kernel/patches/<series>/{series,*.patch}): parsing, choosing the
// series for a tree's version, and applying it with a dry run first. A failing patch is named
// with the file and the hunk that did not apply.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { InfraError, UsageError } from '../util/errors.js';
import { exists } from '../util/fs.js';

export interface SeriesEntry {
  /** File name relative to the series directory. */
  patch: string;
  /** -pN (quilt's default is 1). */
  strip: number;
}

/**
 * A quilt `series` file: one patch per line, `#` comments and blank lines ignored, an optional
 * `-pN` after the name. Anything else after the name is an error naming the line.
 */
export function parseSeries(text: string, file = 'series'): SeriesEntry[] {
  const out: SeriesEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const [patch, ...opts] = line.split(/\s+/);
    let strip = 1;
    for (const o of opts) {
      const m = /^-p(\d+)$/.exec(o);
      if (!m) throw new UsageError(`${file}:${i + 1}: unknown option '${o}' after ${patch} (only -pN is understood)`);
      strip = Number(m[1]);
    }
    if (!patch || patch.includes('..') || patch.startsWith('/')) throw new UsageError(`${file}:${i + 1}: '${patch}' must be a file name inside the series directory`);
    out.push({ patch, strip });
  });
  return out;
}

/** `6.1.192` → `6.1`; `2.6.24.7` → `2.6.24` (2.6 trees name their series by three numbers). */
export function seriesNameForVersion(version: string): string {
  const nums = version.trim().split(/[.-]/).filter((p) => /^\d+$/.test(p));
  if (nums[0] === '2' && nums[1] === '6' && nums[2]) return `2.6.${nums[2]}`;
  if (nums.length < 2) throw new UsageError(`cannot read a kernel version from '${version}' (make kernelversion)`);
  return `${nums[0]}.${nums[1]}`;
}

/**
 * The series for a tree of `version` among the `available` series names: the exact
 * major.minor (6.12 never takes 6.1's series), else undefined.
 */
export function chooseSeries(version: string, available: string[]): string | undefined {
  const want = seriesNameForVersion(version);
  return available.includes(want) ? want : undefined;
}

/** The series directories under kernel/patches. */
export async function availableSeries(patchesRoot: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(patchesRoot, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory() && (await exists(join(patchesRoot, e.name, 'series')))) out.push(e.name);
  }
  return out.sort();
}

export interface Series {
  name: string;
  dir: string;
  entries: SeriesEntry[];
  /** sha256 over the series file and every patch's bytes (part of the kernel cache key). */
  hash: string;
}

export async function loadSeries(patchesRoot: string, name: string): Promise<Series> {
  const dir = join(patchesRoot, name);
  const file = join(dir, 'series');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    const known = await availableSeries(patchesRoot);
    throw new UsageError(`patch series '${name}': no ${file} (known series: ${known.join(', ') || 'none'})`);
  }
  const entries = parseSeries(text, file);
  const h = createHash('sha256').update(`series\0${text}\0`);
  for (const e of entries) {
    const p = join(dir, e.patch);
    let body: Buffer;
    try {
      body = await readFile(p);
    } catch {
      throw new UsageError(`${file}: names ${e.patch}, which is not in ${dir}`);
    }
    h.update(`${e.patch}\0${e.strip}\0`).update(body);
  }
  return { name, dir, entries, hash: h.digest('hex') };
}

export interface PatchFailure {
  file?: string;
  hunks: string[];
  lines: string[];
}

/**
 * What `patch` said went wrong: the file being patched when the first failure was reported, and
 * the hunks that failed (`Hunk #2 FAILED at 230.`). Pure, for tests.
 */
export function parsePatchFailure(output: string): PatchFailure {
  let current: string | undefined;
  let file: string | undefined;
  const hunks: string[] = [];
  const lines: string[] = [];
  for (const line of output.split('\n')) {
    const m = /^(?:checking|patching) file '?([^']+?)'?$/.exec(line.trim());
    if (m) {
      current = m[1];
      continue;
    }
    if (/Hunk #\d+ FAILED|can't find file to patch|No file to patch|malformed patch|Reversed \(or previously applied\)|No such file/.test(line)) {
      if (!file) file = current;
      if (/Hunk #\d+ FAILED/.test(line)) hunks.push(`${current ?? '?'}: ${line.trim()}`);
      lines.push(line.trim());
    }
  }
  const out: PatchFailure = { hunks, lines };
  if (file) out.file = file;
  return out;
}

/** Applies the series to `tree`: every patch is dry-run first, then applied; failures name file and hunk. */
export async function applySeries(tree: string, series: Series, log: (line: string) => void, signal: AbortSignal): Promise<void> {
  for (const e of series.entries) {
    const path = join(series.dir, e.patch);
    const args = [`-p${e.strip}`, '--forward', '--batch', '--no-backup-if-mismatch', '-i', path];
    const dry = await execa('patch', ['--dry-run', ...args], { cwd: tree, reject: false, all: true, cancelSignal: signal });
    signal.throwIfAborted();
    if (dry.failed) {
      const f = parsePatchFailure(dry.all ?? '');
      const where = f.file ? ` at ${f.file}` : '';
      const hunks = f.hunks.length ? `: ${f.hunks.join('; ')}` : f.lines.length ? `: ${f.lines[0]}` : '';
      throw new InfraError(
        `patch ${series.name}/${e.patch} does not apply to ${tree}${where}${hunks} (dry run; nothing was changed by this patch). Refresh the patch for this tree, or pick another series with "series" in the target's kernel`,
        (dry.all ?? '').trimEnd().split('\n').slice(-20).join('\n'),
      );
    }
    const r = await execa('patch', args, { cwd: tree, reject: false, all: true, cancelSignal: signal });
    signal.throwIfAborted();
    if (r.failed) throw new InfraError(`patch ${series.name}/${e.patch} failed after a clean dry run in ${tree}`, r.all);
    log(`applied ${series.name}/${e.patch}`);
  }
}
