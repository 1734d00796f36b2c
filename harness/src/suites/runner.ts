// Runs the suites in a booted guest: checks the e1000 carries the SSH session, loads the
// module, runs each suite with a timeout while streaming its TAP, scans dmesg after each, and
// unloads the module.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../events.js';
import type { Guest } from '../guest/ssh.js';
import type { RunResult, SuiteResult } from '../results/model.js';
import { scanDmesg, unexpectedTaint } from '../results/dmesg-scan.js';
import { TapParser } from '../results/tap-parser.js';
import { InfraError } from '../util/errors.js';

export interface SuiteRunOptions {
  suites: string[];
  suiteTimeoutMs: number;
  resultsDir: string;
  mgmtMac: string;
  /** Why the guest is gone, if it is (panic, QEMU exit). */
  guestGone: () => string | undefined;
  consoleTail: () => string;
}

type GuestFacts = NonNullable<RunResult['guest']>;

/** Checks the interface the SSH session came in on is the management NIC and e1000 drives it. */
export async function checkE1000(guest: Guest, mgmtMac: string, facts: GuestFacts): Promise<void> {
  const out = await guest.run(
    'dev=$(ip route get ${SSH_CONNECTION%% *} | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p"); ' +
      'echo "$dev $(cat /sys/class/net/$dev/address) $(basename $(readlink /sys/class/net/$dev/device/driver))"',
  );
  const [iface, mac, driver] = out.trim().split(/\s+/);
  facts.interface = iface;
  facts.e1000Bound = driver === 'e1000' && mac === mgmtMac;
  if (!facts.e1000Bound) {
    throw new InfraError(`SSH came in on ${iface} (MAC ${mac}, driver ${driver ?? 'none'}), not on the e1000 management NIC (${mgmtMac})`);
  }
}

async function dmesgLines(guest: Guest): Promise<string[]> {
  return (await guest.run('dmesg')).split('\n').filter(Boolean);
}

async function taint(guest: Guest): Promise<number> {
  return Number((await guest.run('cat /proc/sys/kernel/tainted')).trim());
}

export class SuiteRunner {
  constructor(
    private readonly guest: Guest,
    private readonly bus: EventBus,
    private readonly o: SuiteRunOptions,
  ) {}

  async loadModule(facts: GuestFacts): Promise<void> {
    const r = await this.guest.exec('insmod /lib/modules/newtcp.ko', { timeoutMs: 30000 });
    if (r.code !== 0) {
      const log = (await dmesgLines(this.guest)).filter((l) => /newtcp/i.test(l)).slice(-5).join('\n');
      throw new InfraError(`insmod newtcp.ko failed: ${r.stderr.trim()}`, log);
    }
    facts.moduleLoaded = true;
    facts.family = Number((await this.guest.run('cat /sys/module/newtcp/parameters/family')).trim());
  }

  async unloadModule(facts: GuestFacts): Promise<void> {
    const r = await this.guest.exec('rmmod newtcp && ! grep -q "^newtcp " /proc/modules', { timeoutMs: 30000 });
    facts.moduleUnloaded = r.code === 0;
    if (!facts.moduleUnloaded) throw new InfraError(`rmmod newtcp failed: ${r.stderr.trim() || `exit code ${r.code}`}`);
  }

  async runSuite(name: string): Promise<SuiteResult> {
    const started = Date.now();
    this.bus.emit({ type: 'suite-started', suite: name });
    const tapFile = join(this.o.resultsDir, `${name}.tap`);
    await writeFile(tapFile, '');
    const dmesgBefore = (await dmesgLines(this.guest)).length;
    const taintBefore = await taint(this.guest);
    const parser = new TapParser();
    let pending = Promise.resolve();
    const seconds = Math.ceil(this.o.suiteTimeoutMs / 1000);
    // The guest-side timeout kills a hung suite even if our connection stalls; ours is the backstop.
    const r = await this.guest.exec(`cd /tmp && timeout -s KILL ${seconds} /suites/${name}`, {
      timeoutMs: this.o.suiteTimeoutMs + 5000,
      onStdoutLine: (line) => {
        pending = pending.then(() => appendFile(tapFile, `${line}\n`));
        this.bus.emit({ type: 'suite-line', suite: name, line });
        const test = parser.line(line);
        if (test) this.bus.emit({ type: 'test-result', suite: name, test });
      },
    });
    await pending;
    const tap = parser.finish();
    const suite: SuiteResult = { name, status: 'pass', durationMs: 0, exitCode: r.code, tests: tap.tests, errors: [...tap.errors], kernelFindings: [] };
    if (tap.plan) suite.plan = { start: tap.plan.start, end: tap.plan.end };

    let gone = this.o.guestGone();
    // A lost connection usually means a crash whose console lines are still arriving.
    for (let i = 0; r.lost && !gone && i < 30; i++) {
      await new Promise((res) => setTimeout(res, 100));
      gone = this.o.guestGone();
    }
    if (r.lost || gone) {
      suite.status = 'error';
      suite.errors.unshift(`the guest died during the suite: ${gone ?? 'SSH connection lost'}`);
      const tail = this.o.consoleTail().split('\n');
      const found = scanDmesg(tail);
      suite.kernelFindings.push(...(found.length ? found : tail));
    } else {
      if (r.timedOut || r.code === 137) suite.errors.push(`timed out after ${seconds} s and was killed`);
      else if (r.code !== 0 && !suite.tests.some((t) => t.status === 'fail')) suite.errors.push(`exited with code ${r.code} without a failing test`);
      if (r.stderr.trim()) await writeFile(join(this.o.resultsDir, `${name}.stderr`), r.stderr);
      const fresh = (await dmesgLines(this.guest)).slice(dmesgBefore);
      suite.kernelFindings.push(...scanDmesg(fresh));
      const newTaint = unexpectedTaint(taintBefore, await taint(this.guest));
      if (newTaint.length) suite.kernelFindings.push(`kernel newly tainted: ${newTaint.join('')}`);
      const failed = suite.tests.some((t) => t.status === 'fail') || suite.errors.length > 0 || suite.kernelFindings.length > 0;
      suite.status = failed ? 'fail' : 'pass';
    }
    suite.durationMs = Date.now() - started;
    const ev = { type: 'suite-ended' as const, suite: name, status: suite.status, durationMs: suite.durationMs };
    this.bus.emit(suite.errors[0] ? { ...ev, reason: suite.errors[0] } : ev);
    return suite;
  }
}
