// The CI cache key of a target's kernel (`sockvm kernel key --target X`): a hash of what the
// repository says about it, computable before the cache is restored (the cache's own keys need
// the downloaded source's identity). The kernel's spec, the recipe version, and for a source
// kernel its config fragments, its patch series and, when NEW_TCP is built in, kernel/newtcp.
// A key that changes too often only costs a rebuild; one that changes too rarely is still safe,
// as the harness checks each cache entry by its own key.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Target } from '../config/targets.js';
import { UsageError } from '../util/errors.js';
import { exists, hashTree } from '../util/fs.js';
import { fragmentPath, MODULE_GENERATED, RECIPE_VERSION } from './kbuild/recipe.js';

export async function ciKernelKey(target: Target, repoRoot: string): Promise<string> {
  const h = createHash('sha256');
  const field = (name: string, value: string): void => void h.update(`${name}\0${value.length}\0${value}\0`);
  const spec = target.kernel;
  field('recipe', String(RECIPE_VERSION));
  field('spec', JSON.stringify(spec));
  if (spec.provider === 'source') {
    let builtIn = false;
    for (const f of spec.config) {
      const path = fragmentPath(f, repoRoot, repoRoot);
      const text = await readFile(path, 'utf8').catch(() => {
        throw new UsageError(`target ${target.name}: config fragment '${f}' is not there: no ${path}; fragments live in kernel/config/<name>.config`);
      });
      field(`fragment ${f}`, text);
      if (/^CONFIG_NEWTCP=y$/m.test(text)) builtIn = true;
    }
    if ((spec.extra ?? []).includes('CONFIG_NEWTCP=y')) builtIn = true;
    // No series named: the build picks one by the tree's version, so every series counts.
    const patches = join(repoRoot, 'kernel', 'patches', spec.series ?? '');
    if (spec.series !== 'none' && (await exists(patches))) field('patches', await hashTree(patches));
    if (builtIn) field('newtcp', await hashTree(join(repoRoot, 'kernel', 'newtcp'), (n) => MODULE_GENERATED.test(n)));
  }
  return `sockvm-kernel-${target.name}-${h.digest('hex').slice(0, 24)}`;
}
