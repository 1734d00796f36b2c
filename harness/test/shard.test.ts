// --shard i/n and sockvm merge on fixed inputs: every (target, suite) pair lands in exactly one
// slice whatever the order or weights (fast-check), the slices are balanced, the planner keeps
// only its slice, and merged slices give the verdict and counts of one unsharded run; a missing
// slice is named and is exit 2. The merge CLI is run for real on files written here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { parseRunOptions } from '../src/config/run-options.js';
import { planOptions } from './plan-options.js';
import { parseConfig } from '../src/config/targets.js';
import { planRun, type PlanInputs } from '../src/plan/plan.js';
import { assignShards, durationsOf, pairKey, parseShard, type ShardItem } from '../src/plan/shard.js';
import { mergeResults } from '../src/results/merge.js';
import type { ResultsFile, RunResult, RunShard } from '../src/results/model.js';
import { runResultsFile } from '../src/results/results-file.js';
import { countTests, judgeRun } from '../src/results/verdict.js';
import { cliArgv } from './helpers.js';
import { schemaErrors, validResults } from './results-schema.js';
import { suite, target } from './results-fixtures.js';
import { defaultManifest } from '../src/suites/manifest.js';

const file = (runs: RunResult[], shard?: RunShard): ResultsFile =>
  runResultsFile(runs, { runId: 'r', command: 'c', matrix: true, verdict: judgeRun(runs), ...(shard ? { shard } : {}) });

const itemsArb = fc.uniqueArray(fc.record({ target: fc.constantFrom('host', 'debian-6.1', 'debian-7.2'), suite: fc.stringMatching(/^[a-z][a-z0-9-]{0,7}$/) }), {
  selector: pairKey,
  maxLength: 40,
});

await t.test('every pair is in exactly one slice, whatever the order and the durations', async () => {
  fc.assert(
    fc.property(itemsArb, fc.integer({ min: 1, max: 12 }), fc.dictionary(fc.string(), fc.integer({ min: 1, max: 600_000 })), (items, n, extra) => {
      const durations: Record<string, number> = { ...extra };
      items.forEach((it, i) => i % 3 && (durations[pairKey(it)] = (i * 7919) % 90_000));
      const shards = assignShards(items, n, durations);
      // Each pair has one slice in range: the slices partition the pairs.
      if (!shards.every((s) => Number.isInteger(s) && s >= 0 && s < n)) return false;
      const slices = Array.from({ length: n }, (_, k) => items.filter((_, i) => shards[i] === k).map(pairKey));
      if (slices.flat().length !== items.length || new Set(slices.flat()).size !== items.length) return false;
      // Another job lists the same selection in another order: the same slices.
      const reversed = [...items].reverse();
      const again = assignShards(reversed, n, durations);
      return reversed.every((it, i) => again[i] === shards[items.findIndex((x) => pairKey(x) === pairKey(it))]);
    }),
    { numRuns: 300 },
  );
});

await t.test('slices are balanced: by count without durations, by time with them', async (t) => {
  fc.assert(
    fc.property(itemsArb, fc.integer({ min: 1, max: 8 }), (items, n) => {
      const shards = assignShards(items, n);
      const sizes = Array.from({ length: n }, (_, k) => shards.filter((s) => s === k).length);
      return Math.max(...sizes) - Math.min(...sizes) <= 1;
    }),
  );
  const items: ShardItem[] = ['a', 'b', 'c', 'd', 'e'].map((suite) => ({ target: 'host', suite }));
  // One long suite and four short ones: the long one gets a slice of its own.
  const shards = assignShards(items, 2, { 'host/a': 60_000, 'host/b': 10_000, 'host/c': 10_000, 'host/d': 10_000, 'host/e': 10_000 });
  t.same(shards, [0, 1, 1, 1, 1]);
  t.same(
    durationsOf([
      {
        target: 'host',
        suites: [
          { name: 'a#1', durationMs: 10 },
          { name: 'a#2', durationMs: 30 },
        ],
      },
    ]),
    { 'host/a': 20 },
  );
});

await t.test('--shard and --durations: usage errors name the input and the fix', async (t) => {
  t.same(parseShard('2/4'), { index: 2, count: 4 });
  for (const bad of ['0/2', '3/2', '1/0', 'x', '1/257', '1/2/3'])
    t.throws(() => parseShard(bad), { message: new RegExp(`--shard ${bad}: expected i/n with 1 ≤ i ≤ n`) });
  t.throws(() => parseRunOptions(['--durations', 'x.json']), { message: /--durations balances shards: add --shard i\/n/ });
  t.throws(() => parseRunOptions(['--rerun-failed', 'r', '--suite', 'create', '--shard', '1/2']), {
    message: /--rerun-failed r chooses the targets.*drop --suite, --shard/,
  });
});

const config = parseConfig(JSON.stringify({ default: 'host', targets: { host: { kernel: 'host' }, old: { kernel: 'debian:6.1' } } }), 'test.json');
const manifest = defaultManifest();
const inputs = (over: Partial<PlanInputs> = {}): PlanInputs => ({
  config,
  suites: ['create', 'errno', 'stream'].map((name) => ({ name, sourceDir: `/r/suites/${name}`, manifest })),
  moduleSrc: { path: '/r/kernel/newtcp', isTree: true },
  tools: {},
  missingFragments: {},
  problems: [],
  ...over,
});

