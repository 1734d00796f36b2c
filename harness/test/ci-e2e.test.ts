// The CI commands end to end on the host target (boots QEMU): two slices of --suite create
// --suite interop merged give the verdict and counts of one unsharded run; a module broken on
// purpose makes bisect-run exit 1, compare name the broken tests (exit 1), --rerun-failed run
// only the failed suite (only the failed test when one failed); a module that does not build
// makes bisect-run exit 125 (skip); the perf suite records NEW_TCP beside TCP, and the same
// broken module, slowed on purpose too, is a metric regression for compare.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ResultsFile } from '../src/results/model.js';
import { countTests } from '../src/results/verdict.js';
import { repoRoot } from '../src/util/paths.js';
import { cliArgv, readResults } from './helpers.js';
import { validResults } from './results-schema.js';

/** `sockvm <args>` with CI=true; its exit code and everything it printed. */
function sockvm(args: string[]): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(...cliArgv([...args]), { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => ((output += c.toString()), (stdout += c.toString())));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => resolve({ code, output, stdout }));
  });
}

const work = mkdtempSync(join(tmpdir(), 'sockvm-ci-e2e-'));
// Two short suites (errno took 8-10 s of TCG a run, three runs here).
const select = ['--target', 'host', '--suite', 'create', '--suite', 'interop'];
const latest = (root: string): string => realpathSync(join(root, 'latest'));
const totals = (f: ResultsFile) => ({ status: f.status, exitCode: f.exitCode, ...countTests(f.targets.flatMap((x) => x.suites)) });

/** A copy of kernel/newtcp with `edit` applied to `file`; whether the edit changed it. */
function moduleCopy(name: string, file: string, edit: (text: string) => string): { dir: string; changed: boolean } {
  const dir = join(work, name);
  if (!existsSync(dir)) cpSync(join(repoRoot, 'kernel', 'newtcp'), dir, { recursive: true, filter: (src) => !/\.(o|ko|cmd|mod)$/.test(src) });
  const text = readFileSync(join(dir, file), 'utf8');
  const edited = edit(text);
  writeFileSync(join(dir, file), edited);
  return { dir, changed: edited !== text };
}

