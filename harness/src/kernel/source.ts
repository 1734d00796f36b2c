// Where a source kernel comes from and what identifies it: Debian's linux-source-<series> (the
// installed /usr/src tarball, or the package fetched through the private apt of debian/apt.ts),
// a tarball, or a directory (a git checkout: HEAD + dirty diff; else a hash of the files).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { execa } from 'execa';
import { dieWithUsPrefix, runInGroup } from '../util/cancel.js';
import { InfraError, UsageError } from '../util/errors.js';
import { cachedDir, exists, hashTree, writeFileAtomic } from '../util/fs.js';
import { aptDownload, aptSetup, aptShow, aptUpdate } from '../debian/apt.js';
import { parseDebianRelease, RELEASE_SERIES } from '../debian/releases.js';

export type SourceSpec = { kind: 'debian'; release: string } | { kind: 'tarball'; path: string } | { kind: 'tree'; path: string };

/** `debian:6.1` | `debian:bookworm` | `/path/linux.tar.xz` | `/path/to/tree` (relative paths resolve against `base`). */
export function parseSourceSpec(value: string, base = process.cwd()): SourceSpec {
  if (value.startsWith('debian:')) return { kind: 'debian', release: value.slice('debian:'.length) };
  const path = isAbsolute(value) ? value : resolve(base, value);
  if (/\.(tar(\.(xz|gz|bz2|zst))?|tgz|txz)$/.test(value)) return { kind: 'tarball', path };
  return { kind: 'tree', path };
}

export interface SourceIdentity {
  /** What the user wrote (`debian:6.1`, a path). */
  spec: string;
  kind: SourceSpec['kind'];
  /** A stable string the cache key hashes: `sha256:<tarball>` or `git:<head>+<dirty hash>`. */
  id: string;
  /** The tarball or the tree. */
  path: string;
  /** `make kernelversion`, e.g. 6.1.192 (read from the top Makefile). */
  version: string;
  /** Debian package, when the source is one. */
  package?: { name: string; version: string };
  git?: { head: string; dirty: boolean };
}

/** VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION of a top-level kernel Makefile → 6.1.192. Pure. */
export function makefileVersion(text: string): string | undefined {
  const v = (k: string) => new RegExp(`^${k}\\s*=\\s*(\\S*)\\s*$`, 'm').exec(text)?.[1] ?? '';
  const [ver, pl, sl, ev] = [v('VERSION'), v('PATCHLEVEL'), v('SUBLEVEL'), v('EXTRAVERSION')];
  if (!ver || !/^\d+$/.test(ver)) return undefined;
  let out = `${ver}.${pl || '0'}`;
  if (sl && sl !== '0') out += `.${sl}`;
  else if (sl === '0' && ver === '2') out += '.0';
  return out + ev;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface TarballMemo {
  [path: string]: { size: number; mtimeMs: number; sha256: string; version: string };
}

/** The top Makefile of a kernel tarball, without unpacking the rest. */
async function tarballVersion(path: string, signal: AbortSignal | undefined): Promise<string> {
  const r = await execa('tar', ['-xOf', path, '--wildcards', '--no-wildcards-match-slash', '*/Makefile', '--occurrence=1'], {
    reject: false,
    encoding: 'utf8',
    maxBuffer: 1e8,
    ...(signal ? { cancelSignal: signal } : {}),
  });
  signal?.throwIfAborted();
  const v = makefileVersion(r.stdout ?? '');
  if (!v) throw new UsageError(`${path}: no top-level kernel Makefile with VERSION/PATCHLEVEL in the tarball (is it a kernel source tarball with one top directory?)`);
  return v;
}

/** sha256 and version of a tarball, memoized by path, size and mtime (hashing 140 MB costs ~0.5 s). */
async function tarballFacts(path: string, cacheDir: string, signal: AbortSignal | undefined): Promise<{ sha256: string; version: string }> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new UsageError(`kernel source ${path}: no such tarball`);
  const memoFile = join(cacheDir, 'kernel-source', 'tarballs.json');
  const memo = JSON.parse(await readFile(memoFile, 'utf8').catch(() => '{}')) as TarballMemo;
  const m = memo[path];
  if (m && m.size === st.size && m.mtimeMs === st.mtimeMs) return m;
  const [sha256, version] = await Promise.all([sha256File(path), tarballVersion(path, signal)]);
  memo[path] = { size: st.size, mtimeMs: st.mtimeMs, sha256, version };
  await mkdir(join(cacheDir, 'kernel-source'), { recursive: true });
  await writeFileAtomic(memoFile, `${JSON.stringify(memo, null, 2)}\n`);
  return { sha256, version };
}

