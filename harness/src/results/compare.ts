// Two runs compared: what newly fails, newly passes, went missing, is flaky (differs between the
// rounds of --repeat), got slower per suite, and which performance metrics regressed. Pure: it
// reads two ResultsFile objects and answers "did kernel X or my change break anything?".
import type { ResultsFile, SuiteResult } from './model.js';
import { readMetrics, type Metric } from './metrics.js';
import { judgeTest } from './verdict.js';

/** A test's (or a suite's) outcome over the rounds of one run. */
export type Outcome = 'passed' | 'failed' | 'skipped' | 'flaky';
type RoundOutcome = 'passed' | 'failed' | 'skipped';

interface Observed {
  rounds: RoundOutcome[];
  /** The first diagnostic line of a failing round: the reason shown beside a new failure. */
  why?: string;
}

/** One run, keyed for comparison: `<target>/<suite>/<test>`, `<target>/<suite>`, metrics by `<target>/<suite>/<metric>`. */
interface RunView {
  tests: Map<string, Observed>;
  suites: Map<string, Observed & { totalMs: number }>;
  metrics: Map<string, Metric>;
  problems: string[];
}

export interface TimeThreshold {
  /** Slower by more than this fraction (0.5: +50%) ... */
  ratio: number;
  /** ... and by more than this many milliseconds: a 1 s suite taking 2 s is noise. */
  absMs: number;
}

export interface CompareOptions {
  time: TimeThreshold;
  /** A metric worse by more than this fraction is a regression (0.1: 10%). */
  metricRatio: number;
}

export const DEFAULT_COMPARE: CompareOptions = { time: { ratio: 0.5, absMs: 5000 }, metricRatio: 0.1 };

export interface OutcomeChange {
  key: string;
  was: Outcome;
  now: Outcome;
  why?: string;
}

export interface FlakyTest {
  key: string;
  /** Which run it was flaky in. */
  in: 'baseline' | 'new' | 'both';
  /** The new run's rounds (the baseline's when flaky there only). */
  rounds: RoundOutcome[];
}

export interface TimeChange {
  suite: string;
  baselineMs: number;
  newMs: number;
}

export interface MetricChange {
  key: string;
  unit: string;
  /** What was compared: the ratio to TCP when both runs have it (machine speed cancels), else the value. */
  basis: 'ratioToTcp' | 'value';
  baseline: number;
  new: number;
  /** Signed change in the "better" direction: -0.2 is 20% worse. */
  change: number;
}

export interface Comparison {
  newlyFailing: OutcomeChange[];
  newlyPassing: OutcomeChange[];
  /** Ran (passed or failed) in the baseline, absent from the new run. */
  missing: string[];
  /** In the new run only. */
  added: string[];
  flaky: FlakyTest[];
  slower: TimeChange[];
  metricRegressions: MetricChange[];
  metricImprovements: MetricChange[];
  /** Metrics the baseline had and the new run does not. */
  metricsMissing: string[];
  /** Tests present in both runs. */
  compared: number;
  /** Malformed parts of either file that were skipped. */
  problems: string[];
  /** 0: nothing got worse; 1: a new failure, a newly flaky test or a metric regression (or nothing to compare). */
  exitCode: 0 | 1;
  /** Why the exit code is what it is, one line. */
  verdict: string;
}

