// A Debian release's kernel as a target: the newest linux-image/headers/kbuild of the release,
// downloaded under the private apt config (apt.ts), unpacked with dpkg-deb -x into a
// cache entry keyed by the package versions, with the headers' absolute paths rewritten to
// where they were unpacked. A second call with everything cached reads two small JSON files.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runInGroup } from '../util/cancel.js';
import { InfraError } from '../util/errors.js';
import { checkKernelImage, checkModulesDir, firstProblem, readIndex } from '../util/cache-check.js';
import { cachedDir, exists, writeFileAtomic } from '../util/fs.js';
import { cacheRoot } from '../util/paths.js';
import type { KernelArtifact } from '../kernel/artifact.js';
import { type KernelCompiler, kernelCompiler } from '../kernel/kernel-compiler.js';
import { aptDownload, aptSetup, aptUpdate, type AptSourcesOptions } from './apt.js';
import { kernelDebs, type KernelPackages, resolveKernelPackages } from './kernel-packages.js';
import { type DebianRelease, parseDebianRelease } from './releases.js';

export interface DebianKernel extends KernelArtifact {
  provider: 'debian';
  debianRelease: DebianRelease;
  /** Where the packages were unpacked (bind this into a toolchain chroot at the same path). */
  root: string;
  packages: { name: string; version: string }[];
  compiler?: KernelCompiler;
  /** Cache entry key: `<abi>-<hash of package versions>`. */
  cacheKey: string;
}

export interface PrepareDebianOptions extends AptSourcesOptions {
  cacheDir?: string;
  /** Re-read the archive (apt-get update) and pick up a newer kernel if there is one. */
  refresh?: boolean;
  /** Called with one line per step, for a log or a spinner. */
  log?: (line: string) => void;
}

export interface PrepareDebianResult {
  kernel: DebianKernel;
  /** True when nothing was resolved, downloaded or unpacked. */
  cached: boolean;
  /** Packages fetched by this call (name=version). */
  downloaded: string[];
  warnings: string[];
}

/** The cache entry name for a set of packages: stable in the package names and versions. */
export function kernelCacheKey(k: KernelPackages): string {
  const h = createHash('sha256');
  for (const p of kernelDebs(k)) h.update(`${p.name}=${p.version}\n`);
  return `${k.abi}-${h.digest('hex').slice(0, 12)}`;
}

/**
 * Rewrites the absolute /usr/src and /usr/lib/linux-kbuild references in a Debian headers
 * Makefile (`include /usr/src/linux-headers-<abi>-common/Makefile`) to `root`.
 */
export function rewriteHeadersMakefile(text: string, root: string): string {
  return text.replace(
    /(^|[\s=:"'])\/(usr\/src\/linux-headers-|usr\/lib\/linux-kbuild-|lib\/modules\/)/gm,
    (_m, pre: string, rest: string) => `${pre}${root}/${rest}`,
  );
}

/** An absolute symlink target inside the package → the same path under root; relative ones stay. */
export function rebaseLink(target: string, root: string): string | undefined {
  if (!target.startsWith('/') || target.startsWith(`${root}/`)) return undefined;
  return join(root, target);
}

async function walkSymlinks(dir: string, visit: (path: string) => Promise<void>): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isSymbolicLink()) await visit(p);
    else if (e.isDirectory()) await walkSymlinks(p, visit);
  }
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}

/**
 * Makes the unpacked tree usable where it will live: absolute symlinks and Makefile includes
 * are rewritten against `finalRoot` (the entry's path after the atomic rename).
 */
