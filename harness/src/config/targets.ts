// sockvm.config.json: the targets (a kernel and what to run on it) a matrix run covers.
// Validated into typed targets; every error names the file, the key and the fix.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../util/errors.js';

/** A kernel built from source (kernel/patches/<series>, kernel/config/<fragment>.config). */
export interface SourceKernelSpec {
  /** `debian:<release>` (its linux-source package), a tarball path, or a kernel tree directory. */
  source: string;
  /** Patch series under kernel/patches; default chosen by the tree's version; 'none' for none. */
  series?: string;
  /** Fragments merged over tinyconfig, in order: names in kernel/config or paths. */
  config: string[];
  /** Single items merged last: `CONFIG_X=y`. */
  extra?: string[];
  /** Make variables passed through (old trees, cross builds). */
  make?: { CC?: string; HOSTCC?: string; CROSS_COMPILE?: string; ARCH?: string };
  /** 'host' (default) or a Debian release whose chroot builds the kernel and the module. */
  toolchain?: string;
}

export type KernelSpec = { provider: 'host' } | { provider: 'debian'; release: string } | ({ provider: 'source' } & SourceKernelSpec);

export interface Target {
  name: string;
  kernel: KernelSpec;
  description?: string;
  /** Suites this target runs when the command line does not choose (default: all). */
  suites?: string[];
  tags?: string[];
  /**
   * Guest CPUs under TCG when --cpus is not given. QEMU's TCG with 2 vCPUs breaks the kernel's
   * cross-CPU code patching (text_poke: a CPU runs the transient int3 after the patch is done,
   * "Oops: int3") on 6.12 and 7.2; one vCPU never does. KVM runs are not affected.
   */
  tcgCpus?: number;
  /** Boot-to-SSH limit in seconds under TCG when --boot-timeout is not given (a KASAN kernel boots in 60–100 s). */
  tcgBootTimeout?: number;
  /** Run every suite under the BPF tracer, as with --trace. */
  trace?: boolean;
  /** With tracing: the run fails when fewer than this percent of the module's handlers were reached. */
  coverageFloor?: number;
}

export interface SockvmConfig {
  targets: Target[];
  /** The target `sockvm run` uses without --target (default: the first). */
  defaultTarget: string;
}

export const CONFIG_FILE = 'sockvm.config.json';

const TARGET_KEYS = new Set(['kernel', 'description', 'suites', 'tags', 'tcgCpus', 'tcgBootTimeout', 'trace', 'coverageFloor']);

const SOURCE_KEYS = new Set(['source', 'series', 'config', 'extra', 'make', 'toolchain']);
const MAKE_KEYS = new Set(['CC', 'HOSTCC', 'CROSS_COMPILE', 'ARCH']);

/** {"source": "debian:6.1", "series": "6.1", "config": ["guest", "net"], "extra": ["CONFIG_X=y"]} */
export function sourceKernelSpec(v: Record<string, unknown>, where: string): KernelSpec {
  const w = `${where}: kernel`;
  for (const key of Object.keys(v)) {
    if (!SOURCE_KEYS.has(key)) throw new UsageError(`${w}: unknown key "${key}" (known: ${[...SOURCE_KEYS].join(', ')})`);
  }
  if (typeof v.source !== 'string' || !v.source) throw new UsageError(`${w}: "source" must be "debian:<release>", a tarball path or a kernel tree directory`);
  const spec: { provider: 'source' } & SourceKernelSpec = { provider: 'source', source: v.source, config: [] };
  if (v.series !== undefined) {
    if (typeof v.series !== 'string' || !/^[\w.-]+$/.test(v.series))
      throw new UsageError(`${w}: "series" must name a directory of kernel/patches (e.g. "6.1") or be "none"`);
    spec.series = v.series;
  }
  if (v.config === undefined) spec.config = ['guest', 'net'];
  else if (!Array.isArray(v.config) || !v.config.every((c) => typeof c === 'string' && c.length > 0)) {
    throw new UsageError(`${w}: "config" must be a list of fragment names in kernel/config (e.g. ["guest", "net", "newtcp"]) or paths`);
  } else spec.config = v.config as string[];
  if (v.extra !== undefined) {
    if (!Array.isArray(v.extra) || !v.extra.every((c) => typeof c === 'string' && /^(CONFIG_[A-Za-z0-9_]+=.+|# CONFIG_[A-Za-z0-9_]+ is not set)$/.test(c))) {
      throw new UsageError(`${w}: "extra" must be a list of "CONFIG_NAME=value" items`);
    }
    spec.extra = v.extra as string[];
  }
  if (v.make !== undefined) {
    if (typeof v.make !== 'object' || v.make === null || Array.isArray(v.make))
      throw new UsageError(`${w}: "make" must be an object like {"CC": "gcc-4.3", "ARCH": "x86_64"}`);
    for (const [k, val] of Object.entries(v.make)) {
      if (!MAKE_KEYS.has(k) || typeof val !== 'string') throw new UsageError(`${w}: "make" takes string values for ${[...MAKE_KEYS].join(', ')}, not "${k}"`);
    }
    spec.make = v.make;
  }
  if (v.toolchain !== undefined) {
    if (typeof v.toolchain !== 'string') throw new UsageError(`${w}: "toolchain" must be "host" or a Debian release (bookworm, 6.1, ...)`);
    spec.toolchain = v.toolchain;
  }
  return spec;
}

function kernelSpec(value: unknown, where: string): KernelSpec {
  if (value === 'host') return { provider: 'host' };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return sourceKernelSpec(value as Record<string, unknown>, where);
  if (typeof value === 'string' && value.startsWith('debian:') && value.length > 'debian:'.length) {
    return { provider: 'debian', release: value.slice('debian:'.length) };
  }
  throw new UsageError(
    `${where}: "kernel" must be "host" or "debian:<release>" (bullseye, bookworm, trixie, sid, or 5.10, 6.1, 6.12, 7.2), or a source kernel {"source": "debian:6.1", "config": ["guest", "net"]}, not ${JSON.stringify(value)}`,
  );
}

function words(value: unknown, where: string, key: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && /^[\w-]+$/.test(v))) {
    throw new UsageError(`${where}: "${key}" must be a list of names like ["create", "stream"]`);
  }
  return value as string[];
}

