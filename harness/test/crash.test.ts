// The harness under a failing guest: a kernel panic mid-suite, and ^C mid-run.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { qemuLeftBehind, readResults, runSockvm } from './helpers.js';

const panicSuites = join(repoRoot, 'harness', 'test', 'fixtures', 'suites-panic');

t.test('a guest kernel panic during a suite: crashed suite, fresh guest for the next, exit 2, no QEMU left', async (t) => {
  const r = await runSockvm(['--suites-dir', panicSuites, '--suite', 'panic', '--suite', 'create']);
  t.equal(r.code, 2, r.output);
  t.match(r.output, /panic/i);
  const run = readResults(r.resultsRoot);
  t.equal(run.status, 'error');
  t.match(run.infraError ?? '', /the guest crashed during panic/);
  const suite = run.suites.find((s) => s.name === 'panic');
  t.equal(suite?.status, 'error');
  t.match(suite?.errors[0] ?? '', /crashed: the guest died during the suite \(test 2 was running\): the guest kernel panicked/);
  t.match(suite?.kernelFindings.join('\n') ?? '', /Kernel panic - not syncing: sysrq triggered crash/);
  t.equal(suite?.tests[0]?.status, 'pass', 'the test reported before the crash is kept');
  const create = run.suites.find((s) => s.name === 'create');
  t.equal(create?.status, 'pass', 'the next suite ran green on a fresh guest');
  t.type(run.phases['reboot:panic'], 'number', 'the reboot is timed');
  const dir = join(r.resultsRoot, 'latest');
  t.match(readFileSync(join(dir, 'console.log'), 'utf8'), /Kernel panic - not syncing/);
  for (const f of ['panic.tap', 'junit.xml', 'results.tap', 'dmesg.txt']) t.ok(existsSync(join(dir, f)), `${f} written`);
  t.same(qemuLeftBehind(r.resultsRoot), []);
});

t.test('SIGINT during boot: results written, exit 130, no QEMU left', async (t) => {
  let sent = false;
  const r = await runSockvm(['--suite', 'create'], (out, child) => {
    if (!sent && /build initramfs/.test(out)) {
      sent = true;
      setTimeout(() => child.kill('SIGINT'), 1500);
    }
  });
  t.ok(sent, 'interrupted mid-run');
  t.equal(r.code, 130, r.output);
  const run = readResults(r.resultsRoot);
  t.match(run.infraError ?? '', /interrupted by SIGINT/);
  t.same(qemuLeftBehind(r.resultsRoot), []);
});

t.test('SIGINT during a suite: the suites before it kept, exit 130, no guest booted again', async (t) => {
  let sent = false;
  const r = await runSockvm(['--suite', 'create', '--suite', 'stream'], (out, child) => {
    if (!sent && /suite create: PASS/.test(out)) {
      sent = true;
      setTimeout(() => child.kill('SIGINT'), 2000);
    }
  });
  t.ok(sent, 'interrupted while stream ran');
  t.equal(r.code, 130, r.output);
  const run = readResults(r.resultsRoot);
  t.match(run.infraError ?? '', /interrupted by SIGINT/);
  t.equal(run.suites.find((s) => s.name === 'create')?.status, 'pass', 'create kept');
  t.notOk(run.suites.some((s) => s.status === 'error'), 'the interrupted suite is not reported as a crash');
  t.notMatch(r.output, /rebooting the guest/);
  t.same(qemuLeftBehind(r.resultsRoot), []);
});
