// Debian's archive through a private apt configuration: its own apt.conf (given to apt with
// APT_CONFIG, so none of the machine's /etc/apt files are read), sources list, lists, archives
// and an empty dpkg status, all under <cache>/apt/<release>. The machine's apt setup is never
// read for sources nor written. Signatures are verified as usual: every source carries
// signed-by=<Debian's archive keyring>.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runInGroup } from '../util/cancel.js';
import { InfraError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { withLock } from '../util/lock.js';
import { DEFAULT_KEYRING, DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR, type DebianRelease } from './releases.js';

export interface AptSourcesOptions {
  /** Aborts apt: its process group is killed (a download stops at once). */
  signal?: AbortSignal;
  mirror?: string;
  securityMirror?: string;
  keyring?: string;
  /**
   * Accept a Release file past its Valid-Until (a frozen mirror or snapshot: sid's InRelease is
   * valid for a week only). Signatures are still verified. Default false.
   */
  ignoreValidUntil?: boolean;
}

/** One-line-style sources for a release: main suite, -updates and -security (sid has neither). */
export function aptSourcesList(release: DebianRelease, opts: AptSourcesOptions = {}): string {
  const mirror = opts.mirror ?? DEFAULT_MIRROR;
  const security = opts.securityMirror ?? DEFAULT_SECURITY_MIRROR;
  const validity = opts.ignoreValidUntil ? ' check-valid-until=no' : '';
  const opt = `[arch=amd64 signed-by=${opts.keyring ?? DEFAULT_KEYRING}${validity}]`;
  const lines = [`deb ${opt} ${mirror} ${release} main`];
  if (release !== 'sid') {
    lines.push(`deb ${opt} ${mirror} ${release}-updates main`);
    // bullseye's security suite is bullseye-security too (the /updates layout ended with buster).
    lines.push(`deb ${opt} ${security} ${release}-security main`);
  }
  return `${lines.join('\n')}\n`;
}

export interface AptDirs {
  /** <cache>/apt/<release> */
  base: string;
  config: string;
  sourcesList: string;
  lists: string;
  archives: string;
  status: string;
}

export function aptDirs(cacheDir: string, release: DebianRelease): AptDirs {
  const base = join(cacheDir, 'apt', release);
  return {
    base,
    config: join(base, 'apt.conf'),
    sourcesList: join(base, 'sources.list'),
    lists: join(base, 'lists'),
    archives: join(base, 'archives'),
    status: join(base, 'status'),
  };
}

/**
 * The private apt.conf. Read first through APT_CONFIG; Dir::Etc::parts/main point at empty
 * places so the machine's /etc/apt/apt.conf.d (docker-clean and friends) is never read.
 */
export function aptConfig(dirs: AptDirs): string {
  const empty = join(dirs.base, 'empty.d');
  const q = (s: string) => JSON.stringify(s);
  return [
    `Dir::Etc::main ${q('/dev/null')};`,
    `Dir::Etc::parts ${q(empty)};`,
    `Dir::Etc::sourcelist ${q(dirs.sourcesList)};`,
    `Dir::Etc::sourceparts ${q(empty)};`,
    `Dir::Etc::preferences ${q('/dev/null')};`,
    `Dir::Etc::preferencesparts ${q(empty)};`,
    `Dir::Etc::trusted ${q('/dev/null')};`,
    `Dir::Etc::trustedparts ${q(empty)};`,
    `Dir::State ${q(dirs.base)};`,
    `Dir::State::lists ${q(dirs.lists)};`,
    `Dir::State::status ${q(dirs.status)};`,
    `Dir::State::extended_states ${q(join(dirs.base, 'extended_states'))};`,
    `Dir::Cache ${q(dirs.base)};`,
    `Dir::Cache::archives ${q(dirs.archives)};`,
    `Dir::Cache::pkgcache ${q(join(dirs.base, 'pkgcache.bin'))};`,
    // No source cache: it would double the disk use and we never need it.
    `Dir::Cache::srcpkgcache "";`,
    `Dir::Log ${q(join(dirs.base, 'log'))};`,
    `APT::Architecture "amd64";`,
    `APT::Architectures { "amd64"; };`,
    `Acquire::Languages "none";`,
    // Keep the indexes compressed on disk (about 15 MB instead of 120 MB per release).
    `Acquire::GzipIndexes "true";`,
    `Acquire::CompressionTypes::Order { "gz"; };`,
    `Acquire::Retries "3";`,
    // The cache lives under root's home, which the _apt sandbox user cannot enter.
    `APT::Sandbox::User "root";`,
    `Debug::NoLocking "false";`,
    '',
  ].join('\n');
}

export interface AptEnv {
  release: DebianRelease;
  dirs: AptDirs;
  env: Record<string, string>;
  signal?: AbortSignal;
}

/** Writes the private configuration (idempotent) and returns the environment that selects it. */
export async function aptSetup(cacheDir: string, release: DebianRelease, opts: AptSourcesOptions = {}): Promise<AptEnv> {
  const dirs = aptDirs(cacheDir, release);
  await mkdir(join(dirs.lists, 'partial'), { recursive: true });
  await mkdir(join(dirs.archives, 'partial'), { recursive: true });
  await mkdir(join(dirs.base, 'empty.d'), { recursive: true });
  await mkdir(join(dirs.base, 'log'), { recursive: true });
  const writeIfChanged = async (path: string, text: string) => {
    const old = await readFile(path, 'utf8').catch(() => undefined);
    if (old !== text) await writeFile(path, text);
  };
  await writeIfChanged(dirs.config, aptConfig(dirs));
  await writeIfChanged(dirs.sourcesList, aptSourcesList(release, opts));
  if (!(await exists(dirs.status))) await writeFile(dirs.status, '');
  const env = { APT_CONFIG: dirs.config, LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' };
  return opts.signal ? { release, dirs, env, signal: opts.signal } : { release, dirs, env };
}

/** One apt command at a time per release, across processes: apt's own lock would fail the second. */
async function apt(a: AptEnv, cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await withLock(
    join(a.dirs.base, 'sockvm.lock'),
    () => runInGroup(cmd, args, { env: a.env, signal: a.signal, ...(cwd !== undefined ? { cwd } : {}) }),
    a.signal ? { signal: a.signal } : {},
  );
  if (r.failed) {
    const out = r.all.trimEnd().split('\n').slice(-15).join('\n');
    throw new InfraError(`${cmd} ${args.join(' ')} failed for Debian ${a.release} (exit ${r.exitCode ?? '?'}; APT_CONFIG=${a.dirs.config})`, out);
  }
  return r.stdout;
}

/** True when the lists were fetched (an InRelease is present). */
export async function aptListsPresent(a: AptEnv): Promise<boolean> {
  try {
    return (await readdir(a.dirs.lists)).some((f) => f.endsWith('_InRelease'));
  } catch {
    return false;
  }
}

/** `apt-get update` under the private config, only when no lists exist yet or `refresh` is asked. */
export async function aptUpdate(a: AptEnv, refresh = false): Promise<{ updated: boolean }> {
  if (!refresh && (await aptListsPresent(a)) && (await exists(join(a.dirs.base, 'pkgcache.bin')))) return { updated: false };
  let out: string;
  try {
    out = await apt(a, 'apt-get', ['-q', 'update']);
  } catch (err) {
    if (err instanceof InfraError && /is expired|not valid yet/.test(err.detail ?? '')) {
      throw new InfraError(
        `${err.message}: the mirror serves a Release file past its Valid-Until (a frozen mirror or snapshot); accept it with ignoreValidUntil (signatures are still checked) or use a current mirror`,
        err.detail,
      );
    }
    throw err;
  }
  // apt-get update exits 0 when a source fails to verify only as a warning; refuse it here.
  const bad = out.split('\n').filter((l) => /^(W|E): .*(NO_PUBKEY|not signed|EXPKEYSIG|BADSIG|Failed to fetch)/.test(l));
  if (bad.length > 0) throw new InfraError(`apt-get update for Debian ${a.release} could not verify or fetch its sources`, bad.join('\n'));
  return { updated: true };
}

/** One stanza of `apt-cache show` output as a field map (continuation lines joined). */
export function parseStanzas(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> = {};
  let last = '';
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(cur).length > 0) out.push(cur);
      cur = {};
      last = '';
      continue;
    }
    if (/^\s/.test(line)) {
      const field = cur[last];
      if (field !== undefined) cur[last] = `${field}\n${line.trim()}`;
      continue;
    }
    const [, key, value] = /^([^:\s]+):\s?(.*)$/.exec(line) ?? [];
    if (key !== undefined && value !== undefined) {
      last = key;
      cur[key] = value;
    }
  }
  if (Object.keys(cur).length > 0) out.push(cur);
  return out;
}

