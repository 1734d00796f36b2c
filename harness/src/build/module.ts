// Builds kernel/newtcp out of tree against a kbuild tree. The sources are copied into a cache
// entry keyed by their hash and the kernel release, so the repo stays clean and a rebuild of
// unchanged sources is free.
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelArtifact } from '../kernel/artifact.js';
import { buildBegins, compiledObjects, forgetReplayed, markBuilt, planReplay, removeDepFile, type ReplayPlan, type ReplayStep } from './kbuild-replay.js';
import { runInToolchain } from '../toolchain/run.js';
import { describeToolchain, type Toolchain } from '../toolchain/toolchain.js';
import { checkElf } from '../util/cache-check.js';
import { errorMessage } from '../util/errors.js';
import { cachedDir, hashTree } from '../util/fs.js';

// (.sockvm-built.json: sockvm dev's note that the work tree's build is complete, see kbuild-replay.ts.)
const GENERATED = /^(\..*\.cmd|\..*\.o\.d|.*\.o|.*\.ko|.*\.mod(\.c)?|modules\.order|Module\.symvers|\.tmp_versions|\.sockvm-built\.json)$/;

export interface ModuleArtifact {
  ko: string;
  cached: boolean;
}

export interface ModuleBuildOptions {
  toolchain?: Toolchain;
  /** Host directories the toolchain must see (the unpacked kernel tree). */
  binds?: string[];
  /** Told when a bad cache entry was rebuilt. */
  onReplaced?: (note: string) => void;
  /** Aborts the build, killing make's process group. */
  signal: AbortSignal;
  /**
   * sockvm dev: build in this tree, kept between builds and synced file by file from the
   * source, so make recompiles only the files that changed (a fresh copy recompiles them all).
   */
  workDir?: string;
  /** sockvm dev: how the work tree was built (kbuild's commands replayed, or the full make and why). */
  onBuildNote?: (note: string) => void;
}

/**
 * Makes `to` hold `from`'s sources: a file is written only when its bytes differ (its mtime is
 * what make goes by); sources gone from `from` are removed. Build output is left alone.
 */
export async function syncSources(from: string, to: string, under = ''): Promise<SourceChanges> {
  const changes: SourceChanges = { changed: [], added: [], removed: [] };
  await mkdir(to, { recursive: true });
  const wanted = new Set<string>();
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (GENERATED.test(entry.name)) continue;
    wanted.add(entry.name);
    const [src, dst, rel] = [join(from, entry.name), join(to, entry.name), `${under}${entry.name}`];
    if (entry.isDirectory()) {
      const sub = await syncSources(src, dst, `${rel}/`);
      for (const k of ['changed', 'added', 'removed'] as const) changes[k].push(...sub[k]);
    } else if (entry.isFile()) {
      const bytes = await readFile(src);
      const old = await readFile(dst).catch(() => undefined);
      if (!old?.equals(bytes)) {
        await writeFile(dst, bytes);
        (old ? changes.changed : changes.added).push(rel);
      }
    }
  }
  for (const entry of await readdir(to, { withFileTypes: true })) {
    if (!GENERATED.test(entry.name) && !wanted.has(entry.name)) {
      await rm(join(to, entry.name), { recursive: true, force: true });
      changes.removed.push(`${under}${entry.name}`);
    }
  }
  return changes;
}

/** What syncSources did, as paths relative to the work tree. */
export interface SourceChanges {
  changed: string[];
  added: string[];
  removed: string[];
}

/** make … modules in `src`: the module built against the kernel's kbuild tree, warnings on (W=1). */
async function makeModule(src: string, kernel: KernelArtifact, log: string, o: ModuleBuildOptions): Promise<void> {
  await runInToolchain(o.toolchain ?? { kind: 'host' }, 'make', ['-C', kernel.buildDir, `M=${src}`, 'W=1', '-j2', 'modules'], {
    cwd: src,
    log,
    binds: [kernel.buildDir, ...(o.binds ?? [])],
    what: 'building newtcp.ko',
    signal: o.signal,
  });
}

/** The full make in the work tree; objects compiled by replay since the last one are compiled again. */
async function makeWorkTree(dir: string, kernel: KernelArtifact, log: string, o: ModuleBuildOptions): Promise<void> {
  await forgetReplayed(dir, await buildBegins(dir));
  await makeModule(dir, kernel, log, o);
  await markBuilt(dir, { replayed: [] });
}

/**
 * sockvm dev, before the first save: the work tree built once, so the first save's build
 * recompiles only the file saved.
 */
export async function primeWorkDir(sourceDir: string, kernel: KernelArtifact, log: string, o: ModuleBuildOptions & { workDir: string }): Promise<void> {
  await syncSources(sourceDir, o.workDir);
  await makeWorkTree(o.workDir, kernel, log, o);
}

