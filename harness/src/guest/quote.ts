// Quoting for the guest's shell (busybox sh): user arguments reach it as data, never as code.
// Every word is single-quoted, and a quote inside is closed, escaped and reopened ('\''):
// inside single quotes a POSIX shell gives no character a meaning, so $, `, \, ; and newlines
// stay literal.

/** One word for a POSIX shell, always quoted (an empty string stays one empty word). */
export function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellWords(argv: string[]): string {
  return argv.map(shellWord).join(' ');
}

/** A command for the guest: an argv (the words after `--`) or a shell line (--exec). */
export type GuestCommand = { argv: string[] } | { shellLine: string };

/** Where a command runs in the guest (and --copy puts its files). */
export const GUEST_WORKDIR = '/root';

/**
 * The guest shell line that runs a user's command in /root: its words quoted; a line goes to
 * `sh -c` as one quoted word, so it is parsed once, by the shell it was written for. Not exec'd:
 * the outer shell waits and exits with the command's status, 128+n after signal n. (Exec'd, a
 * killed command's end reached us from dropbear now as an exit-signal, now as no status at all.)
 */
export function guestCommandLine(command: GuestCommand): string {
  const words = 'argv' in command ? command.argv : ['sh', '-c', command.shellLine];
  return `cd ${GUEST_WORKDIR} && ${shellWords(words)}`;
}
