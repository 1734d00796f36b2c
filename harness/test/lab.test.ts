// Two guests joined by an e1000 link: the server side on guest 2, the client (the result) on 1.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { qemuLeftBehind, readResults, runSockvm } from './helpers.js';

t.test('a two-guest suite runs across the inter-guest e1000 link', async (t) => {
  const r = await runSockvm(['--suites-dir', join(repoRoot, 'harness', 'test', 'fixtures', 'suites-lab'), '--suite', 'link']);
  t.equal(r.code, 0, r.output);
  const run = readResults(r.resultsRoot);
  t.equal(run.boot?.guests, 2);
  const link = run.suites.find((s) => s.name === 'link');
  t.equal(link?.status, 'pass');
  t.same(link?.tests.map((x) => x.status), ['pass', 'pass', 'pass']);
  const dir = join(r.resultsRoot, 'latest');
  for (const f of ['console.log', 'console-guest2.log', 'dmesg.txt', 'dmesg-guest2.txt', 'link.server.log']) t.ok(existsSync(join(dir, f)), `${f} written`);
  t.same(qemuLeftBehind(r.resultsRoot), []);
});
