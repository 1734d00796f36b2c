// SSH keys made for each run: a dropbear host key baked into the image (and pinned by the
// client), and a client key whose public half goes into authorized_keys.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import ssh2 from 'ssh2';
import { InfraError } from '../util/errors.js';

export interface RunKeys {
  /** dropbear-format host private key, for the image. */
  hostKey: Buffer;
  /** The host public key blob (wire format) the client must see. */
  hostPublicBlob: Buffer;
  hostPublicLine: string;
  clientPrivate: string;
  clientPublicLine: string;
}

/** Extracts the key blob from an OpenSSH public key line ("ssh-ed25519 AAAA… comment"). */
export function publicBlob(line: string): Buffer {
  const b64 = line.trim().split(/\s+/)[1];
  if (!b64) throw new InfraError(`not an OpenSSH public key line ("ssh-ed25519 AAAA… comment"): ${JSON.stringify(line)}`);
  return Buffer.from(b64, 'base64');
}

/**
 * An ed25519 pair ssh2 can read back. ssh2's keygen strips leading zero bytes from the public
 * key, so about 1 pair in 256 comes out malformed (mscdex/ssh2#1390, #1513); such a pair is
 * thrown away and another made.
 */
export function clientKeyPair(generate = () => ssh2.utils.generateKeyPairSync('ed25519', { comment: 'sockvm' })): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = generate();
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
    if (attempt >= 20) throw new InfraError('ssh2 made 20 unreadable ed25519 key pairs in a row; its keygen is broken (check the ssh2 version)');
  }
}

export async function makeRunKeys(dir: string, signal: AbortSignal): Promise<RunKeys> {
  const hostKeyPath = join(dir, 'dropbear_host_key');
  await execa('dropbearkey', ['-t', 'ed25519', '-f', hostKeyPath], { stdin: 'ignore', cancelSignal: signal });
  const pub = await execa('dropbearkey', ['-y', '-f', hostKeyPath], { stdin: 'ignore', cancelSignal: signal });
  const hostPublicLine = pub.stdout.split('\n').find((l) => l.startsWith('ssh-')) ?? '';
  const client = clientKeyPair();
  return {
    hostKey: await readFile(hostKeyPath),
    hostPublicBlob: publicBlob(hostPublicLine),
    hostPublicLine,
    clientPrivate: client.private,
    clientPublicLine: client.public,
  };
}
