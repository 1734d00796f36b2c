// A kernel built from source: unpack → patch series → NEW_TCP overlay → tinyconfig + fragments
// (merge_config.sh) → olddefconfig → verify → make bzImage modules → modules_install into a
// staging dir. Cached by content under <cache>/kernel/<key>/ (built in <key>.tmp-<pid>, renamed
// when complete, so an interrupted build never leaves an entry). A recipe index maps the
// inputs known before unpacking (source identity, series, fragments, compiler) to the content
// key, so a hit costs a few small reads and no unpack.
import { checkKernelImage, checkModulesDir, firstProblem } from '../util/cache-check.js';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { appendFile, cp, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import type { SourceKernelSpec } from '../config/targets.js';
import { chrootArgv } from '../toolchain/run.js';
import type { Toolchain } from '../toolchain/toolchain.js';
import { abortReason, dieWithUs, groupGone, killGroupOnAbort } from '../util/cancel.js';
import { InfraError, UsageError } from '../util/errors.js';
import { exists, hashTree, removeAside } from '../util/fs.js';
import { tail } from '../util/run-logged.js';
import type { KernelArtifact } from './artifact.js';
import { droppedOptions, explainDropped, extraFragment, parseConfig, readKconfigSymbols, requestedOptions } from './kconfig.js';
import { applySeries, availableSeries, chooseSeries, loadSeries, type Series } from './patches.js';
import { materializeSource, type SourceIdentity, sourceIdentity } from './source.js';

/** Bumped when the build recipe changes in a way the inputs do not show. */
export const RECIPE_VERSION = 1;

export interface SourceProvenance {
  source: SourceIdentity;
  series?: { name: string; hash: string; patches: string[] };
  fragments: string[];
  extra: string[];
  /** The compiler's `--version` first line (and the make variables given). */
  compiler: string;
  make: Record<string, string>;
  /** Content key: the cache entry name. */
  cacheKey: string;
  /** Key of the inputs known before unpacking (the recipe index). */
  recipeKey: string;
  /** NEW_TCP in tree: CONFIG_NEWTCP's value and the hash of kernel/newtcp it was built from. */
  newtcp?: { config: string; sourceHash: string };
  builtAt: string;
  /** Wall time of the build that filled the entry. */
  buildSeconds: number;
  /** The command that reproduces the entry. */
  reproduce: string;
}

export interface SourceKernelArtifact extends KernelArtifact {
  provenance: SourceProvenance;
  /** The entry directory (bind it into a chroot). */
  entryDir: string;
  /** The build's log. */
  log: string;
  /** vmlinux (unstripped) in the build tree. */
  vmlinux: string;
}

export interface BuildProgress {
  /** Objects compiled so far (CC/AS lines). */
  compiled: number;
  /** The last file make named. */
  last: string;
  elapsedMs: number;
}

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

/** The inputs of a cache key, in a fixed order. Pure, for tests. */
export interface KeyInputs {
  sourceId: string;
  seriesHash?: string;
  /** The merged .config (content key) or the fragments and extra (recipe key). */
  config: string;
  compiler: string;
  make: Record<string, string>;
  /** NEW_TCP sources hash when it is built in (CONFIG_NEWTCP=y). */
  newtcpHash?: string;
}

export function cacheKey(kind: 'recipe' | 'content', k: KeyInputs): string {
  const h = createHash('sha256');
  const field = (name: string, value: string) => h.update(`${name}\0${value.length}\0${value}\0`);
  field('kind', `${kind}/${RECIPE_VERSION}`);
  field('source', k.sourceId);
  field('series', k.seriesHash ?? 'none');
  field('config', kind === 'content' ? normalizeConfig(k.config) : k.config);
  field('compiler', k.compiler);
  field('make', Object.entries(k.make).sort(([a], [b]) => a.localeCompare(b)).map(([a, b]) => `${a}=${b}`).join('\n'));
  field('newtcp', k.newtcpHash ?? '');
  return h.digest('hex').slice(0, 24);
}

/** A .config without its comment header (it carries the date on some versions) and blank lines. */
export function normalizeConfig(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.startsWith('CONFIG_') || / is not set$/.test(l))
    .join('\n');
}

