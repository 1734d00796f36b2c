// JUnit XML, the format CI systems read: one <testsuite> per suite, one <testcase> per test.
import type { RunResult, SuiteResult } from './model.js';

export function xmlEscape(text: string): string {
  return text
    // Characters XML 1.0 forbids: C0 controls but tab/LF/CR, U+FFFE/U+FFFF, unpaired surrogates.
    // eslint-disable-next-line no-control-regex -- matching control characters is the point here
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(3);

function suiteXml(suite: SuiteResult, prefix = ''): string {
  const failures = suite.tests.filter((t) => t.status === 'fail').length;
  const skipped = suite.tests.filter((t) => t.status === 'skip').length;
  const crashed = suite.tests.filter((t) => t.status === 'error').length;
  const errors = suite.errors.length + suite.kernelFindings.length > 0 ? 1 : 0;
  const lines = [
    `  <testsuite name="${xmlEscape(prefix + suite.name)}" tests="${suite.tests.length + errors}" failures="${failures}" errors="${errors + crashed}" skipped="${skipped}" time="${seconds(suite.durationMs)}">`,
  ];
  for (const test of suite.tests) {
    const open = `    <testcase classname="${xmlEscape(prefix + suite.name)}" name="${xmlEscape(test.name)}" time="${seconds(test.durationMs)}"`;
    const body = test.diagnostics.length ? xmlEscape(test.diagnostics.join('\n')) : '';
    if (test.status === 'fail') {
      lines.push(`${open}>`, `      <failure message="${xmlEscape(test.name)}">${body}</failure>`, '    </testcase>');
    } else if (test.status === 'error') {
      // The test a crash interrupted: it neither passed nor failed.
      lines.push(`${open}>`, `      <error message="${xmlEscape(test.diagnostics[0] ?? 'crashed')}">${body}</error>`, '    </testcase>');
    } else if (test.status === 'skip') {
      lines.push(`${open}>`, `      <skipped message="${xmlEscape(test.directive ?? 'SKIP')}"/>`, '    </testcase>');
    } else {
      lines.push(`${open}/>`);
    }
  }
  if (errors) {
    const text = [...suite.errors, ...suite.kernelFindings].join('\n');
    lines.push(
      `    <testcase classname="${xmlEscape(prefix + suite.name)}" name="suite health">`,
      `      <error message="${xmlEscape(suite.errors[0] ?? suite.kernelFindings[0] ?? '')}">${xmlEscape(text)}</error>`,
      '    </testcase>',
    );
  }
  lines.push('  </testsuite>');
  return lines.join('\n');
}

function infraXml(name: string, error: string): string[] {
  return [
    `  <testsuite name="${xmlEscape(name)}" tests="1" failures="0" errors="1" skipped="0" time="0">`,
    `    <testcase classname="${xmlEscape(name)}" name="infrastructure"><error message="${xmlEscape(error)}"/></testcase>`,
    '  </testsuite>',
  ];
}

function runXml(run: RunResult, prefix = ''): string[] {
  const body = run.suites.map((s) => suiteXml(s, prefix));
  if (run.infraError) body.push(...infraXml(prefix ? prefix.slice(0, -1) : 'sockvm', run.infraError));
  return body;
}

const document = (id: string, body: string[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="sockvm ${xmlEscape(id)}">\n${body.join('\n')}\n</testsuites>\n`;

export function toJUnit(run: RunResult): string {
  return document(run.runId, runXml(run));
}

/** JUnit for a matrix run: suites named <target>/<suite>. */
export function toMatrixJUnit(runs: RunResult[], infraError?: string): string {
  const body = runs.flatMap((r) => runXml(r, `${r.target ?? 'target'}/`));
  if (infraError) body.push(...infraXml('sockvm', infraError));
  return document(runs[0]?.runId ?? 'run', body);
}
