// JUnit XML, the format CI systems read (checked against Jenkins' junit-10.xsd in the tests): one
// <testsuite> per suite with the target's kernel, accelerator and seed as properties, one
// <testcase> per test under a name unique in its suite, the totals on the root. A failure's
// message is its first diagnostic line, its diagnostics are the testcase's system-out. A crash
// is one error: the crashed test's, or the suite's when no test was running.
import type { RunResult, SuiteResult, TestResult } from './model.js';
import { suiteTrouble, targetOwnError } from './verdict.js';

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

/** An attribute value on one line: a newline in an attribute is read back as a space anyway. */
const attr = (text: string): string => xmlEscape(text.split('\n')[0] ?? '');

const seconds = (ms: number | undefined): string => ((ms ?? 0) / 1000).toFixed(3);

interface Totals {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  ms: number;
}

interface Rendered {
  lines: string[];
  totals: Totals;
}

/**
 * Each test's testcase name: its own, and "[test N]" after it when another test of the suite has
 * the same name (CI systems merge testcases of one name, so a second result would be lost).
 */
export function uniqueNames(tests: Pick<TestResult, 'id' | 'name'>[]): string[] {
  const count = new Map<string, number>();
  for (const t of tests) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  return tests.map((t) => ((count.get(t.name) ?? 0) > 1 ? `${t.name} [test ${t.id}]` : t.name));
}

function systemOut(lines: string[]): string[] {
  return lines.length ? [`      <system-out>${xmlEscape(lines.join('\n'))}</system-out>`] : [];
}

function testcaseXml(classname: string, name: string, test: TestResult, suiteTrouble: string[]): string[] {
  const open = `    <testcase classname="${attr(classname)}" name="${attr(name)}" time="${seconds(test.durationMs)}"`;
  const body = xmlEscape(test.diagnostics.join('\n'));
  const inner: string[] = [];
  if (test.status === 'fail') {
    inner.push(`      <failure type="not ok" message="${attr(test.diagnostics[0] ?? `${test.name}: not ok (no diagnostic)`)}">${body}</failure>`);
  } else if (test.status === 'error') {
    // The test a crash interrupted: it neither passed nor failed; the suite's crash report is its error.
    const report = [...test.diagnostics, ...suiteTrouble.filter((l) => !test.diagnostics.includes(l))];
    inner.push(`      <error type="crash" message="${attr(report[0] ?? 'crashed')}">${xmlEscape(report.join('\n'))}</error>`);
  } else if (test.status === 'skip') {
    inner.push(`      <skipped message="${attr(test.directive ?? 'SKIP')}"/>`);
  }
  inner.push(...systemOut(test.diagnostics));
  return inner.length ? [`${open}>`, ...inner, '    </testcase>'] : [`${open}/>`];
}

function suiteXml(suite: SuiteResult, prefix: string, properties: string[]): Rendered {
  const classname = prefix + suite.name;
  const trouble = [...suite.errors, ...suite.kernelFindings];
  // The suite's own trouble is one error of its own, unless a crashed test already carries it.
  const health = suiteTrouble(suite).length > 0;
  const totals: Totals = {
    tests: suite.tests.length + (health ? 1 : 0),
    failures: suite.tests.filter((t) => t.status === 'fail').length,
    errors: suite.tests.filter((t) => t.status === 'error').length + (health ? 1 : 0),
    skipped: suite.tests.filter((t) => t.status === 'skip').length,
    ms: suite.durationMs,
  };
  const names = uniqueNames(suite.tests);
  const lines = [
    `  <testsuite name="${attr(classname)}" tests="${totals.tests}" failures="${totals.failures}" errors="${totals.errors}" skipped="${totals.skipped}" time="${seconds(suite.durationMs)}">`,
    ...properties,
    ...suite.tests.flatMap((test, i) => testcaseXml(classname, names[i] ?? test.name, test, trouble)),
  ];
  if (health) {
    lines.push(
      `    <testcase classname="${attr(classname)}" name="suite health">`,
      `      <error type="suite" message="${attr(trouble[0] ?? '')}">${xmlEscape(trouble.join('\n'))}</error>`,
      ...systemOut(trouble),
      '    </testcase>',
    );
  }
  lines.push('  </testsuite>');
  return { lines, totals };
}

function infraXml(name: string, error: string, properties: string[]): Rendered {
  return {
    lines: [
      `  <testsuite name="${attr(name)}" tests="1" failures="0" errors="1" skipped="0" time="0">`,
      ...properties,
      `    <testcase classname="${attr(name)}" name="infrastructure">`,
      `      <error type="infrastructure" message="${attr(error)}">${xmlEscape(error)}</error>`,
      '    </testcase>',
      '  </testsuite>',
    ],
    totals: { tests: 1, failures: 0, errors: 1, skipped: 0, ms: 0 },
  };
}

/** What a CI system shows beside a suite's results: which kernel, how it ran, the seed to repeat it. */
function propertiesXml(run: RunResult): string[] {
  const props: [string, string | number | undefined][] = [
    ['target', run.target],
    ['kernel', run.kernel?.release],
    ['accelerator', run.accelerator],
    ['seed', run.seed],
    ['command', run.command],
  ];
  const set = props.filter((p): p is [string, string | number] => p[1] !== undefined);
  if (!set.length) return [];
  return ['    <properties>', ...set.map(([name, value]) => `      <property name="${name}" value="${attr(String(value))}"/>`), '    </properties>'];
}

function runXml(run: RunResult, prefix = ''): Rendered[] {
  const properties = propertiesXml(run);
  const body = run.suites.map((s) => suiteXml(s, prefix, properties));
  const own = targetOwnError(run);
  if (own !== undefined) body.push(infraXml(prefix ? prefix.slice(0, -1) : 'sockvm', own, properties));
  return body;
}

function document(id: string, parts: Rendered[]): string {
  const sum = (key: keyof Totals): number => parts.reduce((n, p) => n + p.totals[key], 0);
  const root = `<testsuites name="sockvm ${attr(id)}" tests="${sum('tests')}" failures="${sum('failures')}" errors="${sum('errors')}" time="${seconds(sum('ms'))}">`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n${parts.flatMap((p) => p.lines).join('\n')}\n</testsuites>\n`;
}

export function toJUnit(run: RunResult): string {
  return document(run.runId, runXml(run));
}

/** JUnit for a matrix run: suites named <target>/<suite>. */
export function toMatrixJUnit(runs: RunResult[], infraError?: string): string {
  const body = runs.flatMap((r) => runXml(r, `${r.target ?? 'target'}/`));
  if (infraError) body.push(infraXml('sockvm', infraError, []));
  return document(runs[0]?.runId ?? 'run', body);
}