/** Counts compile lines in kbuild output (`  CC      net/core/sock.o`, `  CC [M]  ...`, `  AS ...`). Pure. */
export function compileLine(line: string): string | undefined {
  const m = /^\s+(?:CC|AS)(?: \[M\])?\s+(\S+)/.exec(line);
  return m?.[1];
}

const MODULE_GENERATED = /^(\..*\.cmd|.*\.o|.*\.ko|.*\.mod(\.c)?|modules\.order|Module\.symvers|\.tmp_versions|.*\.md)$/;

/** A fragment name (`guest`) → kernel/config/guest.config; a path is taken as is. */
export function fragmentPath(name: string, repoRoot: string, base: string): string {
  if (name.includes('/') || name.endsWith('.config')) return isAbsolute(name) ? name : resolve(base, name);
  return join(repoRoot, 'kernel', 'config', `${name}.config`);
}

async function compilerText(cc: string, tc: Toolchain): Promise<string> {
  const [cmd, ...args] = cc.split(/\s+/).filter((w) => w !== 'ccache');
  const argv = tc.kind === 'host' ? { cmd: cmd as string, args: [...args, '--version'] } : { cmd: 'chroot', args: [tc.root, cmd as string, ...args, '--version'] };
  const r = await execa(argv.cmd, argv.args, { reject: false });
  if (r.exitCode !== 0) throw new UsageError(`the kernel's compiler '${cc}' does not run${tc.kind === 'chroot' ? ` in the ${tc.release} chroot` : ''}: ${r.stderr || r.shortMessage}; set kernel.make.CC in the target`);
  return (r.stdout.split('\n')[0] ?? '').trim();
}

