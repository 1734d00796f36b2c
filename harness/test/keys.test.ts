// Run keys: ssh2's ed25519 keygen sometimes makes a pair it cannot read back; such pairs are
// thrown away (the flake showed as "Malformed OpenSSH private key" at SSH connect).
import t from 'tap';
import ssh2 from 'ssh2';
import { clientKeyPair } from '../src/image/keys.js';

await t.test('a malformed pair is replaced, a good one kept', async (t) => {
  const good = ssh2.utils.generateKeyPairSync('ed25519');
  let calls = 0;
  const pair = clientKeyPair(() => (++calls === 1 ? { private: 'garbage', public: 'ssh-ed25519 AAAA' } : good));
  t.equal(calls, 2);
  t.equal(pair, good);
});

await t.test('2000 pairs in a row all parse', async (t) => {
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const p = clientKeyPair();
    if (ssh2.utils.parseKey(p.private) instanceof Error || ssh2.utils.parseKey(p.public) instanceof Error) bad++;
  }
  t.equal(bad, 0);
});

await t.test('a generator that never succeeds is an error, not a loop', async (t) => {
  t.throws(() => clientKeyPair(() => ({ private: 'x', public: 'y' })), /20 unreadable/);
});
