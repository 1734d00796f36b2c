// A run is never green for nothing: a --test glob that matches no test fails the run, in a real guest.
import t from 'tap';
import { readdirSync } from 'node:fs';
import type { Plan } from '../src/plan/plan.js';
import { qemuLeftBehind, readTargetResult, runSockvm } from './helpers.js';

await t.test('--test matching no test: exit 1, the summary and results.json say no test ran', async (t) => {
  const r = await runSockvm(['--suite', 'create', '--test', 'no-such-test-*']);
  t.equal(r.code, 1, `exit 1 (output tail: ${r.output.slice(-600)})`);
  t.match(r.output, /error: no test ran: --test 'no-such-test-\*' matched none of the \d+ tests of create/);
  const res = readTargetResult(r.resultsRoot);
  t.equal(res.status, 'fail');
  t.match(res.problem, /no test ran/);
  t.ok(
    res.suites[0]?.tests.every((x) => x.status === 'skip'),
    'every test reported skipped',
  );
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left');
});

await t.test('--suite and --tag typos and a bad --module-src are all reported at once, before any kernel work', async (t) => {
  const start = Date.now();
  // 6.12-patched is a source kernel (minutes to build when not cached): nothing of it may start.
  const r = await runSockvm([
    '--target',
    '6.12-patched',
    '--target',
    'host',
    '--suite',
    'nosuch',
    '--tag',
    'nosuch',
    '--module-src',
    '/nonexistent',
    '--progress',
    'json',
  ]);
  const ms = Date.now() - start;
  t.equal(r.code, 2);
  t.match(r.output, /--suite nosuch: no such suite/);
  t.match(r.output, /--tag nosuch: no suite has this tag/);
  t.match(r.output, /--module-src \/nonexistent: no Kbuild or Makefile there/);
  t.notMatch(r.output, /"phase-started","phase":"(?!plan")/, 'no phase but the plan started: nothing was built');
  t.same(readdirSync(r.resultsRoot), [], 'no run directory: a run that was never planned has no results');
  // Building this kernel takes minutes: the bound tells planning from building (not a speed target;
  // 5 s here failed at load 12 in a fresh-machine CI).
  t.ok(ms < 60000, `reported in ${ms} ms`);
});

await t.test('--dry-run prints the plan of an uncached source-kernel target and builds nothing', async (t) => {
  const start = Date.now();
  const r = await runSockvm(['--target', '6.12-patched', '--suite', 'wire', '--dry-run', '--json']);
  const ms = Date.now() - start;
  t.equal(r.code, 0, r.output);
  const plan = JSON.parse(r.output) as Plan;
  t.same(
    plan.targets.map((x) => [x.name, x.suites, x.guests, x.cpus.tcg]),
    [['6.12-patched', ['wire'], 2, 1]],
  );
  t.same(readdirSync(r.resultsRoot), [], 'nothing written');
  t.ok(ms < 60000, `planned in ${ms} ms (a build of this kernel takes minutes)`);
});
