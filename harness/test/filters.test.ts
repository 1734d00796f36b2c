// A run is never green for nothing: a --test glob that matches no test fails the run, in a real guest.
import t from 'tap';
import { qemuLeftBehind, readTargetResult, runSockvm } from './helpers.js';

t.test('--test matching no test: exit 1, the summary and results.json say no test ran', async (t) => {
  const r = await runSockvm(['--suite', 'create', '--test', 'no-such-test-*']);
  t.equal(r.code, 1, `exit 1 (output tail: ${r.output.slice(-600)})`);
  t.match(r.output, /error: no test ran: --test 'no-such-test-\*' matched none of the \d+ tests of create/);
  const res = readTargetResult(r.resultsRoot);
  t.equal(res.status, 'fail');
  t.match(res.problem, /no test ran/);
  t.ok(res.suites[0]?.tests.every((x) => x.status === 'skip'), 'every test reported skipped');
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left');
});

t.test('--suite and --tag typos and a bad --module-src are all reported before any kernel work', async (t) => {
  const start = Date.now();
  // 6.12-patched is a source kernel (minutes to build when not cached): nothing of it may start.
  const r = await runSockvm(['--target', '6.12-patched', '--target', 'host', '--suite', 'nosuch', '--module-src', '/nonexistent']);
  t.equal(r.code, 2);
  t.match(r.output, /--suite nosuch: no such suite/);
  t.match(r.output, /--module-src \/nonexistent: no Kbuild or Makefile there/);
  t.notMatch(r.output, /✓ kernel|kernel build|compiling/, 'no kernel phase started');
  const tag = await runSockvm(['--target', '6.12-patched', '--tag', 'nosuch']);
  t.equal(tag.code, 2);
  t.match(tag.output, /--tag nosuch: no suite has this tag/);
  t.ok(Date.now() - start < 30000, `both reported in ${Date.now() - start} ms`);
});
