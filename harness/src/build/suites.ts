// Compiles suites/<name>/*.c into static binaries, with suites/Makefile doing the work.
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
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
    // Runs share the output directory (make only rebuilds what changed); flock keeps two
    // concurrent runs from writing the same binary at once.
    await mkdir(outDir, { recursive: true });
    await runLogged(`building suites in ${src}`, 'flock', [join(outDir, '.lock'), 'make', '-C', makefileDir, `OUT=${outDir}`, `SRC=${src}`, '-j2'], { log });
    for (const name of await discoverSuites(src)) built.push({ name, path: join(outDir, name), sourceDir: join(src, name) });
  }
  return built;
}
