// Runs a build command with a toolchain: directly on the host, or inside a chroot.
//
// Inside a chroot, paths keep their meaning: every directory the command touches (the kernel's
// unpacked tree, the module's build dir, the cwd) is bind-mounted into the chroot at the same
// absolute path. The Debian headers' rewritten absolute paths (see debian/kernel.ts) therefore
// resolve the same inside and outside, and a log or an error names a path the user can open.
// All mounts (/proc, /dev, the binds) are made in a private mount namespace (unshare -m) that
// dies with the command, so nothing stays mounted after a crash or a kill.
import { runLogged } from '../util/run-logged.js';
import type { Toolchain } from './toolchain.js';

export interface RunInToolchainOptions {
  cwd: string;
  /** Log file the output is appended to (as runLogged). */
  log: string;
  /** Host directories the command needs, bind-mounted at the same path; cwd is always added. */
  binds?: string[];
  env?: Record<string, string>;
  /** What the failure message calls this step; default `<cmd> <args>`. */
  what?: string;
  /** Aborts the command, killing its process group. */
  signal: AbortSignal;
}

export const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Run by unshare in a new mount namespace: mounts /proc, /dev and the binds under root, then
 * exec chroot. Arguments: root cwd nbinds bind... -- cmd args...
 */
export const CHROOT_SCRIPT = [
  'set -eu',
  'root=$1; cwd=$2; n=$3; shift 3',
  'mount -t proc proc "$root/proc"',
  'mount --rbind /dev "$root/dev"',
  'i=0',
  'while [ "$i" -lt "$n" ]; do',
  '  b=$1; shift',
  '  if [ -d "$b" ]; then mkdir -p "$root$b"; else mkdir -p "$root$(dirname "$b")"; [ -e "$root$b" ] || : > "$root$b"; fi',
  '  mount --bind "$b" "$root$b"',
  '  i=$((i+1))',
  'done',
  '[ "$1" = "--" ] && shift',
  `exec chroot "$root" /usr/bin/env -i "PATH=${CHROOT_PATH}" HOME=/root LC_ALL=C.UTF-8 TERM=dumb SOCKVM_CHROOT=1 /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$cwd" "$@"`,
].join('\n');

/** Removes redundant binds (a path under another bound path) and normalizes trailing slashes. */
export function normalizeBinds(paths: string[]): string[] {
  const clean = [...new Set(paths.map((p) => p.replace(/\/+$/, '') || '/'))].sort();
  return clean.filter((p, i) => !clean.slice(0, i).some((q) => p === q || p.startsWith(`${q}/`)));
}

/** The unshare(1) argv for a chroot command (pure, for tests). */
export function chrootArgv(
  root: string,
  cmd: string,
  args: string[],
  opts: { cwd: string; binds?: string[]; env?: Record<string, string> },
): { cmd: string; args: string[] } {
  const binds = normalizeBinds([...(opts.binds ?? []), opts.cwd]);
  const envArgs = Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`);
  // env assignments go in front of the command through env(1) inside the chroot.
  const command = envArgs.length > 0 ? ['/usr/bin/env', ...envArgs, cmd, ...args] : [cmd, ...args];
  return {
    cmd: 'unshare',
    args: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', CHROOT_SCRIPT, 'sh', root, opts.cwd, String(binds.length), ...binds, '--', ...command],
  };
}

/** Runs `cmd args` with the toolchain, output appended to opts.log; failures quote the log's tail. */
export async function runInToolchain(tc: Toolchain, cmd: string, args: string[], opts: RunInToolchainOptions): Promise<void> {
  const what = opts.what ?? `${cmd} ${args.join(' ')}`;
  if (tc.kind === 'host') {
    const o: { log: string; signal: AbortSignal; cwd?: string; env?: Record<string, string> } = { log: opts.log, signal: opts.signal, cwd: opts.cwd };
    if (opts.env) o.env = opts.env;
    await runLogged(what, cmd, args, o);
    return;
  }
  const argv = chrootArgv(tc.root, cmd, args, opts);
  await runLogged(`${what} (in the ${tc.release} chroot ${tc.root})`, argv.cmd, argv.args, { log: opts.log, signal: opts.signal });
}
