// The harness under a failing guest: a kernel panic mid-suite and a hung guest. Signals at every phase are interrupt.test.ts.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { qemuLeftBehind, readTargetResult, runSockvm } from './helpers.js';

const panicSuites = join(repoRoot, 'harness', 'test', 'fixtures', 'suites-panic');

// One run for both (a panic, then a hang, then a green suite): each crash reboots the guests, and
// a second harness start, image and boot would only repeat what the first one proves.
let stopped = '';
const r = await runSockvm(['-v', '--suites-dir', panicSuites, '--suite', 'panic', '--suite', 'hang', '--suite', 'create'], (out, _child, root) => {
  if (stopped || !/# running 2 - the guest stops answering/.test(out)) return;
  const [pid] = qemuLeftBehind(root).map((l) => l.trim().split(/\s+/)[0]);
  if (pid) {
    stopped = pid;
    process.kill(Number(pid), 'SIGSTOP');
  }
});
const run = readTargetResult(r.resultsRoot);

await t.test('the run: exit 2, both crashes named, the next suite green on a fresh guest, no QEMU left', async (t) => {
  t.equal(r.code, 2, r.output);
  t.equal(run.status, 'error');
  t.match(run.infraError ?? '', /the guest crashed during panic, hang/);
  const create = run.suites.find((s) => s.name === 'create');
  t.equal(create?.status, 'pass', 'the suite after the crashes ran green on a fresh guest');
  for (const phase of ['reboot:panic', 'reboot:hang']) t.type(run.phases[phase], 'number', `${phase} is timed`);
  const dir = join(r.resultsRoot, 'latest');
  for (const f of ['panic.tap', 'hang.tap', 'junit.xml', 'results.tap', 'dmesg.txt']) t.ok(existsSync(join(dir, f)), `${f} written`);
  t.same(qemuLeftBehind(r.resultsRoot), []);
});

await t.test('a guest kernel panic during a suite: the suite crashed, the running test marked, earlier results kept', async (t) => {
  t.match(r.output, /panic/i);
  const suite = run.suites.find((s) => s.name === 'panic');
  t.equal(suite?.status, 'error');
  t.match(suite?.errors[0] ?? '', /crashed: the guest died during the suite \(test 2 \(sysrq crash\) was running\): the guest kernel panicked/);
  t.match(suite?.tests[1] ?? {}, { id: 2, name: 'sysrq crash', status: 'error' }, 'the running test is marked crashed');
  t.match(suite?.kernelFindings.join('\n') ?? '', /Kernel panic - not syncing: sysrq triggered crash/);
  t.equal(suite?.tests[0]?.status, 'pass', 'the test reported before the crash is kept');
  t.match(readFileSync(join(r.resultsRoot, 'latest', 'console.log'), 'utf8'), /Kernel panic - not syncing/);
  t.match(readFileSync(join(r.resultsRoot, 'latest', 'crash-panic.console.txt'), 'utf8'), /Kernel panic - not syncing/, 'the console tail is kept');
});

await t.test('a hung guest (QEMU stopped: no SSH answer, console silent): the suite crashed, naming the test, noticed early', async (t) => {
  t.ok(stopped, 'QEMU stopped mid-suite');
  const suite = run.suites.find((s) => s.name === 'hang');
  t.equal(suite?.status, 'error');
  t.match(
    suite?.errors[0] ?? '',
    /\(test 2 \(the guest stops answering\) was running\): guest1 stopped answering over SSH \(hung kernel\?; guest1's console silent for \d+ s\)/,
  );
  t.match(suite?.tests[1] ?? {}, { id: 2, status: 'error' });
  t.ok((suite?.durationMs ?? Infinity) < 120000, `noticed in ${suite?.durationMs} ms, long before the suite's 600 s limit`);
});
