// The kinds of line a (K)TAP stream has, and what a result line's directive means. Shared by the
// top-level parser (tap-parser.ts) and the nested subtest levels (ktap-subtests.ts).
import type { Status } from './model.js';

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

/**
 * A result line inside a subtest: "ok"/"not ok" then a space or the end. Stricter than the top
 * level's, since a program's plain output ("ok, done") is printed at these indentations too.
 */
export const NESTED_RESULT = /^(?:not )?ok(?:[ \t]|$)/i;
export const VERSION_LINE = /^K?TAP version (\d+)\s*$/;
export const PLAN_LINE = /^(\d+)\.\.(\d+)\s*(?:#\s*(.*))?$/;
export const BAIL_LINE = /^Bail out!\s*(.*)$/;
/** TAP 14's name for the subtest whose lines follow. */
export const SUBTEST_LINE = /^#\s*Subtest:\s*(.*)$/;

/**
 * A result's status from its ok/not ok and its directive (TAP: SKIP, TODO; KTAP adds XFAIL,
 * TIMEOUT, ERROR, case-insensitive as kselftest prints "# error"). XFAIL is an expected failure
 * like TODO; TIMEOUT and ERROR fail whatever the ok says, as the spec wants them "not ok".
 */
export function resultStatus(failed: boolean, comment: string): { status: Status; directive?: string } {
  const d = /^(skip|todo|xfail|timeout|error)\b\s*(.*)$/i.exec(comment);
  const status: Status = failed ? 'fail' : 'pass';
  if (!d) return { status };
  const word = (d[1] ?? '').toUpperCase();
  const directive = `${word}${d[2] ? ` ${d[2]}` : ''}`;
  if (word === 'SKIP') return { status: 'skip', directive };
  if (word === 'TODO' || word === 'XFAIL') return { status: 'todo', directive };
  return { status: 'fail', directive };
}

/** The suite's own measurement of a test ("# time=12.3ms"), if it printed one. */
export function reportedMs(comment: string): number | undefined {
  const time = /\btime=([\d.]+)ms\b/.exec(comment);
  return time ? Number(time[1]) : undefined;
}

/** Leading blanks: a line's nesting (KTAP indents each level by two spaces, TAP 14 by four). */
export function indentOf(line: string): number {
  return /^[ \t]*/.exec(line)?.[0].length ?? 0;
}