async function fixupTree(root: string, finalRoot: string): Promise<void> {
  // Absolute symlinks only occur in a few places (lib/modules/<abi>/{build,source}, headers); the
  // module tree is large, so walk only the directories that can hold them.
  for (const dir of ['usr/src', 'usr/lib/linux-kbuild', 'lib/modules', 'usr/lib/modules']) {
    const base = join(root, dir);
    const roots = dir === 'usr/lib/linux-kbuild' ? [] : [base];
    if (dir === 'usr/lib/linux-kbuild') {
      for (const e of await readdir(join(root, 'usr/lib')).catch(() => [] as string[])) if (e.startsWith('linux-kbuild-')) roots.push(join(root, 'usr/lib', e));
    }
    for (const r of roots) {
      await walkSymlinks(r, async (p) => {
        const target = rebaseLink(await readlink(p), finalRoot);
        if (!target) return;
        await unlink(p);
        await symlink(target, p);
      });
    }
  }
  const src = join(root, 'usr/src');
  for (const e of await readdir(src).catch(() => [] as string[])) {
    if (!e.startsWith('linux-headers-')) continue;
    const mk = join(src, e, 'Makefile');
    const st = await lstat(mk).catch(() => undefined);
    if (!st?.isFile()) continue;
    const text = await readFile(mk, 'utf8');
    const fixed = rewriteHeadersMakefile(text, finalRoot);
    if (fixed !== text) await writeFile(mk, fixed);
  }
}

async function locate(root: string, abi: string): Promise<{ image: string; modulesDir: string; modulesBase: string; buildDir: string }> {
  const image = await firstExisting([
    join(root, 'boot', `vmlinuz-${abi}`),
    join(root, 'usr/lib/linux', `vmlinuz-${abi}`),
    join(root, 'usr/lib/modules', abi, 'vmlinuz'),
  ]);
  const modules = await firstExisting([join(root, 'lib/modules', abi, 'kernel'), join(root, 'usr/lib/modules', abi, 'kernel')]);
  const buildDir = join(root, 'usr/src', `linux-headers-${abi}`);
  if (!image) throw new InfraError(`the image packages of ${abi} hold no vmlinuz-${abi} (looked in boot/ and usr/lib/) under ${root}`);
  if (!modules) throw new InfraError(`the image packages of ${abi} hold no modules (lib/modules/${abi}/kernel) under ${root}`);
  if (!(await exists(join(buildDir, 'Makefile')))) throw new InfraError(`linux-headers-${abi} has no Makefile at ${buildDir}`);
  const modulesDir = join(modules, '..');
  const modulesBase = modulesDir.includes('/usr/lib/modules/') ? join(root, 'usr') : root;
  return { image, modulesDir, modulesBase, buildDir };
}

async function readCompiler(buildDir: string): Promise<KernelCompiler | undefined> {
  const read = (p: string) => readFile(join(buildDir, p), 'utf8').catch(() => undefined);
  const [kernelVariables, config, compileH] = await Promise.all([read('.kernelvariables'), read('.config'), read('include/generated/compile.h')]);
  const files: { kernelVariables?: string; config?: string; compileH?: string } = {};
  if (kernelVariables) files.kernelVariables = kernelVariables;
  if (config) files.config = config;
  if (compileH) files.compileH = compileH;
  return kernelCompiler(files);
}

/** What is wrong with an unpacked Debian kernel entry, if anything. */
export function debianEntryProblem(k: DebianKernel): Promise<string | undefined> {
  return firstProblem(
    () => checkKernelImage(k.image),
    () => checkModulesDir(k.modulesDir),
  );
}

