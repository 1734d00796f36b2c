// Builds the guest's BPF tracer (images/tracer → one static sockvm-trace binary) with its
// Makefile, cached by the sources' hash under ~/.cache/sockvm/tracer/<hash>/.
import { join } from 'node:path';
import { cachedDir, hashTree } from '../util/fs.js';
import { repoRoot } from '../util/paths.js';
import { runLogged } from '../util/run-logged.js';

export interface TracerArtifact {
  path: string;
  cached: boolean;
}

export async function buildTracer(cacheDir: string, log: string, signal: AbortSignal): Promise<TracerArtifact> {
  const src = join(repoRoot, 'images', 'tracer');
  const key = (await hashTree(src, (name) => name === 'build')).slice(0, 24);
  const entry = await cachedDir(join(cacheDir, 'tracer', key), async (tmp) => {
    await runLogged('building sockvm-trace (images/tracer)', 'make', ['-C', src, `OUT=${tmp}`], { log, signal });
  });
  return { path: join(entry.dir, 'sockvm-trace'), cached: entry.hit };
}
