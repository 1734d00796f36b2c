// Boot to SSH of the tiny source kernel (6.1-patched: the tests no longer build it, so the first
// benchmark does, about 7 min on a quiet machine, and every later one finds it cached) against
// the installed distro kernel, each booted by `sockvm run --exec true` (no suite), rounds
// interleaved; the time is QEMU's spawn to the SSH session (results.json "boot").
import { join } from 'node:path';
import { mustPass, readResults, sockvm } from './cli-run.js';
import { median, type Comparison } from './stats.js';

async function bootToSsh(target: string, results: string): Promise<number> {
  const r = await sockvm(['run', '--target', target, '--exec', 'true', '--results-dir', results]);
  mustPass(`sockvm run --target ${target} --exec true`, r);
  const boot = (await readResults(results)).targets[0]?.boot;
  if (!boot) throw new Error(`sockvm run --target ${target}: no boot timings in results.json`);
  return boot.toReadyMs + boot.sshMs;
}

export async function tinyVersusDistro(scratch: string, rounds: number, log: (line: string) => void): Promise<Comparison> {
  const tiny: number[] = [];
  const distro: number[] = [];
  for (let i = 0; i < rounds; i++) {
    tiny.push(await bootToSsh('6.1-patched', join(scratch, 'tiny')));
    distro.push(await bootToSsh('host', join(scratch, 'distro')));
    log(`  round ${i + 1}: 6.1-patched ${((tiny.at(-1) ?? 0) / 1000).toFixed(2)} s, distro ${((distro.at(-1) ?? 0) / 1000).toFixed(2)} s`);
  }
  return {
    what: 'boot to SSH',
    a: { label: '6.1-patched', ms: median(tiny), n: tiny.length },
    b: { label: 'distro kernel', ms: median(distro), n: distro.length },
  };
}
