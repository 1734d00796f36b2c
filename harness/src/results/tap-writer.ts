// TAP 14 for the whole run: each suite is a subtest carrying its own tests.
import type { RunResult, SuiteResult, TestResult } from './model.js';
import { judgeTest } from './verdict.js';

/** TAP 14: a '#' in a description starts its directive unless escaped, and so does `\`. */
export const escapeDescription = (text: string): string => text.replace(/[\\#]/g, '\\$&');

function testLine(test: TestResult, index: number): string {
  const ok = judgeTest(test) === 'failed' ? 'not ok' : 'ok';
  const directive = test.status === 'skip' || test.status === 'todo' ? ` # ${test.directive ?? test.status.toUpperCase()}` : '';
  const time = !directive && test.durationMs !== undefined ? ` # time=${test.durationMs.toFixed(3)}ms` : '';
  return `${ok} ${index} - ${escapeDescription(test.name)}${directive}${time}`;
}

function suiteBlock(suite: SuiteResult, index: number): string[] {
  const lines = [`# Subtest: ${suite.name}`];
  suite.tests.forEach((test, i) => {
    lines.push(`    ${testLine(test, i + 1)}`);
    for (const d of test.diagnostics) lines.push(`    # ${d}`);
  });
  lines.push(`    1..${suite.tests.length}`);
  for (const e of [...suite.errors, ...suite.kernelFindings]) lines.push(`    # ${e}`);
  lines.push(`${suite.status === 'pass' ? 'ok' : 'not ok'} ${index} - ${suite.name}`);
  return lines;
}

export function toTap(run: RunResult): string {
  const lines = ['TAP version 14'];
  run.suites.forEach((suite, i) => lines.push(...suiteBlock(suite, i + 1)));
  if (run.infraError) {
    lines.push(`Bail out! ${run.infraError.split('\n')[0]}`);
  }
  lines.push(`1..${run.suites.length}`);
  return `${lines.join('\n')}\n`;
}

/** TAP 14 for a matrix run: each target a subtest holding its suites as subtests. */
export function toMatrixTap(runs: RunResult[], infraError?: string): string {
  const lines = ['TAP version 14'];
  runs.forEach((run, i) => {
    lines.push(`# Subtest: ${run.target ?? run.runId}`);
    run.suites.forEach((suite, j) => lines.push(...suiteBlock(suite, j + 1).map((l) => `    ${l}`)));
    if (run.infraError) lines.push(`    # ${run.infraError.split('\n')[0]}`);
    lines.push(`    1..${run.suites.length}`);
    lines.push(`${run.status === 'pass' ? 'ok' : 'not ok'} ${i + 1} - ${run.target ?? run.runId}`);
  });
  if (infraError) lines.push(`Bail out! ${infraError.split('\n')[0]}`);
  lines.push(`1..${runs.length}`);
  return `${lines.join('\n')}\n`;
}
