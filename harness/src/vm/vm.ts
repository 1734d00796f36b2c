// One QEMU process: spawned, its serial console captured to a log and watched line by line,
// and reliably ended. QEMU runs in its own process group (a terminal ^C reaches only the
// harness, which shuts down in order) and under `setpriv --pdeathsig KILL`, so it dies with
// the harness even if the harness is killed outright.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, createWriteStream, existsSync, openSync, readFileSync, readSync, writeFileSync, type WriteStream } from 'node:fs';
import { LineSplitter } from '../util/lines.js';
import { InfraError } from '../util/errors.js';
import { ioError } from '../util/out-file.js';

export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const PANIC = /Kernel panic - not syncing|SOCKVM-FAILED/;

/** Where a detachable QEMU's stderr goes (nobody reads its pipes once sockvm has exited). */
export function qemuStderrFile(consoleLog: string): string {
  return consoleLog.replace(/\.log$/, '') + '.qemu-stderr.log';
}

export interface VmOptions {
  /**
   * QEMU may outlive sockvm (--keep): no --pdeathsig, the console is a file QEMU appends to
   * (the arguments must say `-chardev file` with `consoleLog`), which is tailed while we run,
   * and stderr goes to a file too. detach() then lets it go.
   */
  detachable?: boolean;
  /**
   * Called once, at the first failed write of the console log (ENOSPC, EACCES, EISDIR, …): the
   * run ends on it at once rather than testing on with a log that no longer records the guest.
   */
  onLogError?: (err: InfraError) => void;
}

export class Vm {
  private readonly child: ChildProcess;
  private readonly log: WriteStream | undefined;
  /** Detachable: the console file read as QEMU writes it. */
  private tail: { fd: number; timer: NodeJS.Timeout } | undefined;
  private readonly stderrFile: string | undefined;
  private readonly lines: string[] = [];
  // Linear splitting with a line cap: a guest printing one endless line costs nothing more.
  private readonly splitter = new LineSplitter((line) => this.onConsoleLine(line));
  private stderr = '';
  private lastOutputAt = Date.now();
  private watchers: { re: RegExp; resolve: (line: string) => void }[] = [];
  readonly exited: Promise<VmExit>;
  exit: VmExit | undefined;
  panicLine: string | undefined;
  /** Set when the console log could not be written (ENOSPC, EACCES, …): "cannot write <path>: <code> (…)". */
  logError: InfraError | undefined;

