// Kernels built from source, as CI covers them: 6.1-patched (AF_INET_NEW_TCP at its real
// number, 46) and 6.1-debug (KASAN, lockdep, kmemleak, UBSAN) run the smoke suites in one
// matrix. The first run on a machine builds both (README: Kernels from source, for times);
// every later one is a cache hit.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli, qemuLeftBehind, readResults, runSockvm } from './helpers.js';

interface Built {
  target: string;
  cached: boolean;
  image: string;
  release: string;
  provenance?: { cacheKey: string; buildSeconds: number };
}

function kernelBuild(): Built[] {
  const out = execFileSync(process.execPath, [cli, 'kernel', 'build', '--target', '6.1-patched', '--target', '6.1-debug', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as Built[];
}

t.test('sockvm kernel build: both kernels built (or found) with their artifacts', async (t) => {
  const built = kernelBuild();
  t.same(built.map((b) => b.target), ['6.1-patched', '6.1-debug']);
  for (const b of built) {
    t.ok(existsSync(b.image), `${b.target}: ${b.image}`);
    t.match(b.provenance?.cacheKey ?? '', /^[0-9a-f]{24}$/, `${b.target}: cache key`);
    t.comment(`${b.target}: ${b.cached ? 'cache hit' : `built in ${b.provenance?.buildSeconds} s`}`);
  }
  t.not(built[0]?.release, built[1]?.release, 'each configuration has its own release');
});

t.test('6.1-patched and 6.1-debug: smoke suites green at family 46, kmemleak clean', async (t) => {
  const r = await runSockvm(['--target', '6.1-patched', '--target', '6.1-debug', '--tag', 'smoke']);
  t.equal(r.code, 0, r.output);
  const run = readResults(r.resultsRoot);
  t.same(run.targets.map((x) => x.target), ['6.1-patched', '6.1-debug']);
  for (const target of run.targets) {
    const name = target.target ?? '?';
    t.equal(target.status, 'pass', `${name} green`);
    t.match(target.kernel?.release ?? '', /^6\.1\.\d+-sockvm-[0-9a-f]{8}$/, `${name} booted the kernel it built`);
    t.equal(target.provenance?.series?.name, '6.1', `${name}: series recorded`);
    t.equal(target.guest?.family, 46, `${name}: the module took the kernel's AF_INET_NEW_TCP`);
    const create = readFileSync(join(r.resultsRoot, 'latest', name, 'create.tap'), 'utf8');
    t.match(create, /registered the default family 46 \(the kernel's AF_INET_NEW_TCP\)/, `${name}: create says which number it used`);
  }
  const debug = run.targets.find((x) => x.target === '6.1-debug');
  t.same(debug?.guest?.kmemleak, [], 'kmemleak scanned after the suites: nothing');
  t.same(qemuLeftBehind(r.resultsRoot), []);
});

t.test('a kernel built once is a cache hit', async (t) => {
  t.same(kernelBuild().map((b) => b.cached), [true, true]);
});
