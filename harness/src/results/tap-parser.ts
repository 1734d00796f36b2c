// Parses the TAP a suite prints (TAP 13/14, and KTAP with nested subtests as kselftest and
// KUnit print them) into tests; nesting is ktap-subtests.ts's.
import { MAX_DIAGNOSTICS, SubtestLevel, addDiagnostic, parseResult, withSubtests } from './ktap-subtests.js';
import type { TestResult } from './model.js';
import { BAIL_LINE, NESTED_RESULT, PLAN_LINE, SUBTEST_LINE, VERSION_LINE, indentOf, splitTestLine } from './tap-lines.js';

export { splitTestLine, unescapeDescription } from './tap-lines.js';

export interface RunningTest {
  id: number;
  name: string;
  /** When its "# running" line arrived (the parser's clock). */
  since: number;
}

export interface ParsedTap {
  version?: number;
  plan?: { start: number; end: number; skipReason?: string };
  tests: TestResult[];
  bailOut?: string;
  /** Problems with the stream itself: bad plan, missing or duplicate test points. */
  errors: string[];
}

/** Our C library's (and the program-suite driver's) "test N starts now" line, printed before the test runs. */
const RUNNING_LINE = /^#\s*running\s+(\d+)\s+-\s+(.*)$/;

/** Incremental parser: feed lines as they stream in, then finish(). */
export class TapParser {
  private readonly result: ParsedTap = { tests: [], errors: [] };
  private last: TestResult | undefined;
  /** The test a YAML block belongs to, while inside one. */
  private yaml: TestResult | undefined;
  /** The result line just before (a YAML block must follow its result at once): its test and column. */
  private previousResult: { test: TestResult; indent: number } | undefined;
  private nextId = 1;
  /** Result lines at the top level (the plan counts these, not the subtests they carry). */
  private results = 0;
  /** When the current test began: its "# running" line, else the previous result. */
  private mark: number;
  /** Open subtest levels, outermost first. */
  private readonly levels: SubtestLevel[] = [];
  /** "# Subtest: name" seen at a level: the name of the level its next indented lines open. */
  private subtestName: string | undefined;
  /** The running test's indented output when it is no TAP: lines for its result's diagnostics. */
  private output: string[] = [];
  /** The test announced by "# running" and not yet reported. */
  running: RunningTest | undefined;

  /**
   * now: the clock for durations a suite does not report itself (ms); null for saved text, where
   * the time between lines is only the parser's, and a test has the duration it reported or none.
   */
  constructor(private readonly now: (() => number) | null = Date.now) {
    this.mark = now?.() ?? 0;
  }

  /** Returns the last test this line completed, if any, so callers can stream results. */
  line(raw: string): TestResult | undefined {
    return this.feed(raw).pop();
  }

  /** The tests this line completed: a parent's result line completes its subtests too. */
  feed(raw: string): TestResult[] {
    const line = raw.replace(/\r$/, '');
    const previous = this.previousResult;
    this.previousResult = undefined;
    if (this.yaml) {
      if (/^\s*\.\.\.\s*$/.test(line)) this.yaml = undefined;
      else addDiagnostic(this.yaml, line.trim());
      return [];
    }
    const indent = indentOf(line);
    const text = line.slice(indent);
    if (text === '---' || /^---\s*$/.test(text)) {
      if (previous && indent > previous.indent) this.yaml = previous.test;
      else if (!this.levels.length && indent > 0 && this.last) this.yaml = this.last;
      if (this.yaml) return [];
    }
    if (indent > 0 || (this.levels.length && !this.isTopLevelLine(text))) return this.nested(indent, text);
    return this.topLevel(text);
  }

  /** A line at column 0 that belongs to the top level even while subtests are open. */
  private isTopLevelLine(text: string): boolean {
    return Boolean(splitTestLine(text) ?? VERSION_LINE.exec(text) ?? PLAN_LINE.exec(text) ?? BAIL_LINE.exec(text) ?? RUNNING_LINE.exec(text));
  }

  private topLevel(line: string): TestResult[] {
    const running = RUNNING_LINE.exec(line);
    if (running) {
      this.mark = this.now?.() ?? 0;
      this.running = { id: Number(running[1]), name: (running[2] ?? '').trim(), since: this.mark };
      this.output = [];
      return [];
    }
    const version = VERSION_LINE.exec(line);
    if (version) {
      this.result.version = Number(version[1]);
      return [];
    }
    const plan = PLAN_LINE.exec(line);
    if (plan) {
      if (this.result.plan) this.result.errors.push(`second plan line: ${line}`);
      this.result.plan = { start: Number(plan[1]), end: Number(plan[2]) };
      if (plan[3] && /^skip/i.test(plan[3])) this.result.plan.skipReason = plan[3];
      return [];
    }
    const bail = BAIL_LINE.exec(line);
    if (bail) {
      this.result.bailOut = bail[1] || 'bailed out';
      return [];
    }
    const subtest = SUBTEST_LINE.exec(line);
    if (subtest) {
      this.subtestName = (subtest[1] ?? '').trim() || undefined;
      return [];
    }
    const diag = /^#\s?(.*)$/.exec(line);
    if (diag) {
      if (this.last) this.last.diagnostics.push(diag[1] ?? '');
      return [];
    }
    if (!splitTestLine(line)) return [];
    return this.complete(line, this.closeLevels(0));
  }

