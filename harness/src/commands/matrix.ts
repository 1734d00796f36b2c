// `sockvm matrix`: the CI job matrix, targets × slices, for the CI system to spread over its
// runners: each job runs `sockvm run --target <t> --shard <i>/<n>`, and one job merges.
import { TARGET_OPTIONS } from '../config/run-options.js';
import { chooseTargets, CONFIG_FILE, loadConfig } from '../config/targets.js';
import { MAX_SHARDS } from '../plan/shard.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';

export const MATRIX_USAGE = `Usage: sockvm matrix [--target <name>]... [--all-targets] [--shards <n>] [--format github|gitlab|json] [--config <file>]

Prints the CI job matrix: every chosen target (default: the configuration's default target)
times n slices. Each job runs 'sockvm run --target <target> --shard <shard>'; 'sockvm merge'
joins their results.
  --shards <n>   slices per target (default 1)
  --format github  one line of JSON, {"include":[{"target":…,"shard":"i/n","slug":…},…]}, for
                   echo "matrix=$(sockvm matrix --format github)" >> "$GITHUB_OUTPUT" and
                   strategy.matrix: \${{ fromJSON(needs.<job>.outputs.matrix) }}
  --format gitlab  a job's "parallel: matrix:" block (YAML; TARGET and SHARD variables) for
                   ci/gitlab/sockvm.gitlab-ci.yml or a generated child pipeline
  --format json    the jobs as a JSON list (default)`;

export interface MatrixJob {
  target: string;
  shard: string;
  /** The job's name where a '/' is not allowed (an artifact's name): <target>-<i>of<n>. */
  slug: string;
}

export function matrixJobs(targets: string[], shards: number): MatrixJob[] {
  return targets.flatMap((target) =>
    Array.from({ length: shards }, (_, i) => ({ target, shard: `${i + 1}/${shards}`, slug: `${target}-${i + 1}of${shards}` })),
  );
}

/** GitLab's parallel:matrix: one entry per target, its slices as a list (GitLab multiplies them out). */
export function gitlabMatrix(targets: string[], shards: number): string {
  const lines = ['parallel:', '  matrix:'];
  for (const t of targets) {
    lines.push(`    - TARGET: ${JSON.stringify(t)}`);
    lines.push(`      SHARD: [${Array.from({ length: shards }, (_, i) => JSON.stringify(`${i + 1}/${shards}`)).join(', ')}]`);
  }
  return lines.join('\n');
}

/** `sockvm matrix`'s options. */
export const MATRIX_OPTIONS = {
  ...TARGET_OPTIONS,
  shards: { type: 'string' },
  format: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function matrixCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values: v } = parseCommandArgs('sockvm matrix', args, MATRIX_OPTIONS);
  if (v.help) {
    out(MATRIX_USAGE);
    return 0;
  }
  const format = v.format ?? 'json';
  if (format !== 'github' && format !== 'gitlab' && format !== 'json') throw new UsageError(`--format ${format}: expected github, gitlab or json`);
  const shards = Number(v.shards ?? '1');
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS)
    throw new UsageError(`--shards ${v.shards}: expected a whole number of slices per target from 1 to ${MAX_SHARDS}`);
  if (v.target?.length && v['all-targets']) throw new UsageError('sockvm matrix: --target and --all-targets exclude each other');
  const config = await loadConfig(v.config ?? CONFIG_FILE);
  const targets = chooseTargets(config, v.target ?? [], v['all-targets'] ?? false).map((t) => t.name);
  const jobs = matrixJobs(targets, shards);
  if (format === 'github') out(JSON.stringify({ include: jobs }));
  else if (format === 'gitlab') out(gitlabMatrix(targets, shards));
  else out(JSON.stringify(jobs, null, 2));
  return 0;
}
