// The source kernel cache: <cache>/kernel/<content key>/ entries (artifact.json, the tree, the
// staged modules), recipes/<recipe key> → content key, logs/. Reading and checking entries.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkKernelImage, checkModulesDir, firstProblem } from '../../util/cache-check.js';
import type { KernelArtifact } from '../artifact.js';
import type { SourceProvenance } from './recipe.js';

export interface SourceKernelArtifact extends KernelArtifact {
  provenance: SourceProvenance;
  /** The entry directory (bind it into a chroot). */
  entryDir: string;
  /** The build's log. */
  log: string;
  /** vmlinux (unstripped) in the build tree. */
  vmlinux: string;
  /** `make headers_install`'s include/ (with linux/newtcp.h) when the tree carries NEW_TCP. */
  uapiHeaders?: string;
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function kernelCacheDir(cacheDir: string): string {
  return join(cacheDir, 'kernel');
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
