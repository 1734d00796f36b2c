// Compiles suites/<name>/*.c into static binaries, with suites/Makefile doing the work; a
// directory of ready-made programs gets its driver instead (program-suites.ts).
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readManifest } from '../suites/manifest.js';
import { UsageError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { runLogged } from '../util/run-logged.js';
import { programDriver, programSuiteFiles, suitePrograms, type SuiteFile } from './program-suites.js';

export interface SuiteBinary {
  name: string;
  /** What runs as /suites/<name>: the built binary, or a program suite's driver. */
  path: string;
  /** suites/<name>/, where its sources and suite.json live. */
  sourceDir: string;
  /** A program suite's files, for /suites/<name>.d/. */
  files?: SuiteFile[];
}

export type SuiteKind = 'c' | 'programs';

/** What a suite name may be: it names a directory, a binary, result files and TAP lines. */
export const SUITE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The suites in a directory and their kind: a subdirectory holding a .c file (except lib/ and
 * build/) is built by suites/Makefile; one without, whose suite.json lists "programs" or that
 * holds executable files, runs those programs. A name is data that reaches make, file names
 * and the guest: anything but letters, digits, '_', '.' and '-' (or a leading '.' or '-') is
 * refused before anything is built.
 */
export async function discoverSuiteKinds(dir: string): Promise<{ name: string; kind: SuiteKind }[]> {
  if (!(await exists(dir))) throw new UsageError(`suites directory ${dir} does not exist`);
  const found: { name: string; kind: SuiteKind }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'lib' || entry.name === 'build') continue;
    const kind = await suiteKind(join(dir, entry.name));
    if (!kind) continue;
    if (!SUITE_NAME.test(entry.name)) {
      throw new UsageError(
        `suite directory ${JSON.stringify(join(dir, entry.name))}: a suite name may hold only letters, digits, '_', '.' and '-', and not start with '.' or '-'; rename the directory`,
      );
    }
    found.push({ name: entry.name, kind });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What a suite directory holds: C sources, ready-made programs, or no suite. */
async function suiteKind(suiteDir: string): Promise<SuiteKind | undefined> {
  const files = await readdir(suiteDir);
  if (files.some((f) => f.endsWith('.c'))) {
    // Only a peek: the plan reads (and reports) a C suite's suite.json with the others.
    const raw: unknown = await readFile(join(suiteDir, 'suite.json'), 'utf8')
      .then((text) => JSON.parse(text) as unknown)
      .catch(() => undefined);
    if (typeof raw === 'object' && raw !== null && 'programs' in raw)
      throw new UsageError(
        `${join(suiteDir, 'suite.json')}: "programs" lists ready-made programs, but ${suiteDir} also holds C sources that suites/Makefile builds; keep one kind per suite directory`,
      );
    // Its sources reach make's recipes too.
    const badFile = files.find((f) => /\.[ch]$/.test(f) && !SUITE_NAME.test(f));
    if (badFile !== undefined)
      throw new UsageError(
        `suite source ${JSON.stringify(join(suiteDir, badFile))}: a source file name may hold only letters, digits, '_', '.' and '-'; rename it`,
      );
    return 'c';
  }
  const manifest = files.includes('suite.json') ? await readManifest(suiteDir) : undefined;
  if (manifest?.programs) return 'programs';
  for (const f of files) {
    const st = await stat(join(suiteDir, f)).catch(() => undefined);
    if (st?.isFile() && (st.mode & 0o111) !== 0) return 'programs';
  }
  return undefined;
}

/** Suite names in a directory, of either kind. */
export async function discoverSuites(dir: string): Promise<string[]> {
  return (await discoverSuiteKinds(dir)).map((s) => s.name);
}

/** The suites of each source directory, names checked and unique across all of them. */
export async function findSuites(sourceDirs: string[]): Promise<{ src: string; names: string[]; programs: string[] }[]> {
  const found: { src: string; names: string[]; programs: string[] }[] = [];
  const owner = new Map<string, string>();
  for (const src of sourceDirs) {
    const suites = await discoverSuiteKinds(src);
    for (const { name } of suites) {
      const other = owner.get(name);
      if (other !== undefined)
        throw new UsageError(`suite '${name}' is in both ${other} and ${src}; rename one (a suite of your own may not replace a built-in one)`);
      owner.set(name, src);
    }
    found.push({ src, names: suites.map((s) => s.name), programs: suites.filter((s) => s.kind === 'programs').map((s) => s.name) });
  }
  // A suite's files sit beside it in the guest, as /suites/<name>.d/ and /suites/<name>.bpf/.
  for (const name of owner.keys()) {
    const clash = ['.d', '.bpf'].map((x) => `${name}${x}`).find((n) => owner.has(n));
    if (clash)
      throw new UsageError(`suites '${name}' (${owner.get(name)}) and '${clash}' (${owner.get(clash)}) would share a path in the guest; rename '${clash}'`);
  }
  return found;
}

/** A program suite: its files checked, its driver written to `out`. */
async function prepareProgramSuite(src: string, name: string, out: string): Promise<SuiteBinary> {
  const sourceDir = join(src, name);
  const files = await programSuiteFiles(sourceDir);
  const programs = suitePrograms(sourceDir, await readManifest(sourceDir), files);
  const path = join(out, name);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, programDriver(name, programs));
  await chmod(tmp, 0o755);
  await rename(tmp, path);
  return { name, path, sourceDir, files };
}

/** What one source directory contributes to a run: the C suites make builds, the program suites given a driver. */
export interface SuiteBuildRequest {
  src: string;
  compiled: string[];
  programs: string[];
}

/**
 * What to build for the suites a run selected: only those (a suite needs nothing of another; its
 * library, BPF objects and files come with it), and no make at all for a directory none of whose
 * C suites is selected. Without `selected`, everything found.
 */
export function suiteBuildRequests(found: { src: string; names: string[]; programs: string[] }[], selected?: ReadonlySet<string>): SuiteBuildRequest[] {
  const wanted = (name: string): boolean => selected === undefined || selected.has(name);
  return found
    .map(({ src, names, programs }) => ({
      src,
      compiled: names.filter((n) => !programs.includes(n) && wanted(n)),
      programs: names.filter((n) => programs.includes(n) && wanted(n)),
    }))
    .filter((r) => r.compiled.length > 0 || r.programs.length > 0);
}

/**
 * Builds the suites of `sourceDirs` (only `selected` ones, when given) into `outDir`. Every name
 * found is checked, and checked unique, whether selected or not.
 */
export async function buildSuites(
  makefileDir: string,
  sourceDirs: string[],
  outDir: string,
  log: string,
  signal: AbortSignal,
  selected?: ReadonlySet<string>,
): Promise<SuiteBinary[]> {
  // Every directory's names are checked, and checked unique, before make sees any of them.
  const found = await findSuites(sourceDirs);
  const built: SuiteBinary[] = [];
  for (const { src, compiled, programs } of suiteBuildRequests(found, selected)) {
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
    if (compiled.length) {
      await runLogged(
        `building suites in ${src}`,
        'flock',
        [join(out, '.lock'), 'make', '-C', makefileDir, `OUT=${out}`, `SRC=${src}`, `SUITES=${compiled.join(' ')}`, '-j2'],
        { log, signal },
      );
    }
    for (const name of compiled) built.push({ name, path: join(out, name), sourceDir: join(src, name) });
    for (const name of programs) built.push(await prepareProgramSuite(src, name, out));
  }
  return built;
}
