// A source kernel's cache keys: the recipe key (inputs known before unpacking: source identity,
// series, fragments, compiler, make variables) and the content key (the merged .config in place
// of the fragments). Pure, but for fragmentPath's path resolution.
import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import type { SourceIdentity } from '../source.js';

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


/** The files a module build generates in its source tree: never part of its sources' hash. */
export const MODULE_GENERATED = /^(\..*\.cmd|.*\.o|.*\.ko|.*\.mod(\.c)?|modules\.order|Module\.symvers|\.tmp_versions|.*\.md)$/;

/** A fragment name (`guest`) → kernel/config/guest.config; a path is taken as is. */
export function fragmentPath(name: string, repoRoot: string, base: string): string {
  if (name.includes('/') || name.endsWith('.config')) return isAbsolute(name) ? name : resolve(base, name);
  return join(repoRoot, 'kernel', 'config', `${name}.config`);
}
