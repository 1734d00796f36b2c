// Builds kernel/newtcp out of tree against a kbuild tree. The sources are copied into a cache
// entry keyed by their hash and the kernel release, so the repo stays clean and a rebuild of
// unchanged sources is free.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { KernelArtifact } from '../kernel/artifact.js';
import { cachedDir, hashTree } from '../util/fs.js';
import { runLogged } from '../util/run-logged.js';

const GENERATED = /^(\..*\.cmd|.*\.o|.*\.ko|.*\.mod(\.c)?|modules\.order|Module\.symvers|\.tmp_versions)$/;

export interface ModuleArtifact {
  ko: string;
  cached: boolean;
}

export async function buildModule(sourceDir: string, kernel: KernelArtifact, cacheDir: string, log: string): Promise<ModuleArtifact> {
  const key = (await hashTree(sourceDir, (name) => GENERATED.test(name))).slice(0, 24);
  const entry = await cachedDir(join(cacheDir, 'module', `${kernel.release}-${key}`), async (tmp) => {
    const src = join(tmp, 'src');
    await cp(sourceDir, src, { recursive: true, filter: (path) => !GENERATED.test(path.slice(path.lastIndexOf('/') + 1)) });
    await runLogged('building newtcp.ko', 'make', ['-C', kernel.buildDir, `M=${src}`, 'W=1', `-j${2}`, 'modules'], { log });
    await cp(join(src, 'newtcp.ko'), join(tmp, 'newtcp.ko'));
  });
  return { ko: join(entry.dir, 'newtcp.ko'), cached: entry.hit };
}
