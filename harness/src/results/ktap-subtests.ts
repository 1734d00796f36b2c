// Nested (K)TAP: a test's subtests, printed indented before the parent's result line (KTAP opens
// them with a version line, TAP 14 with "# Subtest: name" or the indented lines themselves). Each
// open level is a SubtestLevel; when the parent's result line arrives its subtests become tests
// named parent/child, and the parent stays a test of its own only when it says something they
// do not: it failed while none of them did (a program that exited non-zero with every TAP line
// ok), or its stream was broken (missing tests, bail out), or it printed TAP but no test result.
import type { TestResult } from './model.js';
import { BAIL_LINE, PLAN_LINE, VERSION_LINE, reportedMs, resultStatus, splitTestLine } from './tap-lines.js';
import { judgeTest } from './verdict.js';

/** Lines kept per test as its diagnostics; a chatty program's rest stays in the suite's .tap file. */
export const MAX_DIAGNOSTICS = 200;

export function addDiagnostic(test: { diagnostics: string[] }, line: string): void {
  if (test.diagnostics.length < MAX_DIAGNOSTICS) test.diagnostics.push(line);
  else if (test.diagnostics.length === MAX_DIAGNOSTICS) test.diagnostics.push(`… more lines in the suite's .tap file`);
}

/** One level of subtests, its lines given without their indentation. */
export class SubtestLevel {
  version?: number;
  plan?: { start: number; end: number; skipReason?: string };
  bailOut?: string;
  readonly errors: string[] = [];
  /** Its subtests, flattened: a nested level's tests are already named child/grandchild. */
  readonly tests: TestResult[] = [];
  /** Result lines at this level (its plan counts these, not the flattened tests). */
  private results = 0;
  private nextId = 1;
  /** Diagnostic and unknown lines waiting for the result they precede (KTAP's rule). */
  private pending: string[] = [];
  private mark: number;

  /** indent: the column its lines start at; name: from "# Subtest:" or the test announced to run. */
  constructor(
    readonly indent: number,
    public name: string | undefined,
    private readonly now: (() => number) | null,
  ) {
    this.mark = now?.() ?? 0;
  }

