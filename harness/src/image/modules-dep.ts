// modules.dep: which .ko files a module needs, in load order.
import { InfraError } from '../util/errors.js';

/** Parses modules.dep into module path → direct dependency paths (both relative to the modules dir). */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const mod = line.slice(0, colon).trim();
    const rest = line.slice(colon + 1).trim();
    deps.set(mod, rest ? rest.split(/\s+/) : []);
  }
  return deps;
}

/** The name modprobe uses for a module path: basename without .ko[.xz|.zst|.gz], '-' as '_'. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/**
 * Every module `names` needs, dependencies first, so loading them in order works.
 * Throws naming the module when it is not in modules.dep.
 */
export function dependencyClosure(deps: Map<string, string[]>, names: string[]): string[] {
  const byName = new Map<string, string>();
  for (const path of deps.keys()) byName.set(moduleName(path), path);
  const ordered: string[] = [];
  const seen = new Set<string>();
  const visit = (path: string, chain: string[]): void => {
    if (seen.has(path)) return;
    if (chain.includes(path))
      throw new InfraError(
        `modules.dep has a dependency cycle: ${[...chain, path].join(' → ')}; the kernel's modules are broken (run depmod on its modules dir)`,
      );
    for (const dep of deps.get(path) ?? []) visit(dep, [...chain, path]);
    seen.add(path);
    ordered.push(path);
  };
  for (const name of names) {
    const path = byName.get(name.replace(/-/g, '_'));
    if (!path)
      throw new InfraError(
        `module '${name}' is not in modules.dep: the kernel has no such module (is it built in, or missing from this kernel's modules package?); drop it from the suite.json "modules" that names it, or use a kernel that has it`,
      );
    visit(path, []);
  }
  return ordered;
}
