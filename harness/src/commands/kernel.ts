// `sockvm kernel build --target X`: builds (or finds in the cache) a target's source kernel and
// prints the artifact paths and where it came from. No guest is booted.
import { chooseTargets, CONFIG_FILE, loadConfig } from '../config/targets.js';
import { resolveKernel } from '../kernel/resolve.js';
import { UsageError } from '../util/errors.js';
import { cacheRoot } from '../util/paths.js';

export const KERNEL_USAGE = `Usage: sockvm kernel build [--target <name>]... [--all-targets] [--force] [--config <file>] [--json]

Builds the source kernels of targets whose "kernel" is {"source": ...} (Debian's linux-source, a
tarball or a tree, + kernel/patches/<series> + kernel/config fragments) into the cache
(~/.cache/sockvm/kernel/<key>), or finds them there, and prints image, modules dir, build dir,
release, cache key and source identity. Other targets' kernels are resolved (downloaded) too.
  --force   rebuild even when the cache has the kernel
  --json    print the artifacts as JSON
Environment: SOCKVM_KERNEL_JOBS (make -j, default: all CPUs), SOCKVM_KERNEL_NICE (default 10),
SOCKVM_NO_CCACHE=1 (build without ccache).`;

export async function kernelCommand(args: string[], out: (line: string) => void, status: (line: string) => void): Promise<number> {
  const [verb, ...rest] = args;
  if (verb !== 'build') {
    out(KERNEL_USAGE);
    return verb === undefined || verb === '--help' || verb === '-h' ? 0 : 2;
  }
  const names: string[] = [];
  let all = false;
  let force = false;
  let json = false;
  let file = CONFIG_FILE;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] as string;
    if (a === '--target' && rest[i + 1]) names.push(rest[++i] as string);
    else if (a.startsWith('--target=')) names.push(a.slice('--target='.length));
    else if (a === '--all-targets') all = true;
    else if (a === '--force') force = true;
    else if (a === '--json') json = true;
    else if (a === '--config' && rest[i + 1]) file = rest[++i] as string;
    else if (a === '--help' || a === '-h') {
      out(KERNEL_USAGE);
      return 0;
    } else throw new UsageError(`sockvm kernel build: unexpected '${a}' (see 'sockvm kernel --help')`);
  }
  const config = await loadConfig(file);
  const targets = chooseTargets(config, names, all);
  const results: unknown[] = [];
  for (const target of targets) {
    const start = Date.now();
    const r = await resolveKernel(target.kernel, {
      cacheDir: cacheRoot(),
      target: target.name,
      force,
      log: (l) => status(`${target.name}: ${l}`),
      onProgress: (p) => status(`${target.name}: compiling (${p.compiled} files, ${Math.round(p.elapsedMs / 1000)} s) ${p.last}`),
    });
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    const k = r.kernel;
    if (json) {
      results.push({ target: target.name, ...k, cached: r.cached, seconds: Number(secs), ...(r.provenance ? { provenance: r.provenance } : {}) });
      continue;
    }
    out(`${target.name}: ${r.cached ? 'cached' : 'built'} in ${secs} s`);
    out(`  image      ${k.image}`);
    out(`  modules    ${k.modulesDir}`);
    out(`  build dir  ${k.buildDir}`);
    out(`  release    ${k.release}`);
    const p = r.provenance;
    if (p) {
      out(`  cache key  ${p.cacheKey} (recipe ${p.recipeKey})`);
      out(`  source     ${p.source.spec} = ${p.source.id} (Linux ${p.source.version}${p.source.package ? `, ${p.source.package.name} ${p.source.package.version}` : ''})`);
      out(`  series     ${p.series ? `${p.series.name}: ${p.series.patches.join(' ')}` : 'none'}`);
      out(`  config     tinyconfig + ${p.fragments.join(' ')}${p.extra.length ? ` + ${p.extra.join(' ')}` : ''}`);
      out(`  compiler   ${p.compiler}${p.make.CC ? ` (CC=${p.make.CC})` : ''}`);
      out(`  built      ${p.builtAt} in ${p.buildSeconds} s`);
    }
  }
  if (json) out(JSON.stringify(results, null, 2));
  return 0;
}
