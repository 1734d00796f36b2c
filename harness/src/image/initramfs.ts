// Assembles the guest's initramfs: images/rootfs, busybox, dropbear and the libraries ldd
// names, the boot modules (e1000 and what modules.dep says it needs), newtcp.ko, the suites,
// the run's SSH keys and the guest settings. Entries are sorted and timestamps zero, so the
// same inputs give the same bytes. Uncompressed: gzip cost the host a CPU-second per image and
// the guest, under TCG, more to undo it than reading 30 MB (npm run bench: gzip'd initramfs).
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { InfraError } from '../util/errors.js';
import { writeCpio, type CpioEntry } from './cpio.js';
import { dependencyClosure, moduleName, parseModulesDep } from './modules-dep.js';

export interface GuestSettings {
  /** The management NIC's MAC is per guest: init reads it from sockvm.mgmt_mac on the command line. */
  mgmtAddr: string;
  mgmtGateway: string;
}

export interface InitramfsInput {
  rootfsDir: string;
  modulesDir: string;
  /** Modules to load at boot, by name (e1000). */
  bootModules: string[];
  /**
   * Modules (suite.json "modules") this kernel may lack, neither built in nor in modules.dep
   * (Debian 7.2 has no crc32c_generic, tinyconfig kernels no netfilter): left out and returned
   * in `missingModules`, so the tests that need them skip. Any other missing boot module is an
   * error.
   */
  optionalModules?: string[];
  busybox: string;
  dropbear: string;
  newtcpKo: string;
  /** Host programs (absolute paths) for /usr/local/bin, with the libraries ldd names. */
  tools?: string[];
  /** Host programs for a given guest path, with their libraries (--keep: dropbear's /usr/lib/sftp-server). */
  programs?: { path: string; source: string }[];
  /**
   * Each suite's binary, its BPF objects for /suites/<name>.bpf/ (suite.json "bpf"), and a
   * program suite's files for /suites/<name>.d/, with their modes.
   */
  suites: { name: string; path: string; bpf?: string[]; files?: { rel: string; source: string; mode: number }[] }[];
  /** sockvm-trace and its function list (/sbin/sockvm-trace, /etc/sockvm/trace.funcs). */
  tracer?: { binary: string; funcs: string };
  hostKey: Buffer;
  authorizedKey: string;
  settings: GuestSettings;
}

type FileEntry = Extract<CpioEntry, { kind: 'file' }>;

/** Shared libraries a dynamic binary needs, as absolute paths, from ldd. */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const line of output.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

async function lddLibs(binary: string, signal: AbortSignal): Promise<string[]> {
  const out = await execa('ldd', [binary], { reject: false, stdin: 'ignore', cancelSignal: signal });
  signal.throwIfAborted();
  if (/not a dynamic executable/.test(out.stdout + out.stderr)) return [];
  if (out.failed) throw new InfraError(`ldd ${binary} failed: ${out.stderr}`);
  return parseLdd(out.stdout);
}

/** A module's bytes, uncompressed: busybox insmod cannot rely on in-kernel decompression. */
async function moduleBytes(path: string, signal: AbortSignal): Promise<Buffer> {
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : undefined;
  if (!tool) return readFile(path);
  const out = await execa(tool, ['-dc', path], { encoding: 'buffer', stdin: 'ignore', cancelSignal: signal, reject: false });
  signal.throwIfAborted();
  if (out.failed) throw new InfraError(`${tool} -dc ${path} failed: ${out.shortMessage}`);
  return Buffer.from(out.stdout);
}

async function builtinModules(modulesDir: string): Promise<Set<string>> {
  try {
    const text = await readFile(join(modulesDir, 'modules.builtin'), 'utf8');
    return new Set(text.split('\n').filter(Boolean).map(moduleName));
  } catch {
    return new Set();
  }
}

async function treeEntries(dir: string, prefix: string): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await treeEntries(path, `${prefix}/${entry.name}`)));
    else out.push({ kind: 'file', path: `${prefix}/${entry.name}`, data: await readFile(path), mode: (await stat(path)).mode & 0o777 });
  }
  return out;
}

export function guestEnv(settings: GuestSettings, bootModules: string[]): string {
  return [`BOOT_MODULES="${bootModules.join(' ')}"`, `MGMT_ADDR="${settings.mgmtAddr}"`, `MGMT_GW="${settings.mgmtGateway}"`, ''].join('\n');
}

