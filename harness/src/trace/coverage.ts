// Handler coverage: the module's tables and functions against the traces of a run's suites.
// A function is reached when any suite's trace counted a call to it (in a test, or outside
// one: a softirq callback in another task's context counts too); its tests are named.
import { slotName, type ModuleFunctions } from './ko-tables.js';
import type { TraceFile } from './trace-file.js';

/** Tests named per function in the summary data (the rest are counted). */
const MAX_TESTS_NAMED = 8;

export interface FunctionCoverage {
  function: string;
  calls: number;
  /** "<suite>/<test>" that called it; "<suite>/(outside tests)" for calls outside any test. */
  tests: string[];
  moreTests?: number;
}

export interface TableCoverage {
  object: string;
  type?: string;
  reached: number;
  total: number;
  percent: number;
  slots: (FunctionCoverage & { slot: string })[];
}

export interface Coverage {
  suites: string[];
  tables: TableCoverage[];
  /** Every run-time function of the module. */
  functions: { reached: number; total: number; percent: number; unreached: string[] };
  /** Handlers (table slots) no test reached, as "<object>.<member> (<function>)". */
  unreachedHandlers: string[];
  /** All slots of all tables together: what the coverage floor is checked against. */
  handlers: { reached: number; total: number; percent: number };
  /** Module functions the tracer could not attach to, with the reason. */
  unattached: { function: string; error: string }[];
  drops: Record<string, number>;
}

// Nothing to reach is 0%, not 100%: a module whose tables were not found must not pass a floor.
const pct = (reached: number, total: number): number => (total ? Math.round((1000 * reached) / total) / 10 : 0);

export function computeCoverage(mod: ModuleFunctions, traces: { suite: string; trace: TraceFile }[]): Coverage {
  const calls = new Map<string, number>();
  const tests = new Map<string, Set<string>>();
  const drops: Record<string, number> = {};
  const unattached = new Map<string, string>();
  const add = (fn: string, n: number, who: string): void => {
    if (!n) return;
    calls.set(fn, (calls.get(fn) ?? 0) + n);
    let set = tests.get(fn);
    if (!set) tests.set(fn, (set = new Set()));
    set.add(who);
  };
  const moduleFns = new Set(mod.functions);
  for (const { suite, trace } of traces) {
    for (const t of trace.tests) for (const [fn, n] of Object.entries(t.calls)) add(fn, n, `${suite}/${t.name}`);
    for (const [fn, n] of Object.entries(trace.untracked.calls)) add(fn, n, `${suite}/(outside tests)`);
    for (const [k, n] of Object.entries(trace.drops)) drops[k] = (drops[k] ?? 0) + n;
    for (const f of trace.functions) if (!f.attached && moduleFns.has(f.name)) unattached.set(f.name, f.error ?? 'not attached');
  }
  const of = (fn: string): FunctionCoverage => {
    const who = [...(tests.get(fn) ?? [])].sort();
    const c: FunctionCoverage = { function: fn, calls: calls.get(fn) ?? 0, tests: who.slice(0, MAX_TESTS_NAMED) };
    if (who.length > MAX_TESTS_NAMED) c.moreTests = who.length - MAX_TESTS_NAMED;
    return c;
  };
  const tables: TableCoverage[] = mod.tables.map((t) => {
    const slots = t.slots.map((s) => ({ slot: slotName(s), ...of(s.function) }));
    const reached = slots.filter((s) => s.calls > 0).length;
    const table: TableCoverage = { object: t.object, reached, total: slots.length, percent: pct(reached, slots.length), slots };
    if (t.type) table.type = t.type;
    return table;
  });
  const unreachedFns = mod.functions.filter((fn) => !calls.get(fn));
  const unreachedHandlers = tables.flatMap((t) => t.slots.filter((s) => !s.calls).map((s) => `${t.object}.${s.slot} (${s.function})`));
  const hReached = tables.reduce((n, t) => n + t.reached, 0);
  const hTotal = tables.reduce((n, t) => n + t.total, 0);
  return {
    suites: traces.map((t) => t.suite),
    tables,
    functions: {
      reached: mod.functions.length - unreachedFns.length,
      total: mod.functions.length,
      percent: pct(mod.functions.length - unreachedFns.length, mod.functions.length),
      unreached: unreachedFns,
    },
    unreachedHandlers,
    handlers: { reached: hReached, total: hTotal, percent: pct(hReached, hTotal) },
    unattached: [...unattached].map(([fn, error]) => ({ function: fn, error })),
    drops,
  };
}

/** Lines for people: one per table, the module's functions, then what no test reached. */
export function coverageLines(c: Coverage): string[] {
  const lines = c.tables.map((t) => `${t.type ?? 'table'} ${t.object} ${t.reached}/${t.total} (${t.percent}%)`);
  lines.push(
    `handlers ${c.handlers.reached}/${c.handlers.total} (${c.handlers.percent}%), module functions ${c.functions.reached}/${c.functions.total} (${c.functions.percent}%)`,
  );
  if (c.unreachedHandlers.length) lines.push(`no test reached: ${c.unreachedHandlers.join(', ')}`);
  const otherFns = c.functions.unreached.filter((fn) => !c.tables.some((t) => t.slots.some((s) => s.function === fn)));
  if (otherFns.length) lines.push(`module functions no test reached: ${otherFns.join(', ')}`);
  if (c.unattached.length) lines.push(`not traceable: ${c.unattached.map((u) => `${u.function} (${u.error})`).join(', ')}`);
  const dropped = Object.entries(c.drops).filter(([, n]) => n > 0);
  if (dropped.length) lines.push(`trace drops: ${dropped.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return lines;
}
