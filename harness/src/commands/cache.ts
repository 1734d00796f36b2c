// `sockvm cache ls|prune`: what the cache (~/.cache/sockvm) holds and how big it is: source
// kernels, built modules, extracted vmlinux images, Debian kernels, toolchain chroots, ccache.
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { debianEntryProblem, type DebianKernel } from '../debian/kernel.js';
import { listSourceKernels, sourceEntryProblem, type SourceKernelArtifact } from '../kernel/kbuild/cache.js';
import { checkElf, readIndex } from '../util/cache-check.js';
import { listToolchains, pruneToolchains } from '../toolchain/chroot.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';
import { diskUsage, exists, pidAlive } from '../util/fs.js';
import { cacheRoot } from '../util/paths.js';
import { trashDir } from '../util/trash.js';

export const CACHE_USAGE = `Usage: sockvm cache <ls | verify | prune [--all] [--keep-days N] [--dry-run]>

  ls      list the cache's entries by kind with their size and age
  verify  check every kernel, module and vmlinux entry (indexes parse, images are bzImage or
          ELF, modules.dep and newtcp.ko are there); names each bad one, exit 1 if any
          (a run rebuilds a bad entry it meets, saying so)
  prune   remove leftovers of interrupted builds (<entry>.tmp-<pid> of dead processes, the trash),
          source kernels whose recipe was not used (built or hit) for --keep-days (default 14),
          module and vmlinux entries older than that; --all empties every kind but ccache and
          the apt downloads (and removes the toolchain chroots)`;