  /** A version, plan, bail-out, diagnostic or unknown line of this level. */
  info(text: string): void {
    const version = VERSION_LINE.exec(text);
    if (version) {
      if (this.version === undefined && this.results === 0) this.version = Number(version[1]);
      return;
    }
    const plan = PLAN_LINE.exec(text);
    if (plan) {
      if (this.plan) this.errors.push(`second plan line: ${text}`);
      this.plan = { start: Number(plan[1]), end: Number(plan[2]) };
      if (plan[3] && /^skip/i.test(plan[3])) this.plan.skipReason = plan[3].replace(/^skip\s*/i, '');
      return;
    }
    const bail = BAIL_LINE.exec(text);
    if (bail) {
      this.bailOut = bail[1] || 'bailed out';
      return;
    }
    if (this.pending.length <= MAX_DIAGNOSTICS) this.pending.push(text.replace(/^#\s?/, ''));
  }

  /**
   * A result line of this level, with the level its subtests were printed in (closed by it).
   * Returns the tests it stands for: the parent's subtests and maybe the parent itself.
   */
  result(text: string, children?: SubtestLevel): TestResult[] {
    const now = this.now?.();
    const test = parseResult(text, this.nextId, now === undefined ? undefined : now - this.mark);
    if (now !== undefined) this.mark = now;
    if (test.id !== this.nextId) this.errors.push(`test ${test.id} out of order (expected ${this.nextId})`);
    this.nextId = test.id + 1;
    this.results++;
    if (!splitTestLine(text)?.[2]) {
      // kselftest_harness.h prints a skipped test as "ok N # SKIP reason", its name only in "#  RUN name ...".
      const run = this.pending.map((l) => /^\s*RUN\s+(\S+)\s+\.\.\.$/.exec(l)?.[1]).filter(Boolean).pop();
      if (run) test.name = run;
    }
    for (const line of this.pending.splice(0)) addDiagnostic(test, line);
    const tests = withSubtests(test, text, children);
    this.tests.push(...tests);
    return tests;
  }

  /** Closes the level: its stream's problems, and lines no result claimed, for the parent. */
  finish(): { errors: string[]; trailing: string[] } {
    const errors = [...this.errors];
    if (this.plan && !this.plan.skipReason && this.plan.end - this.plan.start + 1 !== this.results)
      errors.push(`planned ${this.plan.end - this.plan.start + 1} tests but ran ${this.results}`);
    if (this.bailOut) errors.push(`Bail out! ${this.bailOut}`);
    return { errors, trailing: this.pending.splice(0) };
  }

  /** A deeper level that ended without its parent's result line: its tests join this one. */
  adoptOrphan(orphan: SubtestLevel): void {
    const name = orphan.name ?? 'subtest';
    const { errors } = orphan.finish();
    this.errors.push(`subtest ${name} ended without its result line`, ...errors.map((e) => `${name}: ${e}`));
    this.tests.push(...orphan.tests.map((t) => ({ ...t, name: `${name}/${t.name}` })));
  }
}

/** A result line as a test; its duration the suite's own "time=", else `elapsedMs`. */
/** elapsedMs: the time since the test began, by the parser's clock; undefined for saved text (no clock). */
export function parseResult(text: string, expectedId: number, elapsedMs: number | undefined): TestResult {
  const [failed, number, description, comment = ''] = splitTestLine(text) ?? [false, undefined, text, ''];
  const id = number ? Number(number) : expectedId;
  const { status, directive } = resultStatus(failed, comment);
  const test: TestResult = { id, name: description || `test ${id}`, status, diagnostics: [] };
  if (directive) test.directive = directive;
  const ms = reportedMs(comment) ?? (elapsedMs === undefined ? undefined : Math.max(0, elapsedMs));
  if (ms !== undefined) test.durationMs = ms;
  return test;
}

/**
 * The tests a parent's result line stands for once its subtests are known: each subtest as
 * parent/child (with the parent's id, the number its suite knows, and its own path of numbers
 * as idPath: 3.2 for subtest 2 of test 3), and the parent when it has
 * no subtests or says something they do not.
 */
export function withSubtests(parent: TestResult, text: string, children?: SubtestLevel): TestResult[] {
  if (!children) return [parent];
  const { errors, trailing } = children.finish();
  for (const line of trailing) addDiagnostic(parent, line);
  const subtests = children.tests.map((t) => ({ ...t, id: parent.id, idPath: `${parent.id}.${t.idPath ?? t.id}`, name: `${parent.name}/${t.name}` }));
  const problems = [...errors];
  const reportedFailed = parent.status === 'fail';
  const exit = /(?:^|[\s#])exit=(\d+)\b/.exec(splitTestLine(text)?.[3] ?? '')?.[1];
  if (subtests.length === 0 && problems.length === 0 && judgeTest(parent) === 'passed') {
    const reason = children.plan?.skipReason;
    if (children.plan && reason !== undefined) {
      parent.status = 'skip';
      parent.directive = `SKIP${reason ? ` ${reason}` : ''}`;
    } else {
      const said = children.version !== undefined ? `printed TAP version ${children.version}` : children.plan ? 'printed a plan' : 'printed TAP';
      problems.push(`${said} but no test result: nothing was tested, so this is no pass`);
    }
  }
  const failedSubtest = subtests.some((t) => judgeTest(t) === 'failed');
  if (problems.length && parent.status !== 'fail') {
    parent.status = 'fail';
    delete parent.directive;
  }
  if (reportedFailed && !failedSubtest && subtests.length) {
    const how = exit !== undefined ? `exited with code ${exit}` : 'reported not ok';
    problems.unshift(`${how} although none of its ${subtests.length} subtests failed: a failure all the same`);
  }
  parent.diagnostics.unshift(...problems);
  const parentSays = subtests.length === 0 || (parent.status === 'fail' && (!failedSubtest || errors.length > 0));
  return parentSays ? [...subtests, parent] : subtests;
}
