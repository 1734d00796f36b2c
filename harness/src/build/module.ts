// Builds kernel/newtcp out of tree against a kbuild tree. The sources are copied into a cache
// entry keyed by their hash and the kernel release, so the repo stays clean and a rebuild of
// unchanged sources is free.
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelArtifact } from '../kernel/artifact.js';
import { runInToolchain } from '../toolchain/run.js';
import { describeToolchain, type Toolchain } from '../toolchain/toolchain.js';
import { checkElf } from '../util/cache-check.js';
import { cachedDir, hashTree } from '../util/fs.js';

const GENERATED = /^(\..*\.cmd|.*\.o|.*\.ko|.*\.mod(\.c)?|modules\.order|Module\.symvers|\.tmp_versions)$/;

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
}

/**
 * Makes `to` hold `from`'s sources: a file is written only when its bytes differ (its mtime is
 * what make goes by); sources gone from `from` are removed. Build output is left alone.
 */
export async function syncSources(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const wanted = new Set<string>();
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (GENERATED.test(entry.name)) continue;
    wanted.add(entry.name);
    const [src, dst] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) await syncSources(src, dst);
    else if (entry.isFile()) {
      const bytes = await readFile(src);
      const old = await readFile(dst).catch(() => undefined);
      if (!old?.equals(bytes)) await writeFile(dst, bytes);
    }
  }
  for (const entry of await readdir(to, { withFileTypes: true })) {
    if (!GENERATED.test(entry.name) && !wanted.has(entry.name)) await rm(join(to, entry.name), { recursive: true, force: true });
  }
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

/**
 * sockvm dev, before the first save: the work tree built once, so the first save's build
 * recompiles only the file saved.
 */
export async function primeWorkDir(sourceDir: string, kernel: KernelArtifact, log: string, o: ModuleBuildOptions & { workDir: string }): Promise<void> {
  await syncSources(sourceDir, o.workDir);
  await makeModule(o.workDir, kernel, log, o);
}

export async function buildModule(sourceDir: string, kernel: KernelArtifact, cacheDir: string, log: string, o: ModuleBuildOptions): Promise<ModuleArtifact> {
  const toolchain = o.toolchain ?? { kind: 'host' };
  const key = (await hashTree(sourceDir, (name) => GENERATED.test(name))).slice(0, 24);
  const tc = describeToolchain(toolchain).replace(':', '-');
  const entry = await cachedDir(
    join(cacheDir, 'module', `${kernel.release}-${tc}-${key}`),
    async (tmp) => {
      const src = o.workDir ?? join(tmp, 'src');
      if (o.workDir) await syncSources(sourceDir, o.workDir);
      else await cp(sourceDir, src, { recursive: true, filter: (path) => !GENERATED.test(path.slice(path.lastIndexOf('/') + 1)) });
      await makeModule(src, kernel, log, o);
      await cp(join(src, 'newtcp.ko'), join(tmp, 'newtcp.ko'));
    },
    (dir) => checkElf(join(dir, 'newtcp.ko'), 1024),
  );
  if (entry.replaced) o.onReplaced?.(`module cache entry ${entry.dir} was bad (${entry.replaced}): rebuilt`);
  return { ko: join(entry.dir, 'newtcp.ko'), cached: entry.hit };
}