/** A suite's name without its --repeat round ("stream#2" → "stream"). */
const withoutRound = (suite: string): string => suite.replace(/#\d+$/, '');

function outcome(rounds: RoundOutcome[]): Outcome {
  const ran = rounds.filter((r) => r !== 'skipped');
  if (ran.length === 0) return 'skipped';
  if (ran.every((r) => r === 'passed')) return 'passed';
  return ran.every((r) => r === 'failed') ? 'failed' : 'flaky';
}

function suiteRound(suite: SuiteResult): RoundOutcome {
  return suite.status === 'pass' ? 'passed' : 'failed';
}

function suiteWhy(suite: SuiteResult): string | undefined {
  return suite.errors[0] ?? suite.kernelFindings[0];
}

function view(file: ResultsFile, label: string): RunView {
  const v: RunView = { tests: new Map(), suites: new Map(), metrics: new Map(), problems: [] };
  for (const run of file.targets) {
    const target = run.target ?? 'default';
    for (const m of readMetrics(run, `${label}: target ${target}`, v.problems)) v.metrics.set(`${target}/${m.name}`, m);
    for (const suite of run.suites) {
      const base = `${target}/${withoutRound(suite.name)}`;
      const s = v.suites.get(base) ?? { rounds: [], totalMs: 0 };
      s.rounds.push(suiteRound(suite));
      s.totalMs += suite.durationMs;
      const suiteReason = suite.status === 'pass' ? undefined : suiteWhy(suite);
      if (suiteReason !== undefined) s.why ??= suiteReason;
      v.suites.set(base, s);
      for (const m of readMetrics(suite, `${label}: ${base}`, v.problems)) v.metrics.set(`${base}/${m.name}`, m);
      // Two tests of one round may share a name: the second is "<name> (2)", and so on.
      const seen = new Map<string, number>();
      for (const test of suite.tests) {
        const n = (seen.get(test.name) ?? 0) + 1;
        seen.set(test.name, n);
        const key = `${base}/${test.name}${n > 1 ? ` (${n})` : ''}`;
        const o = v.tests.get(key) ?? { rounds: [] };
        const r = judgeTest(test);
        o.rounds.push(r);
        const reason = r === 'failed' ? test.diagnostics.find((d) => d.trim() !== '')?.trim() : undefined;
        if (reason !== undefined) o.why ??= reason;
        v.tests.set(key, o);
      }
    }
  }
  return v;
}

function withWhy(change: Omit<OutcomeChange, 'why'>, why: string | undefined): OutcomeChange {
  return why === undefined ? change : { ...change, why };
}

/** The metric's change in its better direction, on the ratio to TCP when both have one. */
function metricChange(key: string, b: Metric, n: Metric): MetricChange {
  const basis = b.ratioToTcp !== undefined && n.ratioToTcp !== undefined ? 'ratioToTcp' : 'value';
  const was = basis === 'ratioToTcp' ? (b.ratioToTcp as number) : b.value;
  const now = basis === 'ratioToTcp' ? (n.ratioToTcp as number) : n.value;
  const raw = was === 0 ? (now === 0 ? 0 : Infinity * Math.sign(now)) : (now - was) / Math.abs(was);
  return { key, unit: basis === 'ratioToTcp' ? 'x TCP' : n.unit, basis, baseline: was, new: now, change: b.better === 'higher' ? raw : -raw };
}

export function compareResults(baseline: ResultsFile, next: ResultsFile, o: CompareOptions = DEFAULT_COMPARE): Comparison {
  const b = view(baseline, 'baseline');
  const n = view(next, 'new');
  const c: Comparison = {
    newlyFailing: [],
    newlyPassing: [],
    missing: [],
    added: [],
    flaky: [],
    slower: [],
    metricRegressions: [],
    metricImprovements: [],
    metricsMissing: [],
    compared: 0,
    problems: [...b.problems, ...n.problems],
    exitCode: 0,
    verdict: '',
  };
  const failingSuites = new Set<string>();
  for (const [key, was] of b.tests) {
    const now = n.tests.get(key);
    const wasOutcome = outcome(was.rounds);
    if (!now) {
      if (wasOutcome !== 'skipped') c.missing.push(key);
      continue;
    }
    c.compared++;
    const nowOutcome = outcome(now.rounds);
    if (nowOutcome === 'failed' && wasOutcome !== 'failed') c.newlyFailing.push(withWhy({ key, was: wasOutcome, now: nowOutcome }, now.why));
    if (nowOutcome === 'passed' && (wasOutcome === 'failed' || wasOutcome === 'flaky')) c.newlyPassing.push({ key, was: wasOutcome, now: nowOutcome });
    if (nowOutcome === 'flaky' || wasOutcome === 'flaky')
      c.flaky.push({ key, in: nowOutcome === wasOutcome ? 'both' : nowOutcome === 'flaky' ? 'new' : 'baseline', rounds: nowOutcome === 'flaky' ? now.rounds : was.rounds });
    if (nowOutcome === 'failed' || nowOutcome === 'flaky') failingSuites.add(key.split('/').slice(0, 2).join('/'));
  }
  for (const [key, now] of n.tests) if (!b.tests.has(key) && outcome(now.rounds) !== 'skipped') c.added.push(key);
  // A suite that newly fails with no test to blame (a crash, a timeout, a kernel warning) is a new failure too.
  for (const [key, was] of b.suites) {
    const now = n.suites.get(key);
    if (!now) continue;
    const wasOutcome = outcome(was.rounds);
    const nowOutcome = outcome(now.rounds);
    if (nowOutcome !== 'passed' && wasOutcome === 'passed' && !failingSuites.has(key))
      c.newlyFailing.push(withWhy({ key: `${key} (the suite)`, was: wasOutcome, now: nowOutcome }, now.why));
    const baselineMs = was.totalMs / was.rounds.length;
    const newMs = now.totalMs / now.rounds.length;
    if (newMs > baselineMs * (1 + o.time.ratio) && newMs - baselineMs > o.time.absMs) c.slower.push({ suite: key, baselineMs, newMs });
  }
  for (const [key, m] of b.metrics) {
    // TCP's own figure is the yardstick of a ratio: it measures the machine, not the module.
    if (m.reference) continue;
    const now = n.metrics.get(key);
    if (!now) {
      c.metricsMissing.push(key);
      continue;
    }
    const change = metricChange(key, m, now);
    if (change.change < -o.metricRatio) c.metricRegressions.push(change);
    else if (change.change > o.metricRatio) c.metricImprovements.push(change);
  }
  const newlyFlaky = c.flaky.filter((f) => f.in === 'new');
  const reasons = [
    [c.newlyFailing.length, 'newly failing'],
    [newlyFlaky.length, 'newly flaky'],
    [c.metricRegressions.length, c.metricRegressions.length === 1 ? 'metric regression' : 'metric regressions'],
  ].flatMap(([count, what]) => (count ? [`${count} ${what}`] : []));
  if (reasons.length) {
    c.exitCode = 1;
    c.verdict = `regression: ${reasons.join(', ')}`;
  } else if (c.compared === 0 && b.metrics.size === 0) {
    // Two runs that share no test prove nothing: not green.
    c.exitCode = 1;
    c.verdict = 'nothing compared: the two runs share no test (different suites or targets?); compare runs of the same selection';
  } else {
    c.verdict = `no regression over ${c.compared} tests${b.metrics.size ? ` and ${b.metrics.size} metrics` : ''}`;
  }
  return c;
}
