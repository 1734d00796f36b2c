// sockvm.config.json: the targets (a kernel and what to run on it) a matrix run covers.
// Validated into typed targets; every error names the file, the key and the fix.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../util/errors.js';

export type KernelSpec = { provider: 'host' } | { provider: 'debian'; release: string };

export interface Target {
  name: string;
  kernel: KernelSpec;
  description?: string;
  /** Suites this target runs when the command line does not choose (default: all). */
  suites?: string[];
  tags?: string[];
}

export interface SockvmConfig {
  targets: Target[];
  /** The target `sockvm run` uses without --target (default: the first). */
  defaultTarget: string;
}

export const CONFIG_FILE = 'sockvm.config.json';

const TARGET_KEYS = new Set(['kernel', 'description', 'suites', 'tags']);

function kernelSpec(value: unknown, where: string): KernelSpec {
  if (value === 'host') return { provider: 'host' };
  if (typeof value === 'string' && value.startsWith('debian:') && value.length > 'debian:'.length) {
    return { provider: 'debian', release: value.slice('debian:'.length) };
  }
  throw new UsageError(`${where}: "kernel" must be "host" or "debian:<release>" (bullseye, bookworm, trixie, sid, or 5.10, 6.1, 6.12, 7.2), not ${JSON.stringify(value)}`);
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
    throw new UsageError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
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
    if (!/^[\w.-]+$/.test(name)) throw new UsageError(`${where}: a target name is letters, digits, '.', '-' and '_'`);
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
    targets.push(target);
  }
  const defaultTarget = obj.default ?? (targets[0] as Target).name;
  if (typeof defaultTarget !== 'string' || !targets.some((x) => x.name === defaultTarget)) {
    throw new UsageError(`${file}: "default" must name one of the targets (${targets.map((x) => x.name).join(', ')})`);
  }
  return { targets, defaultTarget };
}

export async function loadConfig(file: string): Promise<SockvmConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: cannot read the configuration file (pass --config <file>, or run from the repository root)`);
  }
  return parseConfig(text, file);
}

/** The targets a run covers: --all-targets, the --target names given, or the default. */
export function chooseTargets(config: SockvmConfig, names: string[], all: boolean): Target[] {
  if (all) return config.targets;
  if (!names.length) return config.targets.filter((t) => t.name === config.defaultTarget);
  return names.map((n) => {
    const t = config.targets.find((x) => x.name === n);
    if (!t) throw new UsageError(`--target ${n}: no such target in the configuration (known: ${config.targets.map((x) => x.name).join(', ')})`);
    return t;
  });
}
