import { constants as osConstants } from 'node:os';
// The guest over SSH (ssh2 ↔ dropbear): host key pinned to the one baked into the image,
// commands with timeouts and streamed output.
import ssh2 from 'ssh2';
import { InfraError } from '../util/errors.js';
import { BoundedText, LineSplitter } from '../util/lines.js';

/** What an exec keeps of each stream (the suites' TAP is streamed to files line by line). */
const MAX_KEPT_OUTPUT = 64 << 20;

export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The connection dropped before the command finished (guest crash, reboot). */
  lost: boolean;
}

/**
 * The shell's view of how a command ended: its code, or 128 + the signal that killed it. A suite
 * run as the shell's last command is exec'd in its place, so SSH reports its signal, not 137.
 */
export function exitCodeOf(r: Pick<ExecResult, 'code' | 'signal'>): number | null {
  if (r.code !== null) return r.code;
  // ssh2 names the signal with its SIG prefix ("SIGKILL"); RFC 4254 sends it without ("KILL").
  const name = r.signal?.replace(/^(SIG)?/, 'SIG');
  const n = name ? (osConstants.signals as Record<string, number | undefined>)[name] : undefined;
  return n === undefined ? null : 128 + n;
}

export interface ExecOptions {
  timeoutMs?: number;
  onStdoutLine?: (line: string) => void;
}

export interface ConnectOptions {
  port: number;
  privateKey: string;
  hostKeyBlob: Buffer;
  /** Gives up when this says the guest is gone (panic, QEMU exit); quoted in the error. */
  guestGone: () => string | undefined;
  deadlineMs: number;
}

function connectOnce(o: ConnectOptions, timeoutMs: number): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKeyMismatch = false;
    client.on('ready', () => resolve(client));
    client.on('error', (err) =>
      reject(
        hostKeyMismatch ? new InfraError('SSH host key mismatch: the guest presented a key other than the one baked into the image; refusing to connect') : err,
      ),
    );
    client.connect({
      host: '127.0.0.1',
      port: o.port,
      username: 'root',
      privateKey: o.privateKey,
      readyTimeout: timeoutMs,
      keepaliveInterval: 5000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer) => {
        hostKeyMismatch = !key.equals(o.hostKeyBlob);
        return !hostKeyMismatch;
      },
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Guest {
  /** The connection is closed (by us, or it dropped): a command started now is lost at once. */
  private gone = false;

  private constructor(private readonly client: ssh2.Client) {
    client.once('close', () => (this.gone = true));
  }

  /** Connects, retrying until the deadline while the guest is still coming up. */
  static async connect(o: ConnectOptions): Promise<Guest> {
    const start = Date.now();
    let lastError = '';
    while (Date.now() - start < o.deadlineMs) {
      const gone = o.guestGone();
      if (gone) throw new InfraError(`cannot reach the guest over SSH: ${gone}`);
      try {
        return new Guest(await connectOnce(o, Math.max(1000, o.deadlineMs - (Date.now() - start))));
      } catch (err) {
        if (err instanceof InfraError) throw err;
        lastError = err instanceof Error ? err.message : String(err);
        await sleep(200);
      }
    }
    throw new InfraError(`no SSH answer from the guest on 127.0.0.1:${o.port} within ${Math.round(o.deadlineMs / 1000)} s (last error: ${lastError})`);
  }

  exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return new Promise((resolve) => {
      const result: ExecResult = { code: null, stdout: '', stderr: '', timedOut: false, lost: false };
      // Bounded copies and linear line splitting: a guest printing gigabytes, or one endless
      // line, costs memory up to the caps, never the harness.
      const stdout = new BoundedText(MAX_KEPT_OUTPUT);
      const stderr = new BoundedText(MAX_KEPT_OUTPUT);
      const lines = opts.onStdoutLine ? new LineSplitter(opts.onStdoutLine) : undefined;
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.client.removeListener('close', onClose);
        lines?.end();
        result.stdout = stdout.text();
        result.stderr = result.stderr || stderr.text();
        resolve(result);
      };
      const onClose = (): void => {
        result.lost = true;
        settle();
      };
      if (this.gone) {
        // ssh2 neither runs nor fails a command on a closed connection: it would wait forever.
        result.stderr = 'the SSH connection is closed';
        onClose();
        return;
      }
      this.client.once('close', onClose);
      const started = (err: Error | undefined, stream: ssh2.ClientChannel): void => {
        if (err) {
          result.stderr = err.message;
          result.lost = true;
          settle();
          return;
        }
        if (opts.timeoutMs) {
          timer = setTimeout(() => {
            result.timedOut = true;
            stream.close();
            settle();
          }, opts.timeoutMs);
        }
        stream.on('data', (chunk: Buffer) => {
          stdout.push(chunk);
          lines?.push(chunk);
        });
        stream.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
        stream.on('exit', (code: number | null, signal?: string) => {
          result.code = code;
          if (signal) result.signal = signal;
        });
        stream.on('close', settle);
      };
      try {
        this.client.exec(command, started);
      } catch (err) {
        // ssh2 throws at once when the connection is already gone.
        result.stderr = err instanceof Error ? err.message : String(err);
        result.lost = true;
        settle();
      }
    });
  }

  /** Runs a command that must succeed; its stderr names what went wrong. */
  async run(command: string, timeoutMs = 30000): Promise<string> {
    const r = await this.exec(command, { timeoutMs });
    if (r.code !== 0) {
      const why = r.timedOut ? `timed out after ${timeoutMs / 1000} s` : r.lost ? 'the connection was lost' : `exit code ${r.code}`;
      throw new InfraError(`guest command '${command}' failed (${why})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
    }
    return r.stdout;
  }

  /**
   * A raw channel for a command (guest/stream.ts streams it) or, with `pty`, an interactive
   * shell with a terminal (guest/interactive-shell.ts). Fails at once on a closed connection.
   */
  open(command: string | { pty: ssh2.PseudoTtyOptions }): Promise<ssh2.ClientChannel> {
    return new Promise((resolve, reject) => {
      if (this.gone) {
        reject(new InfraError('the SSH connection to the guest is closed'));
        return;
      }
      const done = (err: Error | undefined, channel: ssh2.ClientChannel): void =>
        err ? reject(new InfraError(`SSH channel: ${err.message}`)) : resolve(channel);
      try {
        if (typeof command === 'string') this.client.exec(command, done);
        else this.client.shell(command.pty, done);
      } catch (err) {
        reject(new InfraError(`SSH channel: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  }

  /** Calls `listener` when the connection closes (a dead guest, a keepalive timeout, us). */
  onClose(listener: () => void): () => void {
    this.client.once('close', listener);
    return () => this.client.removeListener('close', listener);
  }

  get closed(): boolean {
    return this.gone;
  }

  close(): void {
    this.gone = true;
    this.client.end();
  }
}