const TREE_SKIP = /^(\.git|.*\.o|.*\.ko|\..*\.cmd|.*\.mod(\.c)?|modules\.order|Module\.symvers|vmlinux.*|bzImage|System\.map|\.config(\.old)?|\.tmp.*)$/;

async function treeIdentity(spec: string, path: string, signal: AbortSignal | undefined): Promise<SourceIdentity> {
  const mk = await readFile(join(path, 'Makefile'), 'utf8').catch(() => undefined);
  const version = mk ? makefileVersion(mk) : undefined;
  if (!version) throw new UsageError(`kernel source ${path}: not a kernel tree (no top-level Makefile with VERSION/PATCHLEVEL)`);
  const head = await execa('git', ['-C', path, 'rev-parse', 'HEAD'], { reject: false, ...(signal ? { cancelSignal: signal } : {}) });
  signal?.throwIfAborted();
  if (head.exitCode === 0 && (await exists(join(path, '.git')))) {
    // The dirty part: tracked changes and untracked files' names and contents.
    const diff = await execa('git', ['-C', path, 'diff', 'HEAD', '--binary'], {
      reject: false,
      encoding: 'buffer',
      maxBuffer: 1e9,
      ...(signal ? { cancelSignal: signal } : {}),
    });
    const untracked = await execa('git', ['-C', path, 'ls-files', '--others', '--exclude-standard', '-z'], {
      reject: false,
      ...(signal ? { cancelSignal: signal } : {}),
    });
    signal?.throwIfAborted();
    const h = createHash('sha256').update(diff.stdout ?? Buffer.alloc(0));
    const names = (untracked.stdout ?? '').split('\0').filter(Boolean).sort();
    for (const n of names) h.update(`${n}\0`).update(await readFile(join(path, n)).catch(() => Buffer.alloc(0)));
    const dirty = (diff.stdout?.length ?? 0) > 0 || names.length > 0;
    const sha = head.stdout.trim();
    return { spec, kind: 'tree', id: `git:${sha}${dirty ? `+${h.digest('hex').slice(0, 16)}` : ''}`, path, version, git: { head: sha, dirty } };
  }
  return { spec, kind: 'tree', id: `tree:${await hashTree(path, (n) => TREE_SKIP.test(n))}`, path, version };
}

async function installedDebianSource(series: string, signal: AbortSignal | undefined): Promise<{ tarball: string; version: string } | undefined> {
  const tarball = `/usr/src/linux-source-${series}.tar.xz`;
  if (!(await exists(tarball))) return undefined;
  const r = await execa('dpkg-query', ['-W', '-f=${Version}', `linux-source-${series}`], { reject: false, ...(signal ? { cancelSignal: signal } : {}) });
  signal?.throwIfAborted();
  return { tarball, version: r.exitCode === 0 ? r.stdout.trim() : 'unknown' };
}

