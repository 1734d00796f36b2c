// Mount points, for removing a chroot safely: never recurse into a mounted /proc or /dev.
import { readFile } from 'node:fs/promises';
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { InfraError } from '../util/errors.js';

/** Decodes mountinfo's octal escapes (\040 for a space). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or under `dir` in /proc/self/mountinfo text, deepest first. */
export function mountsUnder(mountinfo: string, dir: string): string[] {
  const base = dir.replace(/\/+$/, '');
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map(unescape)
    .filter((p) => p === base || p.startsWith(`${base}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts whatever is mounted under `dir`, then removes it; refuses if a mount stays. */
export async function removeTree(dir: string): Promise<void> {
  const info = () => readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  for (const p of mountsUnder(await info(), dir)) {
    // uncancelled: the clean-up an interrupted run does on its way out; it must run after the abort.
    await execa('umount', ['-l', p], { reject: false });
  }
  const left = mountsUnder(await info(), dir);
  if (left.length > 0) throw new InfraError(`not removing ${dir}: still mounted: ${left.join(', ')}; unmount them first`);
  await rm(dir, { recursive: true, force: true });
}
