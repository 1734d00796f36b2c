// Cold against warm: `sockvm run --suite create` (the default target, the installed distro
// kernel: no source kernel is built) with an empty cache (a fresh XDG_CACHE_HOME: module,
// suites, tracer, vmlinux extraction and the accelerator probe all redone), then again warm.
// The default job with every suite takes minutes under TCG; create alone shows what the cache saves.
import { join } from 'node:path';
import { mustPass, readResults, sockvm } from './cli-run.js';
import type { Comparison } from './stats.js';

/** The phases that cost most, "name 1.2 s" each, from a run's results. */
async function costliest(resultsRoot: string): Promise<string> {
  const [run] = (await readResults(resultsRoot)).targets;
  const phases = Object.entries(run?.phases ?? {}).sort((a, b) => b[1] - a[1]);
  return phases
    .slice(0, 4)
    .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(1)} s`)
    .join(', ');
}

export async function coldVersusWarm(scratch: string, log: (line: string) => void): Promise<Comparison> {
  const env = { XDG_CACHE_HOME: join(scratch, 'xdg-cache') };
  const results = join(scratch, 'cold-warm');
  const cold = await sockvm(['run', '--suite', 'create', '--results-dir', results], { env });
  mustPass('cold sockvm run --suite create', cold);
  const coldCost = await costliest(results);
  log(`  cold: ${(cold.wallMs / 1000).toFixed(2)} s (${coldCost})`);
  const warm = await sockvm(['run', '--suite', 'create', '--results-dir', results], { env });
  mustPass('warm sockvm run --suite create', warm);
  log(`  warm: ${(warm.wallMs / 1000).toFixed(2)} s (${await costliest(results)})`);
  return {
    what: 'default job (--suite create only)',
    a: { label: 'warm cache', ms: warm.wallMs, n: 1 },
    b: { label: 'cold cache', ms: cold.wallMs, n: 1 },
    note: `cold's costliest phases: ${coldCost}`,
  };
}
