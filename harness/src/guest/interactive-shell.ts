// `sockvm shell`: an interactive shell in the guest over the run's SSH session. The guest's
// shell gets a pty of our terminal's size (resized with it); our terminal goes raw, so every
// key, ^C and ^Z included, reaches the guest, whose pty turns them into signals there.
import { channelOutcome, type CommandOutcome, type GuestTerminal } from './stream.js';
import type { Guest } from './ssh.js';

/** Our terminal's size; a pipe or a 0×0 pty gets the classic 24×80. */
function windowOf(out: NodeJS.WriteStream): { rows: number; cols: number } {
  return { rows: out.rows > 0 ? out.rows : 24, cols: out.columns > 0 ? out.columns : 80 };
}

/** Runs the guest's login shell on a pty until it exits; our terminal is restored whatever happens. */
export async function interactiveShell(guest: Guest, term: GuestTerminal): Promise<CommandOutcome> {
  const size = windowOf(term.stdout);
  const channel = await guest.open({ pty: { term: process.env.TERM || 'xterm', rows: size.rows, cols: size.cols } });
  const raw = term.stdin.isTTY === true;
  const onInput = (chunk: Buffer): void => void channel.write(chunk);
  const onEnd = (): void => void channel.end();
  const onResize = (): void => {
    const s = windowOf(term.stdout);
    channel.setWindow(s.rows, s.cols, 0, 0);
  };
  try {
    if (raw) term.stdin.setRawMode(true);
    term.stdin.on('data', onInput);
    term.stdin.on('end', onEnd);
    term.stdin.resume();
    // Node turns SIGWINCH into 'resize' on a terminal stream.
    term.stdout.on('resize', onResize);
    return await channelOutcome(guest, channel, term);
  } finally {
    term.stdout.removeListener('resize', onResize);
    term.stdin.removeListener('data', onInput);
    term.stdin.removeListener('end', onEnd);
    term.stdin.pause();
    if (raw) term.stdin.setRawMode(false);
  }
}