  constructor(qemu: string, args: string[], consoleLog: string, append = false, opts: VmOptions = {}) {
    const banner = `\n===== sockvm: guest restarted at ${new Date().toISOString()} =====\n`;
    if (opts.detachable) {
      // QEMU appends to the file; we start it (or mark the restart) and read what QEMU adds.
      if (append) appendFileSync(consoleLog, banner);
      else writeFileSync(consoleLog, '');
      this.stderrFile = qemuStderrFile(consoleLog);
      const stderrFd = openSync(this.stderrFile, 'w');
      // uncancelled: a detachable QEMU is meant to outlive the run; Lab stops it on the run's abort until it is let go.
      this.child = spawn(qemu, args, { stdio: ['ignore', 'ignore', stderrFd], detached: true });
      closeSync(stderrFd);
      this.startTail(consoleLog);
    } else {
      this.log = createWriteStream(consoleLog, { flags: append ? 'a' : 'w' });
      // A full disk or a vanished results dir: the run ends as infrastructure naming the file;
      // the guest and what was gathered so far are not lost to an unhandled stream error.
      this.log.on('error', (err: NodeJS.ErrnoException) => {
        if (this.logError) return;
        this.logError = ioError(consoleLog, err);
        opts.onLogError?.(this.logError);
      });
      if (append) this.log.write(banner);
      const setpriv = '/usr/bin/setpriv';
      const [cmd, argv] = existsSync(setpriv) ? [setpriv, ['--pdeathsig', 'KILL', qemu, ...args]] : [qemu, args];
      // uncancelled: Lab stops every QEMU on the run's abort (SIGTERM, then SIGKILL) and waits for it to be reaped.
      this.child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    }
    this.child.stdout?.on('data', (chunk: Buffer) => this.onConsole(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      this.log?.write(chunk);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.stderr += `${err.message}\n`;
        this.exit = { code: 127, signal: null };
        resolve(this.exit);
      });
      this.child.on('exit', (code, signal) => {
        this.readTail();
        this.stopTail();
        this.exit = { code, signal };
        this.log?.end();
        resolve(this.exit);
      });
    });
  }

  private startTail(path: string): void {
    const fd = openSync(path, 'r');
    // Console lines arrive within 50 ms: the waits on them (ready, panic) are coarser than that.
    this.tail = { fd, timer: setInterval(() => this.readTail(), 50) };
  }

  private readTail(): void {
    if (!this.tail) return;
    const buf = Buffer.alloc(64 * 1024);
    for (let n = readSync(this.tail.fd, buf); n > 0; n = readSync(this.tail.fd, buf)) this.onConsole(Buffer.from(buf.subarray(0, n)));
  }

  private stopTail(): void {
    if (!this.tail) return;
    clearInterval(this.tail.timer);
    closeSync(this.tail.fd);
    this.tail = undefined;
  }

  /**
   * Lets a detachable QEMU go on without us: its console is no longer read and our process no
   * longer waits for it. Its pid stays valid; `sockvm stop` ends it.
   */
  detach(): void {
    this.readTail();
    this.stopTail();
    this.child.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  qemuErrors(): string {
    if (this.stderrFile) {
      try {
        return readFileSync(this.stderrFile, 'utf8').trim();
      } catch {
        return '';
      }
    }
    return this.stderr.trim();
  }

  consoleTail(n = 25): string {
    const partial = this.splitter.pending();
    const all = partial ? [...this.lines, partial] : this.lines;
    return all.slice(-n).join('\n');
  }

  /** How long the serial console has been quiet (a hung kernel says nothing). */
  consoleSilentMs(): number {
    return Date.now() - this.lastOutputAt;
  }

  private onConsole(chunk: Buffer): void {
    this.lastOutputAt = Date.now();
    this.log?.write(chunk);
    this.splitter.push(chunk);
  }

  private onConsoleLine(raw: string): void {
    const line = raw.replace(/\r$/, '');
    this.lines.push(line);
    if (this.lines.length > 5000) this.lines.splice(0, 1000);
    if (!this.panicLine && PANIC.test(line)) this.panicLine = line;
    this.watchers = this.watchers.filter((w) => {
      if (!w.re.test(line)) return true;
      w.resolve(line);
      return false;
    });
  }

  /** The reason the guest is gone, or undefined while it runs normally. */
  deathReason(): string | undefined {
    if (this.panicLine) return `the guest kernel panicked: ${this.panicLine.trim()}`;
    if (this.exit) {
      const how = this.exit.signal ? `was killed by ${this.exit.signal}` : `exited with code ${this.exit.code}`;
      const err = this.qemuErrors();
      return `QEMU ${how}${err ? `: ${err.split('\n').slice(-3).join(' | ')}` : ''}`;
    }
    return undefined;
  }

  /** Waits for a console line matching `re`; fails early on panic, QEMU exit, or timeout. */
  waitForLine(re: RegExp, timeoutMs: number, what: string): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        fn();
      };
      const timer = setTimeout(
        () => finish(() => reject(new InfraError(`${what}: nothing after ${Math.round(timeoutMs / 1000)} s; console tail:`, this.consoleTail()))),
        timeoutMs,
      );
      // A panic or an exit ends the wait at once, quoting the console.
      const poll = setInterval(() => {
        const reason = this.panicLine ? this.deathReason() : undefined;
        if (reason) finish(() => reject(new InfraError(`${what}: ${reason}; console tail:`, this.consoleTail())));
      }, 50);
      void this.exited.then(() => finish(() => reject(new InfraError(`${what}: ${this.deathReason()}; console tail:`, this.consoleTail()))));
      this.watchers.push({ re, resolve: (line) => finish(() => resolve(line)) });
    });
  }

  /** Ends QEMU: SIGTERM, then SIGKILL after `graceMs`, and waits until it is reaped. */
  async stop(graceMs = 2000): Promise<VmExit> {
    if (this.exit) return this.exit;
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private kill(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
