// The CI commands end to end on the host target (boots QEMU): two slices of --suite create
// --suite errno merged give the verdict and counts of one unsharded run; a module broken on
// purpose makes bisect-run exit 1, compare name the broken tests (exit 1), --rerun-failed run
// only the failed suite (only the failed test when one failed); a module that does not build
// makes bisect-run exit 125 (skip).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ResultsFile } from '../src/results/model.js';
import { countTests } from '../src/results/verdict.js';
import { repoRoot } from '../src/util/paths.js';
import { cli, readResults } from './helpers.js';
import { validResults } from './results-schema.js';

/** `sockvm <args>` with CI=true; its exit code and everything it printed. */
function sockvm(args: string[]): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => ((output += c.toString()), (stdout += c.toString())));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => resolve({ code, output, stdout }));
  });
}

const work = mkdtempSync(join(tmpdir(), 'sockvm-ci-e2e-'));
const select = ['--target', 'host', '--suite', 'create', '--suite', 'errno'];
const latest = (root: string): string => realpathSync(join(root, 'latest'));
const totals = (f: ResultsFile) => ({ status: f.status, exitCode: f.exitCode, ...countTests(f.targets.flatMap((x) => x.suites)) });

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
  t.same(file.targets[0]?.suites.map((s) => s.name).sort(), ['create', 'errno']);
  const c = await sockvm(['compare', latest(wholeRoot), merged]);
  t.equal(c.code, 0, c.output);
  t.match(c.stdout, /no regression over \d+ tests/);
  const lost = await sockvm(['merge', slices[0] ?? '', '-o', join(work, 'lost')]);
  t.equal(lost.code, 2, 'a missing slice');
  t.match(lost.stdout, /missing: slice 2\/2 of host/);
});

await t.test('a broken module: bisect-run 1, compare names the tests, --rerun-failed runs only what failed', async (t) => {
  // NEW_TCP answers an unknown protocol with EINVAL instead of EPROTONOSUPPORT.
  const broken = join(work, 'newtcp-broken');
  cpSync(join(repoRoot, 'kernel', 'newtcp'), broken, { recursive: true, filter: (src) => !/\.(o|ko|cmd|mod)$/.test(src) });
  const af = join(broken, 'af_newtcp.c');
  const text = readFileSync(af, 'utf8');
  t.match(text, /return -EPROTONOSUPPORT;/);
  writeFileSync(af, text.replace('return -EPROTONOSUPPORT;', 'return -EINVAL;'));
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
  const unbuildable = join(work, 'newtcp-unbuildable');
  cpSync(join(repoRoot, 'kernel', 'newtcp'), unbuildable, { recursive: true, filter: (src) => !/\.(o|ko|cmd|mod)$/.test(src) });
  const af = join(unbuildable, 'af_newtcp.c');
  writeFileSync(af, `#error broken on purpose\n${readFileSync(af, 'utf8')}`);
  const r = await sockvm(['bisect-run', '--target', 'host', '--suite', 'create', '--module-src', unbuildable, '--results-dir', join(work, 'unbuildable')]);
  t.equal(r.code, 125, r.output);
});
