// Kernel-log diffing around a suite: where each guest's dmesg and taint stood before it, and the
// reports (oops, warnings, new taint) that appeared since.
import type { Guest } from '../guest/ssh.js';
import { reportLines, scanDmesg, unexpectedTaint } from '../results/dmesg-scan.js';
import type { LabGuest } from '../vm/lab.js';

export async function dmesgLines(guest: Guest): Promise<string[]> {
  return (await guest.run('dmesg')).split('\n').filter(Boolean);
}

async function taint(guest: Guest): Promise<number> {
  return Number((await guest.run('cat /proc/sys/kernel/tainted')).trim());
}

/** Where a guest's kernel log and taint stood. */
export interface KernelLogMark {
  dmesg: number;
  taint: number;
}

export async function markKernelLog(guest: Guest): Promise<KernelLogMark> {
  return { dmesg: (await dmesgLines(guest)).length, taint: await taint(guest) };
}

/**
 * The kernel reports a guest raised since `mark`, and its new taint; with more than one guest in
 * the lab each line names its guest.
 */
export async function kernelFindingsSince(g: LabGuest, mark: KernelLogMark | undefined, labSize: number): Promise<string[]> {
  const prefix = labSize > 1 ? `[${g.name}] ` : '';
  const fresh = (await dmesgLines(g.ssh)).slice(mark?.dmesg ?? 0);
  const findings = reportLines(scanDmesg(fresh)).map((l) => `${prefix}${l}`);
  const newTaint = unexpectedTaint(mark?.taint ?? 0, await taint(g.ssh));
  if (newTaint.length) findings.push(`${prefix}kernel newly tainted: ${newTaint.join('')}`);
  return findings;
}