/**
 * sockvm dev's build of a save: the work tree synced, then kbuild's recorded commands replayed
 * (see kbuild-replay.ts) or, when replay cannot vouch for the result, the full make; the note
 * says which and why.
 */
async function buildWorkTree(sourceDir: string, dir: string, kernel: KernelArtifact, log: string, o: ModuleBuildOptions): Promise<void> {
  const changes = await syncSources(sourceDir, dir);
  const plan = await planReplay(dir, changes, kernel.buildDir);
  if ('steps' in plan) {
    const state = await buildBegins(dir);
    try {
      const times = await replay(dir, plan, kernel, log, o);
      const replayed = [...new Set([...(state?.replayed ?? []), ...compiledObjects(plan)])];
      await markBuilt(dir, { replayed });
      o.onBuildNote?.(`replayed kbuild's commands (${times})`);
      return;
    } catch (err) {
      o.signal.throwIfAborted();
      // The replay's own failure decides nothing: the full make gives the verdict (and kbuild's diagnostics).
      await markBuilt(dir, state ?? { replayed: [] }).catch(() => undefined);
      await forgetReplayed(dir, { replayed: compiledObjects(plan) });
      o.onBuildNote?.(`full make: the replay failed (${errorMessage(err).split('\n')[0]})`);
    }
  } else o.onBuildNote?.(`full make: ${plan.fallback}`);
  await makeWorkTree(dir, kernel, log, o);
}

/** Runs a replay plan's commands in the kbuild tree, with the build's toolchain; returns each step's time. */
async function replay(
  dir: string,
  plan: Extract<ReplayPlan, { steps: ReplayStep[] }>,
  kernel: KernelArtifact,
  log: string,
  o: ModuleBuildOptions,
): Promise<string> {
  const times: string[] = [];
  const run = async (step: ReplayStep): Promise<void> => {
    const start = Date.now();
    // The command is kbuild's own line from our build tree (no user or guest text in it); it is
    // a shell line (pipes, `;`), so sh runs it, inside the toolchain make ran in, from make's cwd.
    await runInToolchain(o.toolchain ?? { kind: 'host' }, 'sh', ['-c', step.command], {
      cwd: kernel.buildDir,
      log,
      binds: [kernel.buildDir, dir, ...(o.binds ?? [])],
      what: `replaying kbuild's ${step.what} command`,
      signal: o.signal,
    });
    if (step.what.endsWith('.o')) await removeDepFile(dir, step.what);
    times.push(`${step.what} ${((Date.now() - start) / 1000).toFixed(2)} s`);
  };
  const modSource = join(dir, 'newtcp.mod.c');
  const modpostAt = plan.steps.findIndex((s) => s.what === 'modpost');
  for (const step of plan.steps.slice(0, modpostAt)) await run(step);
  const before = await readFile(modSource).catch(() => undefined);
  await run(plan.steps[modpostAt] as ReplayStep);
  // modpost rewrites newtcp.mod.c (the symbol versions the module needs); compiled again only when it changed.
  if (!before || !before.equals(await readFile(modSource))) await run(plan.modObject);
  for (const step of plan.steps.slice(modpostAt + 1)) await run(step);
  return times.join(', ');
}

export async function buildModule(sourceDir: string, kernel: KernelArtifact, cacheDir: string, log: string, o: ModuleBuildOptions): Promise<ModuleArtifact> {
  const toolchain = o.toolchain ?? { kind: 'host' };
  const key = (await hashTree(sourceDir, (name) => GENERATED.test(name))).slice(0, 24);
  const tc = describeToolchain(toolchain).replace(':', '-');
  const entry = await cachedDir(
    join(cacheDir, 'module', `${kernel.release}-${tc}-${key}`),
    async (tmp) => {
      const src = o.workDir ?? join(tmp, 'src');
      if (o.workDir) await buildWorkTree(sourceDir, o.workDir, kernel, log, o);
      else {
        await cp(sourceDir, src, { recursive: true, filter: (path) => !GENERATED.test(path.slice(path.lastIndexOf('/') + 1)) });
        await makeModule(src, kernel, log, o);
      }
      await cp(join(src, 'newtcp.ko'), join(tmp, 'newtcp.ko'));
    },
    (dir) => checkElf(join(dir, 'newtcp.ko'), 1024),
  );
  if (entry.replaced) o.onReplaced?.(`module cache entry ${entry.dir} was bad (${entry.replaced}): rebuilt`);
  return { ko: join(entry.dir, 'newtcp.ko'), cached: entry.hit };
}
