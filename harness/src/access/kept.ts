// Guests left running after a run (--keep): their state file, kept.json in the target's results
// directory, and an index of every kept run under ~/.cache/sockvm/kept/ so `sockvm ssh-config`
// and `sockvm stop` find them from anywhere. A state names each QEMU by pid and start time, so
// a pid the kernel has since given to another process is never taken for ours.
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, errorMessage } from '../util/errors.js';
import { cacheRoot } from '../util/paths.js';

export const KEPT_STATE = 'kept.json';

export interface KeptGuest {
  name: string;
  pid: number;
  /** The process's start time (field 22 of /proc/<pid>/stat): with the pid, the QEMU we started. */
  startTime: string;
  sshPort: number;
  gdbPort?: number;
  consoleLog: string;
}

export interface KeptState {
  version: 1;
  runId: string;
  target: string;
  keptAt: string;
  /** The target's results directory (where this file is). */
  dir: string;
  identityFile: string;
  knownHosts: string;
  /** The guests' host key (the image's), as an OpenSSH public key line. */
  hostKey: string;
  guests: KeptGuest[];
  /** The two guests' link sockets' directory, removed by `sockvm stop`. */
  linkDir?: string;
}

export function keptIndexDir(): string {
  return join(cacheRoot(), 'kept');
}

const indexFile = (s: Pick<KeptState, 'runId' | 'target'>): string => join(keptIndexDir(), `${s.runId}-${s.target}.json`);

/** A process's start time, or undefined when it is gone (a zombie is gone: it runs no guest). */
export function processStart(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/** The kept guest's QEMU still runs (same pid, same start time). */
export function guestAlive(g: Pick<KeptGuest, 'pid' | 'startTime'>): boolean {
  return processStart(g.pid) === g.startTime;
}

export async function saveKept(state: KeptState): Promise<string> {
  const file = join(state.dir, KEPT_STATE);
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`);
  await mkdir(keptIndexDir(), { recursive: true });
  await writeFile(indexFile(state), `${JSON.stringify({ state: file })}\n`);
  return file;
}

export async function forgetKept(state: KeptState): Promise<void> {
  await rm(join(state.dir, KEPT_STATE), { force: true });
  await rm(indexFile(state), { force: true });
}

function parseState(text: string, file: string): KeptState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON (${errorMessage(err)}); it is sockvm's state of kept guests: remove it and stop their QEMUs by hand`);
  }
  const s = raw as Partial<KeptState>;
  if (s.version !== 1 || !Array.isArray(s.guests) || typeof s.dir !== 'string' || typeof s.identityFile !== 'string' || typeof s.knownHosts !== 'string')
    throw new UsageError(`${file}: not a state file of kept guests this sockvm wrote (version 1); remove it and stop their QEMUs by hand`);
  return s as KeptState;
}

async function readState(file: string): Promise<KeptState | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseState(text, file);
}

/** Every kept run the index knows, newest first; entries whose state file is gone are dropped from the index. */
export async function allKept(): Promise<KeptState[]> {
  const dir = keptIndexDir();
  const names = await readdir(dir).catch(() => [] as string[]);
  const found: KeptState[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const entry = join(dir, name);
    const pointer = JSON.parse(await readFile(entry, 'utf8').catch(() => '{}')) as { state?: string };
    const state = pointer.state ? await readState(pointer.state) : undefined;
    if (state) found.push(state);
    else await rm(entry, { force: true });
  }
  return found.sort((a, b) => b.keptAt.localeCompare(a.keptAt));
}

/**
 * The kept guests `--run` names: a run directory (results/<run-id>, results/latest, or a matrix
 * run's target directory), or `latest` (the default): the guests kept most recently.
 */
export async function findKept(run: string | undefined, cwd = process.cwd()): Promise<KeptState> {
  if (run === undefined || run === 'latest') {
    const [newest] = await allKept();
    if (!newest) throw new UsageError('no kept guests: start some with sockvm run --keep (they stay up until sockvm stop)');
    return newest;
  }
  const dir = resolve(cwd, run);
  if (!(await stat(dir).catch(() => undefined))?.isDirectory())
    throw new UsageError(`--run ${run}: no such directory; give a run's results directory (results/latest) or 'latest'`);
  const direct = await readState(join(dir, KEPT_STATE));
  if (direct) return direct;
  // A matrix run: the one target directory holding a state.
  const inTargets: KeptState[] = [];
  for (const name of await readdir(dir)) {
    const s = await readState(join(dir, name, KEPT_STATE)).catch(() => undefined);
    if (s) inTargets.push(s);
  }
  if (inTargets.length === 1 && inTargets[0]) return inTargets[0];
  throw new UsageError(`--run ${run}: no kept guests there (no ${KEPT_STATE}); the run did not use --keep, or sockvm stop ended them`);
}

/** A path as an ssh_config value: quoted when it holds white space. */
const configPath = (p: string): string => (/\s/.test(p) ? `"${p}"` : p);

/** The OpenSSH `Host` stanzas for a kept run: `sockvm` and `sockvm-guest1` reach guest 1, `sockvm-guest2` guest 2. */
export function sshConfig(s: KeptState): string[] {
  const out = [`# sockvm run ${s.runId}, target ${s.target}: kept guests (sockvm stop powers them off)`];
  for (const g of s.guests) {
    out.push(`Host ${g.name === 'guest1' ? 'sockvm ' : ''}sockvm-${g.name}`);
    out.push('  HostName 127.0.0.1', `  Port ${g.sshPort}`, '  User root', `  IdentityFile ${configPath(s.identityFile)}`, '  IdentitiesOnly yes');
    // The pinned key is filed under an alias, not under a port another run may reuse tomorrow.
    out.push(`  HostKeyAlias sockvm-${g.name}`, `  UserKnownHostsFile ${configPath(s.knownHosts)}`, '  StrictHostKeyChecking yes', '  CheckHostIP no');
    out.push('  LogLevel ERROR');
  }
  return out;
}

/** The known-hosts file of a kept run: the image's host key under each guest's alias. */
export function knownHostsText(hostKey: string, guests: string[]): string {
  const [type, blob] = hostKey.trim().split(/\s+/);
  return guests.map((g) => `sockvm-${g} ${type} ${blob}\n`).join('');
}
