// A suite's manifest, suites/<name>/suite.json: what the suite needs from the harness.
// Missing file → defaults; bad keys → an error naming the file, the key and the fix.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../util/errors.js';

export interface SuiteManifest {
  /** 1: runs in one guest. 2: client on guest 1, server on guest 2, joined by an e1000 link. */
  guests: 1 | 2;
  /** Per-suite time limit in seconds; undefined means the run's --suite-timeout. */
  timeoutSec?: number;
  needsRoot: boolean;
  tags: string[];
  /** Kernel modules (by name, e.g. sch_netem) the guest loads at boot, with their dependencies. */
  modules: string[];
  /** Host programs (by name, e.g. tc) copied into the guest's /usr/local/bin with their libraries. */
  tools: string[];
  /**
   * BPF objects (e.g. "prog.bpf.o") copied into the guest's /suites/<suite>.bpf/, which the suite
   * gets as SOCKVM_BPF_DIR: built from suites/<suite>/<x>.bpf.c by suites/Makefile, or shipped
   * ready-made in suites/<suite>/.
   */
  bpf: string[];
  description?: string;
  /** A test crashes guest 2 on purpose (a dead peer): its death is no crash, and both guests are rebooted after. */
  killsPeer: boolean;
  /** Always run under the BPF tracer, as with --trace. */
  trace: boolean;
  /**
   * Ready-made programs (static binaries, #!/bin/sh scripts) in the suite's directory, run in
   * this order, each a test whose TAP or KTAP output becomes its subtests (build/program-suites.ts).
   * Absent: a directory with C sources is built by suites/Makefile, one without runs its executables.
   */
  programs?: string[];
}

/** A program's name: it is a file name in the suite directory and a word of the guest's driver script. */
export const PROGRAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

const KEYS = new Set(['guests', 'timeout', 'needsRoot', 'tags', 'modules', 'tools', 'bpf', 'description', 'killsPeer', 'trace', 'programs']);

const defaults = (): SuiteManifest => ({ guests: 1, needsRoot: true, tags: [], modules: [], tools: [], bpf: [], killsPeer: false, trace: false });

export function parseManifest(text: string, where: string): SuiteManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where}: not valid JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new UsageError(`${where}: expected a JSON object like {"guests": 1, "tags": ["smoke"]}`);
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!KEYS.has(key)) throw new UsageError(`${where}: unknown key "${key}" (known: ${[...KEYS].join(', ')})`);
  }
  const m = defaults();
  if (obj.guests !== undefined) {
    if (obj.guests !== 1 && obj.guests !== 2) throw new UsageError(`${where}: "guests" must be 1 or 2, not ${JSON.stringify(obj.guests)}`);
    m.guests = obj.guests;
  }
  if (obj.timeout !== undefined) {
    if (typeof obj.timeout !== 'number' || !Number.isInteger(obj.timeout) || obj.timeout <= 0) {
      throw new UsageError(`${where}: "timeout" must be a whole number of seconds > 0, not ${JSON.stringify(obj.timeout)}`);
    }
    m.timeoutSec = obj.timeout;
  }
  if (obj.needsRoot !== undefined) {
    if (typeof obj.needsRoot !== 'boolean') throw new UsageError(`${where}: "needsRoot" must be true or false`);
    m.needsRoot = obj.needsRoot;
  }
  if (obj.tags !== undefined) {
    if (!Array.isArray(obj.tags) || !obj.tags.every((t) => typeof t === 'string' && /^[\w-]+$/.test(t))) {
      throw new UsageError(`${where}: "tags" must be a list of words like ["smoke", "wire"]`);
    }
    m.tags = obj.tags as string[];
  }
  for (const key of ['modules', 'tools'] as const) {
    const v = obj[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && /^[\w.-]+$/.test(x))) {
      throw new UsageError(`${where}: "${key}" must be a list of names like ${key === 'modules' ? '["sch_netem"]' : '["tc"]'}`);
    }
    m[key] = v as string[];
  }
  if (obj.bpf !== undefined) {
    if (!Array.isArray(obj.bpf) || !obj.bpf.every((x) => typeof x === 'string' && /^\w[\w.-]*\.o$/.test(x))) {
      throw new UsageError(
        `${where}: "bpf" must be a list of BPF object file names like ["prog.bpf.o"] (built from prog.bpf.c next to suite.json, or placed there)`,
      );
    }
    m.bpf = obj.bpf as string[];
  }
  if (obj.killsPeer !== undefined) {
    if (typeof obj.killsPeer !== 'boolean') throw new UsageError(`${where}: "killsPeer" must be true or false`);
    if (obj.killsPeer && m.guests !== 2) throw new UsageError(`${where}: "killsPeer" needs "guests": 2 (the peer is guest 2)`);
    m.killsPeer = obj.killsPeer;
  }
  if (obj.trace !== undefined) {
    if (typeof obj.trace !== 'boolean') throw new UsageError(`${where}: "trace" must be true or false`);
    m.trace = obj.trace;
  }
  if (obj.programs !== undefined) {
    const p: unknown = obj.programs;
    if (!Array.isArray(p) || p.length === 0 || !p.every((x) => typeof x === 'string' && PROGRAM_NAME.test(x))) {
      throw new UsageError(
        `${where}: "programs" must be a non-empty list of file names in the suite's directory like ["socket", "run.sh"] (letters, digits, '_', '.', '-', not starting with '.' or '-')`,
      );
    }
    const twice = (p as string[]).find((x, i) => p.indexOf(x) !== i);
    if (twice !== undefined) throw new UsageError(`${where}: "programs" names '${twice}' twice; each program runs once per suite`);
    if (m.guests === 2)
      throw new UsageError(`${where}: "programs" runs in one guest; drop "guests": 2 (two-guest suites are C suites with --role client/server)`);
    m.programs = p as string[];
  }
  if (obj.description !== undefined) {
    if (typeof obj.description !== 'string') throw new UsageError(`${where}: "description" must be a string`);
    m.description = obj.description;
  }
  return m;
}

export async function readManifest(suiteDir: string): Promise<SuiteManifest> {
  const file = join(suiteDir, 'suite.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return defaults();
  }
  return parseManifest(text, file);
}