/** Adds the parent directories every entry needs and sorts, so the archive unpacks in order. */
export function withParents(entries: CpioEntry[], dirModes: Record<string, number> = {}): CpioEntry[] {
  const byPath = new Map<string, CpioEntry>();
  for (const entry of entries) {
    byPath.set(entry.path, entry);
    for (let dir = dirname(entry.path); dir !== '/' && dir !== '.'; dir = dirname(dir)) {
      if (!byPath.has(dir)) byPath.set(dir, { kind: 'dir', path: dir, mode: dirModes[dir] ?? 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The guest's image; `signal` stops it between files and ends its helper processes. */
export async function buildInitramfs(
  input: InitramfsInput,
  signal: AbortSignal,
): Promise<{ cpio: Buffer; entries: number; bootModules: string[]; missingModules: string[] }> {
  const entries: CpioEntry[] = [];
  const file = async (path: string, source: string, mode = 0o755): Promise<void> => {
    entries.push({ kind: 'file', path, data: await readFile(source), mode });
  };

  entries.push(...(await treeEntries(input.rootfsDir, '')));
  await file('/bin/busybox', input.busybox);
  await file('/sbin/dropbear', input.dropbear);
  // A dynamic busybox (Debian's `busybox` rather than `busybox-static`) works too, with its libs.
  const tools = input.tools ?? [];
  for (const tool of tools) await file(`/usr/local/bin/${basename(tool)}`, tool);
  const programs = input.programs ?? [];
  for (const p of programs) await file(p.path, p.source);
  const libs = new Set<string>();
  for (const binary of [input.busybox, input.dropbear, ...tools, ...programs.map((p) => p.source)])
    for (const lib of await lddLibs(binary, signal)) libs.add(lib);
  for (const lib of [...libs].sort()) await file(lib, lib);

  const builtin = await builtinModules(input.modulesDir);
  const deps = parseModulesDep(await readFile(join(input.modulesDir, 'modules.dep'), 'utf8'));
  const known = new Set([...deps.keys()].map(moduleName));
  const optional = new Set(input.optionalModules ?? []);
  const missingModules = input.bootModules.filter((m) => optional.has(m) && !builtin.has(moduleName(m)) && !known.has(moduleName(m)));
  const wanted = input.bootModules.filter((m) => !builtin.has(moduleName(m)) && !missingModules.includes(m));
  const bootModules: string[] = [];
  for (const rel of dependencyClosure(deps, wanted)) {
    const name = basename(rel).replace(/\.(xz|zst|gz)$/, '');
    entries.push({ kind: 'file', path: `/lib/modules/${name}`, data: await moduleBytes(join(input.modulesDir, rel), signal), mode: 0o644 });
    bootModules.push(name);
  }
  await file('/lib/modules/newtcp.ko', input.newtcpKo, 0o644);
  for (const suite of input.suites) {
    await file(`/suites/${suite.name}`, suite.path);
    for (const obj of suite.bpf ?? []) await file(`/suites/${suite.name}.bpf/${basename(obj)}`, obj, 0o644);
    for (const f of suite.files ?? []) await file(`/suites/${suite.name}.d/${f.rel}`, f.source, f.mode);
  }
  if (input.tracer) {
    await file('/sbin/sockvm-trace', input.tracer.binary);
    entries.push({ kind: 'file', path: '/etc/sockvm/trace.funcs', data: Buffer.from(input.tracer.funcs), mode: 0o644 });
  }

  entries.push({ kind: 'file', path: '/etc/dropbear/host_key', data: input.hostKey, mode: 0o600 });
  entries.push({ kind: 'file', path: '/root/.ssh/authorized_keys', data: Buffer.from(`${input.authorizedKey.trim()}\n`), mode: 0o600 });
  entries.push({ kind: 'file', path: '/etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\n'), mode: 0o644 });
  entries.push({ kind: 'file', path: '/etc/group', data: Buffer.from('root:x:0:\n'), mode: 0o644 });
  entries.push({ kind: 'file', path: '/etc/sockvm/guest.env', data: Buffer.from(guestEnv(input.settings, bootModules)), mode: 0o644 });
  entries.push({ kind: 'chardev', path: '/dev/console', major: 5, minor: 1, mode: 0o600 });

  const all = withParents(entries, { '/root': 0o700, '/root/.ssh': 0o700 });
  signal.throwIfAborted();
  return { cpio: writeCpio(all), entries: all.length, bootModules, missingModules };
}
