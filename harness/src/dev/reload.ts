// sockvm dev in the guests: a rebuilt newtcp.ko or suite copied over the open SSH session, and
// the module swapped (rmmod, insmod) only when nothing holds it: an open newtcp socket would
// keep rmmod waiting or fail it, and the user should learn which guest and why.
import { dirname } from 'node:path';
import type { SuiteBinary } from '../build/suites.js';
import { copyIntoGuest } from '../guest/stream.js';
import { dmesgLines, kernelFindingsSince, markKernelLog } from '../suites/kernel-log.js';
import type { LabGuest } from '../vm/lab.js';

/** Where the image put the module; insmod and a fresh boot's setup load it from here. */
export const GUEST_KO_DIR = '/lib/modules';

export async function copyModule(guests: LabGuest[], ko: string, signal: AbortSignal): Promise<void> {
  await Promise.all(guests.map((g) => copyIntoGuest(g.ssh, ko, GUEST_KO_DIR, signal)));
}

/** A rebuilt suite into /suites (a program suite's files into /suites/<name>.d/ as the image has them). */
export async function copySuite(guests: LabGuest[], suite: SuiteBinary, signal: AbortSignal): Promise<void> {
  for (const g of guests) {
    await copyIntoGuest(g.ssh, suite.path, '/suites', signal);
    for (const f of suite.files ?? []) await copyIntoGuest(g.ssh, f.source, dirname(`/suites/${suite.name}.d/${f.rel}`), signal);
  }
}

/** Why newtcp cannot be unloaded in a guest now, or undefined when nothing holds it. */
export async function moduleBusy(g: LabGuest): Promise<string | undefined> {
  // The header line of /proc/net/newtcp is not a socket; refcnt counts every other holder.
  const r = await g.ssh.exec('echo $(($(wc -l < /proc/net/newtcp) - 1)) $(cat /sys/module/newtcp/refcnt)', { timeoutMs: 10000 });
  if (r.code !== 0) return undefined;
  const [sockets = 0, refs = 0] = r.stdout.trim().split(/\s+/).map(Number);
  if (sockets > 0) return `${g.name} has ${sockets} newtcp socket${sockets > 1 ? 's' : ''} open (/proc/net/newtcp)`;
  if (refs > 0) return `${g.name} holds newtcp ${refs} time${refs > 1 ? 's' : ''} (/sys/module/newtcp/refcnt)`;
  return undefined;
}

export interface ReloadOutcome {
  /** The kernel's reports (oops, warnings, taint) raised by the unload or the load. */
  findings: string[];
  /** What failed: rmmod or insmod, with the guest's words and its newtcp log lines. */
  error?: string;
}

/** rmmod then insmod of the copied newtcp.ko in every guest, the kernel log watched meanwhile. */
export async function reloadModule(guests: LabGuest[]): Promise<ReloadOutcome> {
  const findings: string[] = [];
  for (const g of guests) {
    const mark = await markKernelLog(g.ssh);
    // Not loaded (the last insmod failed): just load it.
    const r = await g.ssh.exec(`if grep -q '^newtcp ' /proc/modules; then rmmod newtcp || exit 1; fi; insmod ${GUEST_KO_DIR}/newtcp.ko`, { timeoutMs: 30000 });
    findings.push(...(g.ssh.closed ? [] : await kernelFindingsSince(g, mark, guests.length)));
    if (r.code !== 0) {
      const log = g.ssh.closed ? [] : (await dmesgLines(g.ssh)).filter((l) => /newtcp/i.test(l)).slice(-5);
      const what = r.timedOut ? 'timed out after 30 s' : r.lost ? 'the guest stopped answering' : r.stderr.trim() || `exit code ${r.code}`;
      return { findings, error: [`reloading newtcp.ko on ${g.name} failed: ${what}`, ...log].join('\n') };
    }
  }
  return { findings };
}
