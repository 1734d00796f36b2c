// sockvm dev in the guests: a rebuilt newtcp.ko or suite copied over the open SSH session, and
// the module swapped (rmmod, insmod) only when nothing holds it: an open newtcp socket would
// keep rmmod waiting or fail it, and the user should learn which guest and why.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SuiteBinary } from '../build/suites.js';
import { copyIntoGuest } from '../guest/stream.js';
import { reportLines, scanDmesg, unexpectedTaint } from '../results/dmesg-scan.js';
import type { LabGuest } from '../vm/lab.js';
import { runLogged } from '../util/run-logged.js';

/** Where the image put the module; insmod and a fresh boot's setup load it from here. */
export const GUEST_KO_DIR = '/lib/modules';

/**
 * newtcp.ko into the guests without its debug sections (a tenth of its size: the copy through
 * TCG's e1000 is most of the copy step); the kernel never loads them, and gdb reads the host's
 * full copy. `scratch` holds the stripped file.
 */
export async function copyModule(guests: LabGuest[], ko: string, scratch: string, signal: AbortSignal): Promise<void> {
  await mkdir(scratch, { recursive: true });
  const stripped = join(scratch, 'newtcp.ko');
  await runLogged('stripping newtcp.ko for the guest', 'strip', ['--strip-debug', '-o', stripped, ko], { log: join(scratch, 'strip.log'), signal });
  await Promise.all(guests.map((g) => copyIntoGuest(g.ssh, stripped, GUEST_KO_DIR, signal)));
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

/**
 * One guest round trip (each costs a few hundred ms under TCG): the kernel log's length and the
 * taint noted, rmmod (when loaded) and insmod, then the exit status, the taint after, the
 * tools' message on one line, and the kernel log's new lines.
 */
const RELOAD_LINE =
  'b=$(dmesg | wc -l); t0=$(cat /proc/sys/kernel/tainted); ' +
  `out=$( { if grep -q '^newtcp ' /proc/modules; then rmmod newtcp || exit 1; fi; insmod ${GUEST_KO_DIR}/newtcp.ko; } 2>&1); rc=$?; ` +
  'echo "$rc $t0 $(cat /proc/sys/kernel/tainted)"; echo "$out" | tr "\\n" " "; echo; dmesg | tail -n +$((b+1))';

/** rmmod then insmod of the copied newtcp.ko in every guest, the kernel log watched meanwhile. */
export async function reloadModule(guests: LabGuest[]): Promise<ReloadOutcome> {
  const findings: string[] = [];
  for (const g of guests) {
    const prefix = guests.length > 1 ? `[${g.name}] ` : '';
    const r = await g.ssh.exec(RELOAD_LINE, { timeoutMs: 30000 });
    const [status = '', message = '', ...fresh] = r.stdout.split('\n');
    const [rc, before, after] = status.trim().split(/\s+/).map(Number);
    findings.push(...reportLines(scanDmesg(fresh.filter(Boolean))).map((l) => `${prefix}${l}`));
    const taint = before !== undefined && after !== undefined ? unexpectedTaint(before, after) : [];
    if (taint.length) findings.push(`${prefix}kernel newly tainted: ${taint.join('')}`);
    if (r.code !== 0 || rc !== 0) {
      const log = fresh.filter((l) => /newtcp/i.test(l)).slice(-5);
      const what = r.timedOut
        ? 'timed out after 30 s'
        : r.lost
          ? 'the guest stopped answering'
          : message.trim() || r.stderr.trim() || `exit code ${rc ?? r.code}`;
      return { findings, error: [`reloading newtcp.ko on ${g.name} failed: ${what}`, ...log].join('\n') };
    }
  }
  return { findings };
}
