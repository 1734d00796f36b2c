// Results of several runs joined into one (the slices of a --shard run, spread over CI jobs):
// each target's suites from every slice that ran them, judged again as one target, one verdict
// over all. A slice that never came is named, and makes the run an infrastructure error (exit
// 2): the pipeline lost results, which says nothing about the code under test. Pure.
import { UsageError } from '../util/errors.js';
import type { ResultsFile, RunResult } from './model.js';
import { judgeRun, judgeTarget, type Verdict } from './verdict.js';

export interface MergeInput {
  /** The directory given (names the input in messages). */
  dir: string;
  file: ResultsFile;
}

export interface Merged {
  runs: RunResult[];
  verdict: Verdict;
  /** Slices that were expected and not given, e.g. "slice 2/3 of host". */
  missing: string[];
  /** Why the merged run is an infrastructure error outside any target (missing slices, a slice's own set-up failure). */
  infraError?: string;
  /** Where each target's files are in each input: [input index, target name, directory relative to the input]. */
  sources: { input: number; target: string; subdir: string }[];
}

const targetName = (run: RunResult): string => run.target ?? 'default';

function joinTarget(parts: RunResult[]): RunResult {
  const [first, ...rest] = parts;
  if (!first) throw new Error('joinTarget: no parts');
  const merged: RunResult = { ...first, suites: [...first.suites], phases: { ...first.phases } };
  for (const p of rest) {
    merged.suites.push(...p.suites);
    // Each slice booted the target on its own: its phases add up to the machine time the target took.
    for (const [phase, ms] of Object.entries(p.phases)) merged.phases[phase] = (merged.phases[phase] ?? 0) + ms;
    if (p.startedAt < merged.startedAt) merged.startedAt = p.startedAt;
    if (p.infraError) merged.infraError = merged.infraError ? `${merged.infraError}; ${p.infraError}` : p.infraError;
    const findings = [...(merged.guest?.unloadFindings ?? []), ...(p.guest?.unloadFindings ?? [])];
    const leaks = [...(merged.guest?.kmemleak ?? []), ...(p.guest?.kmemleak ?? [])];
    if (findings.length || leaks.length) merged.guest = { ...merged.guest, ...(findings.length ? { unloadFindings: findings } : {}), ...(leaks.length ? { kmemleak: leaks } : {}) };
  }
  // The verdict's own findings are judged again below.
  delete merged.problem;
  // The target's rerun line covers every slice now.
  merged.command = first.command.replace(/ --shard[ =]\S+/, '');
  const filter = /(?:^| )--test (\S+)/.exec(first.command)?.[1];
  const v = judgeTarget(merged, filter !== undefined ? { testFilter: filter.replace(/^'|'$/g, '') } : {});
  merged.status = v.status;
  merged.exitCode = v.exitCode;
  if (v.problem) merged.problem = v.problem;
  return merged;
}

export function mergeResults(inputs: MergeInput[]): Merged {
  const byTarget = new Map<string, RunResult[]>();
  const owner = new Map<string, string>();
  const sources: Merged['sources'] = [];
  inputs.forEach((input, i) => {
    for (const run of input.file.targets) {
      const name = targetName(run);
      for (const s of run.suites) {
        const key = `${name}/${s.name}`;
        const other = owner.get(key);
        if (other !== undefined)
          throw new UsageError(
            `${key} is in both ${other} and ${input.dir}: merge joins the slices of one run, each suite once (to see what changed between two runs use sockvm compare)`,
          );
        owner.set(key, input.dir);
      }
      byTarget.set(name, [...(byTarget.get(name) ?? []), run]);
      sources.push({ input: i, target: name, subdir: input.file.matrix ? name : '' });
    }
  });
  // Every slice of every sharded selection must be here.
  const missing: string[] = [];
  const groups = new Map<string, { count: number; targets: string[]; seen: Map<number, string> }>();
  for (const input of inputs) {
    const sh = input.file.shard;
    if (!sh) continue;
    const key = `${sh.count}|${sh.targets.join(',')}`;
    const g = groups.get(key) ?? { count: sh.count, targets: sh.targets, seen: new Map<number, string>() };
    const twice = g.seen.get(sh.index);
    if (twice !== undefined) throw new UsageError(`slice ${sh.index}/${sh.count} of ${sh.targets.join(', ')} is given twice: ${twice} and ${input.dir}; give each slice once`);
    g.seen.set(sh.index, input.dir);
    groups.set(key, g);
  }
  for (const g of groups.values()) for (let i = 1; i <= g.count; i++) if (!g.seen.has(i)) missing.push(`slice ${i}/${g.count} of ${g.targets.join(', ')}`);
  const runs = [...byTarget.values()].map(joinTarget);
  const errors = [
    ...(missing.length ? [`missing: ${missing.join('; ')} (its job failed or its results were not given to sockvm merge)`] : []),
    ...inputs.flatMap((input) => (input.file.infraError ? [`${input.dir}: ${input.file.infraError}`] : [])),
  ];
  const infraError = errors.length ? errors.join('\n') : undefined;
  const verdict = judgeRun(runs, infraError ? { setupError: infraError } : {});
  return { runs, verdict, missing, sources, ...(infraError ? { infraError } : {}) };
}
