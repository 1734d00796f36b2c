// A user's command in the guest with its output streamed, and host files copied into the guest,
// over the run's SSH session. Bytes pass through untouched and with backpressure: a slow
// reader of our stdout slows the guest's command down instead of filling our memory.
import { spawn } from 'node:child_process';
import { basename, dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { InfraError } from '../util/errors.js';
import { shellWord } from './quote.js';
import type { Guest } from './ssh.js';

/** Our side of a guest command: where its output goes (and a shell's keys come from). */
export interface GuestTerminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface CommandOutcome {
  /** The exit status, or null when a signal ended it or the connection dropped. */
  code: number | null;
  signal?: string;
  /** The connection dropped before the command ended (a dead guest, an interrupt). */
  lost: boolean;
}

/** Copies `from` into `to` as it comes, pausing `from` while `to` is full. */
function pipeBytes(from: Readable, to: Writable | NodeJS.WritableStream): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
}

/**
 * Runs `line` in the guest; its stdout and stderr go to `sinks` as they come. Its stdin is empty
 * (end of file at once). Resolves when the command has ended and its output is all through.
 */
export async function streamCommand(
  guest: Guest,
  line: string,
  sinks: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<CommandOutcome> {
  const channel = await guest.open(line);
  const outcome = channelOutcome(guest, channel, sinks);
  channel.end();
  return outcome;
}

/**
 * A guest channel's output piped to `sinks`, and how it ended: resolves when the channel has
 * closed (its exit status known) or the connection dropped.
 */
export function channelOutcome(
  guest: Guest,
  channel: ClientChannel,
  sinks: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    const outcome: CommandOutcome = { code: null, lost: false };
    const stopWatching = guest.onClose(() => {
      outcome.lost = true;
      resolve(outcome);
    });
    pipeBytes(channel, sinks.stdout);
    pipeBytes(channel.stderr, sinks.stderr);
    channel.on('exit', (code: number | null, signal?: string) => {
      outcome.code = code;
      if (signal) outcome.signal = signal;
    });
    channel.on('close', () => {
      stopWatching();
      resolve(outcome);
    });
  });
}

/**
 * Copies a host file or directory to `guestDir`/<basename> in the guest: the host's tar (run
 * without a shell) streams into busybox tar over SSH. Owner root, modes kept.
 */
export async function copyIntoGuest(guest: Guest, host: string, guestDir: string, signal: AbortSignal): Promise<void> {
  const channel = await guest.open(`mkdir -p ${shellWord(guestDir)} && tar -x -f - -C ${shellWord(guestDir)}`);
  // ./<name>: a name starting with '-' stays a name.
  const tar = spawn('tar', ['-c', '-f', '-', '--owner=0', '--group=0', '--numeric-owner', '-C', dirname(host), `./${basename(host)}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  let tarErr = '';
  let guestErr = '';
  tar.stderr.on('data', (c: Buffer) => (tarErr += c.toString()));
  channel.stderr.on('data', (c: Buffer) => (guestErr += c.toString()));
  // The channel closes only once its output is read too (busybox tar prints nothing to stdout).
  channel.resume();
  tar.stdout.pipe(channel);
  const hostDone = new Promise<number | null>((resolve) => {
    tar.on('error', (err) => {
      tarErr += err.message;
      resolve(null);
    });
    tar.on('close', (code) => resolve(code));
  });
  const guestDone = new Promise<number | null>((resolve) => {
    let code: number | null = null;
    channel.on('exit', (c: number | null) => (code = c));
    const stopWatching = guest.onClose(() => resolve(null));
    channel.on('close', () => {
      stopWatching();
      resolve(code);
    });
  });
  const [hostCode, guestCode] = await Promise.all([hostDone, guestDone]);
  signal.throwIfAborted();
  if (hostCode !== 0) throw new InfraError(`--copy ${host}: the host's tar failed (exit ${hostCode}): ${tarErr.trim()}`);
  if (guestCode !== 0)
    throw new InfraError(`--copy ${host}: unpacking in the guest's ${guestDir} failed (exit ${guestCode}): ${guestErr.trim() || 'no message'}`);
}