await t.test('the planner keeps only its slice, in per-target directories, and records the selection', async (t) => {
  const slices = [1, 2, 3].map((i) => planRun(planOptions(['--all-targets', '--shard', `${i}/3`]), inputs(), { runId: 'R' }));
  const pairs = slices.flatMap((p) => p.targets.flatMap((x) => x.suites.map((s) => `${x.name}/${s}`)));
  t.same(pairs.sort(), ['host/create', 'host/errno', 'host/stream', 'old/create', 'old/errno', 'old/stream']);
  for (const p of slices) {
    t.equal(p.matrix, true);
    if (p.shard) t.same(schemaErrors(file([], p.shard)), [], 'the shard record fits the schema');
    t.match(p.shard, { count: 3, targets: ['host', 'old'], pairs: 6 });
  }
  // The default target alone, sliced: still a directory per target, for merge.
  t.equal(planRun(planOptions(['--shard', '1/2']), inputs(), { runId: 'R' }).targets[0]?.resultsDir, '/res/R/host');
  t.throws(() => planRun(planOptions(['--suite', 'create', '--shard', '2/2']), inputs(), { runId: 'R' }), {
    message: /--shard 2\/2: the selection has 1 \(target, suite\) pairs and this slice none; use at most 1 slices/,
  });
  t.throws(() => planRun(planOptions(['--shard', '1/2', '--exec', 'true']), inputs(), { runId: 'R' }), {
    message: /--shard 1\/2 slices suites: not with a guest command/,
  });
});

const create = suite('create', 'TAP version 14\n1..2\nok 1 - socket()\nok 2 - bind\n');
const errno = suite('errno', 'TAP version 14\n1..2\nok 1 - EAFNOSUPPORT\nnot ok 2 - EINVAL\n# got 0\n', { exitCode: 1 });
const slice = (index: number): RunShard => ({ index, count: 2, targets: ['host'], pairs: 2 });

await t.test('merged slices give the verdict and counts of one unsharded run; a missing slice is exit 2', async (t) => {
  const whole = target('host', [create, errno]);
  const merged = mergeResults([
    { dir: 's1', file: file([target('host', [create], { command: 'npm run sockvm -- run --target host --shard 1/2 --seed 7' })], slice(1)) },
    { dir: 's2', file: file([target('host', [errno])], slice(2)) },
  ]);
  t.same(merged.missing, []);
  t.same([merged.verdict, countTests(merged.runs[0]?.suites ?? [])], [judgeRun([whole]), countTests(whole.suites)]);
  t.equal(merged.runs[0]?.status, whole.status);
  t.equal(merged.runs[0]?.command, 'npm run sockvm -- run --target host --seed 7', 'the rerun line covers every slice');
  const lost = mergeResults([{ dir: 's1', file: file([target('host', [create])], slice(1)) }]);
  t.same(lost.missing, ['slice 2/2 of host']);
  t.same(lost.verdict, { status: 'error', exitCode: 2 });
  t.throws(
    () =>
      mergeResults([
        { dir: 'a', file: file([target('host', [create])]) },
        { dir: 'b', file: file([target('host', [create])]) },
      ]),
    {
      message: /host\/create is in both a and b: merge joins the slices of one run/,
    },
  );
  t.throws(
    () =>
      mergeResults([
        { dir: 'a', file: file([target('host', [create])], slice(1)) },
        { dir: 'b', file: file([target('host', [errno])], slice(1)) },
      ]),
    {
      message: /slice 1\/2 of host is given twice: a and b/,
    },
  );
});

await t.test('the merge CLI writes one tree with every report, and names a missing slice', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-merge-'));
  const write = (name: string, f: ResultsFile, tap: Record<string, string>): string => {
    const dir = join(root, name);
    mkdirSync(join(dir, 'host'), { recursive: true });
    writeFileSync(join(dir, 'results.json'), JSON.stringify(f));
    for (const [n, text] of Object.entries(tap)) writeFileSync(join(dir, 'host', n), text);
    return dir;
  };
  const s1 = write('s1', file([target('host', [create])], slice(1)), { 'create.tap': 'TAP version 14\n', 'console.log': 'one\n' });
  const s2 = write('s2', file([target('host', [errno])], slice(2)), { 'errno.tap': 'TAP version 14\n', 'console.log': 'two\n' });
  const out = join(root, 'merged');
  const r = spawnSync(...cliArgv(['merge', s1, s2, '-o', out]), { encoding: 'utf8' });
  t.equal(r.status, 1, r.stderr);
  t.match(r.stdout, /3 passed, 1 failed/);
  const merged = validResults(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), 'the merged results.json');
  t.match(merged, { status: 'fail', exitCode: 1, matrix: true, mergedFrom: [s1, s2] });
  for (const f of [
    'results.tap',
    'junit.xml',
    'host/results.json',
    'host/junit.xml',
    'host/create.tap',
    'host/errno.tap',
    'host/console.log',
    'host/slice2-console.log',
  ])
    t.ok(existsSync(join(out, f)), f);
  const lost = spawnSync(...cliArgv(['merge', s1, '-o', join(root, 'lost')]), { encoding: 'utf8' });
  t.equal(lost.status, 2);
  t.match(lost.stdout, /missing: slice 2\/2 of host/);
  const usage: [string[], RegExp][] = [
    [['merge', s1], /-o <dir> is missing/],
    [['merge', '-o', join(root, 'x')], /no results directory given/],
    [['merge', s1, '-o', out], /exists and is not an empty directory/],
    [['merge', join(root, 'nope'), '-o', join(root, 'y')], /nope: no such file or directory/],
  ];
  for (const [args, message] of usage) {
    const u = spawnSync(...cliArgv([...args]), { encoding: 'utf8' });
    t.equal(u.status, 2, args.join(' '));
    t.match(u.stderr, message);
  }
});
