// The one place that decides whether a test, a suite, a target and the run passed, and with
// which exit code. The summary, TAP, JUnit and results.json read what it decided.
// Exit codes: 0 every test ran and passed; 1 a test or suite failed, or nothing was tested;
// 2 infrastructure (build, boot, guest crash); 130/143 interrupted (SIGINT/SIGTERM).
import type { RunResult, SuiteEvidence, SuiteResult, TestResult } from './model.js';
import type { ParsedTap } from './tap-parser.js';

/** A test's outcome: TODO counts as passed (a known failure), a crashed test as failed. */
export function judgeTest(test: Pick<TestResult, 'status'>): 'passed' | 'failed' | 'skipped' {
  if (test.status === 'pass' || test.status === 'todo') return 'passed';
  return test.status === 'skip' ? 'skipped' : 'failed';
}

/** Tests passed, failed and skipped over some suites. */
export function countTests(suites: Pick<SuiteResult, 'tests'>[]): { passed: number; failed: number; skipped: number } {
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const suite of suites) for (const test of suite.tests) counts[judgeTest(test)]++;
  return counts;
}

/**
 * A suite from its TAP and what the run showed besides (exit code, timeout, a dead guest, kernel
 * findings): the runner judges with it as the suite ends, `sockvm parse` again from saved files.
 */
export type SuiteVerdict = Pick<SuiteResult, 'status' | 'tests' | 'errors' | 'kernelFindings' | 'exitCode'> & { plan?: { start: number; end: number } };

export function judgeSuite(tap: ParsedTap, ev: SuiteEvidence): SuiteVerdict {
  const tests: TestResult[] = [...tap.tests];
  // The crashed test's result line never came; a program's subtests before the crash share its id.
  const crashed = ev.crashedTest;
  if (crashed && !tests.some((t) => t.id === crashed.id && t.name === crashed.name)) tests.push(crashed);
  const errors = [...(ev.crashed ? [ev.crashed] : []), ...ev.harnessErrors, ...tap.errors];
  if (!ev.crashed) {
    // First: the TAP it left unfinished ("planned 2 tests but ran 1") is what the limit did, not why.
    if (ev.timedOutSec !== undefined) errors.unshift(`timed out after ${ev.timedOutSec} s and was killed`);
    else if (ev.exitCode !== null && ev.exitCode !== 0 && !tests.some((t) => t.status === 'fail')) errors.push(`exited with code ${ev.exitCode} without a failing test`);
  }
  const failed = tests.some((t) => t.status === 'fail') || errors.length > 0 || ev.kernelFindings.length > 0;
  const verdict: SuiteVerdict = { status: ev.crashed ? 'error' : failed ? 'fail' : 'pass', tests, errors, kernelFindings: [...ev.kernelFindings], exitCode: ev.exitCode };
  if (tap.plan) verdict.plan = { start: tap.plan.start, end: tap.plan.end };
  return verdict;
}

export interface Verdict {
  status: 'pass' | 'fail' | 'error';
  exitCode: number;
  /** Why a run whose suites all passed is still not green (nothing was tested). */
  problem?: string;
  /** A target's infrastructure trouble no stage reported: a guest crashed under a suite. */
  infraError?: string;
}

/**
 * A target passes only when at least one test ran (passed or failed, not skipped) and nothing
 * failed: a filter that matches no test, or suites that skipped everything, prove nothing.
 */