/** Package names in a Depends field (alternatives flattened, version constraints dropped). */
export function dependsNames(field: string | undefined): string[] {
  if (!field) return [];
  return field
    .split(/[,|]/)
    .map((d) =>
      d
        .trim()
        .replace(/\s*\(.*\)$/, '')
        .replace(/:any$/, ''),
    )
    .filter((d) => d.length > 0);
}

export interface DebPackage {
  name: string;
  version: string;
  /** Filename field: pool path, also used to name the downloaded .deb. */
  filename?: string;
  sha256?: string;
  size?: number;
}

/** A package's candidate stanza: the fields apt-cache printed, with the two every stanza has. */
export type AptCandidate = Record<string, string> & { Package: string; Version: string };

/** The candidate stanza of a package (`apt-cache show --no-all-versions`). */
export async function aptShow(a: AptEnv, name: string): Promise<AptCandidate> {
  const out = await apt(a, 'apt-cache', ['show', '--no-all-versions', name]);
  const st = parseStanzas(out)[0];
  if (!st?.Version) throw new InfraError(`apt-cache show ${name}: no candidate in Debian ${a.release}`);
  const { Package: pkg, Version: version } = st;
  if (!pkg) throw new InfraError(`apt-cache show ${name}: the candidate stanza has no Package field`);
  return { ...st, Package: pkg, Version: version };
}