/** linux-source-<series> of a release, fetched under the private apt and unpacked into the cache. */
async function fetchDebianSource(releaseName: string, cacheDir: string, log: (l: string) => void, signal: AbortSignal | undefined): Promise<{ tarball: string; name: string; version: string }> {
  const release = parseDebianRelease(releaseName);
  const series = RELEASE_SERIES[release];
  const name = `linux-source-${series}`;
  const memoFile = join(cacheDir, 'kernel-source', `${name}.json`);
  const memo = JSON.parse(await readFile(memoFile, 'utf8').catch(() => 'null')) as { tarball: string; version: string } | null;
  if (memo && (await exists(memo.tarball))) return { ...memo, name };
  const a = await aptSetup(cacheDir, release, { ignoreValidUntil: release === 'sid', ...(signal ? { signal } : {}) });
  log(`debian ${release}: apt-get update (private config ${a.dirs.config})`);
  await aptUpdate(a);
  const st = await aptShow(a, name);
  const pkg = { name, version: st.Version, ...(st.Filename ? { filename: st.Filename } : {}), ...(st.Size ? { size: Number(st.Size) } : {}) };
  log(`debian ${release}: downloading ${name}=${pkg.version}`);
  const {
    paths: [deb],
  } = await aptDownload(a, [pkg]);
  if (deb === undefined) throw new InfraError(`apt-get download ${name}=${pkg.version}: no .deb path came back`);
  const entry = await cachedDir(join(cacheDir, 'kernel-source', `${name}_${pkg.version.replace(/[^\w.+-]/g, '_')}`), async (tmp) => {
    const r = await runInGroup('dpkg-deb', ['-x', deb, tmp], { signal });
    if (r.failed) throw new InfraError(`dpkg-deb -x ${deb} failed`, r.all);
  });
  const src = join(entry.dir, 'usr/src');
  const tar = (await readdir(src).catch(() => [] as string[])).find((f) => f.startsWith('linux-source-') && /\.tar\.(xz|bz2|gz)$/.test(f));
  if (!tar) throw new InfraError(`${name}=${pkg.version} holds no /usr/src/linux-source-*.tar.* (looked in ${src})`);
  const out = { tarball: join(src, tar), version: pkg.version };
  await writeFileAtomic(memoFile, `${JSON.stringify(out, null, 2)}\n`);
  return { ...out, name };
}

export async function sourceIdentity(
  value: string,
  o: { cacheDir: string; base?: string; log?: (l: string) => void; signal?: AbortSignal },
): Promise<SourceIdentity> {
  const spec = parseSourceSpec(value, o.base);
  const log = o.log ?? (() => {});
  if (spec.kind === 'tree') {
    if (!(await exists(spec.path))) throw new UsageError(`kernel source ${spec.path}: no such directory (give "debian:<release>", a tarball or a kernel tree)`);
    return treeIdentity(value, spec.path, o.signal);
  }
  if (spec.kind === 'tarball') {
    const f = await tarballFacts(spec.path, o.cacheDir, o.signal);
    return { spec: value, kind: 'tarball', id: `sha256:${f.sha256}`, path: spec.path, version: f.version };
  }
  const release = parseDebianRelease(spec.release);
  const series = RELEASE_SERIES[release];
  const installed = await installedDebianSource(series, o.signal);
  const got = installed ? { ...installed, name: `linux-source-${series}` } : await fetchDebianSource(release, o.cacheDir, log, o.signal);
  const f = await tarballFacts(got.tarball, o.cacheDir, o.signal);
  return { spec: value, kind: 'debian', id: `sha256:${f.sha256}`, path: got.tarball, version: f.version, package: { name: got.name, version: got.version } };
}

/**
 * Puts the source into `dest`: unpacks a tarball, copies a tree without .git. `signal` kills the
 * tar pipeline's process group; each tar dies with us too.
 */
export async function materializeSource(id: SourceIdentity, dest: string, signal: AbortSignal): Promise<void> {
  await mkdir(dest, { recursive: true });
  if (id.kind === 'tree') {
    const die = dieWithUsPrefix();
    const copy = `${die} tar -C "$1" --exclude=./.git -cf - . | ${die} tar -C "$2" -xf -`;
    const r = await runInGroup('sh', ['-c', copy, 'sh', id.path, dest], { signal });
    if (r.failed) throw new InfraError(`copying the kernel tree ${id.path} to ${dest} failed`, r.all);
    return;
  }
  const r = await runInGroup('tar', ['-xf', id.path, '-C', dest, '--strip-components=1'], { signal });
  if (r.failed) throw new InfraError(`unpacking ${id.path} into ${dest} failed`, r.all);
}
