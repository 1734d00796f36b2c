// Runs suites in a booted lab: checks the e1000 carries the SSH session, loads the module,
// runs each suite with a deadline while streaming its TAP, reads new dmesg lines after each,
// and unloads the module. Two-guest suites run their server side on guest 2 and their client
// side (whose TAP is the result) on guest 1.
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../events.js';
import { kmemleakBaseline, kmemleakReports } from '../guest/kmemleak.js';
import type { ExecResult, Guest } from '../guest/ssh.js';
import type { RunResult, SuiteEvidence, SuiteResult } from '../results/model.js';
import { reportLines, scanDmesg, unexpectedTaint } from '../results/dmesg-scan.js';
import { TapParser } from '../results/tap-parser.js';
import { judgeSuite } from '../results/verdict.js';
import { InfraError } from '../util/errors.js';
import { commandLine } from '../vm/boot.js';
import type { Lab, LabGuest } from '../vm/lab.js';
import type { SuiteSpec } from './select.js';
import { GuestTrace } from '../trace/guest-session.js';
import type { TraceFile } from '../trace/trace-file.js';

export interface SuiteRunOptions {
  /** A suite's limit when its suite.json names none. */
  defaultTimeoutMs: number;
  /** --suite-timeout: this limit for every suite, whatever its suite.json says. */
  overrideTimeout?: boolean;
  resultsDir: string;
  /** Passed to every suite as SOCKVM_SEED (the fuzzer's seed). */
  seed?: number;
  /** Passed to every suite as SOCKVM_TEST: a glob on test names the TAP library honours. */
  testFilter?: string;
  /** Whether a suite runs under sockvm-trace (guest 1); its trace goes to onTrace. */
  traced?: (suite: SuiteSpec) => boolean;
  /** Every traced suite of the run: the tracer, started once per boot, watches them all. */
  tracedSuites?: string[];
  onTrace?: (suite: string, trace: TraceFile) => void;
}

type GuestFacts = NonNullable<RunResult['guest']>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

/** A guest that answers a trivial command within 10 s is alive (a hung kernel does not). */
async function answers(guest: Guest): Promise<boolean> {
  const r = await guest.exec('echo alive', { timeoutMs: 10000 });
  return r.code === 0 && r.stdout.includes('alive');
}

export class SuiteRunner {
  /** Guests (by index) whose kernel has kmemleak, baselined before the module loaded. */
  private readonly kmemleak = new Set<number>();
  /** sockvm-trace in guest 1 for this boot, once a traced suite started it. */
  private tracer?: GuestTrace;

  constructor(
    private readonly lab: Lab,
    private readonly bus: EventBus,
    private readonly o: SuiteRunOptions,
  ) {}

  /** Checks every guest's management e1000, loads newtcp.ko in each; facts are guest 1's. */
  async prepareGuests(facts: GuestFacts): Promise<void> {
    // Fresh guests: a tracer of the old boot is gone with it.
    this.tracer = undefined;
    for (const g of this.lab.guests) {
      const f: GuestFacts = {};
      await checkE1000(g.ssh, g.mgmtMac, f);
      if (await kmemleakBaseline(g.ssh)) this.kmemleak.add(g.index);
      await this.loadModule(g, f);
      if (g.index === 1) Object.assign(facts, f);
    }
  }

  private async loadModule(g: LabGuest, facts: GuestFacts): Promise<void> {
    const r = await g.ssh.exec('insmod /lib/modules/newtcp.ko', { timeoutMs: 30000 });
    if (r.code !== 0) {
      const log = (await dmesgLines(g.ssh)).filter((l) => /newtcp/i.test(l)).slice(-5).join('\n');
      throw new InfraError(`insmod newtcp.ko failed on ${g.name}: ${r.stderr.trim()}`, log);
    }
    facts.moduleLoaded = true;
    facts.family = Number((await g.ssh.run('cat /sys/module/newtcp/parameters/family')).trim());
  }

  /** kmemleak's reports after the suites, on guests whose kernel has it; undefined when none has. */
  async leakReports(): Promise<string[] | undefined> {
    if (!this.kmemleak.size) return undefined;
    const found: string[] = [];
    for (const g of this.lab.guests) {
      if (!this.kmemleak.has(g.index)) continue;
      const reports = await kmemleakReports(g.ssh);
      found.push(...(this.lab.guests.length > 1 ? reports.map((l) => `[${g.name}] ${l}`) : reports));
    }
    return found;
  }

