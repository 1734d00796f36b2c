// sockvm-trace's JSON output, checked on the host: it comes from the guest, so every field is
// validated before use and nothing in it reaches a shell.

export interface TraceFunction {
  name: string;
  kind: string;
  attached: boolean;
  error?: string;
}

export interface TraceTest {
  name: string;
  calls: Record<string, number>;
  latencyLog2Ns: Record<string, Record<string, number>>;
  chains: { count: number; calls: string[]; truncated?: boolean }[];
  chainsDropped: number;
}

export interface TraceFile {
  release: string;
  returnsBy: string;
  drops: Record<string, number>;
  functions: TraceFunction[];
  uprobes: { binary: string; attached: boolean }[];
  untracked: { calls: Record<string, number> };
  tests: TraceTest[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function counts(v: unknown, what: string): Record<string, number> {
  if (!isObj(v)) throw new Error(`${what} is not an object`);
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(v)) {
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw new Error(`${what}.${k} is not a count`);
    out[k] = n;
  }
  return out;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what} is not a string`);
  return v;
}

/** Parses and checks a trace; throws with the first field that is wrong. */
export function parseTraceFile(text: string): TraceFile {
  const raw: unknown = JSON.parse(text);
  if (!isObj(raw) || raw.tool !== 'sockvm-trace') throw new Error('not a sockvm-trace output');
  if (!Array.isArray(raw.functions) || !Array.isArray(raw.tests) || !Array.isArray(raw.uprobes) || !isObj(raw.untracked))
    throw new Error('functions, tests, uprobes or untracked missing');
  return {
    release: str(raw.release, 'release'),
    returnsBy: str(raw.returnsBy, 'returnsBy'),
    drops: counts(raw.drops, 'drops'),
    functions: raw.functions.map((f: unknown, i) => {
      if (!isObj(f)) throw new Error(`functions[${i}] is not an object`);
      const fn: TraceFunction = { name: str(f.name, `functions[${i}].name`), kind: str(f.kind, `functions[${i}].kind`), attached: f.attached === true };
      if (f.error !== undefined) fn.error = str(f.error, `functions[${i}].error`);
      return fn;
    }),
    uprobes: raw.uprobes.map((u: unknown, i) => {
      if (!isObj(u)) throw new Error(`uprobes[${i}] is not an object`);
      return { binary: str(u.binary, `uprobes[${i}].binary`), attached: u.attached === true };
    }),
    untracked: { calls: counts(raw.untracked.calls, 'untracked.calls') },
    tests: raw.tests.map((t: unknown, i) => {
      if (!isObj(t) || !isObj(t.latencyLog2Ns) || !Array.isArray(t.chains)) throw new Error(`tests[${i}] is malformed`);
      const latency: Record<string, Record<string, number>> = {};
      for (const [fn, h] of Object.entries(t.latencyLog2Ns)) latency[fn] = counts(h, `tests[${i}].latencyLog2Ns.${fn}`);
      return {
        name: str(t.name, `tests[${i}].name`),
        calls: counts(t.calls, `tests[${i}].calls`),
        latencyLog2Ns: latency,
        chains: t.chains.map((c: unknown, j) => {
          if (!isObj(c) || !Array.isArray(c.calls) || typeof c.count !== 'number') throw new Error(`tests[${i}].chains[${j}] is malformed`);
          const chain = { count: c.count, calls: c.calls.map((x, k) => str(x, `tests[${i}].chains[${j}].calls[${k}]`)) };
          return c.truncated === true ? { ...chain, truncated: true } : chain;
        }),
        chainsDropped: typeof t.chainsDropped === 'number' ? t.chainsDropped : 0,
      };
    }),
  };
}
