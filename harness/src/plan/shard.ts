// --shard i/n: a deterministic slice of the run's (target, suite) pairs, so n CI jobs that each
// plan the same selection run every pair exactly once between them. Pairs are dealt out longest
// first to the least loaded shard (LPT), weighed by their durations in an earlier run when
// --durations gives them, else one each (balanced by count). Pure.
import { UsageError } from '../util/errors.js';

export interface ShardSpec {
  /** 1-based, as written: --shard 2/4 is index 2. */
  index: number;
  count: number;
}

export interface ShardItem {
  target: string;
  suite: string;
}

export const MAX_SHARDS = 256;

export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || index < 1 || count < 1 || index > count || count > MAX_SHARDS)
    throw new UsageError(`--shard ${text}: expected i/n with 1 ≤ i ≤ n ≤ ${MAX_SHARDS} (e.g. --shard 2/4 runs the second of four slices)`);
  return { index, count };
}

export const pairKey = (item: ShardItem): string => `${item.target}/${item.suite}`;

/**
 * The shard (0-based) of each item, in the items' order. The same set of items gives the same
 * answer whatever order it comes in: items are ordered by weight, then by name, before dealing.
 */
export function assignShards(items: ShardItem[], count: number, durationsMs: Record<string, number> = {}): number[] {
  const known = items.map((i) => durationsMs[pairKey(i)]).filter((d): d is number => d !== undefined && d > 0);
  // A pair the earlier run did not have weighs what a typical known pair did.
  const typical = known.length ? ([...known].sort((a, b) => a - b)[Math.floor(known.length / 2)] ?? 1) : 1;
  const weight = (i: ShardItem): number => (known.length ? (durationsMs[pairKey(i)] ?? typical) : 1);
  const order = items
    .map((item, at) => ({ item, at, w: weight(item), key: pairKey(item) }))
    .sort((a, b) => b.w - a.w || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const shardOf = new Array<number>(items.length).fill(0);
  for (const o of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if ((load[s] ?? 0) < (load[best] ?? 0)) best = s;
    load[best] = (load[best] ?? 0) + o.w;
    shardOf[o.at] = best;
  }
  return shardOf;
}

/** A results.json's per-(target, suite) time, for --durations: the mean over --repeat rounds. */
export function durationsOf(targets: { target?: string; suites: { name: string; durationMs: number }[] }[]): Record<string, number> {
  const total: Record<string, { ms: number; rounds: number }> = {};
  for (const t of targets) {
    for (const s of t.suites) {
      const key = pairKey({ target: t.target ?? 'default', suite: s.name.replace(/#\d+$/, '') });
      const acc = (total[key] ??= { ms: 0, rounds: 0 });
      acc.ms += s.durationMs;
      acc.rounds++;
    }
  }
  return Object.fromEntries(Object.entries(total).map(([k, v]) => [k, v.ms / v.rounds]));
}