export function parseConfig(text: string, file: string): SockvmConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${file}: expected an object with "targets"`);
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (key !== 'targets' && key !== 'default' && key !== '$comment') throw new UsageError(`${file}: unknown key "${key}" (known: targets, default)`);
  }
  const t = obj.targets;
  if (typeof t !== 'object' || t === null || Array.isArray(t) || Object.keys(t).length === 0) {
    throw new UsageError(`${file}: "targets" must be an object of named targets, e.g. {"host": {"kernel": "host"}}`);
  }
  const targets: Target[] = [];
  for (const [name, value] of Object.entries(t as Record<string, unknown>)) {
    const where = `${file}: targets.${name}`;
    // A target's name is a results directory: '.', '..' or a leading '-' would escape or confuse it.
    if (!/^\w[\w.-]*$/.test(name)) throw new UsageError(`${where}: a target name is letters, digits, '.', '-' and '_', starting with a letter, digit or '_'`);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${where}: expected an object like {"kernel": "debian:6.1"}`);
    const v = value as Record<string, unknown>;
    for (const key of Object.keys(v)) {
      if (!TARGET_KEYS.has(key)) throw new UsageError(`${where}: unknown key "${key}" (known: ${[...TARGET_KEYS].join(', ')})`);
    }
    if (v.kernel === undefined) throw new UsageError(`${where}: "kernel" is missing (e.g. "kernel": "debian:6.12")`);
    const target: Target = { name, kernel: kernelSpec(v.kernel, where) };
    if (v.description !== undefined) {
      if (typeof v.description !== 'string') throw new UsageError(`${where}: "description" must be a string`);
      target.description = v.description;
    }
    if (v.suites !== undefined) target.suites = words(v.suites, where, 'suites');
    if (v.tags !== undefined) target.tags = words(v.tags, where, 'tags');
    if (v.tcgCpus !== undefined) {
      if (!Number.isInteger(v.tcgCpus) || (v.tcgCpus as number) < 1 || (v.tcgCpus as number) > 64)
        throw new UsageError(`${where}: "tcgCpus" must be a whole number of guest CPUs from 1 to 64 (e.g. 1)`);
      target.tcgCpus = v.tcgCpus as number;
    }
    if (v.tcgBootTimeout !== undefined) {
      if (!Number.isInteger(v.tcgBootTimeout) || (v.tcgBootTimeout as number) < 1 || (v.tcgBootTimeout as number) > 3600)
        throw new UsageError(`${where}: "tcgBootTimeout" must be a whole number of seconds from 1 to 3600 (e.g. 300)`);
      target.tcgBootTimeout = v.tcgBootTimeout as number;
    }
    if (v.trace !== undefined) {
      if (typeof v.trace !== 'boolean') throw new UsageError(`${where}: "trace" must be true or false`);
      target.trace = v.trace;
    }
    if (v.coverageFloor !== undefined) {
      const f = v.coverageFloor;
      if (typeof f !== 'number' || !Number.isFinite(f) || f < 0 || f > 100)
        throw new UsageError(`${where}: "coverageFloor" must be a percentage from 0 to 100 (e.g. 80)`);
      target.coverageFloor = f;
    }
    targets.push(target);
  }
  const defaultTarget = obj.default ?? targets[0]?.name;
  if (typeof defaultTarget !== 'string' || !targets.some((x) => x.name === defaultTarget)) {
    throw new UsageError(`${file}: "default" must name one of the targets (${targets.map((x) => x.name).join(', ')})`);
  }
  return { targets, defaultTarget };
}

export async function loadConfig(file: string): Promise<SockvmConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read the configuration file (pass --config <file>, or run from the repository root)`, { cause: err });
  }
  return parseConfig(text, file);
}

/** The targets a run covers: --all-targets, the --target names given, or the default. */
export function chooseTargets(config: SockvmConfig, names: string[], all: boolean): Target[] {
  if (all) return config.targets;
  if (!names.length) return config.targets.filter((t) => t.name === config.defaultTarget);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`--target ${twice} is named twice: each target runs once per run (use --repeat to run its suites again)`);
  return names.map((n) => {
    const t = config.targets.find((x) => x.name === n);
    if (!t) throw new UsageError(`--target ${n}: no such target in the configuration (known: ${config.targets.map((x) => x.name).join(', ')})`);
    return t;
  });
}