  /** Unloads newtcp.ko everywhere; kernel reports raised by the unload itself are returned. */
  async unloadModules(facts: GuestFacts): Promise<string[]> {
    await this.tracer?.stop();
    const findings: string[] = [];
    for (const g of this.lab.guests) {
      const before = (await dmesgLines(g.ssh)).length;
      const r = await g.ssh.exec('rmmod newtcp && ! grep -q "^newtcp " /proc/modules', { timeoutMs: 30000 });
      if (g.index === 1) facts.moduleUnloaded = r.code === 0;
      if (r.code !== 0) throw new InfraError(`rmmod newtcp failed on ${g.name}: ${r.stderr.trim() || `exit code ${r.code}`}`);
      const found = reportLines(scanDmesg((await dmesgLines(g.ssh)).slice(before)));
      findings.push(...(this.lab.guests.length > 1 ? found.map((l) => `[${g.name}] ${l}`) : found));
    }
    return findings;
  }

  /** The seed of the round being run (--repeat: each round its own), over the run's. */
  roundSeed: number | undefined;

  /** The guest's shell line for a suite: every word quoted, so names and filters stay data. */
  private command(suite: SuiteSpec, seconds: number, args: string[]): string {
    const env = ['PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `SOCKVM_SUITE=${suite.name}`];
    const seed = this.roundSeed ?? this.o.seed;
    if (seed !== undefined) env.push(`SOCKVM_SEED=${seed}`);
    if (this.o.testFilter) env.push(`SOCKVM_TEST=${this.o.testFilter}`);
    if (suite.manifest.bpf.length > 0) env.push(`SOCKVM_BPF_DIR=/suites/${suite.name}.bpf`);
    // The guest-side timeout kills a hung suite even if our connection stalls; ours is the backstop.
    return `cd /tmp && ${commandLine(['env', ...env, 'timeout', '-s', 'KILL', String(seconds), `/suites/${suite.name}`, ...args])}`;
  }

  /** Starts the server side on guest 2 and waits for its "# ready" line. */
  private async startServer(suite: SuiteSpec, seconds: number, resultName: string): Promise<{ done: Promise<ExecResult>; guest: LabGuest }> {
    const [client, server] = this.lab.guests as [LabGuest, LabGuest];
    const log = join(this.o.resultsDir, `${resultName}.server.log`);
    await writeFile(log, '');
    let ready: () => void = () => {};
    const isReady = new Promise<void>((r) => (ready = r));
    const done = server.ssh.exec(this.command(suite, seconds, ['--role', 'server', '--local', server.linkIp ?? '', '--peer', client.linkIp ?? '']), {
      timeoutMs: seconds * 1000 + 5000,
      onStdoutLine: (line) => {
        void appendFile(log, `${line}\n`);
        if (/^#\s*ready\b/.test(line)) ready();
      },
    });
    const outcome = await Promise.race([isReady.then(() => 'ready' as const), done.then(() => 'ended' as const), sleep(30000).then(() => 'timeout' as const)]);
    if (outcome !== 'ready') {
      const r = await Promise.race([done, sleep(0).then(() => undefined)]);
      throw new InfraError(`suite ${suite.name}: the server side on ${server.name} ${outcome === 'ended' ? `exited (code ${r?.code}) before saying "# ready"` : 'did not say "# ready" within 30 s'}; see ${log}`);
    }
    return { done, guest: server };
  }

  /**
   * Before a traced suite: the boot's tracer started (once), and what it saw since the last
   * suite dropped (a reset snapshot). Returns notes for the suite.
   */
  private async traceBefore(client: LabGuest): Promise<string[]> {
    if (!this.tracer) {
      this.tracer = new GuestTrace(client.ssh, (this.o.tracedSuites ?? []).map((name) => `/suites/${name}`));
      const why = await this.tracer.start();
      return why ? [why] : [`tracer attached in ${((this.tracer.attachMs ?? 0) / 1000).toFixed(1)} s (once for this boot)`];
    }
    if (this.tracer.running) await this.tracer.snapshot();
    return [];
  }

  /** Takes the suite's snapshot, writes trace/<suite>.json and summarises it. */
  private async saveTrace(tracer: GuestTrace, resultName: string, before: string[]): Promise<NonNullable<SuiteResult['trace']>> {
    const outcome = await tracer.snapshot().catch((err: unknown) => ({ notes: [`tracer: ${err instanceof Error ? err.message : String(err)}`], trace: undefined, json: undefined }));
    const summary: NonNullable<SuiteResult['trace']> = { notes: [...before, ...outcome.notes] };
    if (before.length && tracer.attachMs !== undefined) summary.attachMs = tracer.attachMs;
    const { trace, json } = outcome;
    if (trace && json) {
      await mkdir(join(this.o.resultsDir, 'trace'), { recursive: true });
      summary.file = `trace/${resultName}.json`;
      await writeFile(join(this.o.resultsDir, summary.file), json);
      summary.functions = trace.functions.length;
      summary.attached = trace.functions.filter((f) => f.attached).length;
      summary.unattached = trace.functions.filter((f) => !f.attached).map((f) => ({ function: f.name, error: f.error ?? 'not attached' }));
      summary.drops = trace.drops;
      if (!trace.uprobes.every((u) => u.attached)) summary.notes.push('the test-boundary uprobe did not attach: every call counts as outside tests');
      this.o.onTrace?.(resultName, trace);
    }
    for (const note of summary.notes) if (!note.startsWith('tracer attached in')) this.bus.emit({ type: 'notice', message: `trace ${resultName}: ${note}` });
    return summary;
  }

  async runSuite(suite: SuiteSpec, resultName = suite.name): Promise<SuiteResult> {
    const started = Date.now();
    this.bus.emit({ type: 'suite-started', suite: resultName });
    const tapFile = join(this.o.resultsDir, `${resultName}.tap`);
    await writeFile(tapFile, '');
    const fallback = Math.ceil(this.o.defaultTimeoutMs / 1000);
    const seconds = this.o.overrideTimeout ? fallback : (suite.manifest.timeoutSec ?? fallback);
    const guests = this.lab.guests;
    const before = await Promise.all(guests.map(async (g) => ({ dmesg: (await dmesgLines(g.ssh)).length, taint: await taint(g.ssh) })));
    const client = guests[0] as LabGuest;
    const result: SuiteResult = { name: resultName, status: 'pass', durationMs: 0, exitCode: null, tests: [], errors: [], kernelFindings: [] };
    const parser = new TapParser();
    let pending = Promise.resolve();
    let r: ExecResult | undefined;
    let server: { done: Promise<ExecResult>; guest: LabGuest } | undefined;
    /** The server side's SSH session dropped: its guest may be gone. */
    let serverLost = false;
    const traced = this.o.traced?.(suite) ?? false;
    const traceNotes = traced ? await this.traceBefore(client) : [];
    try {
      const args: string[] = [];
      if (suite.manifest.guests === 2) {
        server = await this.startServer(suite, seconds, resultName);
        args.push('--role', 'client', '--local', client.linkIp ?? '', '--peer', server.guest.linkIp ?? '');
      }
      r = await client.ssh.exec(this.command(suite, seconds, args), {
        timeoutMs: seconds * 1000 + 5000,
        onStdoutLine: (line) => {
          pending = pending.then(() => appendFile(tapFile, `${line}\n`));
          this.bus.emit({ type: 'suite-line', suite: resultName, guest: client.name, line });
          const seed = /^#\s*seed (\d+)\b/.exec(line);
          if (seed && result.seed === undefined) result.seed = Number(seed[1]);
          const test = parser.line(line);
          if (test) this.bus.emit({ type: 'test-result', suite: resultName, test });
        },
      });
      if (server) {
        const s = await Promise.race([server.done, sleep(15000).then(() => undefined)]);
        serverLost = s?.lost ?? false;
        if (!s) {
          await server.guest.ssh.exec(`pkill -KILL -f /suites/${suite.name}`, { timeoutMs: 5000 });
          result.errors.push(`the server side on ${server.guest.name} did not exit within 15 s of the client and was killed`);
        } else if (s.code !== 0 && !s.lost) result.errors.push(`the server side on ${server.guest.name} exited with code ${s.code}; see ${resultName}.server.log`);
      }
    } catch (err) {
      if (!(err instanceof InfraError)) throw err;
      result.errors.push(err.message);
    }
    await pending;
    if (traced && client.vm.running && this.tracer) result.trace = await this.saveTrace(this.tracer, resultName, traceNotes);
    const tap = parser.finish();
    // Errors the harness found while running it (server side, SSH) are evidence for the verdict.
    const evidence: SuiteEvidence = { exitCode: r?.code ?? null, harnessErrors: result.errors.splice(0), kernelFindings: [] };

    // A lost connection usually means a crash whose console lines are still arriving; a hung
    // kernel shows as a timeout after which the guest no longer answers.
    // A suite that crashes its peer on purpose: guest 2's death is expected, not a crash.
    const expected = suite.manifest.killsPeer ? [2] : [];
    let gone = this.lab.deathReason(expected);
    for (let i = 0; r?.lost && !gone && !this.lab.stopping && i < 30; i++) {
      await sleep(100);
      gone = this.lab.deathReason(expected);
    }
    // Only when its session dropped: a suite that did not kill the peer this time waits for nothing.
    const peer = suite.manifest.killsPeer && serverLost ? guests.find((g) => g.index === 2) : undefined;
    if (peer) {
      // Its console still has to say so: give a panicking kernel a moment to finish.
      for (let i = 0; peer.vm.running && !peer.vm.deathReason() && i < 50; i++) await sleep(100);
      const how = peer.vm.deathReason();
      if (how) result.peerKilled = how;
    }
    const living = guests.filter((g) => !(result.peerKilled && g === peer));
    // Guests stopped by an interrupt did not hang: their silence is ours.
    if (!gone && !this.lab.stopping && (r?.lost || r?.timedOut || r?.code === 137)) {
      const alive = await Promise.all(living.map((g) => answers(g.ssh)));
      const dead = living.filter((_, i) => !alive[i]);
      if (dead.length) {
        const silent = dead.map((g) => `${g.name}'s console silent for ${Math.round(g.vm.consoleSilentMs() / 1000)} s`).join(', ');
        gone = `${dead.map((g) => g.name).join(' and ')} stopped answering over SSH (hung kernel?; ${silent})`;
      }
    }
    if (gone) {
      // The test the suite announced ("# running N - name") and never reported crashed with it.
      const running = parser.running;
      const what = running ? `test ${running.id} (${running.name}) was running` : `test ${tap.tests.length + 1} was running`;
      evidence.crashed = `crashed: the guest died during the suite (${what}): ${gone}`;
      if (running) evidence.crashedTest = { id: running.id, name: running.name, status: 'error', durationMs: Date.now() - running.since, diagnostics: [evidence.crashed] };
      evidence.kernelFindings.push(...reportLines(scanDmesg(this.lab.consoleTail(60).split('\n'))));
      if (!evidence.kernelFindings.length) evidence.kernelFindings.push(...this.lab.consoleTail().split('\n'));
    } else {
      if (r?.timedOut || r?.code === 137) evidence.timedOutSec = seconds;
      if (r?.stderr.trim()) await writeFile(join(this.o.resultsDir, `${resultName}.stderr`), r.stderr);
      for (const [i, g] of guests.entries()) {
        if (!living.includes(g)) continue;
        const fresh = (await dmesgLines(g.ssh)).slice(before[i]?.dmesg ?? 0);
        const found = reportLines(scanDmesg(fresh));
        evidence.kernelFindings.push(...(guests.length > 1 ? found.map((l) => `[${g.name}] ${l}`) : found));
        const newTaint = unexpectedTaint(before[i]?.taint ?? 0, await taint(g.ssh));
        if (newTaint.length) evidence.kernelFindings.push(`${guests.length > 1 ? `[${g.name}] ` : ''}kernel newly tainted: ${newTaint.join('')}`);
      }
    }
    Object.assign(result, judgeSuite(tap, evidence), { evidence });
    result.durationMs = Date.now() - started;
    const ev = { type: 'suite-ended' as const, suite: resultName, status: result.status, durationMs: result.durationMs };
    this.bus.emit(result.errors[0] ? { ...ev, reason: result.errors[0] } : ev);
    return result;
  }
}
