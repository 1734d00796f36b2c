// Debian chroots as toolchains: `debootstrap --variant=minbase` of a release with the kernel
// build's needs, created once under <cache>/toolchain/<release>/root, atomically (built in a
// temp dir, renamed into place), reused by every later run, re-created on request.
import { appendFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { DEFAULT_MIRROR, type DebianRelease, DEBIAN_RELEASES, parseDebianRelease } from '../debian/releases.js';
import { parseGccVersionOutput } from '../kernel/kernel-compiler.js';
import { InfraError, UsageError } from '../util/errors.js';
import { diskUsage, exists, pidAlive, placeDir } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import { cacheRoot } from '../util/paths.js';
import { runLogged } from '../util/run-logged.js';
import { removeTree } from './mounts.js';
import type { Toolchain } from './toolchain.js';

/**
 * What every toolchain chroot holds: the kernel's kbuild needs (BTF via dwarves, kmod, …), and
 * perl for W=1 builds (scripts/kernel-doc needs Pod::Usage, which minbase's perl-base lacks).
 * A chroot made with fewer packages than this list is re-created by ensureToolchain.
 */
export const BASE_PACKAGES = ['gcc', 'make', 'libc6-dev', 'libelf-dev', 'dwarves', 'kmod', 'bc', 'bison', 'flex', 'libssl-dev', 'xz-utils', 'perl'];

export interface ToolchainInfo {
  release: DebianRelease;
  root: string;
  mirror: string;
  /** The --include list it was made with. */
  packages: string[];
  created: string;
  /** `gcc -dumpfullversion` inside, e.g. 14.2.0. */
  gccVersion?: string;
  /** Disk use in bytes (listToolchains only). */
  bytes?: number;
}

export interface ToolchainOptions {
  cacheDir?: string;
  mirror?: string;
  /** Packages beyond BASE_PACKAGES, e.g. the kernel's gcc-14. */
  extraPackages?: string[];
  /** Log file for debootstrap's output; default <cache>/toolchain/<release>.log */
  log?: string;
  /** One line per step, for a spinner or a log. */
  onStep?: (line: string) => void;
  /** Aborts debootstrap and apt, killing their process groups. */
  signal: AbortSignal;
}

export function toolchainDir(cacheDir: string, release: DebianRelease): string {
  return join(cacheDir, 'toolchain', release);
}

/** The debootstrap argv (pure, for tests). */
export function debootstrapArgs(release: DebianRelease, target: string, mirror: string, packages: string[]): string[] {
  return ['--variant=minbase', `--include=${[...new Set(packages)].join(',')}`, '--components=main', release, target, mirror];
}

function requireRoot(): void {
  if (process.getuid && process.getuid() !== 0) {
    throw new UsageError(
      "a chroot toolchain needs root (debootstrap and chroot(8)): run sockvm as root, or give the host the kernel's compiler (e.g. a host of the same Debian release) so the host toolchain is chosen",
    );
  }
}

async function ensureDebootstrap(log: string, onStep: (l: string) => void, signal: AbortSignal): Promise<void> {
  if ((await exists('/usr/sbin/debootstrap')) || (await exists('/usr/bin/debootstrap'))) return;
  onStep('installing debootstrap on the host (apt-get install debootstrap)');
  await runLogged('apt-get install debootstrap', 'apt-get', ['install', '-y', '--no-install-recommends', 'debootstrap'], {
    log,
    signal,
    env: { DEBIAN_FRONTEND: 'noninteractive' },
  });
}

async function readInfo(dir: string): Promise<ToolchainInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'toolchain.json'), 'utf8')) as ToolchainInfo;
  } catch {
    return undefined;
  }
}

