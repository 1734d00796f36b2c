// A kernel built from source: unpack → patch series → NEW_TCP overlay → tinyconfig + fragments
// (merge_config.sh) → olddefconfig → verify → make bzImage modules → modules_install into a
// staging dir. Cached by content under <cache>/kernel/<key>/ (built in <key>.tmp-<pid>, renamed
// when complete, so an interrupted build never leaves an entry). A recipe index maps the
// inputs known before unpacking (source identity, series, fragments, compiler) to the content
// key, so a hit costs a few small reads and no unpack.
import { appendFile, cp, mkdir, readdir, readFile, readlink, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { runInGroup } from '../../util/cancel.js';
import type { SourceKernelSpec } from '../../config/targets.js';
import type { Toolchain } from '../../toolchain/toolchain.js';
import { InfraError, UsageError } from '../../util/errors.js';
import { exists, hashTree, placeDir, removeAside, writeFileAtomic } from '../../util/fs.js';
import { extraFragment, requestedOptions } from '../kconfig.js';
import { applySeries, availableSeries, chooseSeries, loadSeries, type Series } from '../patches.js';
import { materializeSource, sourceIdentity } from '../source.js';
import { kernelCacheDir, readJson, sourceEntryProblem, type SourceKernelArtifact } from './cache.js';
import { configure } from './configure.js';
import { type BuildProgress, checkHostTools, compilerText, makeRunner, makeVariables } from './make.js';
import { cacheKey, fragmentPath, MODULE_GENERATED, type SourceProvenance } from './recipe.js';
import { emptyTrash, moveToTrash } from '../../util/trash.js';

export interface KernelBuildOptions {
  cacheDir: string;
  /** Aborts the build: make's whole process group is killed, no cache entry is completed. */
  signal: AbortSignal;
  repoRoot: string;
  /** Where the target config lives (relative source paths resolve against it). */
  configDir?: string;
  toolchain?: Toolchain;
  /** make -j; default the machine's CPU count (SOCKVM_KERNEL_JOBS overrides). */
  jobs?: number;
  /** nice level for make (default 10, SOCKVM_KERNEL_NICE overrides; 0 for none). */
  nice?: number;
  /** Rebuild even when cached. */
  force?: boolean;
  /** The target name, for the reproduce line. */
  target?: string;
  log?: (line: string) => void;
  onProgress?: (p: BuildProgress) => void;
}

/**
 * Links kernel/newtcp into net/newtcp (sources, headers and its Kbuild as Kbuild.newtcp), and its
 * uapi headers into include/uapi/linux, where `make headers_install` exports them as every
 * family's are.
 */
async function overlayNewtcp(tree: string, moduleSrc: string): Promise<boolean> {
  const dir = join(tree, 'net', 'newtcp');
  if (!(await exists(join(dir, 'Kconfig')))) return false;
  const uapi = join(moduleSrc, 'include', 'uapi', 'linux');
  for (const h of await readdir(uapi)) {
    if (!h.endsWith('.h')) continue;
    const link = join(tree, 'include', 'uapi', 'linux', h);
    await rm(link, { force: true });
    await symlink(join(uapi, h), link);
  }
  for (const e of await readdir(moduleSrc, { withFileTypes: true })) {
    if (MODULE_GENERATED.test(e.name) || e.name === 'Makefile' || e.name === 'Kconfig') continue;
    const target = join(moduleSrc, e.name);
    const link = join(dir, e.name === 'Kbuild' ? 'Kbuild.newtcp' : e.name);
    if (e.isDirectory() || /\.[ch]$/.test(e.name) || e.name === 'Kbuild') {
      await rm(link, { force: true, recursive: true });
      await symlink(target, link);
    }
  }
  return true;
}

/** Builds (or finds in the cache) the kernel a source spec describes. */
export async function buildSourceKernel(spec: SourceKernelSpec, o: KernelBuildOptions): Promise<{ kernel: SourceKernelArtifact; cached: boolean }> {
  const log = o.log ?? (() => {});
  const tc: Toolchain = o.toolchain ?? { kind: 'host' };
  const base = o.configDir ?? o.repoRoot;
  const root = kernelCacheDir(o.cacheDir);
  await mkdir(join(root, 'recipes'), { recursive: true });
  await mkdir(join(root, 'logs'), { recursive: true });

  // 1. Inputs known without unpacking.
  const source = await sourceIdentity(spec.source, { cacheDir: o.cacheDir, base, log, signal: o.signal });
  const patchesRoot = join(o.repoRoot, 'kernel', 'patches');
  let series: Series | undefined;
  if (spec.series !== 'none') {
    const name = spec.series ?? chooseSeries(source.version, await availableSeries(patchesRoot));
    if (name) series = await loadSeries(patchesRoot, name);
    else log(`no patch series for ${source.version} in ${patchesRoot}; building the tree unpatched`);
  }
  const fragmentNames = spec.config;
  const fragments: { name: string; path: string; text: string }[] = [];
  for (const f of fragmentNames) {
    const path = fragmentPath(f, o.repoRoot, base);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) throw new UsageError(`config fragment '${f}': no ${path} (fragments live in kernel/config/<name>.config)`);
    fragments.push({ name: basename(path), path, text });
  }
  const extra = extraFragment(spec.extra ?? []);
  if (extra.bad.length) throw new UsageError(`kernel "extra": ${extra.bad.map((b) => JSON.stringify(b)).join(', ')} are not CONFIG_X=value items`);
  const { vars, ccache } = await makeVariables(spec, tc, o.signal);
  const compiler = await compilerText(vars.CC ?? `${vars.CROSS_COMPILE ?? ''}gcc`, tc, o.signal);
  const requested = requestedOptions([...fragments.map((f) => ({ name: f.name, text: f.text })), { name: 'extra', text: extra.text }]);
  const newtcpWanted = requested.find((r) => r.option === 'CONFIG_NEWTCP')?.value;
  const moduleSrc = join(o.repoRoot, 'kernel', 'newtcp');
  const newtcpHash = newtcpWanted && newtcpWanted !== 'n' ? (await hashTree(moduleSrc, (n) => MODULE_GENERATED.test(n))).slice(0, 24) : undefined;
  const recipeConfig = [...fragments.map((f) => `# ${f.name}\n${f.text}`), `# extra\n${extra.text}`].join('\n');
  // Built-in NEW_TCP is part of vmlinux, so its sources are part of the key; as a module it is
  // not (the suites load the out-of-tree build), and the entry records which sources it saw.
  const keyNewtcp = newtcpWanted === 'y' ? newtcpHash : undefined;
  const recipeKey = cacheKey('recipe', { sourceId: source.id, ...(series ? { seriesHash: series.hash } : {}), config: recipeConfig, compiler, make: vars, ...(keyNewtcp ? { newtcpHash: keyNewtcp } : {}) });
  const recipeFile = join(root, 'recipes', recipeKey);

  const loadEntry = async (key: string): Promise<SourceKernelArtifact | undefined> => {
    const k = await readJson<SourceKernelArtifact>(join(root, key, 'artifact.json'));
    if (!k) return undefined;
    const problem = await sourceEntryProblem(k);
    if (!problem) return k;
    // Out of the way, or the rebuild's rename onto it fails and the fresh build is lost.
    log(`cache entry ${join(root, key)} is bad (${problem}): building it again`);
    await removeAside(join(root, key));
    return undefined;
  };
  if (!o.force) {
    const key = (await readFile(recipeFile, 'utf8').catch(() => '')).trim();
    const hit = key ? await loadEntry(key) : undefined;
    if (hit) {
      // The recipe's mtime is its last use: `sockvm cache prune` drops recipes unused for long.
      const now = new Date();
      await utimes(recipeFile, now, now).catch(() => undefined);
      return { kernel: hit, cached: true };
    }
  }

  // 2. Unpack, patch, configure in a temp dir that becomes the entry.
  const startAll = Date.now();
  if (tc.kind === 'host') await checkHostTools(requested.some((r) => r.option === 'CONFIG_DEBUG_INFO_BTF' && r.value === 'y'), o.signal);
  const tmp = join(root, `${recipeKey}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  // What interrupted builds left: a few seconds here, against the minutes the build takes.
  await emptyTrash(o.cacheDir, o.signal);
  const tree = join(tmp, 'tree');
  const buildLog = join(root, 'logs', `${recipeKey}.log`);
  await writeFile(buildLog, `# sockvm kernel build ${new Date().toISOString()}\n# source ${source.spec} (${source.id}, ${source.version})\n# series ${series?.name ?? 'none'}\n# fragments ${fragmentNames.join(' ')}\n# compiler ${compiler}\n`);
  const env: Record<string, string> = {};
  if (ccache) {
    env.CCACHE_DIR = process.env.CCACHE_DIR ?? join(o.cacheDir, 'ccache');
    env.CCACHE_BASEDIR = tmp;
    env.CCACHE_NOHASHDIR = '1';
    // Depend mode hashes the compiler's own -MMD output instead of running the preprocessor
    // first: a miss (every file of a first build) costs a tenth less.
    env.CCACHE_DEPEND = '1';
    env.CCACHE_MAXSIZE = process.env.CCACHE_MAXSIZE ?? '10G';
    await mkdir(env.CCACHE_DIR, { recursive: true });
  }
  const nice = o.nice ?? (process.env.SOCKVM_KERNEL_NICE !== undefined ? Number(process.env.SOCKVM_KERNEL_NICE) : 10);
  const jobs = o.jobs ?? (process.env.SOCKVM_KERNEL_JOBS ? Number(process.env.SOCKVM_KERNEL_JOBS) : cpus().length);
  const make = makeRunner(tree, buildLog, vars, env, tc, nice, [tmp, moduleSrc], o.signal, o.onProgress);
  try {
    log(`unpacking ${source.path}`);
    await materializeSource(source, tree, o.signal);
    if (series) {
      log(`applying patch series ${series.name} (${series.entries.length} patches)`);
      // Logged once the series is in: an append per patch, unawaited, could fail unheard.
      const applied: string[] = [];
      await applySeries(tree, series, (l) => applied.push(`${l}\n`), o.signal);
      await appendFile(buildLog, applied.join(''));
    }
    const overlaid = await overlayNewtcp(tree, moduleSrc);
    if (newtcpWanted && newtcpWanted !== 'n' && !overlaid) {
      throw new UsageError(`CONFIG_NEWTCP=${newtcpWanted} is asked for, but the tree has no net/newtcp/Kconfig: the in-tree build comes with a patch series (kernel/patches/<series>/), and ${series ? `series ${series.name} has none` : 'no series was applied'}`);
    }
    const configured = await configure(tree, make, fragments, extra.text, recipeKey, requested, buildLog, o.signal);
    const key = cacheKey('content', { sourceId: source.id, ...(series ? { seriesHash: series.hash } : {}), config: configured.config, compiler, make: vars, ...(keyNewtcp ? { newtcpHash: keyNewtcp } : {}) });
    if (!o.force) {
      const hit = await loadEntry(key);
      if (hit) {
        await writeFileAtomic(recipeFile, `${key}\n`);
        await rm(tmp, { recursive: true, force: true });
        return { kernel: hit, cached: true };
      }
    }

    // 3. Build.
    log(`building ${configured.release} (make -j${jobs} bzImage modules${ccache ? ', ccache' : ''}${nice ? `, nice ${nice}` : ''})`);
    const buildStart = Date.now();
    await make([`-j${jobs}`, 'bzImage', 'modules'], { what: 'building the kernel (make bzImage modules)', progress: true });
    const staging = join(tmp, 'staging');
    await make(['modules_install', `INSTALL_MOD_PATH=${staging}`, 'INSTALL_MOD_STRIP=1'], { what: 'make modules_install' });
    const installed = await readdir(join(staging, 'lib', 'modules')).catch(() => [] as string[]);
    if (!installed.includes(configured.release)) {
      throw new InfraError(`modules_install made lib/modules/{${installed.join(',')}}, not the release ${configured.release} make kernelrelease said; see ${buildLog}`);
    }
    // The patched tree's uapi, NEW_TCP's headers among them, as user space would install it.
    if (overlaid) await make(['headers_install', `INSTALL_HDR_PATH=${join(tmp, 'headers')}`], { what: 'make headers_install' });
    const finalDir = join(root, key);
    const modulesRel = join('staging', 'lib', 'modules', configured.release);
    // modules_install links build/source to the temp tree: point them where the tree will live.
    for (const l of ['build', 'source']) {
      const p = join(tmp, modulesRel, l);
      const t = await readlink(p).catch(() => undefined);
      if (t !== undefined) {
        await unlink(p);
        await symlink(join(finalDir, 'tree'), p);
      }
    }
    if (!(await exists(join(tmp, modulesRel, 'modules.dep')))) {
      const r = await runInGroup('depmod', ['-b', staging, configured.release], { signal: o.signal });
      if (r.failed) throw new InfraError(`depmod -b ${staging} ${configured.release} failed`, r.all);
    }
    const buildSeconds = Math.round((Date.now() - buildStart) / 1000);
    const reproduce = o.target ? `sockvm kernel build --target ${o.target}` : `sockvm kernel build --source ${spec.source}`;
    const provenance: SourceProvenance = {
      source,
      fragments: fragmentNames,
      extra: spec.extra ?? [],
      compiler,
      make: vars,
      cacheKey: key,
      recipeKey,
      builtAt: new Date().toISOString(),
      buildSeconds,
      reproduce,
    };
    if (series) provenance.series = { name: series.name, hash: series.hash, patches: series.entries.map((e) => e.patch) };
    if (newtcpWanted && newtcpHash) provenance.newtcp = { config: newtcpWanted, sourceHash: newtcpHash };
    const artifact: SourceKernelArtifact = {
      image: join(finalDir, 'tree', 'arch', 'x86', 'boot', 'bzImage'),
      modulesDir: join(finalDir, modulesRel),
      buildDir: join(finalDir, 'tree'),
      release: configured.release,
      vmlinux: join(finalDir, 'tree', 'vmlinux'),
      entryDir: finalDir,
      log: join(finalDir, 'build.log'),
      provenance,
      ...(overlaid ? { uapiHeaders: join(finalDir, 'headers', 'include') } : {}),
    };
    if (!(await exists(join(tree, 'arch', 'x86', 'boot', 'bzImage')))) throw new InfraError(`the build finished without arch/x86/boot/bzImage in ${tree}; see ${buildLog}`);
    await writeFile(join(tmp, 'config'), configured.config);
    await writeFile(join(tmp, 'artifact.json'), `${JSON.stringify(artifact, null, 2)}\n`);
    await appendFile(buildLog, `# done in ${Math.round((Date.now() - startAll) / 1000)} s (build ${buildSeconds} s)\n`);
    await cp(buildLog, join(tmp, 'build.log'));
    await placeDir(tmp, finalDir, { replace: o.force === true });
    await writeFileAtomic(recipeFile, `${key}\n`);
    const k = await loadEntry(key);
    if (!k) throw new InfraError(`cache entry ${finalDir} is incomplete after the build: remove it and retry`);
    return { kernel: k, cached: false };
  } catch (err) {
    // Interrupted: the tree goes to the trash at once (its removal would hold the exit for
    // seconds); a failed build has no hurry and is removed here.
    if (o.signal.aborted) await moveToTrash(tmp, o.cacheDir);
    else await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof InfraError && !(err instanceof UsageError) && source.kind === 'tree' && !/^[3-9]\.|^\d{2}\./.test(source.version)) {
      throw new InfraError(
        `${err.message}\nThe tree at ${source.path} is Linux ${source.version}: old trees need an old toolchain; give the target's kernel "make": {"CC": "gcc-4.x", "HOSTCC": "...", "CROSS_COMPILE": "...", "ARCH": "..."} (or a "toolchain" chroot), and a series written for that tree`,
        err.detail,
      );
    }
    throw err;
  }
}
