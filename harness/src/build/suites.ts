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

/** What a suite name may be: it names a directory, a binary, result files and TAP lines. */
export const SUITE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Suite names in a directory: every subdirectory holding a .c file, except lib/ and build/.
 * A name is data that reaches make, file names and the guest: anything but letters, digits,
 * '_', '.' and '-' (or a leading '.' or '-') is refused before anything is built.
 */
export async function discoverSuites(dir: string): Promise<string[]> {
  if (!(await exists(dir))) throw new UsageError(`suites directory ${dir} does not exist`);
  const names: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'lib' || entry.name === 'build') continue;
    const files = await readdir(join(dir, entry.name));
    if (!files.some((f) => f.endsWith('.c'))) continue;
    // Its sources reach make's recipes too.
    const badFile = files.find((f) => /\.[ch]$/.test(f) && !SUITE_NAME.test(f));
    if (badFile !== undefined)
      throw new UsageError(
        `suite source ${JSON.stringify(join(dir, entry.name, badFile))}: a source file name may hold only letters, digits, '_', '.' and '-'; rename it`,
      );
    if (!SUITE_NAME.test(entry.name)) {
      throw new UsageError(
        `suite directory ${JSON.stringify(join(dir, entry.name))}: a suite name may hold only letters, digits, '_', '.' and '-', and not start with '.' or '-'; rename the directory`,
      );
    }
    names.push(entry.name);
  }
  return names.sort();
}

/** The suites of each source directory, names checked and unique across all of them. */
export async function findSuites(sourceDirs: string[]): Promise<{ src: string; names: string[] }[]> {
  const found: { src: string; names: string[] }[] = [];
  const owner = new Map<string, string>();
  for (const src of sourceDirs) {
    const names = await discoverSuites(src);
    for (const name of names) {
      const other = owner.get(name);
      if (other !== undefined)
        throw new UsageError(`suite '${name}' is in both ${other} and ${src}; rename one (a suite of your own may not replace a built-in one)`);
      owner.set(name, src);
    }
    found.push({ src, names });
  }
  return found;
}

export async function buildSuites(makefileDir: string, sourceDirs: string[], outDir: string, log: string, signal: AbortSignal): Promise<SuiteBinary[]> {
  // Every directory's names are checked, and checked unique, before make sees any of them.
  const found = await findSuites(sourceDirs);
  const built: SuiteBinary[] = [];
  for (const { src, names } of found) {
    // Runs from one source tree (and library) share an output directory, make rebuilding only
    // what changed there; another clone or --suites-dir gets its own, so make's timestamps never
    // pick a binary built from other sources. flock keeps two concurrent runs apart.
    const tree = createHash('sha256')
      .update(`${resolve(makefileDir)}\0${resolve(src)}`)
      .digest('hex')
      .slice(0, 16);
    const out = join(outDir, tree);
    await mkdir(out, { recursive: true });
    // make gets the checked names, never its own wildcard of whatever the directory holds.
    await runLogged(
      `building suites in ${src}`,
      'flock',
      [join(out, '.lock'), 'make', '-C', makefileDir, `OUT=${out}`, `SRC=${src}`, `SUITES=${names.join(' ')}`, '-j2'],
      { log, signal },
    );
    for (const name of names) built.push({ name, path: join(out, name), sourceDir: join(src, name) });
  }
  return built;
}
