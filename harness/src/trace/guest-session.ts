// Runs sockvm-trace in a guest around one suite: started in the background before the suite
// (its uprobe on the suite's binary marks the tests), stopped with SIGINT after it, its JSON
// read back over SSH and checked. Whatever goes wrong becomes a note: tracing never breaks a
// suite run.
import type { Guest } from '../guest/ssh.js';
import { commandLine } from '../vm/boot.js';
import { GUEST_FUNCS, GUEST_TRACER } from './func-list.js';
import { parseTraceFile, type TraceFile } from './trace-file.js';

/** Attaching a few hundred probes under TCG takes seconds; this is the bound. */
const READY_LIMIT_S = 120;

export interface TraceOutcome {
  trace?: TraceFile;
  /** The raw JSON as the tool wrote it (saved as trace/<suite>.json). */
  json?: string;
  notes: string[];
  /** How long attaching took in the guest, in ms. */
  attachMs?: number;
}

/** A process still running: /proc/<pid> exists and is no zombie. */
const alive = (pid: string): string => `[ -d /proc/${pid} ] && ! grep -q ') Z' /proc/${pid}/stat 2>/dev/null`;

export class GuestTrace {
  private pid?: string;
  private readonly base: string;
  private readonly notes: string[] = [];
  private attachMs?: number;

  constructor(
    private readonly guest: Guest,
    private readonly suiteBinary: string,
    tag: string,
  ) {
    // The tag is a checked suite name; the paths are quoted on every use all the same.
    this.base = `/tmp/sockvm-trace-${tag}`;
  }

  /** Starts the tool and waits until its probes are attached (or it died: a note). */
  async start(): Promise<void> {
    const out = `${this.base}.json`;
    const ready = `${this.base}.ready`;
    const log = `${this.base}.log`;
    const argv = [GUEST_TRACER, '--funcs', GUEST_FUNCS, '--uprobe', this.suiteBinary, '--out', out, '--ready', ready];
    const started = Date.now();
    const launch = await this.guest.exec(
      `rm -f ${commandLine([out, ready, log])}; SOCKVM_TRACE_QUIET=1 setsid ${commandLine(argv)} </dev/null >${commandLine([log])} 2>&1 & echo $!`,
      { timeoutMs: 15000 },
    );
    const pid = launch.stdout.trim();
    if (launch.code !== 0 || !/^\d+$/.test(pid)) {
      this.notes.push(`tracer did not start: ${launch.stderr.trim() || `exit code ${launch.code}`}`);
      return;
    }
    const wait = await this.guest.exec(
      `i=0; while [ $i -lt ${READY_LIMIT_S * 10} ]; do [ -e ${commandLine([ready])} ] && exit 0; ${alive(pid)} || exit 3; usleep 100000; i=$((i+1)); done; exit 4`,
      { timeoutMs: READY_LIMIT_S * 1000 + 10000 },
    );
    this.attachMs = Date.now() - started;
    if (wait.code === 0) {
      this.pid = pid;
      return;
    }
    const why = wait.code === 3 ? 'exited while attaching' : `not attached within ${READY_LIMIT_S} s`;
    this.notes.push(`tracer ${why}: ${await this.tail(log)}`);
    if (wait.code !== 3) await this.guest.exec(`kill -KILL ${pid}`, { timeoutMs: 5000 });
  }

  /** Stops the tool, reads its output; undefined trace (and a note) when there is none. */
  async stop(): Promise<TraceOutcome> {
    const outcome: TraceOutcome = { notes: this.notes };
    if (this.attachMs !== undefined) outcome.attachMs = this.attachMs;
    if (!this.pid) return outcome;
    const pid = this.pid;
    const out = `${this.base}.json`;
    const r = await this.guest.exec(
      `kill -INT ${pid}; i=0; while ${alive(pid)} && [ $i -lt 300 ]; do usleep 100000; i=$((i+1)); done; ` +
        `if ${alive(pid)}; then kill -KILL ${pid}; exit 4; fi; cat ${commandLine([out])}`,
      { timeoutMs: 60000 },
    );
    if (r.code !== 0) {
      this.notes.push(r.code === 4 ? 'tracer did not exit within 30 s of SIGINT and was killed; no trace' : `tracer output unreadable (exit code ${r.code}): ${await this.tail(`${this.base}.log`)}`);
      return outcome;
    }
    try {
      outcome.trace = parseTraceFile(r.stdout);
      outcome.json = r.stdout;
    } catch (err) {
      this.notes.push(`tracer output is not a valid trace: ${err instanceof Error ? err.message : String(err)}`);
    }
    const log = (await this.tail(`${this.base}.log`)).trim();
    if (log && log !== '(no output)') this.notes.push(`tracer said: ${log}`);
    await this.guest.exec(`rm -f ${commandLine([out, `${this.base}.ready`, `${this.base}.log`])}`, { timeoutMs: 5000 });
    return outcome;
  }

  private async tail(path: string): Promise<string> {
    const r = await this.guest.exec(`tail -n 5 ${commandLine([path])} 2>/dev/null`, { timeoutMs: 5000 });
    return r.stdout.trim().replace(/[^\x20-\x7e\n]/g, '?').replace(/\n/g, ' | ') || '(no output)';
  }
}
