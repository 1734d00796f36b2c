// Parses the TAP a suite prints (TAP 13/14 and the KTAP subset our C library emits) into tests.
import type { Status, TestResult } from './model.js';

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

// The head of a result line; its description and '# directive' are split with indexOf, since a
// lazy description before optional spaces and comment is quadratic on a long run of spaces.
const TEST_HEAD = /^(not )?ok\b[ \t]*(\d+)?[ \t]*(?:-[ \t]*)?/i;

/** The first '#' not escaped by a backslash (TAP 14: `\#` is a '#' in the description). */
function unescapedHash(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '#') return i;
  }
  return -1;
}

/** `\#` → '#', `\\` → '\'; any other backslash stays. */
export function unescapeDescription(text: string): string {
  return text.includes('\\') ? text.replace(/\\([\\#])/g, '$1') : text;
}

/** A TAP result line's parts: failed, number, description, comment after '#'. */
export function splitTestLine(line: string): [boolean, string | undefined, string, string | undefined] | undefined {
  const head = TEST_HEAD.exec(line);
  if (!head) return undefined;
  const rest = line.slice(head[0].length);
  const hash = unescapedHash(rest);
  const desc = unescapeDescription((hash < 0 ? rest : rest.slice(0, hash)).trim());
  const comment = hash < 0 ? undefined : rest.slice(hash + 1).trimStart();
  return [Boolean(head[1]), head[2], desc, comment];
}
/** Our C library's "test N starts now" line, printed before the test runs. */
const RUNNING_LINE = /^#\s*running\s+(\d+)\s+-\s+(.*)$/;
const PLAN_LINE = /^(\d+)\.\.(\d+)\s*(?:#\s*(.*))?$/;

/** Incremental parser: feed lines as they stream in, then finish(). */
export class TapParser {
  private readonly result: ParsedTap = { tests: [], errors: [] };
  private last: TestResult | undefined;
  private inYaml = false;
  private nextId = 1;
  /** When the current test began: its "# running" line, else the previous result. */
  private mark: number;
  /** The test announced by "# running" and not yet reported. */
  running: RunningTest | undefined;

  /**
   * now: the clock for durations a suite does not report itself (ms); null for saved text, where
   * the time between lines is only the parser's, and a test has the duration it reported or none.
   */
  constructor(private readonly now: (() => number) | null = Date.now) {
    this.mark = now?.() ?? 0;
  }

  /** Returns the test this line completed, if any, so callers can stream results. */
  line(raw: string): TestResult | undefined {
    const line = raw.replace(/\r$/, '');
    const running = RUNNING_LINE.exec(line);
    if (running && !this.inYaml) {
      this.mark = this.now?.() ?? 0;
      this.running = { id: Number(running[1]), name: (running[2] ?? '').trim(), since: this.mark };
      return undefined;
    }
    if (this.inYaml) {
      if (/^\s*\.\.\.\s*$/.test(line)) this.inYaml = false;
      else this.last?.diagnostics.push(line.trim());
      return undefined;
    }
    // Only top-level lines count; indented lines are subtests or YAML.
    if (/^\s+---\s*$/.test(line) && this.last) {
      this.inYaml = true;
      return undefined;
    }
    const version = /^(?:K?TAP) version (\d+)/.exec(line);
    if (version) {
      this.result.version = Number(version[1]);
      return undefined;
    }
    const plan = PLAN_LINE.exec(line);
    if (plan) {
      if (this.result.plan) this.result.errors.push(`second plan line: ${line}`);
      this.result.plan = { start: Number(plan[1]), end: Number(plan[2]) };
      if (plan[3] && /^skip/i.test(plan[3])) this.result.plan.skipReason = plan[3];
      return undefined;
    }
    const bail = /^Bail out!\s*(.*)$/.exec(line);
    if (bail) {
      this.result.bailOut = bail[1] || 'bailed out';
      return undefined;
    }
    const diag = /^#\s?(.*)$/.exec(line);
    if (diag) {
      this.last?.diagnostics.push(diag[1] ?? '');
      return undefined;
    }
    const test = splitTestLine(line);
    if (!test) return undefined;
    const id = test[1] ? Number(test[1]) : this.nextId;
    if (id !== this.nextId) this.result.errors.push(`test ${id} out of order (expected ${this.nextId})`);
    this.nextId = id + 1;
    const comment = test[3] ?? '';
    const directive = /^(skip|todo)\b\s*(.*)$/i.exec(comment);
    let status: Status = test[0] ? 'fail' : 'pass';
    if (directive?.[1]?.toUpperCase() === 'SKIP') status = 'skip';
    else if (directive) status = 'todo';
    const result: TestResult = { id, name: test[2] || `test ${id}`, status, diagnostics: [] };
    if (directive) result.directive = `${directive[1]?.toUpperCase()}${directive[2] ? ` ${directive[2]}` : ''}`;
    // The suite's own measurement (# time=12.3ms) wins; else the time since the test began.
    const [, reported] = /\btime=([\d.]+)ms\b/.exec(comment) ?? [];
    const now = this.now?.();
    if (reported !== undefined) result.durationMs = Number(reported);
    else if (now !== undefined) result.durationMs = Math.max(0, now - this.mark);
    if (now !== undefined) this.mark = now;
    this.running = undefined;
    this.result.tests.push(result);
    this.last = result;
    return result;
  }

  finish(): ParsedTap {
    const { plan, tests } = this.result;
    if (!plan) {
      if (!this.result.bailOut) this.result.errors.push('no plan line: the suite ended before printing 1..N');
    } else if (!plan.skipReason) {
      const expected = plan.end - plan.start + 1;
      if (tests.length !== expected) {
        this.result.errors.push(`planned ${expected} tests but ran ${tests.length}`);
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
