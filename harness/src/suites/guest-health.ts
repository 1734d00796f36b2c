// Whether the guests survived a suite: a dead one (panic, reset) shows on its console, a hung
// one as a timeout or lost session after which it no longer answers; a peer a killsPeer suite
// crashed on purpose is expected to die and is not a crash.
import { exitCodeOf, type ExecResult, type Guest } from '../guest/ssh.js';
import type { Lab, LabGuest } from '../vm/lab.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A guest that answers a trivial command within 10 s is alive (a hung kernel does not). */
async function answers(guest: Guest): Promise<boolean> {
  const r = await guest.exec('echo alive', { timeoutMs: 10000 });
  return r.code === 0 && r.stdout.includes('alive');
}

export interface GuestHealth {
  /** Why a guest died or hung during the suite: the suite crashed. */
  gone?: string;
  /** How the peer died when a killsPeer suite crashed it on purpose. */
  peerKilled?: string;
  /** The guests still alive (the ones whose kernel log can be read). */
  living: LabGuest[];
}

/**
 * The lab's health after a suite whose client side ended with `r` (undefined: it never started)
 * and whose server side's session dropped when `serverLost`.
 */
export async function guestHealth(lab: Lab, r: ExecResult | undefined, o: { killsPeer: boolean; serverLost: boolean }): Promise<GuestHealth> {
  // A lost connection usually means a crash whose console lines are still arriving; a hung
  // kernel shows as a timeout after which the guest no longer answers.
  const expected = o.killsPeer ? [2] : [];
  let gone = lab.deathReason(expected);
  for (let i = 0; r?.lost && !gone && !lab.stopping && i < 30; i++) {
    await sleep(100);
    gone = lab.deathReason(expected);
  }
  // Only when its session dropped: a suite that did not kill the peer this time waits for nothing.
  const peer = o.killsPeer && o.serverLost ? lab.guests.find((g) => g.index === 2) : undefined;
  let peerKilled: string | undefined;
  if (peer) {
    // Its console still has to say so: give a panicking kernel a moment to finish.
    for (let i = 0; peer.vm.running && !peer.vm.deathReason() && i < 50; i++) await sleep(100);
    peerKilled = peer.vm.deathReason();
  }
  const living = lab.guests.filter((g) => !(peerKilled && g === peer));
  // Guests stopped by an interrupt did not hang: their silence is ours.
  if (!gone && !lab.stopping && (r?.lost || r?.timedOut || (r && exitCodeOf(r) === 137))) {
    const alive = await Promise.all(living.map((g) => answers(g.ssh)));
    const dead = living.filter((_, i) => !alive[i]);
    if (dead.length) {
      const silent = dead.map((g) => `${g.name}'s console silent for ${Math.round(g.vm.consoleSilentMs() / 1000)} s`).join(', ');
      gone = `${dead.map((g) => g.name).join(' and ')} stopped answering over SSH (hung kernel?; ${silent})`;
    }
  }
  return { ...(gone ? { gone } : {}), ...(peerKilled ? { peerKilled } : {}), living };
}
