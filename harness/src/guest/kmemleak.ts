// kmemleak on kernels that have it (the debug target): suspects from boot are marked seen before
// the module loads, and one scan after the suites reports what the run leaked.
import type { Guest } from './ssh.js';
import { reportLines, scanDmesg } from '../results/dmesg-scan.js';

const KMEMLEAK = '/sys/kernel/debug/kmemleak';
/** A scan walks all of memory; under TCG with a KASAN kernel that takes a while. */
const SCAN_TIMEOUT_MS = 300000;

/** Scans once and clears: leaks found so far are not the module's. False when there is no kmemleak. */
export async function kmemleakBaseline(guest: Guest): Promise<boolean> {
  if ((await guest.exec(`[ -w ${KMEMLEAK} ]`, { timeoutMs: 10000 })).code !== 0) return false;
  await guest.run(`echo scan > ${KMEMLEAK} && echo clear > ${KMEMLEAK}`, SCAN_TIMEOUT_MS);
  return true;
}

/**
 * Scans and returns the reports, one per distinct leak. kmemleak ignores objects younger than
 * 5 s, so the last suite's sockets get that long to become old enough to count.
 */
export async function kmemleakReports(guest: Guest): Promise<string[]> {
  await guest.run(`sleep 6 && echo scan > ${KMEMLEAK}`, SCAN_TIMEOUT_MS);
  const text = await guest.run(`cat ${KMEMLEAK}`, 30000);
  return reportLines(scanDmesg(text.split('\n').filter(Boolean), 20));
}
