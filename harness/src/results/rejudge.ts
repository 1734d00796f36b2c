// Re-judging saved output without a VM (as `kunit.py parse` does): each suite's .tap is parsed
// again and judged with the evidence results.json kept (exit code, timeout, crash, kernel
// findings), then each target and the run. Pure but for reading the files.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunResult, SuiteEvidence, SuiteResult, TestResult } from './model.js';
import { readResultsFile } from './results-file.js';
import { parseTap } from './tap-parser.js';
import { interruptExit, judgeRun, judgeSuite, judgeTarget, type Verdict } from './verdict.js';

export interface Rejudged {
  runs: RunResult[];
  matrix: boolean;
  verdict: Verdict;
  /** Suites and targets whose verdict differs from the recorded one. */
  changes: string[];
  /** Suites whose .tap is missing: judged as recorded. */
  missing: string[];
}

/**
 * The evidence of a results.json written before suites carried it: the recorded errors that the
 * TAP does not explain, read back from their wording.
 */
export function legacyEvidence(suite: SuiteResult, tapErrors: string[]): SuiteEvidence {
  const ev: SuiteEvidence = { exitCode: suite.exitCode, harnessErrors: [], kernelFindings: [...suite.kernelFindings] };
  for (const e of suite.errors) {
    const timeout = /^timed out after (\d+) s/.exec(e);
    if (e.startsWith('crashed:')) ev.crashed = e;
    else if (timeout) ev.timedOutSec = Number(timeout[1]);
    else if (!e.startsWith('exited with code ') && !tapErrors.includes(e)) ev.harnessErrors.push(e);
  }
  if (ev.crashed) {
    const crashedTest = suite.tests.find((t) => t.status === 'error' && t.diagnostics.includes(ev.crashed ?? ''));
    if (crashedTest) ev.crashedTest = crashedTest;
  }
  return ev;
}

/**
 * The durations results.json recorded, for the tests the TAP does not time: the run measured them
 * from the "# running" line to the result; re-reading the file can not.
 */
function withRecordedDurations(tests: TestResult[], recorded: TestResult[]): TestResult[] {
  const byTest = new Map(recorded.map((t) => [`${t.id} ${t.name}`, t.durationMs]));
  return tests.map((t) => {
    const durationMs = t.durationMs ?? byTest.get(`${t.id} ${t.name}`);
    return durationMs === undefined ? t : { ...t, durationMs };
  });
}

/** One suite again from its TAP text; the suite's and its tests' recorded durations are kept. */
export function rejudgeSuite(suite: SuiteResult, tapText: string): SuiteResult {
  const tap = parseTap(tapText);
  const evidence = suite.evidence ?? legacyEvidence(suite, tap.errors);
  const verdict = judgeSuite(tap, evidence);
  const out: SuiteResult = { ...suite, ...verdict, tests: withRecordedDurations(verdict.tests, suite.tests), evidence };
  if (!tap.plan) delete out.plan;
  return out;
}

async function rejudgeTarget(run: RunResult, dir: string, changes: string[], missing: string[]): Promise<RunResult> {
  const prefix = run.target ? `${run.target}/` : '';
  const suites: SuiteResult[] = [];
  for (const suite of run.suites) {
    const text = await readFile(join(dir, `${suite.name}.tap`), 'utf8').catch(() => undefined);
    if (text === undefined) {
      missing.push(`${prefix}${suite.name}`);
      suites.push(suite);
      continue;
    }
    const again = rejudgeSuite(suite, text);
    if (again.status !== suite.status) changes.push(`${prefix}${suite.name}: recorded ${suite.status}, now ${again.status}`);
    suites.push(again);
  }
  const next: RunResult = { ...run, suites };
  const filter = /(?:^| )--test (\S+)/.exec(run.command)?.[1];
  // An interrupt is not in the .tap files: the recorded exit code keeps it.
  const interrupted = interruptExit(run.exitCode);
  const v = judgeTarget(next, { ...(filter !== undefined ? { testFilter: filter.replace(/^'|'$/g, '') } : {}), ...(interrupted !== undefined ? { interruptExit: interrupted } : {}) });
  if (v.status !== run.status) changes.push(`${run.target ?? 'run'}: recorded ${run.status}, now ${v.status}`);
  next.status = v.status;
  next.exitCode = v.exitCode;
  if (v.problem) next.problem = v.problem;
  else delete next.problem;
  return next;
}

/** A results directory (a run's, or a matrix target's) re-judged; results.json of any shape sockvm wrote. */
export async function rejudgeDir(dir: string): Promise<Rejudged> {
  const path = join(dir, 'results.json');
  const file = readResultsFile(JSON.parse(await readFile(path, 'utf8')), path);
  const changes: string[] = [];
  const missing: string[] = [];
  const runs: RunResult[] = [];
  for (const t of file.targets) runs.push(await rejudgeTarget(t, file.matrix ? join(dir, t.target ?? '') : dir, changes, missing));
  const interrupted = interruptExit(file.exitCode);
  const verdict = judgeRun(runs, { ...(file.infraError ? { setupError: file.infraError } : {}), ...(interrupted !== undefined ? { interruptExit: interrupted } : {}) });
  return { runs, matrix: file.matrix, verdict, changes, missing };
}
