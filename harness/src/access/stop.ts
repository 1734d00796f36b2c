// `sockvm stop`: kept guests powered off cleanly over SSH (busybox `poweroff -f`), QEMU killed
// when it does not go within a few seconds, and the state removed.
import { readFile, rm } from 'node:fs/promises';
import { Guest } from '../guest/ssh.js';
import { publicBlob } from '../image/keys.js';
import { forgetKept, guestAlive, type KeptGuest, type KeptState } from './kept.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits up to `ms` for the guest's QEMU to be gone; true when it is. */
async function gone(g: KeptGuest, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) if (!guestAlive(g)) return true;
  return !guestAlive(g);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone meanwhile.
  }
}

/** Powers one kept guest off: politely over SSH, else SIGTERM, else SIGKILL. Says how it went. */
async function stopGuest(s: KeptState, g: KeptGuest, privateKey: string): Promise<string> {
  if (!guestAlive(g)) return `${g.name}: already gone (QEMU pid ${g.pid} is not running)`;
  try {
    const guest = await Guest.connect({
      port: g.sshPort,
      privateKey,
      hostKeyBlob: publicBlob(s.hostKey),
      guestGone: () => (guestAlive(g) ? undefined : 'QEMU exited'),
      deadlineMs: 5000,
    });
    void guest.exec('poweroff -f', { timeoutMs: 2000 });
    const off = await gone(g, 5000);
    guest.close();
    if (off) return `${g.name}: powered off (QEMU pid ${g.pid})`;
  } catch {
    // No SSH answer (a hung or half-booted guest): the signals below end it.
    if (!guestAlive(g)) return `${g.name}: gone (QEMU pid ${g.pid})`;
  }
  signal(g.pid, 'SIGTERM');
  if (await gone(g, 2000)) return `${g.name}: QEMU pid ${g.pid} ended with SIGTERM (the guest did not power off over SSH)`;
  signal(g.pid, 'SIGKILL');
  if (await gone(g, 2000)) return `${g.name}: QEMU pid ${g.pid} killed (SIGKILL)`;
  return `${g.name}: QEMU pid ${g.pid} is still running after SIGKILL; end it by hand`;
}

/** Stops every guest of a kept run and removes its state; one line per guest. */
export async function stopKept(s: KeptState): Promise<string[]> {
  const privateKey = await readFile(s.identityFile, 'utf8').catch(() => '');
  const lines = await Promise.all(s.guests.map((g) => stopGuest(s, g, privateKey)));
  if (s.linkDir) await rm(s.linkDir, { recursive: true, force: true });
  if (s.guests.every((g) => !guestAlive(g))) await forgetKept(s);
  return lines;
}
