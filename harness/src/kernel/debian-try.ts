// Proof for issue 5's foundation: for each Debian release, prepare its kernel and the toolchain
// its compiler calls for, then build kernel/newtcp out of tree against it.
//   node harness/dist/src/kernel/debian-try.js [bullseye|bookworm|trixie|sid ...] [--refresh] [--json]
// Prints one block per release (and a JSON summary with --json). Not part of the CLI.
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureToolchain, hostGccVersion, toolchainDir } from '../toolchain/chroot.js';
import { runInToolchain } from '../toolchain/run.js';
import { chooseToolchain, describeToolchain, type Toolchain } from '../toolchain/toolchain.js';
import { errorMessage, InfraError } from '../util/errors.js';
import { cacheRoot, repoRoot } from '../util/paths.js';
import { DEBIAN_RELEASES, aptDirs, parseDebianRelease } from './debian-apt.js';
import { prepareDebianKernel } from './debian.js';

const GENERATED = /^(\..*\.cmd|.*\.o|.*\.ko|.*\.mod(\.c)?|modules\.order|Module\.symvers|\.tmp_versions)$/;

interface TryResult {
  release: string;
  kernelRelease?: string;
  packages?: string[];
  compiler?: string;
  toolchain?: string;
  reason?: string;
  prepareMs?: number;
  prepareCachedMs?: number;
  toolchainMs?: number;
  toolchainCachedMs?: number;
  buildMs?: number;
  disk?: { kernelEntry?: number; aptCache?: number; toolchain?: number };
  built: boolean;
  ko?: string;
  errors?: string[];
  warnings?: string[];
  failure?: string;
}

async function du(path: string): Promise<number | undefined> {
  const r = await execa('du', ['-sb', path], { reject: false });
  const n = Number((r.stdout ?? '').split(/\s/)[0]);
  return r.exitCode === 0 && Number.isFinite(n) ? n : undefined;
}

const mb = (n: number | undefined) => (n === undefined ? '?' : `${Math.round(n / 1e6)} MB`);

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = Date.now();
  const r = await f();
  return [r, Date.now() - t];
}

/** The first compiler/linker errors of a kbuild log, verbatim. */
export function firstErrors(log: string, max = 12): string[] {
  return log
    .split('\n')
    .filter((l) => /(error|Error \d|undefined!|\bERROR\b)/.test(l) && !/^\$ /.test(l))
    .slice(0, max);
}

async function tryRelease(name: string, refresh: boolean, hostGcc: string | undefined): Promise<TryResult> {
  const release = parseDebianRelease(name);
  const res: TryResult = { release, built: false };
  const cache = cacheRoot();
  try {
    const [first, prepareMs] = await timed(() => prepareDebianKernel(release, { refresh, log: (l) => console.error(`  ${l}`) }));
    const [, prepareCachedMs] = await timed(() => prepareDebianKernel(release));
    const k = first.kernel;
    Object.assign(res, {
      kernelRelease: k.release,
      packages: k.packages.map((p) => `${p.name}=${p.version}`),
      compiler: k.compiler ? `${k.compiler.cc} ${k.compiler.version ?? ''} (${k.compiler.source})`.trim() : 'unknown',
      prepareMs,
      prepareCachedMs,
      warnings: first.warnings,
    });
    const choice = chooseToolchain(k.compiler, hostGcc, release);
    res.reason = choice.reason;
    let tc: Toolchain = { kind: 'host' };
    if (choice.kind === 'chroot') {
      const [t1, toolchainMs] = await timed(() => ensureToolchain(choice.release, { extraPackages: choice.extraPackages, onStep: (l) => console.error(`  ${l}`) }));
      const [, toolchainCachedMs] = await timed(() => ensureToolchain(choice.release, { extraPackages: choice.extraPackages }));
      tc = t1.toolchain;
      Object.assign(res, { toolchainMs, toolchainCachedMs });
    }
    res.toolchain = describeToolchain(tc);
    res.disk = {};
    const entry = await du(join(k.root, '..'));
    if (entry !== undefined) res.disk.kernelEntry = entry;
    const apt = await du(aptDirs(cache, release).base);
    if (apt !== undefined) res.disk.aptCache = apt;
    if (tc.kind === 'chroot') {
      const t = await du(toolchainDir(cache, tc.release));
      if (t !== undefined) res.disk.toolchain = t;
    }

    const src = process.env.SOCKVM_NEWTCP ?? join(repoRoot, 'kernel', 'newtcp');
    const work = await mkdtemp(join(tmpdir(), `sockvm-try-${release}-`));
    const dir = join(work, 'newtcp');
    await cp(src, dir, { recursive: true, filter: (p) => !GENERATED.test(p.slice(p.lastIndexOf('/') + 1)) });
    const log = join(work, 'build.log');
    const t = Date.now();
    try {
      await runInToolchain(tc, 'make', ['-C', k.buildDir, `M=${dir}`, '-j2', 'modules'], { cwd: dir, log, binds: [k.root] });
      res.built = true;
      res.ko = join(dir, 'newtcp.ko');
    } catch (err) {
      res.failure = errorMessage(err);
      res.errors = firstErrors(await readFile(log, 'utf8').catch(() => ''));
    }
    res.buildMs = Date.now() - t;
  } catch (err) {
    res.failure = errorMessage(err);
    if (err instanceof InfraError && err.detail) res.errors = err.detail.split('\n').slice(-10);
  }
  return res;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const refresh = argv.includes('--refresh');
  const json = argv.includes('--json');
  const releases = argv.filter((a) => !a.startsWith('--'));
  const hostGcc = await hostGccVersion();
  const results: TryResult[] = [];
  for (const r of releases.length ? releases : DEBIAN_RELEASES) {
    console.error(`== ${r}`);
    const res = await tryRelease(r, refresh, hostGcc);
    results.push(res);
    console.log(
      [
        `${res.release}: ${res.built ? 'newtcp.ko BUILT' : 'newtcp.ko NOT built'}`,
        `  kernel    ${res.kernelRelease ?? '?'}  compiler ${res.compiler ?? '?'}`,
        `  packages  ${(res.packages ?? []).join(' ')}`,
        `  toolchain ${res.toolchain ?? '?'} — ${res.reason ?? ''}`,
        `  prepare   ${res.prepareMs ?? '?'} ms first, ${res.prepareCachedMs ?? '?'} ms cached; toolchain ${res.toolchainMs ?? '-'} ms first, ${res.toolchainCachedMs ?? '-'} ms cached; build ${res.buildMs ?? '?'} ms`,
        `  disk      kernel entry ${mb(res.disk?.kernelEntry)}, apt cache ${mb(res.disk?.aptCache)}, toolchain ${res.disk?.toolchain !== undefined ? mb(res.disk.toolchain) : '-'}`,
        ...(res.warnings ?? []).map((w) => `  warning   ${w}`),
        ...(res.failure ? [`  failure   ${res.failure}`] : []),
        ...(res.errors ?? []).map((e) => `    | ${e}`),
      ].join('\n'),
    );
  }
  if (json) console.log(JSON.stringify(results, null, 2));
  process.exitCode = results.every((r) => r.built) ? 0 : 1;
}

await main();
