// Performance metrics a suite may record in results.json (the perf suite: NEW_TCP held against
// TCP). Read defensively from any results.json: the field is optional and written by suites
// that came after this reader, so a malformed entry is skipped and named, never trusted.

export interface Metric {
  /** What was measured, unique within its suite (e.g. "loopback stream throughput"). */
  name: string;
  value: number;
  /** e.g. "MiB/s", "us", "conn/s". */
  unit: string;
  /** Which way is better: throughput and rates higher, latency lower. */
  better: 'higher' | 'lower';
  /** NEW_TCP's value over plain TCP's in the same guests and run: it cancels the machine's speed. */
  ratioToTcp?: number;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The well-formed metrics in `holder.metrics`; each malformed entry goes to `problems`. */
export function readMetrics(holder: unknown, where: string, problems: string[]): Metric[] {
  if (!isRecord(holder) || holder.metrics === undefined) return [];
  const list = holder.metrics;
  if (!Array.isArray(list)) {
    problems.push(`${where}: "metrics" is not a list; ignored`);
    return [];
  }
  const out: Metric[] = [];
  list.forEach((m: unknown, i) => {
    const ok =
      isRecord(m) &&
      typeof m.name === 'string' &&
      typeof m.value === 'number' &&
      Number.isFinite(m.value) &&
      typeof m.unit === 'string' &&
      (m.better === 'higher' || m.better === 'lower') &&
      (m.ratioToTcp === undefined || (typeof m.ratioToTcp === 'number' && Number.isFinite(m.ratioToTcp)));
    if (!ok) {
      problems.push(`${where}: metrics[${i}] is not {name, value, unit, better: "higher"|"lower", ratioToTcp?}; ignored`);
      return;
    }
    const metric: Metric = { name: m.name as string, value: m.value as number, unit: m.unit as string, better: m.better as Metric['better'] };
    if (typeof m.ratioToTcp === 'number') metric.ratioToTcp = m.ratioToTcp;
    out.push(metric);
  });
  return out;
}
