// Parses the TAP a suite prints (TAP 13/14 and the KTAP subset our C library emits) into tests.
import type { Status, TestResult } from './model.js';

export interface ParsedTap {
  version?: number;
  plan?: { start: number; end: number; skipReason?: string };
  tests: TestResult[];
  bailOut?: string;
  /** Problems with the stream itself: bad plan, missing or duplicate test points. */
  errors: string[];
}

const TEST_LINE = /^(not )?ok\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(\w+)\b\s*(.*))?$/i;
const PLAN_LINE = /^(\d+)\.\.(\d+)\s*(?:#\s*(.*))?$/;

/** Incremental parser: feed lines as they stream in, then finish(). */
export class TapParser {
  private readonly result: ParsedTap = { tests: [], errors: [] };
  private last: TestResult | undefined;
  private inYaml = false;
  private nextId = 1;

  /** Returns the test this line completed, if any, so callers can stream results. */
  line(raw: string): TestResult | undefined {
    const line = raw.replace(/\r$/, '');
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
    const test = TEST_LINE.exec(line);
    if (!test) return undefined;
    const id = test[2] ? Number(test[2]) : this.nextId;
    if (id !== this.nextId) this.result.errors.push(`test ${id} out of order (expected ${this.nextId})`);
    this.nextId = id + 1;
    const directive = test[4]?.toUpperCase();
    let status: Status = test[1] ? 'fail' : 'pass';
    if (directive === 'SKIP') status = 'skip';
    else if (directive === 'TODO') status = 'todo';
    const result: TestResult = { id, name: (test[3] ?? '').trim() || `test ${id}`, status, diagnostics: [] };
    if (directive) result.directive = `${directive}${test[5] ? ` ${test[5]}` : ''}`;
    const time = /time=([\d.]+)ms/.exec(test[5] ?? '');
    if (time) result.durationMs = Number(time[1]);
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

export function parseTap(text: string): ParsedTap {
  const parser = new TapParser();
  for (const line of text.split('\n')) parser.line(line);
  return parser.finish();
}