function debianDir(cacheDir: string, release: DebianRelease): string {
  return join(cacheDir, 'debian', release);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * The release's kernel, ready to boot and to build against. `release` accepts `bookworm`,
 * `debian:bookworm`, `6.1`. Cached: without `refresh`, the last resolution is reused and no
 * network is touched when its unpacked entry exists.
 */
export async function prepareDebianKernel(releaseName: string, opts: PrepareDebianOptions = {}): Promise<PrepareDebianResult> {
  const release = parseDebianRelease(releaseName);
  const cacheDir = opts.cacheDir ?? cacheRoot();
  const log = opts.log ?? (() => {});
  const dir = debianDir(cacheDir, release);
  const resolvedFile = join(dir, 'resolved.json');
  const warnings: string[] = [];

  if (!opts.refresh) {
    const last = await readJson<KernelPackages>(resolvedFile);
    if (last) {
      const kernel = await readJson<DebianKernel>(join(dir, kernelCacheKey(last), 'kernel.json'));
      if (kernel && !(await debianEntryProblem(kernel))) return { kernel, cached: true, downloaded: [], warnings };
    }
  }

  let a = await aptSetup(cacheDir, release, opts);
  log(`debian ${release}: apt-get update (private config ${a.dirs.config})`);
  try {
    await aptUpdate(a, opts.refresh ?? false);
  } catch (err) {
    // A frozen mirror serves an expired Release (sid's is valid for a week). Unless the caller
    // insisted on checking, accept it — signatures are still verified — and say so.
    if (opts.ignoreValidUntil === undefined && err instanceof InfraError && /Valid-Until/.test(err.message)) {
      warnings.push(`Debian ${release}: the mirror's Release file is past its Valid-Until; accepted (signatures still verified)`);
      a = await aptSetup(cacheDir, release, { ...opts, ignoreValidUntil: true });
      await aptUpdate(a, true);
    } else throw err;
  }
  const pkgs = await resolveKernelPackages(a);
  log(
    `debian ${release}: ${kernelDebs(pkgs)
      .map((p) => `${p.name}=${p.version}`)
      .join(' ')}`,
  );
  const { paths, downloaded } = await aptDownload(a, kernelDebs(pkgs));
  if (downloaded.length) log(`debian ${release}: downloaded ${downloaded.join(' ')}`);

  const key = kernelCacheKey(pkgs);
  const entryDir = join(dir, key);
  const entry = await cachedDir(
    entryDir,
    async (tmp) => {
      // Unpacked in the temp entry; paths are rewritten for the final location (links dangle until the rename).
      const root = join(tmp, 'root');
      const finalRoot = join(entryDir, 'root');
      await mkdir(root);
      for (const deb of paths) {
        const r = await runInGroup('dpkg-deb', ['-x', deb, root], { signal: opts.signal });
        if (r.failed) throw new InfraError(`dpkg-deb -x ${deb} failed`, r.all);
      }
      await fixupTree(root, finalRoot);
      const where = await locate(root, pkgs.abi);
      if (!(await exists(join(where.modulesDir, 'modules.dep')))) {
        log(`debian ${release}: depmod -b ${where.modulesBase} ${pkgs.abi}`);
        const r = await runInGroup('depmod', ['-b', where.modulesBase, pkgs.abi], { signal: opts.signal });
        if (r.failed) throw new InfraError(`depmod -b ${where.modulesBase} ${pkgs.abi} failed`, r.all);
      }
      const compiler = await readCompiler(where.buildDir);
      const rel = (p: string) => join(finalRoot, p.slice(root.length + 1));
      const kernel: DebianKernel = {
        provider: 'debian',
        debianRelease: release,
        image: rel(where.image),
        modulesDir: rel(where.modulesDir),
        buildDir: rel(where.buildDir),
        release: pkgs.abi,
        root: finalRoot,
        packages: kernelDebs(pkgs).map((p) => ({ name: p.name, version: p.version })),
        cacheKey: key,
      };
      if (compiler) kernel.compiler = compiler;
      await writeFile(join(tmp, 'kernel.json'), `${JSON.stringify(kernel, null, 2)}\n`);
      await writeFile(join(tmp, 'packages.json'), `${JSON.stringify(pkgs, null, 2)}\n`);
    },
    async (d) => {
      const index = await readIndex<DebianKernel>(join(d, 'kernel.json'));
      return index.problem ?? (index.value ? debianEntryProblem(index.value) : undefined);
    },
  );
  if (entry.replaced) log(`debian ${release}: cache entry ${entry.dir} was bad (${entry.replaced}): unpacked again`);
  await writeFileAtomic(resolvedFile, `${JSON.stringify(pkgs, null, 2)}\n`);
  const kernel = await readJson<DebianKernel>(join(entry.dir, 'kernel.json'));
  if (!kernel) throw new InfraError(`cache entry ${entry.dir} has no kernel.json: remove it and retry`);
  return { kernel, cached: false, downloaded, warnings };
}
