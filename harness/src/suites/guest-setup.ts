// The module's life in each guest of a boot: the management e1000 checked to carry the SSH
// session, kmemleak baselined, newtcp.ko loaded; at the end, kmemleak's reports read and the
// module unloaded with the kernel reports the unload raised.
import { kmemleakBaseline, kmemleakReports } from '../guest/kmemleak.js';
import type { Guest } from '../guest/ssh.js';
import type { RunResult } from '../results/model.js';
import { reportLines, scanDmesg } from '../results/dmesg-scan.js';
import { InfraError } from '../util/errors.js';
import type { Lab, LabGuest } from '../vm/lab.js';
import { dmesgLines } from './kernel-log.js';

export type GuestFacts = NonNullable<RunResult['guest']>;

/** Checks the interface the SSH session came in on is the management NIC and e1000 drives it. */
export async function checkE1000(guest: Guest, mgmtMac: string, facts: GuestFacts): Promise<void> {
  const out = await guest.run(
    'dev=$(ip route get ${SSH_CONNECTION%% *} | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p"); ' +
      'echo "$dev $(cat /sys/class/net/$dev/address) $(basename $(readlink /sys/class/net/$dev/device/driver))"',
  );
  // split() always yields a first field ('' for no output).
  const [iface = '', mac, driver] = out.trim().split(/\s+/);
  facts.interface = iface;
  facts.e1000Bound = driver === 'e1000' && mac === mgmtMac;
  if (!facts.e1000Bound) {
    throw new InfraError(`SSH came in on ${iface} (MAC ${mac}, driver ${driver ?? 'none'}), not on the e1000 management NIC (${mgmtMac})`);
  }
}

async function loadModule(g: LabGuest, facts: GuestFacts): Promise<void> {
  const r = await g.ssh.exec('insmod /lib/modules/newtcp.ko', { timeoutMs: 30000 });
  if (r.code !== 0) {
    const log = (await dmesgLines(g.ssh))
      .filter((l) => /newtcp/i.test(l))
      .slice(-5)
      .join('\n');
    throw new InfraError(`insmod newtcp.ko failed on ${g.name}: ${r.stderr.trim()}`, log);
  }
  facts.moduleLoaded = true;
  facts.family = Number((await g.ssh.run('cat /sys/module/newtcp/parameters/family')).trim());
}

/**
 * Checks every guest's management e1000 and loads newtcp.ko in each; `facts` are guest 1's.
 * Guests whose kernel has kmemleak are baselined first and added to `kmemleak`.
 */
export async function prepareGuests(lab: Lab, facts: GuestFacts, kmemleak: Set<number>): Promise<void> {
  for (const g of lab.guests) {
    const f: GuestFacts = {};
    await checkE1000(g.ssh, g.mgmtMac, f);
    if (await kmemleakBaseline(g.ssh)) kmemleak.add(g.index);
    await loadModule(g, f);
    if (g.index === 1) Object.assign(facts, f);
  }
}

/** kmemleak's reports after the suites, on the `kmemleak` guests; undefined when there are none. */
export async function leakReports(lab: Lab, kmemleak: Set<number>): Promise<string[] | undefined> {
  if (!kmemleak.size) return undefined;
  const found: string[] = [];
  for (const g of lab.guests) {
    if (!kmemleak.has(g.index)) continue;
    const reports = await kmemleakReports(g.ssh);
    found.push(...(lab.guests.length > 1 ? reports.map((l) => `[${g.name}] ${l}`) : reports));
  }
  return found;
}

/** Unloads newtcp.ko everywhere; kernel reports raised by the unload itself are returned. */
export async function unloadModules(lab: Lab, facts: GuestFacts): Promise<string[]> {
  const findings: string[] = [];
  for (const g of lab.guests) {
    const before = (await dmesgLines(g.ssh)).length;
    const r = await g.ssh.exec('rmmod newtcp && ! grep -q "^newtcp " /proc/modules', { timeoutMs: 30000 });
    if (g.index === 1) facts.moduleUnloaded = r.code === 0;
    if (r.code !== 0) throw new InfraError(`rmmod newtcp failed on ${g.name}: ${r.stderr.trim() || `exit code ${r.code}`}`);
    const found = reportLines(scanDmesg((await dmesgLines(g.ssh)).slice(before)));
    findings.push(...(lab.guests.length > 1 ? found.map((l) => `[${g.name}] ${l}`) : found));
  }
  return findings;
}
