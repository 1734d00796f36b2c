// `sockvm merge <dir>... -o <dir>`: one results tree from the slices of a sharded run (or runs of
// different targets): each target's files copied in, its results.json, results.tap and
// junit.xml rewritten, and the run's, by the writers a run uses.
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { loadResults } from '../results/load.js';
import { mergeResults } from '../results/merge.js';
import { runResultsFile } from '../results/results-file.js';
import { matrixTable, totalsLine } from '../results/summary.js';
import { resultFiles, runFiles } from '../results/writer.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { newRunId } from './run.js';

export const MERGE_USAGE = `Usage: sockvm merge <results dir>... -o <dir>

Joins results directories into one (CI: the slices of 'sockvm run --shard i/n' from each job):
each target's suites from every slice, judged again as one target; one verdict over all; each
target's files (suite .tap files, console.log, dmesg.txt, ...) copied to <dir>/<target>/ (a name
two slices both have gets the slice's number in front); results.json, results.tap and junit.xml
written as a run writes them. A slice of a sharded selection that is not given is reported
missing. A suite found in two inputs is an error (merge joins slices of one run; to see what
changed between two runs use 'sockvm compare').
  -o, --output <dir>   where the merged tree goes (created; must be empty or absent)
Exit codes: as 'sockvm run' over the joined results: 0 pass, 1 a test failed, 2 infrastructure,
including a missing slice (the pipeline lost results: nothing can be said about them, and a green
exit for a partial run would hide it).`;

/** The results files a run writes; merge writes them anew instead of copying a slice's. */
const REWRITTEN = new Set(['results.json', 'results.tap', 'junit.xml']);

async function copyTargetFiles(from: string, to: string, slice: number): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (REWRITTEN.has(entry.name)) continue;
    let dest = join(to, entry.name);
    if (await exists(dest)) dest = join(to, `slice${slice}-${entry.name}`);
    await cp(join(from, entry.name), dest, { recursive: true, verbatimSymlinks: true });
  }
}

/** `sockvm merge`'s options. */
export const MERGE_OPTIONS = { output: { type: 'string', short: 'o' }, help: { type: 'boolean', short: 'h' } } as const;

export async function mergeCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('sockvm merge', args, MERGE_OPTIONS, true);
  if (v.help) {
    out(MERGE_USAGE);
    return 0;
  }
  if (v.output === undefined) throw new UsageError('sockvm merge: -o <dir> is missing: name the directory the merged results go to');
  if (!positionals.length) throw new UsageError('sockvm merge: no results directory given; e.g. sockvm merge shard-1 shard-2 -o merged');
  const output = resolve(v.output);
  if (await exists(output)) {
    const entries = await readdir(output).catch(() => undefined);
    if (entries === undefined || entries.length) throw new UsageError(`-o ${v.output}: exists and is not an empty directory; give a new directory`);
  }
  const inputs = [];
  for (const given of positionals) {
    const loaded = await loadResults(given, 'sockvm merge:');
    if (loaded.dir === output) throw new UsageError(`-o ${v.output} is also an input; give a new directory`);
    inputs.push({ dir: loaded.dir, file: loaded.file });
  }
  const merged = mergeResults(inputs);
  await mkdir(output, { recursive: true });
  const dirs = positionals.map((p) => resolve(p));
  for (const s of merged.sources) {
    const input = inputs[s.input];
    if (!input) continue;
    const from = s.subdir ? join(input.dir, s.subdir) : input.dir;
    if (await exists(from)) await copyTargetFiles(from, join(output, s.target), s.input + 1);
  }
  const command = `sockvm merge ${dirs.join(' ')} -o ${output}`;
  const results = runResultsFile(merged.runs, {
    runId: newRunId(),
    command,
    matrix: true,
    verdict: merged.verdict,
    mergedFrom: inputs.map((i) => i.dir),
    ...(merged.infraError ? { infraError: merged.infraError } : {}),
  });
  for (const run of merged.runs)
    for (const [name, text] of Object.entries(resultFiles(run))) await writeFile(join(output, run.target ?? 'default', name), text);
  for (const [name, text] of Object.entries(runFiles(results))) await writeFile(join(output, name), text);
  matrixTable(merged.runs).forEach((l) => out(l));
  for (const m of merged.missing) out(`missing: ${m}`);
  if (merged.infraError) out(`error: ${merged.infraError}`);
  out(`${totalsLine(merged.runs)} (merged from ${inputs.length} results directories into ${output}; exit ${merged.verdict.exitCode})`);
  return merged.verdict.exitCode;
}