export function judgeTarget(run: RunResult, opts: { testFilter?: string; interruptExit?: number } = {}): Verdict {
  const failedSuites =
    run.suites.filter((s) => s.status !== 'pass').length + (run.guest?.unloadFindings?.length ? 1 : 0) + (run.guest?.kmemleak?.length ? 1 : 0) + (run.coverageFloor && !run.coverageFloor.met ? 1 : 0);
  const { passed, failed, skipped } = countTests(run.suites);
  const infraError = run.infraError ?? crashError(run.suites);
  let problem: string | undefined;
  // A command, a shell or kept guests without suites: what the user ran is the verdict.
  const access = run.guestAccess;
  const ran = access !== undefined && access.mode !== 'keep';
  const commandExit = ran && typeof access.exitCode === 'number' ? access.exitCode : 0;
  const accessFindings = access?.kernelFindings?.length ?? 0;
  const nothingAsked = access !== undefined && run.suites.length === 0;
  if (!infraError && !failedSuites && passed + failed === 0 && !nothingAsked) {
    if (run.suites.length === 0) problem = 'no test ran: no suite was selected';
    else if (opts.testFilter !== undefined && skipped > 0)
      problem = `no test ran: --test '${opts.testFilter}' matched none of the ${skipped} tests of ${run.suites.map((s) => s.name).join(', ')} (a test matches by its name or <suite>/<name>; see the names in the suites' .tap files)`;
    else problem = `no test ran: ${run.suites.map((s) => s.name).join(', ')} reported ${skipped} skipped and none passed or failed`;
  }
  if (!problem && run.coverageFloor && !run.coverageFloor.met && !run.coverage) {
    problem = `this target's coverageFloor ${run.coverageFloor.percent}% could not be checked: no coverage was measured (sockvm-trace was not built or the module's handler tables were not found); see the run's notices`;
  } else if (!problem && run.coverageFloor && !run.coverageFloor.met && run.coverage && run.coverage.handlers.total === 0) {
    problem = `this target's coverageFloor ${run.coverageFloor.percent}% could not be checked: no handler table was found in newtcp.ko`;
  } else if (!problem && run.coverageFloor && !run.coverageFloor.met && run.coverage) {
    const c = run.coverage;
    problem = `handler coverage ${c.handlers.percent}% (${c.handlers.reached}/${c.handlers.total}) is under this target's coverageFloor ${run.coverageFloor.percent}% over ${c.suites.join(', ')}: add tests that reach ${c.unreachedHandlers.slice(0, 5).join(', ')}${c.unreachedHandlers.length > 5 ? ', …' : ''}, or run more suites`;
  }
  const status = infraError ? 'error' : failedSuites || problem || commandExit !== 0 || accessFindings ? 'fail' : 'pass';
  // With a command the exit code is the command's; a failure besides it (a suite, a kernel report) makes a 0 into 1.
  const failCode = commandExit !== 0 ? commandExit : 1;
  const exitCode = opts.interruptExit ?? (status === 'error' ? 2 : status === 'fail' ? failCode : 0);
  return { status, exitCode, ...(problem ? { problem } : {}), ...(infraError && !run.infraError ? { infraError } : {}) };
}

/**
 * What failed a suite apart from its tests (errors, kernel findings) when no crashed test carries
 * it: the reports add it as one failing point of its own ("suite health"), so a consumer that
 * counts test points (kunit, a JUnit view) sees the failure; empty when there is none.
 */
export function suiteTrouble(suite: Pick<SuiteResult, 'errors' | 'kernelFindings' | 'tests'>): string[] {
  if (suite.tests.some((t) => t.status === 'error')) return [];
  return [...suite.errors, ...suite.kernelFindings];
}

/** The infrastructure error a target gets from suites whose guest crashed under them, if any. */
export function crashError(suites: Pick<SuiteResult, 'name' | 'status'>[]): string | undefined {
  const crashed = suites.filter((s) => s.status === 'error').map((s) => s.name);
  return crashed.length ? `the guest crashed during ${crashed.join(', ')} (the remaining suites ran on a fresh guest)` : undefined;
}

/**
 * A target's infrastructure error that its suites do not already report: the reports count a
 * crash once, as the suite's (and its crashed test's) error, not again for the target.
 */
export function targetOwnError(run: Pick<RunResult, 'infraError' | 'suites'>): string | undefined {
  return run.infraError !== undefined && run.infraError !== crashError(run.suites) ? run.infraError : undefined;
}

/** The exit code of an interrupt (SIGINT 130, SIGTERM 143) when `code` is one, else undefined. */
export function interruptExit(code: number): number | undefined {
  return code === 130 || code === 143 ? code : undefined;
}

/** The run's verdict over its targets: the worst exit code; a set-up failure is infrastructure. */
export function judgeRun(targets: { exitCode: number }[], opts: { setupError?: string; interruptExit?: number } = {}): Verdict {
  if (opts.interruptExit !== undefined) return { status: 'error', exitCode: opts.interruptExit };
  if (opts.setupError) return { status: 'error', exitCode: 2 };
  if (targets.length === 0) return { status: 'fail', exitCode: 1, problem: 'no test ran: no target was run' };
  const exitCode = Math.max(0, ...targets.map((r) => r.exitCode));
  return { status: exitCode === 0 ? 'pass' : exitCode === 1 ? 'fail' : 'error', exitCode };
}