  /** A top-level result line: the test, and the subtests printed before it. */
  private complete(line: string, children: SubtestLevel | undefined): TestResult[] {
    const now = this.now?.();
    const test = parseResult(line, this.nextId, now === undefined ? undefined : now - this.mark);
    if (test.id !== this.nextId) this.result.errors.push(`test ${test.id} out of order (expected ${this.nextId})`);
    this.nextId = test.id + 1;
    this.results++;
    if (now !== undefined) this.mark = now;
    for (const out of this.output.splice(0)) addDiagnostic(test, out);
    this.running = undefined;
    const tests = withSubtests(test, line, children);
    this.result.tests.push(...tests);
    this.last = tests[tests.length - 1];
    if (this.last) this.previousResult = { test: this.last, indent: 0 };
    return tests;
  }

  /** Closes the levels deeper than `indent`; returns the outermost of them (the others join it). */
  private closeLevels(indent: number): SubtestLevel | undefined {
    let closed: SubtestLevel | undefined;
    while (this.levels.length && (this.levels[this.levels.length - 1]?.indent ?? 0) > indent) {
      const level = this.levels.pop() as SubtestLevel;
      if (closed) level.adoptOrphan(closed);
      closed = level;
    }
    return closed;
  }

  /** An indented line, or any line while subtests are open. */
  private nested(indent: number, text: string): TestResult[] {
    if (!text) return [];
    const isResult = NESTED_RESULT.test(text);
    const subtest = SUBTEST_LINE.exec(text);
    let inner = this.levels[this.levels.length - 1];
    if (isResult) {
      // A result closes the deeper levels (its subtests) and belongs to the level at its column.
      const children = this.closeLevels(indent);
      inner = this.levels[this.levels.length - 1];
      if (!inner || inner.indent < indent) inner = this.open(indent, undefined);
      const tests = inner.result(text, children);
      const last = tests[tests.length - 1];
      if (last) this.previousResult = { test: last, indent };
      return [];
    }
    const opens = Boolean(VERSION_LINE.exec(text) ?? PLAN_LINE.exec(text) ?? subtest ?? BAIL_LINE.exec(text));
    if (opens && indent > (inner?.indent ?? 0)) {
      const level = this.open(indent, subtest ? (subtest[1] ?? '').trim() || undefined : undefined);
      if (!subtest) level.info(text);
    } else if (subtest) {
      this.subtestName = (subtest[1] ?? '').trim() || undefined;
    } else if (inner) {
      inner.info(text);
    } else if (this.running && this.output.length <= MAX_DIAGNOSTICS) {
      this.output.push(text);
    }
    return [];
  }

  /** A new level at `indent`, named by "# Subtest:", else (outermost) by the test announced to run. */
  private open(indent: number, name: string | undefined): SubtestLevel {
    const level = new SubtestLevel(indent, name ?? this.subtestName ?? (this.levels.length ? undefined : this.running?.name), this.now);
    this.subtestName = undefined;
    this.levels.push(level);
    return level;
  }

  finish(): ParsedTap {
    // A stream that ends inside subtests (the program was killed): keep the subtests it reported.
    const open = this.closeLevels(-1);
    if (open) {
      const name = open.name ?? 'subtest';
      const { errors } = open.finish();
      this.result.errors.push(`subtest ${name} ended without its result line`, ...errors.map((e) => `${name}: ${e}`));
      const id = this.running?.id ?? this.nextId;
      this.result.tests.push(...open.tests.map((t) => ({ ...t, id, name: `${name}/${t.name}` })));
    }
    const { plan } = this.result;
    if (!plan) {
      if (!this.result.bailOut) this.result.errors.push('no plan line: the suite ended before printing 1..N');
    } else if (!plan.skipReason) {
      const expected = plan.end - plan.start + 1;
      if (this.results !== expected) {
        this.result.errors.push(`planned ${expected} tests but ran ${this.results}`);
      }
    }
    if (this.result.bailOut) this.result.errors.push(`Bail out! ${this.result.bailOut}`);
    return this.result;
  }
}

/** Saved TAP text: durations are the ones the suite reported (# time=), never the parser's clock. */
export function parseTap(text: string): ParsedTap {
  const parser = new TapParser(null);
  for (const line of text.split('\n')) parser.line(line);
  return parser.finish();
}
