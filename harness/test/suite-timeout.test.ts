// A suite that outlives its time limit in the guest reads as a timeout: the suite's error says
// "timed out after N s", the run exits 1 as for any failed suite (not 2: the guest is fine), and
// results.json records it (the evidence's timedOutSec). Two tiny user suites sleep past
// --suite-timeout 3 in one boot: a C binary (killed by the guest's `timeout -s KILL`) and a
// program suite (its driver gets SIGTERM and ends its program's session, then itself).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { qemuLeftBehind, readTargetResult, runSockvm } from './helpers.js';

const fixtures = join(repoRoot, 'harness', 'test', 'fixtures', 'suites-timeout');

await t.test('suites sleeping past --suite-timeout 3: "timed out after 3 s", exit 1, recorded in results.json', async (t) => {
  const r = await runSockvm(['--suites-dir', fixtures, '--suite', 'sleeper-c', '--suite', 'sleeper-sh', '--suite-timeout', '3']);
  t.equal(r.code, 1, `exit 1, a failed suite (output: ${r.output.slice(-2000)})`);
  const run = readTargetResult(r.resultsRoot);
  t.equal(run.infraError, undefined, 'no infrastructure error: the guest was fine');
  for (const name of ['sleeper-c', 'sleeper-sh']) {
    const suite = run.suites.find((s) => s.name === name);
    t.equal(suite?.status, 'fail', `${name}: failed`);
    t.match(suite?.errors ?? [], [/^timed out after 3 s\b/], `${name}: its error says it timed out (errors: ${JSON.stringify(suite?.errors)})`);
    t.equal(suite?.evidence?.timedOutSec, 3, `${name}: the evidence records the timeout`);
    t.ok((suite?.durationMs ?? Infinity) < 15000, `${name}: ended after ${suite?.durationMs} ms, not after its 60 s sleep`);
    t.match(r.output, new RegExp(`suite ${name}: FAIL in [\\d.]+ s \\(timed out after 3 s`), `${name}: the console says so`);
    t.equal(suite?.tests[0]?.status, 'pass', `${name}: the test reported before the limit is kept`);
  }
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left');

  // Issue 13's secrets, checked on this run's files rather than in a boot of their own: the run's
  // keys and the image that embeds the guest's host key are readable by us alone.
  const guest = join(r.resultsRoot, 'latest', 'guest');
  const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);
  t.equal(mode(guest), '700', 'guest/ is 0700');
  const files = readdirSync(guest);
  for (const f of ['dropbear_host_key', 'id_ed25519', 'initramfs.cpio']) t.ok(files.includes(f), `guest/${f} written`);
  for (const f of files.filter((name) => !name.endsWith('.pub'))) t.equal(mode(join(guest, f)), '600', `guest/${f} is 0600`);
});
