// results.tap: one stream that is KTAP v1 and TAP 14 at once, so kunit's parser, tap-parser and
// (as TAP 13) Perl's prove all read it. What makes that work: every level's plan comes first
// (kunit counts a subtest's lines by its plan, it ignores indentation), a subtest starts with
// "# Subtest: <name>", no "Bail out!" ever (an infrastructure error is a failing test point
// named "infrastructure", a suite's failure besides its tests one named "suite health", as in
// junit.xml: kunit and tap-parser count points), and no line a guest wrote can open a subtest.
import type { RunResult, SuiteResult, TestResult } from './model.js';
import { UsageError } from '../util/errors.js';
import { judgeTest, suiteTrouble, targetOwnError } from './verdict.js';

/** 14 (the default) or 13 for Perl's prove, which refuses version 14; the lines are the same. */
export type TapVersion = 13 | 14;

/** --tap-version's value: 14 unless given; anything but 13 or 14 is a usage error naming the fix. */
export function parseTapVersion(value: string | undefined): TapVersion {
  if (value === undefined || value === '14') return 14;
  if (value === '13') return 13;
  throw new UsageError(`--tap-version ${value}: expected 14 (TAP 14 and KTAP v1, the default) or 13 (for Perl's prove)`);
}

/** TAP 14: a '#' in a description starts its directive unless escaped, and so does `\`. */
export const escapeDescription = (text: string): string => text.replace(/[\\#]/g, '\\$&').replace(/[\r\n]+/g, ' ');

/**
 * Diagnostic text as '# ' lines, one per line of it. A line a parser would take for a subtest
 * header ("# Subtest: x", kunit's and tap-parser's) gets a '>' before it: a guest's text stays text.
 */
export function diagnosticLines(text: string): string[] {
  return text.split(/\r?\n|\r/).map((line) => `# ${/^\s*Subtest:/i.test(line) ? `> ${line}` : line}`.trimEnd());
}

function testLine(test: TestResult, index: number): string {
  const ok = judgeTest(test) === 'failed' ? 'not ok' : 'ok';
  const directive = test.status === 'skip' || test.status === 'todo' ? ` # ${(test.directive ?? test.status.toUpperCase()).replace(/[\r\n]+/g, ' ')}` : '';
  const time = !directive && test.durationMs !== undefined ? ` # time=${test.durationMs.toFixed(3)}ms` : '';
  return `${ok} ${index} - ${escapeDescription(test.name)}${directive}${time}`;
}

const indent = (lines: string[]): string[] => lines.map((l) => `    ${l}`);

/** A subtest: its header, its plan, its points (each with its diagnostics), then its own result line. */
function subtest(name: string, index: number, ok: boolean, points: string[][], trailer: string[] = []): string[] {
  return [`# Subtest: ${escapeDescription(name)}`, ...indent([`1..${points.length}`, ...points.flat(), ...trailer]), `${ok ? 'ok' : 'not ok'} ${index} - ${escapeDescription(name)}`];
}

/** The failing point that stands for an infrastructure error (the run's or a target's). */
function infrastructurePoint(error: string, index: number): string[] {
  return [`not ok ${index} - infrastructure`, ...diagnosticLines(error)];
}

/**
 * A suite: its tests, then a failing "suite health" point for what failed it besides them (as in
 * junit.xml). A crashed test carries the crash: the suite's report then follows it as diagnostics.
 */
function suiteBlock(suite: SuiteResult, index: number): string[] {
  const points = suite.tests.map((test, i) => [testLine(test, i + 1), ...test.diagnostics.flatMap(diagnosticLines)]);
  const health = suiteTrouble(suite);
  if (health.length) points.push([`not ok ${points.length + 1} - suite health`, ...health.flatMap(diagnosticLines)]);
  const trailer = health.length ? [] : [...suite.errors, ...suite.kernelFindings].flatMap(diagnosticLines);
  return subtest(suite.name, index, suite.status === 'pass', points, trailer);
}

/** A target's points: its suites, then its own infrastructure error when its suites do not report it. */
function targetPoints(run: RunResult): string[][] {
  const points = run.suites.map((suite, i) => suiteBlock(suite, i + 1));
  const own = targetOwnError(run);
  if (own !== undefined) points.push(infrastructurePoint(own, points.length + 1));
  return points;
}

const stream = (version: TapVersion, points: string[][]): string => `${[`TAP version ${version}`, `1..${points.length}`, ...points.flat()].join('\n')}\n`;

/** One target's run: each suite a subtest of its tests. */
export function toTap(run: RunResult, version: TapVersion = 14): string {
  return stream(version, targetPoints(run));
}

/** A matrix run: each target a subtest holding its suites as subtests. */
export function toMatrixTap(runs: RunResult[], infraError?: string, version: TapVersion = 14): string {
  const points = runs.map((run, i) => subtest(run.target ?? run.runId, i + 1, run.status === 'pass', targetPoints(run)));
  if (infraError !== undefined) points.push(infrastructurePoint(infraError, points.length + 1));
  return stream(version, points);
}
