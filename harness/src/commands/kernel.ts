// `sockvm kernel build --target X`: builds (or finds in the cache) a target's source kernel and
// prints the artifact paths and where it came from. No guest is booted. Progress goes to the
// event bus (the CLI's reporter shows it); the artifacts are this command's output.
import { TARGET_OPTIONS } from '../config/run-options.js';
import { chooseTargets, CONFIG_FILE, loadConfig } from '../config/targets.js';
import type { EventBus } from '../events.js';
import { ciKernelKey } from '../kernel/ci-key.js';
import { resolveKernel } from '../kernel/resolve.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';
import { cacheRoot, repoRoot } from '../util/paths.js';

export const KERNEL_USAGE = `Usage: sockvm kernel build [--target <name>]... [--all-targets] [--force] [--config <file>] [--json]
       sockvm kernel key --target <name> [--config <file>]

Builds the source kernels of targets whose "kernel" is {"source": ...} (Debian's linux-source, a
tarball or a tree, + kernel/patches/<series> + kernel/config fragments) into the cache
(~/.cache/sockvm/kernel/<key>), or finds them there, and prints image, modules dir, build dir,
release, cache key and source identity. Other targets' kernels are resolved (downloaded) too.
  --force   rebuild even when the cache has the kernel
  --json    print the artifacts as JSON
Environment: SOCKVM_KERNEL_JOBS (make -j, default: all CPUs), SOCKVM_KERNEL_NICE (default 10),
SOCKVM_NO_CCACHE=1 (build without ccache).

'kernel key' prints a key for a CI cache of ~/.cache/sockvm (nothing is built or downloaded):
sockvm-kernel-<target>-<hash> of the target's kernel spec, the build recipe's version and, for a
source kernel, its config fragments, its patch series and (NEW_TCP built in) kernel/newtcp.
Debian kernels' keys do not follow the archive: the harness checks what it restores.`;

/** `sockvm kernel build`'s options. */
export const KERNEL_BUILD_OPTIONS = {
  ...TARGET_OPTIONS,
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function kernelCommand(args: string[], out: (line: string) => void, bus: EventBus, signal: AbortSignal): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'key') return kernelKeyCommand(rest, out);
  if (verb !== 'build') {
    out(KERNEL_USAGE);
    return verb === undefined || verb === '--help' || verb === '-h' ? 0 : 2;
  }
  const { values: v } = parseCommandArgs('sockvm kernel build', rest, KERNEL_BUILD_OPTIONS);
  if (v.help) {
    out(KERNEL_USAGE);
    return 0;
  }
  if (v.target?.length && v['all-targets']) throw new UsageError('sockvm kernel build: --target and --all-targets exclude each other');
  const config = await loadConfig(v.config ?? CONFIG_FILE);
  const targets = chooseTargets(config, v.target ?? [], v['all-targets'] ?? false);
  const results: unknown[] = [];
  for (const target of targets) {
    const events = bus.forTarget(target.name);
    const start = Date.now();
    events.emit({ type: 'phase-started', phase: 'kernel' });
    const r = await resolveKernel(target.kernel, {
      cacheDir: cacheRoot(),
      target: target.name,
      force: v.force ?? false,
      signal,
      log: (message) => events.emit({ type: 'notice', message }),
      onProgress: (p) =>
        events.emit({ type: 'progress', phase: 'kernel', message: `compiling (${p.compiled} files, ${Math.round(p.elapsedMs / 1000)} s) ${p.last}` }),
    });
    events.emit({ type: 'phase-ended', phase: 'kernel', durationMs: Date.now() - start, detail: `${target.name}: ${r.cached ? 'cached' : 'built'}` });
    const secs = ((Date.now() - start) / 1000).toFixed(1);
    const k = r.kernel;
    if (v.json) {
      results.push({
        target: target.name,
        ...k,
        cached: r.cached,
        seconds: Number(secs),
        ...(r.provenance ? { provenance: r.provenance } : {}),
        ...(r.uapiHeaders ? { uapiHeaders: r.uapiHeaders } : {}),
      });
      continue;
    }
    out(`${target.name}: ${r.cached ? 'cached' : 'built'} in ${secs} s`);
    out(`  image      ${k.image}`);
    out(`  modules    ${k.modulesDir}`);
    out(`  build dir  ${k.buildDir}`);
    out(`  release    ${k.release}`);
    if (r.uapiHeaders) out(`  uapi       ${r.uapiHeaders} (make headers_install: linux/newtcp.h)`);
    const p = r.provenance;
    if (p) {
      out(`  cache key  ${p.cacheKey} (recipe ${p.recipeKey})`);
      out(
        `  source     ${p.source.spec} = ${p.source.id} (Linux ${p.source.version}${p.source.package ? `, ${p.source.package.name} ${p.source.package.version}` : ''})`,
      );
      out(`  series     ${p.series ? `${p.series.name}: ${p.series.patches.join(' ')}` : 'none'}`);
      out(`  config     tinyconfig + ${p.fragments.join(' ')}${p.extra.length ? ` + ${p.extra.join(' ')}` : ''}`);
      out(`  compiler   ${p.compiler}${p.make.CC ? ` (CC=${p.make.CC})` : ''}`);
      out(`  built      ${p.builtAt} in ${p.buildSeconds} s`);
    }
  }
  if (v.json) out(JSON.stringify(results, null, 2));
  return 0;
}

/** `sockvm kernel key`'s options. */
export const KERNEL_KEY_OPTIONS = {
  target: { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function kernelKeyCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values: v } = parseCommandArgs('sockvm kernel key', args, KERNEL_KEY_OPTIONS);
  if (v.help) {
    out(KERNEL_USAGE);
    return 0;
  }
  if (v.target === undefined) throw new UsageError('sockvm kernel key: --target <name> is missing: name the target whose kernel the cache holds');
  const config = await loadConfig(v.config ?? CONFIG_FILE);
  const [target] = chooseTargets(config, [v.target], false);
  if (!target) throw new UsageError(`--target ${v.target}: no such target`);
  out(await ciKernelKey(target, repoRoot));
  return 0;
}
