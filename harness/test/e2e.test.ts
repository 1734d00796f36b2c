// The real path: distro kernel, newtcp.ko, suites, initramfs, QEMU with e1000, SSH, results.
// A user's two-guest suite (fixtures/suites-lab) rides along: every built-in suite and it, on
// the same two guests joined by the inter-guest e1000 link.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { qemuLeftBehind, readTargetResult, runSockvm } from './helpers.js';

await t.test("sockvm run boots the guests, runs every suite (a user's two-guest suite too) over SSH and writes every result file", async (t) => {
  const r = await runSockvm(['--suites-dir', join(repoRoot, 'harness', 'test', 'fixtures', 'suites-lab')]);
  t.equal(r.code, 0, `exit 0\n${r.output}`);
  const run = readTargetResult(r.resultsRoot);
  const dir = join(r.resultsRoot, 'latest');
  t.equal(run.status, 'pass');
  t.equal(run.guest?.e1000Bound, true, 'the SSH session came in on the e1000');
  t.equal(run.guest?.moduleLoaded, true, 'newtcp.ko loaded');
  t.equal(run.guest?.moduleUnloaded, true, 'newtcp.ko unloaded cleanly');
  t.ok((run.guest?.family ?? 0) > 0, 'the family number was read from sysfs');
  const create = run.suites.find((s) => s.name === 'create');
  t.equal(create?.status, 'pass');
  t.ok((create?.tests.length ?? 0) >= 50, `create ran ${create?.tests.length} tests`);
  t.ok(create?.tests.every((x) => x.status === 'pass'));
  for (const name of ['stream', 'seqpacket']) {
    const suite = run.suites.find((s) => s.name === name);
    t.equal(suite?.status, 'pass', `${name} suite green`);
    t.ok((suite?.tests.length ?? 0) > 0, `${name} ran ${suite?.tests.length} tests`);
  }
  t.ok(
    run.suites.find((s) => s.name === 'stream')?.tests.some((x) => /64 MiB each way/.test(x.name) && x.status === 'pass'),
    '64 MiB each way arrived intact',
  );
  for (const phase of ['module-build', 'image-build', 'boot', 'suite:create']) t.type(run.phases[phase], 'number', `phase ${phase} timed`);
  t.ok(run.kernel?.release, 'kernel release recorded');
  t.ok(run.accelerator === 'tcg' || run.accelerator === 'kvm', 'accelerator recorded');
  // The reproduce line pins what auto chose: the accelerator, and the fuzzer's seed.
  t.match(run.command, /^npm run sockvm -- run .* --accel (kvm|tcg)( --seed \d+)?$/);
  const fuzz = run.suites.find((s) => s.name === 'fuzz');
  if (fuzz) t.match(run.command, new RegExp(` --seed ${fuzz.seed}$`), 'the fuzz seed is pinned');
  const untimed = run.suites.flatMap((s) => s.tests.filter((x) => typeof x.durationMs !== 'number').map((x) => `${s.name}: ${x.name}`));
  t.same(untimed, [], 'every test has a duration');
  t.equal(run.boot?.guests, 2, 'two guests');
  const link = run.suites.find((s) => s.name === 'link');
  t.equal(link?.status, 'pass', "the user's two-guest suite ran across the link");
  t.same(
    link?.tests.map((x) => x.status),
    ['pass', 'pass', 'pass'],
  );
  for (const f of [
    'console.log',
    'console-guest2.log',
    'dmesg.txt',
    'dmesg-guest2.txt',
    'link.server.log',
    'create.tap',
    'results.tap',
    'junit.xml',
    'report.html',
    'results.json',
  ])
    t.ok(existsSync(join(dir, f)), `${f} written`);
  t.match(
    readFileSync(join(dir, 'results.tap'), 'utf8'),
    /^TAP version 14\n1\.\.\d+\n# Subtest: [\w-]+\n {4}1\.\.\d+\n/,
    "results.tap: every suite's plan first",
  );
  t.match(readFileSync(join(dir, 'junit.xml'), 'utf8'), /<testsuite name="create" tests="\d+" failures="0"/);
  t.match(readFileSync(join(dir, 'dmesg.txt'), 'utf8'), /e1000/);
  t.match(r.output, /\d+ passed, 0 failed/);
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left running');
});
