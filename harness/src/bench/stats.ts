// The benchmark's arithmetic and its table: medians, and rows of two measurements with their ratio.

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const upper = s[mid];
  if (upper === undefined) return NaN; // no samples
  const lower = s[mid - 1];
  return s.length % 2 || lower === undefined ? upper : (lower + upper) / 2;
}

/** One comparison: a measurement against its baseline (ms), each with its sample count. */
export interface Comparison {
  what: string;
  a: { label: string; ms: number; n: number };
  b: { label: string; ms: number; n: number };
  note?: string;
}

const secs = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

/** The side-by-side table: A, B and B/A (how many times A is faster). */
export function comparisonTable(rows: Comparison[]): string[] {
  const out = [`${'comparison'.padEnd(34)} ${'A'.padEnd(30)} ${'B'.padEnd(30)} B/A`];
  for (const r of rows) {
    const cell = (x: Comparison['a']): string => `${x.label} ${secs(x.ms)}${x.n > 1 ? ` (median of ${x.n})` : ''}`.padEnd(30);
    const ratio = r.a.ms > 0 && !Number.isNaN(r.b.ms) ? `${(r.b.ms / r.a.ms).toFixed(1)}×` : 'n/a';
    out.push(`${r.what.padEnd(34)} ${cell(r.a)} ${cell(r.b)} ${ratio}`);
    if (r.note) out.push(`${''.padEnd(34)} ${r.note}`);
  }
  return out;
}
