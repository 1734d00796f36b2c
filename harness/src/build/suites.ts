// Compiles suites/<name>/*.c into static binaries, with suites/Makefile doing the work.
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { runLogged } from '../util/run-logged.js';

export interface SuiteBinary {
  name: string;
  path: string;
  /** suites/<name>/, where its sources and suite.json live. */
  sourceDir: string;
}

/** Suite names in a directory: every subdirectory holding a .c file, except lib/ and build/. */
export async function discoverSuites(dir: string): Promise<string[]> {
  if (!(await exists(dir))) throw new UsageError(`suites directory ${dir} does not exist`);
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'lib' || entry.name === 'build') continue;
    if ((await readdir(join(dir, entry.name))).some((f) => f.endsWith('.c'))) names.push(entry.name);
  }
  return names.sort();
}

export async function buildSuites(makefileDir: string, sourceDirs: string[], outDir: string, log: string): Promise<SuiteBinary[]> {
  const built: SuiteBinary[] = [];
  for (const src of sourceDirs) {
    // Runs from one source tree (and library) share an output directory, make rebuilding only
    // what changed there; another clone or --suites-dir gets its own, so make's timestamps never
    // pick a binary built from other sources. flock keeps two concurrent runs apart.
    const tree = createHash('sha256').update(`${resolve(makefileDir)}\0${resolve(src)}`).digest('hex').slice(0, 16);
    const out = join(outDir, tree);
    await mkdir(out, { recursive: true });
    await runLogged(`building suites in ${src}`, 'flock', [join(out, '.lock'), 'make', '-C', makefileDir, `OUT=${out}`, `SRC=${src}`, '-j2'], { log });
    for (const name of await discoverSuites(src)) built.push({ name, path: join(out, name), sourceDir: join(src, name) });
  }
  return built;
}