async function hostHas(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

/** Host programs a kernel build needs; a missing one is a UsageError with the apt-get line. */
async function checkHostTools(needBtf: boolean): Promise<void> {
  const need: [string, string][] = [
    ['make', 'make'],
    ['flex', 'flex'],
    ['bison', 'bison'],
    ['bc', 'bc'],
    ['perl', 'perl'],
    ['patch', 'patch'],
    ['depmod', 'kmod'],
  ];
  if (needBtf) need.push(['pahole', 'dwarves']);
  const missing: string[] = [];
  for (const [cmd, pkg] of need) if (!(await hostHas(cmd))) missing.push(pkg);
  if (!(await exists('/usr/include/libelf.h')) && !(await exists('/usr/include/gelf.h'))) missing.push('libelf-dev');
  if (!(await exists('/usr/include/openssl/ssl.h'))) missing.push('libssl-dev');
  if (missing.length) throw new UsageError(`building a kernel needs ${missing.join(', ')} on this machine: apt-get install ${missing.join(' ')}`);
}

/** The make variables: the target's CC/HOSTCC/CROSS_COMPILE/ARCH, ccache in front of gcc when present. */
async function makeVariables(spec: SourceKernelSpec, tc: Toolchain): Promise<{ vars: Record<string, string>; ccache: boolean }> {
  const vars: Record<string, string> = { ...(spec.make ?? {}) };
  const ccache = tc.kind === 'host' && !process.env.SOCKVM_NO_CCACHE && (await hostHas('ccache'));
  if (ccache) {
    const prefix = vars.CROSS_COMPILE ?? '';
    if (!vars.CC) vars.CC = `ccache ${prefix}gcc`;
    else if (!vars.CC.startsWith('ccache ')) vars.CC = `ccache ${vars.CC}`;
    if (!vars.HOSTCC) vars.HOSTCC = 'ccache gcc';
  }
  return { vars, ccache };
}

interface MakeRunner {
  (args: string[], o?: { what?: string; progress?: boolean; capture?: boolean }): Promise<string>;
}

function makeRunner(tree: string, log: string, vars: Record<string, string>, env: Record<string, string>, tc: Toolchain, nice: number, binds: string[], signal: AbortSignal, onProgress?: (p: BuildProgress) => void): MakeRunner {
  return async (args, o = {}) => {
    const varArgs = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
    const full = ['-C', tree, ...varArgs, ...args];
    const base = nice > 0 ? { cmd: 'nice', args: ['-n', String(nice), 'make', ...full] } : { cmd: 'make', args: full };
    const argv = tc.kind === 'host' ? base : chrootArgv(tc.root, base.cmd, base.args, { cwd: tree, binds, env });
    await appendFile(log, `$ ${base.cmd} ${base.args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
    if (signal.aborted) throw new InfraError(`${o.what ?? 'make'}: not started (${abortReason(signal)})`, undefined, { cause: signal.reason });
    const run = dieWithUs(argv.cmd, argv.args);
    const child = execa(run.cmd, run.args, { cwd: tree, env: { ...env, LC_ALL: 'C' }, all: true, reject: false, stdin: 'ignore', buffer: false, lines: false, detached: true });
    killGroupOnAbort(child, signal);
    // One stream, so the log's chunks land in order (unawaited appends could interleave).
    const logStream = createWriteStream(log, { flags: 'a' });
    logStream.on('error', () => {});
    const start = Date.now();
    let compiled = 0;
    let last = '';
    let captured = '';
    let pending = '';
    let lastEmit = 0;
    child.all?.setEncoding('utf8');
    child.all?.on('data', (chunk: string) => {
      logStream.write(chunk);
      if (o.capture) captured += chunk;
      if (!o.progress || !onProgress) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const f = compileLine(line);
        if (f) {
          compiled++;
          last = f;
        }
      }
      const now = Date.now();
      if (now - lastEmit > 500) {
        lastEmit = now;
        onProgress({ compiled, last, elapsedMs: now - start });
      }
    });
    const r = await child;
    // The log complete before a failure reads its tail.
    await new Promise((res) => logStream.end(res));
    if (signal.aborted) await groupGone(child.pid);
    if (signal.aborted) throw new InfraError(`${o.what ?? `make ${args.join(' ')}`} stopped (${abortReason(signal)}); full log: ${log}`, undefined, { cause: signal.reason });
    if (o.progress && onProgress) onProgress({ compiled, last, elapsedMs: Date.now() - start });
    if (r.exitCode !== 0) {
      const why = r.exitCode !== undefined ? `exit code ${r.exitCode}` : (r.signal ?? 'killed');
      throw new InfraError(`${o.what ?? `make ${args.join(' ')}`} failed in ${tree} (${why}); full log: ${log}`, await tail(log, 40));
    }
    return captured;
  };
}

/** Links kernel/newtcp into net/newtcp (sources, headers and its Kbuild as Kbuild.newtcp). */
async function overlayNewtcp(tree: string, moduleSrc: string): Promise<boolean> {
  const dir = join(tree, 'net', 'newtcp');
  if (!(await exists(join(dir, 'Kconfig')))) return false;
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

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function kernelCacheDir(cacheDir: string): string {
  return join(cacheDir, 'kernel');
}

/** What the config step decided: the merged config and its checks. */
interface Configured {
  config: string;
  release: string;
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
  const source = await sourceIdentity(spec.source, { cacheDir: o.cacheDir, base, log });
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
  const { vars, ccache } = await makeVariables(spec, tc);
  const compiler = await compilerText(vars.CC ?? `${vars.CROSS_COMPILE ?? ''}gcc`, tc);
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
  if (tc.kind === 'host') await checkHostTools(requested.some((r) => r.option === 'CONFIG_DEBUG_INFO_BTF' && r.value === 'y'));
  const tmp = join(root, `${recipeKey}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const tree = join(tmp, 'tree');
  const buildLog = join(root, 'logs', `${recipeKey}.log`);
  await writeFile(buildLog, `# sockvm kernel build ${new Date().toISOString()}\n# source ${source.spec} (${source.id}, ${source.version})\n# series ${series?.name ?? 'none'}\n# fragments ${fragmentNames.join(' ')}\n# compiler ${compiler}\n`);
  const env: Record<string, string> = {};
  if (ccache) {
    env.CCACHE_DIR = process.env.CCACHE_DIR ?? join(o.cacheDir, 'ccache');
    env.CCACHE_BASEDIR = tmp;
    env.CCACHE_NOHASHDIR = '1';
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
      await applySeries(tree, series, (l) => void appendFile(buildLog, `${l}\n`));
    }
    const overlaid = await overlayNewtcp(tree, moduleSrc);
    if (newtcpWanted && newtcpWanted !== 'n' && !overlaid) {
      throw new UsageError(`CONFIG_NEWTCP=${newtcpWanted} is asked for, but the tree has no net/newtcp/Kconfig: the in-tree build comes with a patch series (kernel/patches/<series>/), and ${series ? `series ${series.name} has none` : 'no series was applied'}`);
    }
    const configured = await configure(tree, make, fragments, extra.text, recipeKey, requested, buildLog);
    const key = cacheKey('content', { sourceId: source.id, ...(series ? { seriesHash: series.hash } : {}), config: configured.config, compiler, make: vars, ...(keyNewtcp ? { newtcpHash: keyNewtcp } : {}) });
    if (!o.force) {
      const hit = await loadEntry(key);
      if (hit) {
        await writeFile(recipeFile, `${key}\n`);
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
      const r = await execa('depmod', ['-b', staging, configured.release], { reject: false, all: true });
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
    };
    if (!(await exists(join(tree, 'arch', 'x86', 'boot', 'bzImage')))) throw new InfraError(`the build finished without arch/x86/boot/bzImage in ${tree}; see ${buildLog}`);
    await writeFile(join(tmp, 'config'), configured.config);
    await writeFile(join(tmp, 'artifact.json'), `${JSON.stringify(artifact, null, 2)}\n`);
    await appendFile(buildLog, `# done in ${Math.round((Date.now() - startAll) / 1000)} s (build ${buildSeconds} s)\n`);
    await cp(buildLog, join(tmp, 'build.log'));
    if (o.force && (await exists(finalDir))) await rm(finalDir, { recursive: true, force: true });
    try {
      await rename(tmp, finalDir);
    } catch (err) {
      if (!(await exists(finalDir))) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
    await writeFile(recipeFile, `${key}\n`);
    const k = await loadEntry(key);
    if (!k) throw new InfraError(`cache entry ${finalDir} is incomplete after the build: remove it and retry`);
    return { kernel: k, cached: false };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof InfraError && !(err instanceof UsageError) && source.kind === 'tree' && !/^[3-9]\.|^\d{2}\./.test(source.version)) {
      throw new InfraError(
        `${err.message}\nThe tree at ${source.path} is Linux ${source.version}: old trees need an old toolchain; give the target's kernel "make": {"CC": "gcc-4.x", "HOSTCC": "...", "CROSS_COMPILE": "...", "ARCH": "..."} (or a "toolchain" chroot), and a series written for that tree`,
        err.detail,
      );
    }
    throw err;
  }
}

/** tinyconfig (allnoconfig before 3.17) + fragments, olddefconfig, then the check that nothing was dropped. */
async function configure(
  tree: string,
  make: MakeRunner,
  fragments: { name: string; path: string; text: string }[],
  extraText: string,
  recipeKey: string,
  requested: ReturnType<typeof requestedOptions>,
  buildLog: string,
): Promise<Configured> {
  const top = await readFile(join(tree, 'Makefile'), 'utf8');
  const hasTiny = /tinyconfig/.test(top) || (await exists(join(tree, 'kernel', 'configs', 'tiny.config')));
  await make([hasTiny ? 'tinyconfig' : 'allnoconfig'], { what: `make ${hasTiny ? 'tinyconfig' : 'allnoconfig'}` });
  // Every build gets its own release string, so modules built against two configs never mix.
  const local = join(tree, '.sockvm-local.config');
  await writeFile(local, `${extraText}CONFIG_LOCALVERSION="-sockvm-${recipeKey.slice(0, 8)}"\n# CONFIG_LOCALVERSION_AUTO is not set\n`);
  const merge = join(tree, 'scripts', 'kconfig', 'merge_config.sh');
  const frags = [...fragments.map((f) => f.path), local];
  if (await exists(merge)) {
    const r = await execa('sh', [merge, '-m', '-O', tree, join(tree, '.config'), ...frags], { cwd: tree, reject: false, all: true });
    await appendFile(buildLog, `$ merge_config.sh -m .config ${frags.join(' ')}\n${r.all ?? ''}\n`);
    if (r.failed) throw new InfraError(`merge_config.sh failed in ${tree}; full log: ${buildLog}`, r.all);
  } else {
    // Trees before 3.x have no merge_config.sh: append the fragments (later lines win in Kconfig).
    let cfg = await readFile(join(tree, '.config'), 'utf8');
    for (const f of frags) cfg += `\n${await readFile(f, 'utf8')}`;
    await writeFile(join(tree, '.config'), cfg);
  }
  const olddef = /olddefconfig/.test(await readFile(join(tree, 'scripts', 'kconfig', 'Makefile'), 'utf8').catch(() => ''));
  await make([olddef ? 'olddefconfig' : 'oldnoconfig'], { what: 'make olddefconfig' });
  const config = await readFile(join(tree, '.config'), 'utf8');
  const final = parseConfig(config);
  const wanted = [...requested, { option: 'CONFIG_LOCALVERSION', value: `"-sockvm-${recipeKey.slice(0, 8)}"`, from: 'sockvm' }];
  const dropped = droppedOptions(wanted, final);
  if (dropped.length) {
    const symbols = await readKconfigSymbols(tree, 'x86', new Set(dropped.map((d) => d.option.replace(/^CONFIG_/, ''))));
    const lines = explainDropped(dropped, symbols, final);
    throw new UsageError(`${dropped.length} requested kernel option${dropped.length > 1 ? 's' : ''} did not survive olddefconfig (missing dependency, wrong arch or version):\n  ${lines.join('\n  ')}\nadd the dependencies to the fragment (kernel/config/*.config) or the target's "extra"`);
  }
  // kernelrelease reads CONFIG_LOCALVERSION from include/config/auto.conf: sync it first.
  await make(['syncconfig'], { what: 'make syncconfig' });
  const release = (await make(['-s', 'kernelrelease'], { what: 'make kernelrelease', capture: true })).trim().split('\n').pop() ?? '';
  if (!release) throw new InfraError(`make kernelrelease printed nothing in ${tree}`);
  return { config, release };
}

/** What is wrong with a built source kernel entry, if anything. */
export function sourceEntryProblem(k: SourceKernelArtifact): Promise<string | undefined> {
  return firstProblem(() => checkKernelImage(k.image), () => checkModulesDir(k.modulesDir));
}

/** Every cached source kernel entry, with its size on disk (for `sockvm cache ls`). */
export async function listSourceKernels(cacheDir: string): Promise<{ key: string; dir: string; artifact?: SourceKernelArtifact; partial: boolean }[]> {
  const root = kernelCacheDir(cacheDir);
  const out: { key: string; dir: string; artifact?: SourceKernelArtifact; partial: boolean }[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name === 'recipes' || name === 'logs') continue;
    const dir = join(root, name);
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) continue;
    const artifact = await readJson<SourceKernelArtifact>(join(dir, 'artifact.json'));
    out.push(artifact ? { key: name, dir, artifact, partial: false } : { key: name, dir, partial: true });
  }
  return out;
}
