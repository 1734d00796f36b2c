// TAP 14 for the whole run: each suite is a subtest carrying its own tests.
import type { RunResult, SuiteResult, TestResult } from './model.js';

function testLine(test: TestResult, index: number): string {
  const ok = test.status === 'fail' || test.status === 'error' ? 'not ok' : 'ok';
  const directive = test.status === 'skip' || test.status === 'todo' ? ` # ${test.directive ?? test.status.toUpperCase()}` : '';
  return `${ok} ${index} - ${test.name}${directive}`;
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
