// Finds kernel trouble in dmesg: oopses, warnings, panics, sanitizer, lockdep, hung-task and
// refcount reports, and taint flags we did not expect. Each distinct report is kept once, with
// how often it happened.

const TROUBLE = [
  /\bBUG:/,
  /\bOops\b/,
  /\bWARNING:/,
  /general protection fault/,
  /Kernel panic/,
  /\bKASAN:/,
  /\bUBSAN:/,
  /\bkernel BUG at\b/,
  /possible (circular|recursive) locking/,
  /inconsistent lock state/,
  /blocked for more than \d+ seconds/,
  /refcount_t: /,
  /unreferenced object/,
  /\bODEBUG:/,
  /rcu: INFO: rcu_\w+ (self-)?detected (expedited )?stalls?/,
  /detected (hard|soft) LOCKUP/,
];

/** The line a kernel report ends with; a report seen after it is a new one. */
const REPORT_END = /---\[ end (trace|Kernel panic)/;

/** Taint letters that loading our own out-of-tree, unsigned module is expected to set. */
const EXPECTED_TAINT = new Set(['O', 'E']);

/** Bits of /proc/sys/kernel/tainted and the letter each one prints as. */
const TAINT_LETTERS = 'PFSRMBUDAWCIOELKXTN';

export function taintLetters(mask: number): string[] {
  return [...TAINT_LETTERS].filter((_, bit) => (mask & (1 << bit)) !== 0);
}

/** Taint letters newly set between two readings that are not the expected module flags. */
export function unexpectedTaint(before: number, after: number): string[] {
  return taintLetters(after & ~before).filter((l) => !EXPECTED_TAINT.has(l));
}

export interface KernelReport {
  /** The report's first line with timestamps, addresses, PIDs and CPU numbers taken out. */
  fingerprint: string;
  lines: string[];
  count: number;
}

/** A report's identity: same bug, same place → same fingerprint, whatever the run's numbers. */
export function fingerprint(line: string): string {
  return line
    .replace(/^\[\s*\d+\.\d+\]\s*/, '')
    .replace(/0x[0-9a-f]+/gi, '0x…')
    .replace(/\b[0-9a-f]{8,16}\b/gi, '…')
    .replace(/\b(PID|pid|CPU|cpu|task|comm)[: ]\s*\S+/g, '$1 …')
    .trim();
}

/**
 * Distinct reports, each with up to `context` lines after its first line. Trouble lines inside
 * a report's context (an oops's "BUG:" then "Oops:") belong to it, unless the report ended
 * ("---[ end trace") first.
 */
export function scanDmesg(lines: string[], context = 12): KernelReport[] {
  const reports = new Map<string, KernelReport>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!; // i < lines.length: the loop's condition, the line before
    if (!TROUBLE.some((re) => re.test(line))) continue;
    let end = Math.min(lines.length, i + 1 + context);
    const close = lines.slice(i + 1, end).findIndex((l) => REPORT_END.test(l));
    if (close >= 0) end = i + 2 + close;
    const fp = fingerprint(line);
    const seen = reports.get(fp);
    if (seen) seen.count++;
    else reports.set(fp, { fingerprint: fp, lines: lines.slice(i, end), count: 1 });
    i = end - 1;
  }
  return [...reports.values()];
}

/** Reports as result lines: each report's lines, with a repeat count on the first. */
export function reportLines(reports: KernelReport[]): string[] {
  return reports.flatMap((r) => [`${r.lines[0] ?? ''}${r.count > 1 ? ` (×${r.count})` : ''}`, ...r.lines.slice(1)]);
}
