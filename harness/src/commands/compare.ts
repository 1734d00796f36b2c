// `sockvm compare <baseline> <new>`: what changed between two runs, as text or JSON; exit 1 on a
// new failure, a newly flaky test or a performance metric regression.
import { compareResults, DEFAULT_COMPARE, type Comparison, type CompareOptions } from '../results/compare.js';
import { loadResults } from '../results/load.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';

export const COMPARE_USAGE = `Usage: sockvm compare <baseline> <new> [--time-threshold <p>%+<s>s] [--metric-threshold <p>%] [--json]

Compares two runs (each a results directory such as results/latest, or its results.json) test by
test (<target>/<suite>/<test>; the rounds of --repeat together) and prints:
  newly failing   failed in every round of <new>, did not in <baseline>; also a suite that newly
                  fails with no test to blame (a crash, a timeout, a kernel warning)
  newly passing   passes in <new>, failed or was flaky in <baseline>
  flaky           passed in some --repeat rounds and failed in others, in either run
  missing         ran in <baseline>, absent from <new> (reported, not a failure: selections differ)
  slower          a suite's time per round beyond --time-threshold (reported, not a failure:
                  CI runners' speed varies)
  metrics         performance metrics ("metrics" in results.json, e.g. the perf suite's) worse by
                  more than --metric-threshold; on the ratio to TCP when both runs have it, as it
                  cancels the machine's speed
Options:
  --time-threshold <p>%+<s>s  a suite is slower when both are exceeded (default 50%+5s)
  --metric-threshold <p>%     a metric regresses when worse by more than this (default 10%)
  --json                      the comparison as JSON on stdout
Exit codes: 0 nothing got worse; 1 a new failure, a newly flaky test or a metric regression, or
the runs share no test (nothing compared is not green); 2 bad input.`;

function percent(text: string, option: string, example: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (!m) throw new UsageError(`${option} ${text}: expected a percentage like ${example}`);
  return Number(m[1]) / 100;
}

export function parseTimeThreshold(text: string): CompareOptions['time'] {
  const m = /^(\d+(?:\.\d+)?%)(?:\+(\d+(?:\.\d+)?)s)?$/.exec(text);
  if (!m?.[1]) throw new UsageError(`--time-threshold ${text}: expected <percent>%+<seconds>s, e.g. 50%+5s (slower by more than 50% and by more than 5 s)`);
  return { ratio: percent(m[1], '--time-threshold', '50%'), absMs: Number(m[2] ?? 0) * 1000 };
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const signedPct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

export function renderComparison(c: Comparison, o: CompareOptions, paths: { baseline: string; next: string }): string[] {
  const out: string[] = [`compare: ${paths.baseline} → ${paths.next}`];
  const section = <T>(title: string, items: T[], line: (item: T) => string): void => {
    if (!items.length) return;
    out.push(`${title} (${items.length}):`);
    for (const item of items) out.push(`  ${line(item)}`);
  };
  section('newly failing', c.newlyFailing, (x) => `✗ ${x.key} (was ${x.was})${x.why ? `: ${x.why}` : ''}`);
  section('newly passing', c.newlyPassing, (x) => `✓ ${x.key} (was ${x.was})`);
  section('flaky', c.flaky, (x) => `~ ${x.key}: flaky in ${x.in === 'both' ? 'both runs' : `the ${x.in} run`} (rounds: ${x.rounds.join(', ')})`);
  section('missing from the new run', c.missing, (k) => `- ${k}`);
  if (c.added.length) out.push(`new in the new run: ${c.added.length} tests`);
  const t = `threshold +${(o.time.ratio * 100).toFixed(0)}% and +${secs(o.time.absMs)}`;
  section(
    `slower suites (${t})`,
    c.slower,
    (x) => `${x.suite}: ${secs(x.baselineMs)} → ${secs(x.newMs)} (${signedPct((x.newMs - x.baselineMs) / x.baselineMs)})`,
  );
  const metric = (x: Comparison['metricRegressions'][number]): string =>
    `${x.key}: ${x.basis === 'ratioToTcp' ? 'ratio to TCP ' : ''}${x.baseline} → ${x.new} ${x.unit} (${signedPct(x.change)} in its better direction)`;
  section(`metric regressions (worse by more than ${(o.metricRatio * 100).toFixed(0)}%)`, c.metricRegressions, metric);
  section('metric improvements', c.metricImprovements, metric);
  section('metrics missing from the new run', c.metricsMissing, (k) => `- ${k}`);
  for (const p of c.problems) out.push(`note: ${p}`);
  out.push(`${c.verdict} (exit ${c.exitCode})`);
  return out;
}

/** `sockvm compare`'s options. */
export const COMPARE_OPTIONS = {
  'time-threshold': { type: 'string' },
  'metric-threshold': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function compareCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values: v, positionals } = parseCommandArgs('sockvm compare', args, COMPARE_OPTIONS, true);
  if (v.help) {
    out(COMPARE_USAGE);
    return 0;
  }
  if (positionals.length !== 2)
    throw new UsageError(`sockvm compare takes two runs, <baseline> <new> (got ${positionals.length}); e.g. sockvm compare results/<old-run> results/latest`);
  const [baselineArg = '', nextArg = ''] = positionals;
  const options: CompareOptions = {
    time: v['time-threshold'] === undefined ? DEFAULT_COMPARE.time : parseTimeThreshold(v['time-threshold']),
    metricRatio: v['metric-threshold'] === undefined ? DEFAULT_COMPARE.metricRatio : percent(v['metric-threshold'], '--metric-threshold', '10%'),
  };
  const baseline = await loadResults(baselineArg, '<baseline>');
  const next = await loadResults(nextArg, '<new>');
  const c = compareResults(baseline.file, next.file, options);
  if (v.json) out(JSON.stringify({ baseline: baseline.path, new: next.path, ...c }, null, 2));
  else renderComparison(c, options, { baseline: baseline.path, next: next.path }).forEach((l) => out(l));
  return c.exitCode;
}