/** debootstraps into `dir` (which must not exist) and writes toolchain.json. */
async function createInto(
  dir: string,
  finalDir: string,
  release: DebianRelease,
  mirror: string,
  packages: string[],
  log: string,
  onStep: (l: string) => void,
  signal: AbortSignal,
): Promise<ToolchainInfo> {
  const root = join(dir, 'root');
  await mkdir(dir, { recursive: true });
  onStep(`debootstrap ${release} (${packages.length} packages) into ${finalDir}`);
  try {
    // In a private mount namespace: debootstrap's /proc and /sys mounts vanish with it, even when it is killed.
    await runLogged(
      `debootstrap ${release}`,
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'debootstrap', ...debootstrapArgs(release, root, mirror, packages)],
      { log, signal },
    );
  } catch (err) {
    await removeTree(dir);
    throw err;
  }
  // debootstrap keeps the .debs it installed: about 100 MB nobody needs again.
  for (const f of await readdir(join(root, 'var/cache/apt/archives')).catch(() => [] as string[])) {
    if (f.endsWith('.deb')) await rm(join(root, 'var/cache/apt/archives', f), { force: true });
  }
  const gcc = await execa('chroot', [root, 'gcc', '--version'], { reject: false, cancelSignal: signal });
  if (signal.aborted) {
    // No half-made chroot is left for the next run to trip over.
    await removeTree(dir);
    signal.throwIfAborted();
  }
  const info: ToolchainInfo = { release, root: join(finalDir, 'root'), mirror, packages, created: new Date().toISOString() };
  const v = parseGccVersionOutput(gcc.stdout ?? '');
  if (v) info.gccVersion = v.version;
  await writeFile(join(dir, 'toolchain.json'), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

function wanted(info: ToolchainInfo | undefined, extra: string[]): string[] {
  return [...new Set([...BASE_PACKAGES, ...(info?.packages ?? []), ...extra])];
}

/**
 * The release's chroot, created when missing (about 30 s and 500 MB) or when it lacks one of
 * `extraPackages` (re-created with them). Cached: an existing chroot costs one small JSON read.
 */
export async function ensureToolchain(releaseName: string, opts: ToolchainOptions): Promise<{ toolchain: Toolchain; info: ToolchainInfo; created: boolean }> {
  const release = parseDebianRelease(releaseName);
  const cacheDir = opts.cacheDir ?? cacheRoot();
  const dir = toolchainDir(cacheDir, release);
  // One creator per release: a debian-6.12 and a 6.12-patched target share the trixie chroot.
  return withLock(
    join(cacheDir, 'locks', `toolchain-${release}`),
    async () => {
      const extra = opts.extraPackages ?? [];
      const info = await readInfo(dir);
      if (info && [...BASE_PACKAGES, ...extra].every((p) => info.packages.includes(p)) && (await exists(join(dir, 'root', 'usr/bin')))) {
        return { toolchain: { kind: 'chroot', release, root: join(dir, 'root') }, info, created: false };
      }
      const updated = await updateToolchain(release, { ...opts, extraPackages: wanted(info, extra) });
      return { ...updated, created: true };
    },
    { signal: opts.signal },
  );
}

/** Re-creates the release's chroot with current packages and swaps it in atomically. */
export async function updateToolchain(releaseName: string, opts: ToolchainOptions): Promise<{ toolchain: Toolchain; info: ToolchainInfo }> {
  requireRoot();
  const release = parseDebianRelease(releaseName);
  const cacheDir = opts.cacheDir ?? cacheRoot();
  const dir = toolchainDir(cacheDir, release);
  const onStep = opts.onStep ?? (() => {});
  await mkdir(join(cacheDir, 'toolchain'), { recursive: true });
  const log = opts.log ?? `${dir}.log`;
  await appendFile(log, `# ${new Date().toISOString()} toolchain ${release}\n`);
  await ensureDebootstrap(log, onStep, opts.signal);
  const old = await readInfo(dir);
  const packages = wanted(old, opts.extraPackages ?? []);
  const mirror = opts.mirror ?? old?.mirror ?? DEFAULT_MIRROR;
  const tmp = `${dir}.tmp-${process.pid}`;
  await removeTree(tmp);
  const info = await createInto(tmp, dir, release, mirror, packages, log, onStep, opts.signal);
  await placeDir(tmp, dir, { replace: true, remove: removeTree }).catch((err: unknown) => {
    throw new InfraError(`could not move the new ${release} chroot into ${dir}: ${String(err)}`);
  });
  const final = (await readInfo(dir)) ?? info;
  return { toolchain: { kind: 'chroot', release, root: join(dir, 'root') }, info: final };
}

/** The cached chroots with their disk use. */
export async function listToolchains(opts: { cacheDir?: string; signal?: AbortSignal } = {}): Promise<ToolchainInfo[]> {
  const cacheDir = opts.cacheDir ?? cacheRoot();
  const out: ToolchainInfo[] = [];
  for (const release of DEBIAN_RELEASES) {
    const dir = toolchainDir(cacheDir, release);
    const info = await readInfo(dir);
    if (!info) continue;
    const bytes = await diskUsage(dir, opts.signal);
    out.push(bytes !== undefined ? { ...info, bytes } : info);
  }
  return out;
}

/**
 * Removes chroots not in `keep` (all when keep is empty or not given) and leftovers of
 * interrupted creations (`<release>.tmp-<pid>` / `.old-<pid>` of dead processes). Mounts under a
 * chroot are unmounted first; a chroot still mounted is left alone with an error.
 */
export async function pruneToolchains(opts: { cacheDir?: string; keep?: string[]; signal?: AbortSignal } = {}): Promise<{ removed: string[]; bytes: number }> {
  const cacheDir = opts.cacheDir ?? cacheRoot();
  const base = join(cacheDir, 'toolchain');
  const keep = new Set((opts.keep ?? []).map(parseDebianRelease));
  const removed: string[] = [];
  let bytes = 0;
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const path = join(base, name);
    const leftover = /^(\w+)\.(tmp|old)-(\d+)$/.exec(name);
    let remove = false;
    if (leftover) remove = !pidAlive(Number(leftover[3]));
    else if ((DEBIAN_RELEASES as readonly string[]).includes(name)) remove = !keep.has(name as DebianRelease);
    if (!remove) continue;
    bytes += (await diskUsage(path, opts.signal)) ?? 0;
    await removeTree(path);
    await rm(`${path}.log`, { force: true });
    removed.push(path);
  }
  return { removed, bytes };
}

/** The host's gcc version (`gcc --version`), or undefined when there is none. */
export async function hostGccVersion(signal: AbortSignal | undefined): Promise<string | undefined> {
  const r = await execa('gcc', ['--version'], { reject: false, ...(signal ? { cancelSignal: signal } : {}) });
  signal?.throwIfAborted();
  return r.exitCode === 0 ? parseGccVersionOutput(r.stdout ?? '')?.version : undefined;
}