// One module broken two ways, so that it is built once (a module build is about 30 CPU-s): an
// unknown protocol gets EINVAL instead of EPROTONOSUPPORT (create fails), and every NEW_TCP send
// waits 1 ms more (a 1-byte round trip, two sends, costs several times TCP's; every byte still
// moves right).
const sendmsg = /(int newtcp_sendmsg\(struct socket \*sock, struct msghdr \*msg, size_t len\)\n\{\n(?:\t[^\n]+\n)+\n)/;
const einval = moduleCopy('newtcp-broken', 'af_newtcp.c', (text) => text.replace('return -EPROTONOSUPPORT;', 'return -EINVAL;'));
const slowed = moduleCopy('newtcp-broken', 'newtcp_tx.c', (text) =>
  sendmsg.test(text) ? `#include <linux/delay.h>\n${text.replace(sendmsg, '$1\tudelay(1000);\n')}` : text,
);
const broken = einval.dir;

const wholeRoot = join(work, 'whole');
const whole = await sockvm(['run', ...select, '--results-dir', wholeRoot]);

await t.test('two slices merged: the verdict and counts of one unsharded run', async (t) => {
  t.equal(whole.code, 0, whole.output);
  const slices = [];
  for (const i of [1, 2]) {
    const root = join(work, `slice${i}`);
    const r = await sockvm(['run', ...select, '--shard', `${i}/2`, '--results-dir', root]);
    t.equal(r.code, 0, r.output);
    const f = readResults(root);
    t.match(f.shard, { index: i, count: 2, targets: ['host'], pairs: 2 });
    t.equal(f.targets[0]?.suites.length, 1, `slice ${i} ran one of the two suites`);
    slices.push(latest(root));
  }
  const merged = join(work, 'merged');
  const m = await sockvm(['merge', ...slices, '-o', merged]);
  t.equal(m.code, whole.code, m.output);
  const file = validResults(JSON.parse(readFileSync(join(merged, 'results.json'), 'utf8')), 'merged results.json');
  t.same(totals(file), totals(readResults(wholeRoot)));
  t.same(file.targets[0]?.suites.map((s) => s.name).sort(), ['create', 'interop']);
  const c = await sockvm(['compare', latest(wholeRoot), merged]);
  t.equal(c.code, 0, c.output);
  t.match(c.stdout, /no regression over \d+ tests/);
  const lost = await sockvm(['merge', slices[0] ?? '', '-o', join(work, 'lost')]);
  t.equal(lost.code, 2, 'a missing slice');
  t.match(lost.stdout, /missing: slice 2\/2 of host/);
});

await t.test('a broken module: bisect-run 1, compare names the tests, --rerun-failed runs only what failed', async (t) => {
  t.ok(einval.changed, 'af_newtcp.c answered an unknown protocol with -EPROTONOSUPPORT, now -EINVAL');
  const brokenRoot = join(work, 'broken');
  const b = await sockvm(['bisect-run', ...select, '--module-src', broken, '--results-dir', brokenRoot]);
  t.equal(b.code, 1, `bisect-run: bad\n${b.output}`);
  const c = await sockvm(['compare', latest(wholeRoot), latest(brokenRoot)]);
  t.equal(c.code, 1, c.output);
  t.match(c.stdout, /newly failing \(\d+\):\n {2}✗ host\/create\/socket\(/);
  // Rerun as if one test alone had failed: only that test runs again (which suites a rerun picks
  // when several failed is rerun-failed.test's, without a guest).
  const file = readResults(brokenRoot);
  const suites = file.targets[0]?.suites ?? [];
  const failed = suites.flatMap((s) => s.tests.filter((x) => x.status === 'fail').map((x) => ({ suite: s.name, test: x })));
  const [first, ...others] = failed;
  for (const o of others) o.test.status = 'pass';
  const oneDir = join(work, 'one-failed');
  mkdirSync(oneDir);
  writeFileSync(join(oneDir, 'results.json'), JSON.stringify(file));
  const narrowed = join(work, 'rerun-one');
  const one = await sockvm(['run', '--rerun-failed', oneDir, '--module-src', broken, '--results-dir', narrowed]);
  t.equal(one.code, 1, one.output);
  const ran = readResults(narrowed).targets[0]?.suites ?? [];
  t.same(
    ran.map((s) => s.name),
    [first?.suite],
  );
  t.same(countTests(ran), { passed: 0, failed: 1, skipped: (ran[0]?.tests.length ?? 0) - 1 }, `only '${first?.test.name}' ran`);
  const none = await sockvm(['run', '--rerun-failed', latest(wholeRoot), '--results-dir', join(work, 'none')]);
  t.equal(none.code, 2);
  t.match(none.output, /nothing to rerun: its run passed/);
});

await t.test('a module that does not build: bisect-run 125 (git bisect skips the commit)', async (t) => {
  const unbuildable = moduleCopy('newtcp-unbuildable', 'af_newtcp.c', (text) => `#error broken on purpose\n${text}`).dir;
  const r = await sockvm(['bisect-run', '--target', 'host', '--suite', 'create', '--module-src', unbuildable, '--results-dir', join(work, 'unbuildable')]);
  t.equal(r.code, 125, r.output);
});

await t.test('perf: NEW_TCP beside TCP as metrics; a module slowed on purpose is a metric regression for compare (exit 1)', async (t) => {
  const baseRoot = join(work, 'perf');
  const base = await sockvm(['run', '--target', 'host', '--suite', 'perf', '--results-dir', baseRoot]);
  t.equal(base.code, 0, base.output);
  const perf = readResults(baseRoot).targets[0]?.suites.find((s) => s.name === 'perf');
  const metrics = new Map((perf?.metrics ?? []).map((m) => [m.name, m]));
  for (const where of ['loopback', 'wire'])
    for (const what of ['stream throughput', '1 B latency p50', '4 KiB latency p99', 'connection rate', '1 KiB record rate']) {
      t.type(metrics.get(`${where} ${what}`)?.ratioToTcp, 'number', `${where} ${what}: NEW_TCP with its ratio to TCP`);
      t.equal(metrics.get(`${where} ${what} (TCP)`)?.reference, true, `${where} ${what}: TCP's own figure, a reference`);
    }
  t.match(base.output, /loopback stream throughput: [\d.]+ MiB\/s, TCP [\d.]+ MiB\/s, ratio \d+\.\d{3}/, 'the summary shows NEW_TCP beside TCP');
  // The broken module's 1 ms more in every send (its EINVAL does not touch perf).
  t.ok(slowed.changed, 'newtcp_sendmsg found and slowed');
  const slowRoot = join(work, 'perf-slow');
  const s = await sockvm(['run', '--target', 'host', '--suite', 'perf', '--test', 'loopback: 1 B*', '--module-src', broken, '--results-dir', slowRoot]);
  t.equal(s.code, 0, `the slowed module still moves every byte right\n${s.output}`);
  const c = await sockvm(['compare', latest(baseRoot), latest(slowRoot)]);
  t.equal(c.code, 1, c.output);
  t.match(c.stdout, /metric regressions \(worse by more than 10%\) \(\d+\):\n(?: {2}.*\n)* {2}host\/perf\/loopback 1 B latency p50: ratio to TCP /);
  t.notMatch(c.stdout, /host\/perf\/[^\n]*\(TCP\): /, "TCP's own figures are never judged");
});
