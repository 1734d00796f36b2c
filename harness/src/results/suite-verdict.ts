// A suite's verdict from its TAP and what the run showed besides (exit code, timeout, a dead
// guest, kernel findings): the runner judges with it as the suite ends, `sockvm parse` again
// from the saved .tap and results.json.
import type { SuiteEvidence, SuiteResult, TestResult } from './model.js';
import type { ParsedTap } from './tap-parser.js';

export type SuiteVerdict = Pick<SuiteResult, 'status' | 'tests' | 'errors' | 'kernelFindings' | 'exitCode'> & { plan?: { start: number; end: number } };

export function judgeSuite(tap: ParsedTap, ev: SuiteEvidence): SuiteVerdict {
  const tests: TestResult[] = [...tap.tests];
  if (ev.crashedTest && !tests.some((t) => t.id === ev.crashedTest?.id)) tests.push(ev.crashedTest);
  const errors = [...(ev.crashed ? [ev.crashed] : []), ...ev.harnessErrors, ...tap.errors];
  if (!ev.crashed) {
    if (ev.timedOutSec !== undefined) errors.push(`timed out after ${ev.timedOutSec} s and was killed`);
    else if (ev.exitCode !== null && ev.exitCode !== 0 && !tests.some((t) => t.status === 'fail')) errors.push(`exited with code ${ev.exitCode} without a failing test`);
  }
  const failed = tests.some((t) => t.status === 'fail') || errors.length > 0 || ev.kernelFindings.length > 0;
  const verdict: SuiteVerdict = { status: ev.crashed ? 'error' : failed ? 'fail' : 'pass', tests, errors, kernelFindings: [...ev.kernelFindings], exitCode: ev.exitCode };
  if (tap.plan) verdict.plan = { start: tap.plan.start, end: tap.plan.end };
  return verdict;
}
