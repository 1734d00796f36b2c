// The harness under a failing guest: a kernel panic mid-suite, and ^C or SIGTERM mid-run (boot, suite, build).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot, repoRoot } from '../src/util/paths.js';
import { qemuLeftBehind, readTargetResult, runSockvm } from './helpers.js';

const panicSuites = join(repoRoot, 'harness', 'test', 'fixtures', 'suites-panic');

await t.test('a guest kernel panic during a suite: crashed suite, fresh guest for the next, exit 2, no QEMU left', async (t) => {
  const r = await runSockvm(['--suites-dir', panicSuites, '--suite', 'panic', '--suite', 'create']);
  t.equal(r.code, 2, r.output);
  t.match(r.output, /panic/i);
  const run = readTargetResult(r.resultsRoot);
  t.equal(run.status, 'error');
  t.match(run.infraError ?? '', /the guest crashed during panic/);
  const suite = run.suites.find((s) => s.name === 'panic');
  t.equal(suite?.status, 'error');
  t.match(suite?.errors[0] ?? '', /crashed: the guest died during the suite \(test 2 \(sysrq crash\) was running\): the guest kernel panicked/);
  t.match(suite?.tests[1] ?? {}, { id: 2, name: 'sysrq crash', status: 'error' }, 'the running test is marked crashed');
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

await t.test('a hung guest (QEMU stopped: no SSH answer, console silent): crashed suite naming the test, fresh guest for the next, no QEMU left', async (t) => {
  let stopped = '';
  const r = await runSockvm(['-v', '--suites-dir', panicSuites, '--suite', 'hang', '--suite', 'create'], (out, _child, root) => {
    if (stopped || !/# running 2 - the guest stops answering/.test(out)) return;
    const [pid] = qemuLeftBehind(root).map((l) => l.trim().split(/\s+/)[0]);
    if (pid) {
      stopped = pid;
      process.kill(Number(pid), 'SIGSTOP');
    }
  });
  t.ok(stopped, 'QEMU stopped mid-suite');
  t.equal(r.code, 2, r.output);
  const run = readTargetResult(r.resultsRoot);
  const suite = run.suites.find((s) => s.name === 'hang');
  t.equal(suite?.status, 'error');
  t.match(
    suite?.errors[0] ?? '',
    /\(test 2 \(the guest stops answering\) was running\): guest1 stopped answering over SSH \(hung kernel\?; guest1's console silent for \d+ s\)/,
  );
  t.match(suite?.tests[1] ?? {}, { id: 2, status: 'error' });
  t.ok((suite?.durationMs ?? Infinity) < 120000, `noticed in ${suite?.durationMs} ms, long before the suite's 600 s limit`);
  t.equal(run.suites.find((s) => s.name === 'create')?.status, 'pass', 'the next suite ran green on a fresh guest');
  t.same(qemuLeftBehind(r.resultsRoot), []);
});

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  await t.test(`${signal} during boot: results written, exit ${code}, no QEMU left`, async (t) => {
    let sent = false;
    const r = await runSockvm(['--suite', 'create'], (out, child) => {
      if (!sent && /build initramfs/.test(out)) {
        sent = true;
        setTimeout(() => child.kill(signal), 1500);
      }
    });
    t.ok(sent, 'interrupted mid-run');
    t.equal(r.signal, null, 'exited by itself, not killed by the signal');
    t.equal(r.code, code, r.output);
    const run = readTargetResult(r.resultsRoot);
    t.match(run.infraError ?? '', new RegExp(`interrupted by ${signal}`));
    t.equal(run.exitCode, code, 'results.json records the exit code the process gave');
    t.match(r.output, new RegExp(`\\(exit ${code}\\)`));
    t.ok(existsSync(join(r.resultsRoot, 'latest', 'console.log')), 'QEMU had started booting');
    t.same(qemuLeftBehind(r.resultsRoot), []);
  });
}

await t.test('SIGINT during a suite: the suites before it kept, exit 130, no guest booted again', async (t) => {
  let sent = false;
  const r = await runSockvm(['--suite', 'create', '--suite', 'stream'], (out, child) => {
    if (!sent && /suite create: PASS/.test(out)) {
      sent = true;
      setTimeout(() => child.kill('SIGINT'), 2000);
    }
  });
  t.ok(sent, 'interrupted while stream ran');
  t.equal(r.code, 130, r.output);
  const run = readTargetResult(r.resultsRoot);
  t.match(run.infraError ?? '', /interrupted by SIGINT/);
  t.equal(run.suites.find((s) => s.name === 'create')?.status, 'pass', 'create kept');
  t.notOk(
    run.suites.some((s) => s.status === 'error'),
    'the interrupted suite is not reported as a crash',
  );
  t.notMatch(r.output, /rebooting the guest/);
  t.same(qemuLeftBehind(r.resultsRoot), []);
});

await t.test('SIGTERM during the module build: make and its children killed at once, no cache entry, exit 143', async (t) => {
  // A module tree whose Kbuild takes a minute (a marked sleep), so the signal lands mid-build.
  const src = mkdtempSync(join(tmpdir(), 'sockvm-slowmod-'));
  cpSync(join(repoRoot, 'kernel', 'newtcp'), src, { recursive: true });
  const marker = `sockvm-slow-build-${process.pid}`;
  appendFileSync(join(src, 'Kbuild'), `\n$(shell sh -c 'sleep 60; true' ${marker})\n`);
  const moduleEntries = (): string[] => (existsSync(join(cacheRoot(), 'module')) ? readdirSync(join(cacheRoot(), 'module')).sort() : []);
  const before = moduleEntries();
  const building = (): string[] =>
    execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(marker));
  let sentAt = 0;
  let poll: NodeJS.Timeout | undefined;
  const r = await runSockvm(['--suite', 'create', '--module-src', src], (_out, child) => {
    // The signal goes when the build's own process is seen running.
    poll ??= setInterval(() => {
      if (sentAt || !building().length) return;
      sentAt = Date.now();
      child.kill('SIGTERM');
    }, 200);
  });
  clearInterval(poll);
  t.ok(sentAt, 'interrupted during the module build');
  t.equal(r.code, 143, r.output);
  t.ok(Date.now() - sentAt < 10000, `exited ${Date.now() - sentAt} ms after the signal`);
  const left = building();
  t.same(left, [], 'no build process left');
  const run = readTargetResult(r.resultsRoot);
  t.match(run.infraError ?? '', /interrupted by SIGTERM/);
  t.same(moduleEntries(), before, 'no module cache entry made or left half-made');
});
