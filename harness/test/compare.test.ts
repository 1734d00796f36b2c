// sockvm compare on fixed results: new failures, new passes, missing and flaky tests, slower
// suites and metric regressions are found; the exit code is 1 exactly when something got worse
// (or nothing was compared); bad input is a usage error naming it. The CLI is run for real.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { compareResults, DEFAULT_COMPARE } from '../src/results/compare.js';
import type { ResultsFile, RunResult } from '../src/results/model.js';
import { runResultsFile } from '../src/results/results-file.js';
import { judgeRun } from '../src/results/verdict.js';
import { cliArgv } from './helpers.js';
import { suite, target } from './results-fixtures.js';

const file = (runs: RunResult[]): ResultsFile => runResultsFile(runs, { runId: 'r', command: 'c', matrix: true, verdict: judgeRun(runs) });
const green = (durationMs = 1500): RunResult[] => [
  target('host', [
    suite('create', 'TAP version 14\n1..2\nok 1 - socket()\nok 2 - bind\n', {}, durationMs),
    suite('stream', 'TAP version 14\n1..1\nok 1 - close wakes the reader\n'),
  ]),
];

await t.test('a test broken between two runs is newly failing, with its first diagnostic; exit 1', async (t) => {
  const broken = [
    target('host', [
      suite('create', 'TAP version 14\n1..2\nok 1 - socket()\nok 2 - bind\n'),
      suite('stream', 'TAP version 14\n1..1\nnot ok 1 - close wakes the reader\n# got 0, want 1\n', { exitCode: 1 }),
    ]),
  ];
  const c = compareResults(file(green()), file(broken));
  t.same(c.newlyFailing, [{ key: 'host/stream/close wakes the reader', was: 'passed', now: 'failed', why: 'got 0, want 1' }]);
  t.equal(c.exitCode, 1);
  t.match(c.verdict, /1 newly failing/);
  // The other way round it is newly passing, and green.
  const back = compareResults(file(broken), file(green()));
  t.same(back.newlyPassing, [{ key: 'host/stream/close wakes the reader', was: 'failed', now: 'passed' }]);
  t.equal(back.exitCode, 0);
  t.equal(back.compared, 3);
});

await t.test('a suite that newly crashes with no failing test is a new failure of the suite', async (t) => {
  const crashed = [
    target('host', [
      suite('create', 'TAP version 14\n1..2\nok 1 - socket()\nok 2 - bind\n'),
      suite('stream', 'TAP version 14\n1..1\nok 1 - close wakes the reader\n', { kernelFindings: ['WARNING: CPU: 0 PID: 7 at af.c:12'] }),
    ]),
  ];
  const c = compareResults(file(green()), file(crashed));
  t.same(c.newlyFailing, [{ key: 'host/stream (the suite)', was: 'passed', now: 'failed', why: 'WARNING: CPU: 0 PID: 7 at af.c:12' }]);
  t.equal(c.exitCode, 1);
});

await t.test('missing tests are listed, not failed; runs sharing no test are not green', async (t) => {
  const fewer = [target('host', [suite('create', 'TAP version 14\n1..2\nok 1 - socket()\nok 2 - bind\n')])];
  const c = compareResults(file(green()), file(fewer));
  t.same(c.missing, ['host/stream/close wakes the reader']);
  t.equal(c.exitCode, 0);
  const other = [target('debian-6.1', [suite('create', 'TAP version 14\n1..1\nok 1 - socket()\n')])];
  const none = compareResults(file(green()), file(other));
  t.equal(none.compared, 0);
  t.equal(none.exitCode, 1);
  t.match(none.verdict, /nothing compared/);
  t.same(none.added, ['debian-6.1/create/socket()']);
});

await t.test('flaky: a test that differs between --repeat rounds; newly flaky fails, known flaky does not', async (t) => {
  const rounds = (second: string): RunResult[] => [
    target('host', [
      suite('stream#1', 'TAP version 14\n1..1\nok 1 - close wakes the reader\n'),
      suite('stream#2', `TAP version 14\n1..1\n${second} 1 - close wakes the reader\n`, second === 'ok' ? {} : { exitCode: 1 }),
      suite('stream#3', 'TAP version 14\n1..1\nok 1 - close wakes the reader\n'),
    ]),
  ];
  const c = compareResults(file(rounds('ok')), file(rounds('not ok')));
  t.same(c.flaky, [{ key: 'host/stream/close wakes the reader', in: 'new', rounds: ['passed', 'failed', 'passed'] }]);
  t.same(c.newlyFailing, [], 'flaky is not "failing": it passed in some rounds');
  t.equal(c.exitCode, 1);
  t.match(c.verdict, /1 newly flaky/);
  const known = compareResults(file(rounds('not ok')), file(rounds('not ok')));
  t.equal(known.flaky[0]?.in, 'both');
  t.equal(known.exitCode, 0);
});

await t.test('two tests sharing a name are told apart', async (t) => {
  const twice = (second: string): RunResult[] => [target('host', [suite('create', `TAP version 14\n1..2\nok 1 - socket()\n${second} 2 - socket()\n`)])];
  const c = compareResults(file(twice('ok')), file(twice('not ok')));
  t.same(
    c.newlyFailing.map((x) => x.key),
    ['host/create/socket() (2)'],
  );
});

