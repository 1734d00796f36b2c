// Guest.connect pins the host key: the right key connects, any other key is refused at once
// (an InfraError, not retried until the deadline). Against an in-process ssh2 server.
import t from 'tap';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { Guest } from '../src/guest/ssh.js';
import { clientKeyPair, publicBlob } from '../src/image/keys.js';
import { InfraError } from '../src/util/errors.js';

const hostPair = clientKeyPair();
const otherHostPair = clientKeyPair();
const client = clientKeyPair();

/** An SSH server on 127.0.0.1 that lets `client` in and answers `exec` with the command echoed. */
async function startServer(): Promise<{ port: number; handshakes: () => number; close: () => Promise<void> }> {
  const allowed = ssh2.utils.parseKey(client.public);
  if (allowed instanceof Error) throw allowed;
  let handshakes = 0;
  const server = new ssh2.Server({ hostKeys: [hostPair.private] }, (conn) => {
    handshakes++;
    conn.on('error', () => {
      // The client hangs up mid-handshake when it rejects the host key.
    });
    conn.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== 'root') return ctx.reject(['publickey']);
      const offered = ctx.key.data;
      const mine = allowed.getPublicSSH();
      if (ctx.key.algo !== allowed.type || offered.length !== mine.length || !timingSafeEqual(offered, mine)) return ctx.reject(['publickey']);
      // Without a signature the client only asks whether the key would do.
      if (!ctx.signature || !ctx.blob) return ctx.accept();
      if (allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        accept().once('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          stream.write(`ran: ${info.command}\n`);
          stream.exit(0);
          stream.end();
        });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    handshakes: () => handshakes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

await t.test('the pinned host key connects and runs a command', async (t) => {
  const server = await startServer();
  t.teardown(server.close);
  const guest = await Guest.connect({
    port: server.port,
    privateKey: client.private,
    hostKeyBlob: publicBlob(hostPair.public),
    guestGone: () => undefined,
    deadlineMs: 10000,
  });
  t.teardown(() => guest.close());
  const r = await guest.exec('uname -r', { timeoutMs: 5000 });
  t.equal(r.code, 0);
  t.equal(r.stdout, 'ran: uname -r\n');
  t.equal(await guest.run('echo hi'), 'ran: echo hi\n');
});

await t.test('another host key: refused at once with a mismatch error, no retries', async (t) => {
  const server = await startServer();
  t.teardown(server.close);
  const deadlineMs = 20000;
  const start = Date.now();
  const err = await Guest.connect({
    port: server.port,
    privateKey: client.private,
    hostKeyBlob: publicBlob(otherHostPair.public),
    guestGone: () => undefined,
    deadlineMs,
  }).then(
    (g) => {
      g.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  const elapsed = Date.now() - start;
  t.type(err, InfraError);
  const message = err instanceof Error ? err.message : '';
  t.match(message, /^SSH host key mismatch/);
  t.notMatch(message, /no SSH answer/, 'not the give-up-at-deadline error');
  t.ok(elapsed < 3000, `rejected in ${elapsed} ms, not after retrying for ${deadlineMs / 1000} s`);
  t.equal(server.handshakes(), 1, 'one connection attempt only');
});
