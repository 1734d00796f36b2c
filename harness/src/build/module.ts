// Builds kernel/newtcp out of tree against a kbuild tree. The sources are copied into a cache
// entry keyed by their hash and the kernel release, so the repo stays clean and a rebuild of
// unchanged sources is free.
import { cp } from 'node:fs/promises';
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
}

export async function buildModule(sourceDir: string, kernel: KernelArtifact, cacheDir: string, log: string, o: ModuleBuildOptions): Promise<ModuleArtifact> {
  const toolchain = o.toolchain ?? { kind: 'host' };
  const key = (await hashTree(sourceDir, (name) => GENERATED.test(name))).slice(0, 24);
  const tc = describeToolchain(toolchain).replace(':', '-');
  const entry = await cachedDir(
    join(cacheDir, 'module', `${kernel.release}-${tc}-${key}`),
    async (tmp) => {
      const src = join(tmp, 'src');
      await cp(sourceDir, src, { recursive: true, filter: (path) => !GENERATED.test(path.slice(path.lastIndexOf('/') + 1)) });
      await runInToolchain(toolchain, 'make', ['-C', kernel.buildDir, `M=${src}`, 'W=1', '-j2', 'modules'], {
        cwd: src,
        log,
        binds: [kernel.buildDir, ...(o.binds ?? [])],
        what: 'building newtcp.ko',
        signal: o.signal,
      });
      await cp(join(src, 'newtcp.ko'), join(tmp, 'newtcp.ko'));
    },
    (dir) => checkElf(join(dir, 'newtcp.ko'), 1024),
  );
  if (entry.replaced) o.onReplaced?.(`module cache entry ${entry.dir} was bad (${entry.replaced}): rebuilt`);
  return { ko: join(entry.dir, 'newtcp.ko'), cached: entry.hit };
}