const mb = (b: number | undefined): string => (b === undefined ? '?' : b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${Math.round(b / 1e6)} MB`);

interface Entry {
  kind: string;
  name: string;
  path: string;
  bytes?: number | undefined;
  mtime?: Date;
  note?: string;
}

async function dirEntries(kind: string, base: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const name of await readdir(base).catch(() => [] as string[])) {
    const path = join(base, name);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    out.push({ kind, name, path, mtime: st.mtime });
  }
  return out;
}

/** Every entry of the cache, by kind. */
export async function cacheEntries(cache = cacheRoot()): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const k of await listSourceKernels(cache)) {
    const a = k.artifact;
    const p = a?.provenance;
    const note =
      a && p
        ? `${a.release}; ${p.source.spec}${p.series ? ` + ${p.series.name}` : ''}; ${p.fragments.join(',')}`
        : /\.tmp-\d+$/.test(k.key)
          ? 'interrupted or running build'
          : 'incomplete';
    const st = await stat(k.dir).catch(() => undefined);
    out.push({ kind: 'kernel', name: k.key, path: k.dir, note, ...(st ? { mtime: st.mtime } : {}) });
  }
  out.push(...(await dirEntries('module', join(cache, 'module'))));
  out.push(...(await dirEntries('vmlinux', join(cache, 'vmlinux'))));
  for (const rel of await readdir(join(cache, 'debian')).catch(() => [] as string[])) {
    for (const e of await dirEntries('debian', join(cache, 'debian', rel))) out.push({ ...e, name: `${rel}/${e.name}` });
  }
  for (const e of await dirEntries('kernel-source', join(cache, 'kernel-source'))) out.push(e);
  for (const t of await listToolchains({ cacheDir: cache }))
    out.push({
      kind: 'toolchain',
      name: t.release,
      path: join(cache, 'toolchain', t.release),
      note: `gcc ${t.gccVersion ?? '?'}`,
      ...(t.bytes !== undefined ? { bytes: t.bytes } : {}),
    });
  for (const e of await dirEntries('suites-bin', join(cache, 'suites-bin'))) out.push(e);
  // Selftest sources scripts/build-kselftest-suite extracted from a kernel tarball.
  for (const e of await dirEntries('kselftest-src', join(cache, 'kselftest-src'))) out.push(e);
  // Trees of interrupted builds, moved aside so the run could exit at once (util/trash.ts).
  for (const e of await dirEntries('trash', trashDir(cache))) out.push({ ...e, note: 'an interrupted build; the next build or prune removes it' });
  for (const name of ['ccache', 'apt']) {
    const st = await stat(join(cache, name)).catch(() => undefined);
    if (st?.isDirectory()) out.push({ kind: name, name, path: join(cache, name), mtime: st.mtime });
  }
  await Promise.all(out.map(async (e) => (e.bytes ??= await diskUsage(e.path))));
  return out;
}

/** Every checkable entry (finished, not a build in progress) and its problem, if any. */
export async function verifyCache(cache: string): Promise<{ kind: string; name: string; problem?: string }[]> {
  const out: { kind: string; name: string; problem?: string }[] = [];
  const add = (kind: string, name: string, problem: string | undefined) => out.push(problem ? { kind, name, problem } : { kind, name });
  const finished = (name: string) => !/\.(tmp|old)-\d+$/.test(name);
  for (const k of await listSourceKernels(cache)) {
    if (!finished(k.key)) continue;
    const index = await readIndex<SourceKernelArtifact>(join(k.dir, 'artifact.json'));
    add('kernel', k.key, index.problem ?? (index.value ? await sourceEntryProblem(index.value) : undefined));
  }
  for (const e of await dirEntries('module', join(cache, 'module')))
    if (finished(e.name)) add('module', e.name, await checkElf(join(e.path, 'newtcp.ko'), 1024));
  for (const e of await dirEntries('vmlinux', join(cache, 'vmlinux'))) {
    if (!finished(e.name)) continue;
    add('vmlinux', e.name, (await exists(join(e.path, 'no-pvh'))) ? undefined : await checkElf(join(e.path, 'vmlinux'), 1 << 20));
  }
  for (const rel of await readdir(join(cache, 'debian')).catch(() => [] as string[])) {
    for (const e of await dirEntries('debian', join(cache, 'debian', rel))) {
      if (!finished(e.name)) continue;
      const index = await readIndex<DebianKernel>(join(e.path, 'kernel.json'));
      add('debian', `${rel}/${e.name}`, index.problem ?? (index.value ? await debianEntryProblem(index.value) : undefined));
    }
    const resolved = await readIndex<unknown>(join(cache, 'debian', rel, 'resolved.json'));
    if (resolved.problem && !/is missing$/.test(resolved.problem)) add('debian', `${rel}/resolved.json`, resolved.problem);
  }
  return out;
}

/**
 * The kernel entries recipes point at. A recipe's mtime is its last use (a build or a hit);
 * recipes unused since `before` are removed (unless dry), so their kernels become unreferenced.
 */
async function recipeTargets(cache: string, before: number, dry: boolean, out: (line: string) => void): Promise<Set<string>> {
  const keys = new Set<string>();
  const dir = join(cache, 'kernel', 'recipes');
  for (const r of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, r);
    const st = await stat(path).catch(() => undefined);
    if (!st) continue;
    if (st.mtime.getTime() < before) {
      out(`${dry ? 'would drop' : 'dropping'} kernel recipe ${r} (unused since ${st.mtime.toISOString().slice(0, 10)})`);
      if (!dry) await rm(path, { force: true });
      continue;
    }
    keys.add((await readFile(path, 'utf8').catch(() => '')).trim());
  }
  return keys;
}

export async function cacheCommand(args: string[], out: (line: string) => void): Promise<number> {
  const [verb, ...rest] = args;
  const cache = cacheRoot();
  if (verb === 'ls') {
    parseCommandArgs('sockvm cache ls', rest, {});
    const entries = await cacheEntries(cache);
    if (!entries.length) out(`the cache ${cache} is empty`);
    const kinds = [...new Set(entries.map((e) => e.kind))];
    for (const kind of kinds) {
      const of = entries.filter((e) => e.kind === kind);
      out(`${kind} (${of.length}, ${mb(of.reduce((s, e) => s + (e.bytes ?? 0), 0))})`);
      for (const e of of)
        out(`  ${e.name.padEnd(34)} ${mb(e.bytes).padStart(8)}  ${e.mtime ? e.mtime.toISOString().slice(0, 16) : ''.padEnd(16)}  ${e.note ?? ''}`);
    }
    out(`total ${mb(entries.reduce((s, e) => s + (e.bytes ?? 0), 0))} in ${cache}`);
    return 0;
  }
  if (verb === 'verify') {
    parseCommandArgs('sockvm cache verify', rest, {});
    const problems = await verifyCache(cache);
    let checked = 0;
    for (const p of problems) {
      checked++;
      if (p.problem) out(`✗ ${p.kind} ${p.name}: ${p.problem}`);
    }
    const bad = problems.filter((p) => p.problem).length;
    out(`${checked} entries checked in ${cache}: ${bad ? `${bad} bad (a run rebuilds them; 'sockvm cache prune --all' empties the cache)` : 'all good'}`);
    return bad ? 1 : 0;
  }
  if (verb === 'prune') {
    const { values: v } = parseCommandArgs('sockvm cache prune', rest, {
      all: { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'keep-days': { type: 'string' },
    });
    const all = v.all ?? false;
    const dry = v['dry-run'] ?? false;
    if (v['keep-days'] !== undefined && !/^\d+$/.test(v['keep-days']))
      throw new UsageError(`sockvm cache prune --keep-days ${v['keep-days']}: a whole number of days (default 14)`);
    const keepDays = Number(v['keep-days'] ?? 14);
    const entries = await cacheEntries(cache);
    const old = Date.now() - keepDays * 86400e3;
    const referenced = await recipeTargets(cache, all ? Infinity : old, dry, out);
    const doomed: Entry[] = [];
    for (const e of entries) {
      const leftover = /\.(tmp|old)-(\d+)$/.exec(e.name);
      if (leftover) {
        if (!pidAlive(Number(leftover[2]))) doomed.push(e);
        continue;
      }
      if (e.kind === 'ccache' || e.kind === 'apt') continue;
      if (e.kind === 'toolchain') continue; // below, with its own unmounting prune
      if (all) doomed.push(e);
      else if (e.kind === 'kernel' && !referenced.has(e.name)) doomed.push(e);
      else if ((e.kind === 'module' || e.kind === 'vmlinux') && e.mtime && e.mtime.getTime() < old) doomed.push(e);
    }
    let bytes = 0;
    for (const e of doomed) {
      out(`${dry ? 'would remove' : 'removing'} ${e.kind} ${e.name} (${mb(e.bytes)})`);
      bytes += e.bytes ?? 0;
      if (!dry) await rm(e.path, { recursive: true, force: true });
    }
    if (all && !dry) {
      const t = await pruneToolchains({ cacheDir: cache });
      bytes += t.bytes;
      for (const r of t.removed) out(`removing toolchain ${r}`);
    }
    out(`${dry ? 'would free' : 'freed'} ${mb(bytes)}`);
    return 0;
  }
  out(CACHE_USAGE);
  return verb === undefined || verb === '--help' || verb === '-h' ? 0 : 2;
}
