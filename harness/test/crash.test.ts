// The harness under a failing guest: a kernel panic mid-suite and a hung guest. Signals at every phase are interrupt.test.ts.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/paths.js';
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
