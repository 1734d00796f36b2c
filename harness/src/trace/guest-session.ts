// Runs sockvm-trace in guest 1 for a whole boot: started once before the first traced suite
// (attaching a few hundred probes costs seconds under TCG, so not per suite) with uprobes on
// every traced suite's binary, a reset snapshot before each traced suite and a snapshot after
// it (SIGUSR1), stopped before the module is unloaded. Its JSON is read back over SSH and
// checked. Whatever goes wrong becomes a note: tracing never breaks a suite run.
import type { Guest } from '../guest/ssh.js';
import { commandLine } from '../vm/boot.js';
import { GUEST_FUNCS, GUEST_TRACER } from './func-list.js';
import { parseTraceFile, type TraceFile } from './trace-file.js';

/** Attaching a few hundred probes under TCG takes seconds; this is the bound. */
const READY_LIMIT_S = 120;
const BASE = '/tmp/sockvm-trace';
const OUT = `${BASE}.json`;
const READY = `${BASE}.ready`;
const LOG = `${BASE}.log`;

export interface TraceOutcome {
  trace?: TraceFile;
  /** The raw JSON as the tool wrote it (saved as trace/<suite>.json). */
  json?: string;
  notes: string[];
}

/** A process still running: /proc/<pid> exists and is no zombie. */
const alive = (pid: string): string => `[ -d /proc/${pid} ] && ! grep -q ') Z' /proc/${pid}/stat 2>/dev/null`;

export class GuestTrace {
  private pid: string | undefined;
  /** Why the tool is not running, once it failed: later suites get the same note. */
  private failed: string | undefined;
  /** How long starting and attaching took, in ms. */
  attachMs?: number;

  constructor(
    private readonly guest: Guest,
    private readonly binaries: string[],
  ) {}

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** Starts the tool and waits until its probes are attached; a note when it could not. */
  async start(): Promise<string | undefined> {
    const argv = [GUEST_TRACER, '--funcs', GUEST_FUNCS, ...this.binaries.flatMap((b) => ['--uprobe', b]), '--out', OUT, '--ready', READY, '--reset'];
    const started = Date.now();
    const launch = await this.guest.exec(
      `rm -f ${commandLine([OUT, READY, LOG])}; SOCKVM_TRACE_QUIET=1 setsid ${commandLine(argv)} </dev/null >${LOG} 2>&1 & echo $!`,
      { timeoutMs: 15000 },
    );
    const pid = launch.stdout.trim();
    if (launch.code !== 0 || !/^\d+$/.test(pid)) return (this.failed = `tracer did not start: ${launch.stderr.trim() || `exit code ${launch.code}`}`);
    const wait = await this.guest.exec(
      `i=0; while [ $i -lt ${READY_LIMIT_S * 10} ]; do [ -e ${READY} ] && exit 0; ${alive(pid)} || exit 3; usleep 100000; i=$((i+1)); done; exit 4`,
      { timeoutMs: READY_LIMIT_S * 1000 + 10000 },
    );
    this.attachMs = Date.now() - started;
    if (wait.code === 0) {
      this.pid = pid;
      return undefined;
    }
    if (wait.code !== 3) await this.guest.exec(`kill -KILL ${pid}`, { timeoutMs: 5000 });
    return (this.failed = `tracer ${wait.code === 3 ? 'exited while attaching' : `not attached within ${READY_LIMIT_S} s`}: ${await this.tail()}`);
  }

  /** A snapshot of everything since the last one (the tool then starts afresh). */
  async snapshot(): Promise<TraceOutcome> {
    if (!this.pid) return { notes: [this.failed ?? 'tracer not running'] };
    const pid = this.pid;
    const r = await this.guest.exec(
      `rm -f ${OUT}; ${alive(pid)} || exit 3; kill -USR1 ${pid}; i=0; while [ ! -e ${OUT} ] && [ $i -lt 300 ]; do ${alive(pid)} || exit 3; usleep 100000; i=$((i+1)); done; cat ${OUT}`,
      { timeoutMs: 60000 },
    );
    if (r.code !== 0) {
      this.pid = undefined;
      this.failed = r.code === 3 ? `tracer died: ${await this.tail()}` : `tracer wrote no snapshot within 30 s (exit code ${r.code})`;
      return { notes: [this.failed] };
    }
    try {
      return { trace: parseTraceFile(r.stdout), json: r.stdout, notes: [] };
    } catch (err) {
      return { notes: [`tracer output is not a valid trace: ${err instanceof Error ? err.message : String(err)}`] };
    }
  }

  /** Stops the tool (before the module goes: its probes sit on the module's code). */
  async stop(): Promise<void> {
    if (!this.pid) return;
    const pid = this.pid;
    this.pid = undefined;
    await this.guest.exec(`kill -KILL ${pid}; i=0; while ${alive(pid)} && [ $i -lt 300 ]; do usleep 100000; i=$((i+1)); done`, { timeoutMs: 40000 });
  }

  private async tail(): Promise<string> {
    const r = await this.guest.exec(`tail -n 5 ${LOG} 2>/dev/null`, { timeoutMs: 5000 });
    return (
      r.stdout
        .trim()
        .replace(/[^\x20-\x7e\n]/g, '?')
        .replace(/\n/g, ' | ') || '(no output)'
    );
  }
}
