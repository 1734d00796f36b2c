// Finds kernel trouble in dmesg: oopses, warnings, panics, and taint flags we did not expect.

const TROUBLE = [/\bBUG:/, /\bOops\b/, /\bWARNING:/, /general protection fault/, /Kernel panic/, /\bKASAN:/, /\bUBSAN:/, /possible circular locking/, /\bkernel BUG at\b/, /\bRIP:/];

/** Taint letters that loading our own out-of-tree, unsigned module is expected to set. */
const EXPECTED_TAINT = new Set(['O', 'E']);

/** Bits of /proc/sys/kernel/tainted and the letter each one prints as. */
const TAINT_LETTERS = 'PFSRMBUDAWCIOELKXTN';

export function taintLetters(mask: number): string[] {
  const letters: string[] = [];
  for (let bit = 0; bit < TAINT_LETTERS.length; bit++) {
    if (mask & (1 << bit)) letters.push(TAINT_LETTERS[bit] as string);
  }
  return letters;
}

/** Taint letters newly set between two readings that are not the expected module flags. */
export function unexpectedTaint(before: number, after: number): string[] {
  return taintLetters(after & ~before).filter((l) => !EXPECTED_TAINT.has(l));
}

/** Lines that show kernel trouble, each with up to `context` lines after it. */
export function scanDmesg(lines: string[], context = 12): string[] {
  const findings: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (TROUBLE.some((re) => re.test(line))) {
      findings.push(...lines.slice(i, i + 1 + context));
      i += context;
    }
  }
  return findings;
}