await t.test('a suite is slower only beyond both thresholds; time alone does not fail', async (t) => {
  const c = compareResults(file(green(1500)), file(green(9000)));
  t.same(c.slower, [{ suite: 'host/create', baselineMs: 1500, newMs: 9000 }]);
  t.equal(c.exitCode, 0);
  t.same(compareResults(file(green(1500)), file(green(4000))).slower, [], '+167% but only +2.5 s: noise');
  t.same(compareResults(file(green(10000)), file(green(14000))).slower, [], '+4 s… but +40%: under 50%');
  t.equal(compareResults(file(green(1500)), file(green(4000)), { ...DEFAULT_COMPARE, time: { ratio: 0.5, absMs: 1000 } }).slower.length, 1);
});

/** A perf-like run: one passing test and the suite's metrics. */
const perf = (throughput: number, ratio: number | undefined, latency = 50): RunResult[] => {
  const s = suite('perf', 'TAP version 14\n1..1\nok 1 - loopback\n');
  const metrics = [
    { name: 'loopback stream throughput', value: throughput, unit: 'MiB/s', better: 'higher', ...(ratio !== undefined ? { ratioToTcp: ratio } : {}) },
    { name: 'loopback 1 B latency p50', value: latency, unit: 'us', better: 'lower' },
  ];
  return [target('host', [Object.assign(s, { metrics })])];
};

await t.test('metrics: worse beyond the threshold in their better direction is a regression (exit 1)', async (t) => {
  const slowed = compareResults(file(perf(400, 0.98)), file(perf(300, 0.74)));
  t.equal(slowed.metricRegressions.length, 1);
  t.match(slowed.metricRegressions[0], { key: 'host/perf/loopback stream throughput', basis: 'ratioToTcp', baseline: 0.98, new: 0.74 });
  t.equal(slowed.exitCode, 1);
  t.match(slowed.verdict, /1 metric regression/);
  // A slower machine: both NEW_TCP and TCP slower, the ratio the same: no regression.
  t.equal(compareResults(file(perf(400, 0.98)), file(perf(200, 0.97))).exitCode, 0);
  // Without a ratio the value is compared; latency is better lower.
  const latency = compareResults(file(perf(400, undefined, 50)), file(perf(400, undefined, 80)));
  t.same(
    latency.metricRegressions.map((m) => [m.key, m.basis]),
    [['host/perf/loopback 1 B latency p50', 'value']],
  );
  const faster = compareResults(file(perf(400, undefined, 80)), file(perf(400, undefined, 50)));
  t.equal(faster.metricImprovements.length, 1);
  t.equal(faster.exitCode, 0);
  const gone = compareResults(file(perf(400, 1)), file(green()));
  t.same(gone.metricsMissing, ['host/perf/loopback stream throughput', 'host/perf/loopback 1 B latency p50']);
  // TCP's own figure (a reference) is the machine's speed: never a regression.
  const tcp = (value: number): RunResult[] => [
    target('host', [
      Object.assign(suite('perf', 'TAP version 14\n1..1\nok 1 - x\n'), {
        metrics: [{ name: 'loopback stream throughput (TCP)', value, unit: 'MiB/s', better: 'higher', reference: true }],
      }),
    ]),
  ];
  t.equal(compareResults(file(tcp(400)), file(tcp(100))).metricRegressions.length, 0);
  const bad = [target('host', [Object.assign(suite('perf', 'TAP version 14\n1..1\nok 1 - x\n'), { metrics: [{ name: 'x', value: 'fast' }] })])];
  t.match(compareResults(file(bad), file(bad)).problems, [/host\/perf: metrics\[0\] is not \{name, value, unit/]);
});

function writeRun(root: string, name: string, runs: RunResult[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(file(runs)));
  return dir;
}

const sockvm = (args: string[]) => spawnSync(...cliArgv([...args]), { encoding: 'utf8' });

await t.test('the CLI: text, --json, exit codes, usage errors naming the input', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-compare-'));
  const base = writeRun(root, 'base', green());
  const broken = writeRun(root, 'broken', [
    target('host', [
      suite('create', 'TAP version 14\n1..2\nok 1 - socket()\nnot ok 2 - bind\n# EADDRINUSE\n', { exitCode: 1 }),
      suite('stream', 'TAP version 14\n1..1\nok 1 - close wakes the reader\n'),
    ]),
  ]);
  const text = sockvm(['compare', base, join(broken, 'results.json')]);
  t.equal(text.status, 1, text.stderr);
  t.match(text.stdout, /newly failing \(1\):\n {2}✗ host\/create\/bind \(was passed\): EADDRINUSE/);
  t.match(text.stdout, /regression: 1 newly failing \(exit 1\)/);
  const same = sockvm(['compare', base, base, '--json']);
  t.equal(same.status, 0);
  t.match(JSON.parse(same.stdout), { exitCode: 0, compared: 3, newlyFailing: [] });
  t.match(sockvm(['compare', '--help']).stdout, /Usage: sockvm compare <baseline> <new>/);
  const cases: [string[], RegExp][] = [
    [['compare', base], /takes two runs, <baseline> <new> \(got 1\)/],
    [['compare', base, join(root, 'nope')], /<new> .*nope: no such file or directory; give a run's results directory/],
    [['compare', base, root], /<new> .*: no results.json in it/],
    [['compare', base, base, '--time-threshold', 'fast'], /--time-threshold fast: expected <percent>%\+<seconds>s, e.g. 50%\+5s/],
    [['compare', base, base, '--metric-threshold', '0.1'], /--metric-threshold 0.1: expected a percentage like 10%/],
    [['compare', base, base, '--bogus'], /sockvm compare: Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const r = sockvm(args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, message);
  }
});
