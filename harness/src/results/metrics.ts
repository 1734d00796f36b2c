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
  /**
   * Plain TCP's own value, the one a ratio is taken against: shown beside NEW_TCP's, never judged
   * by compare (it measures the machine, not the module).
   */
  reference?: boolean;
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
      (m.ratioToTcp === undefined || (typeof m.ratioToTcp === 'number' && Number.isFinite(m.ratioToTcp))) &&
      (m.reference === undefined || typeof m.reference === 'boolean');
    if (!ok) {
      problems.push(`${where}: metrics[${i}] is not {name, value, unit, better: "higher"|"lower", ratioToTcp?, reference?}; ignored`);
      return;
    }
    const metric: Metric = { name: m.name as string, value: m.value as number, unit: m.unit as string, better: m.better as Metric['better'] };
    if (typeof m.ratioToTcp === 'number') metric.ratioToTcp = m.ratioToTcp;
    if (m.reference === true) metric.reference = true;
    out.push(metric);
  });
  return out;
}

/** The line a suite prints for a metric (the perf suite: "# metric {json}", as a test's diagnostic). */
const METRIC_LINE = /^#\s*metric\s+(\{.*?)\s*$/;

/**
 * The metric on a suite's output line: `metric` when well formed, `problem` naming the line when
 * not, undefined for any other line.
 */
export function parseMetricLine(line: string, where: string): { metric?: Metric; problem?: string } | undefined {
  const m = METRIC_LINE.exec(line);
  if (!m) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(m[1] ?? '');
  } catch {
    return { problem: `${where}: a metric line that is not JSON: ${line.slice(0, 200)}` };
  }
  const problems: string[] = [];
  const [metric] = readMetrics({ metrics: [value] }, where, problems);
  return metric ? { metric } : { problem: problems[0] ?? `${where}: bad metric line` };
}

const shortNumber = (x: number): string => String(Number(x.toPrecision(4)));

/** One line per measurement: NEW_TCP's value, its TCP reference ("<name> (TCP)") beside it, and their ratio. */
export function metricLines(metrics: Metric[]): string[] {
  const references = new Map(metrics.filter((m) => m.reference).map((m) => [m.name, m]));
  const paired = (m: Metric): boolean => m.reference === true && metrics.some((x) => `${x.name} (TCP)` === m.name && !x.reference);
  return metrics
    .filter((m) => !paired(m))
    .map((m) => {
      const tcp = m.reference ? undefined : references.get(`${m.name} (TCP)`);
      const ratio = m.ratioToTcp !== undefined ? `, ratio ${m.ratioToTcp.toFixed(3)}` : '';
      return `${m.name}: ${shortNumber(m.value)} ${m.unit}${tcp ? `, TCP ${shortNumber(tcp.value)} ${tcp.unit}` : ''}${ratio}`;
    });
}