export function toDeb(st: AptCandidate): DebPackage {
  const pkg: DebPackage = { name: st.Package, version: st.Version };
  if (st.Filename) pkg.filename = st.Filename;
  if (st.SHA256) pkg.sha256 = st.SHA256;
  if (st.Size) pkg.size = Number(st.Size);
  return pkg;
}

/** The file name apt-get download gives a package: name_version-with-epoch-escaped_arch.deb. */
export function debFileName(pkg: DebPackage, arch = 'amd64'): string {
  if (pkg.filename) return pkg.filename.slice(pkg.filename.lastIndexOf('/') + 1);
  return `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_${arch}.deb`;
}

/** Downloads (verified by apt) the .debs not already in the archives dir; returns their paths. */
export async function aptDownload(a: AptEnv, pkgs: DebPackage[]): Promise<{ paths: string[]; downloaded: string[] }> {
  const paths: string[] = [];
  const missing: DebPackage[] = [];
  for (const p of pkgs) {
    const path = join(a.dirs.archives, debFileName(p));
    paths.push(path);
    const st = await stat(path).catch(() => undefined);
    if (!st || (p.size !== undefined && st.size !== p.size)) missing.push(p);
  }
  if (missing.length > 0) {
    await apt(a, 'apt-get', ['-q', 'download', ...missing.map((p) => `${p.name}=${p.version}`)], a.dirs.archives);
    for (const p of missing) {
      if (!(await exists(join(a.dirs.archives, debFileName(p))))) {
        throw new InfraError(`apt-get download ${p.name}=${p.version} left no ${debFileName(p)} in ${a.dirs.archives}`);
      }
    }
  }
  return { paths, downloaded: missing.map((p) => `${p.name}=${p.version}`) };
}
