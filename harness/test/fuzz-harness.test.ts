// The harness's own parsers and writers under seeded random and adversarial input: the TAP
// parser, the dmesg scanner and the line splitter never throw and stay linear; results.tap reads
// back as it was written ('#' and '\' in names included); junit.xml is well-formed XML (xmllint).
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJUnit } from '../src/results/junit.js';
import type { RunResult, SuiteResult, TestResult } from '../src/results/model.js';
import { scanDmesg } from '../src/results/dmesg-scan.js';
import { parseTap } from '../src/results/tap-parser.js';
import { toTap } from '../src/results/tap-writer.js';
import { suiteTrouble } from '../src/results/verdict.js';
import { LineSplitter } from '../src/util/lines.js';
import { validateJUnit } from './junit-schema.js';

const SEED = Number(process.env.SOCKVM_FUZZ_SEED ?? 20261130);

/** mulberry32: a small seeded generator, so a failure replays with SOCKVM_FUZZ_SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'ok',
  'not ok',
  ' ',
  '  ',
  '\t',
  '#',
  '\\',
  '\\#',
  ' # SKIP',
  ' # TODO',
  '# time=1.5ms',
  '-',
  '1..',
  '..',
  '---',
  '...',
  'Bail out!',
  'TAP version 14',
  'KTAP version 1',
  '<',
  '>',
  '&',
  '"',
  "'",
  ']]>',
  '\u0000',
  '\u0007',
  '\u001b[31m',
  '\ufffe',
  '\uffff',
  '\ud800',
  '\udc00',
  '😀',
  'é',
  '\r',
  'BUG: kernel NULL pointer',
  'WARNING: CPU: 0 PID: 1 at',
  'Oops: ',
  'Call Trace:',
  '[   12.345678] ',
  'x'.repeat(300),
];

/** One element of `xs`, chosen with one draw of `r` (in [0, 1), so always an index in range). */
function pick<T>(r: () => number, xs: readonly T[]): T {
  const x = xs[Math.floor(r() * xs.length)];
  if (x === undefined) throw new Error(`pick: empty list, or the generator left [0, 1)`);
  return x;
}

function text(r: () => number, max: number, newlines: boolean): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) {
    const p = pick(r, PIECES);
    s += r() < 0.3 ? String(Math.floor(r() * 1000)) : p;
    if (newlines && r() < 0.2) s += '\n';
  }
  return s;
}

await t.test(`random and adversarial streams never throw (seed ${SEED})`, async (t) => {
  const r = rng(SEED);
  for (let i = 0; i < 2000; i++) {
    const input = text(r, 60, true);
    const tap = parseTap(input);
    if (!Array.isArray(tap.tests)) t.fail('parseTap gave no tests array');
    scanDmesg(input.split('\n'));
    const split = new LineSplitter(() => {}, 256);
    split.push(input);
    split.end();
  }
  t.pass('2000 random streams through parseTap, scanDmesg and LineSplitter');
});

// Linear, not quadratic: a line four times longer takes about four times as long, not sixteen.
// A ratio rather than a bound, so a loaded machine (CI runs unit tests two at a time) cannot fail it.
await t.test('1 MiB adversarial lines parse in linear time', async (t) => {
  const lines: ((n: number) => string)[] = [
    (n) => `ok 1 - ${' '.repeat(n)}x`,
    (n) => `ok 1 - ${'\\'.repeat(n)}`,
    (n) => `not ok 1 ${'# '.repeat(n / 2)}`,
    (n) => `#${' \t'.repeat(n / 2)}`,
    (n) => `[ 1.0] ${'WARNING: '.repeat(n / 8)}`,
  ];
  const time = (line: string): number => {
    const t0 = performance.now();
    parseTap(`${line}\n`);
    scanDmesg([line]);
    return performance.now() - t0;
  };
  for (const make of lines) {
    const quarter = time(make(1 << 18));
    const whole = time(make(1 << 20));
    const label = `${JSON.stringify(make(8).slice(0, 12))}…: 256 KiB ${quarter.toFixed(0)} ms, 1 MiB ${whole.toFixed(0)} ms`;
    // Under 250 ms the ratio is mostly noise (GC, JIT); above it, quadratic would show as ~16.
    t.ok(whole < 250 || whole / Math.max(quarter, 1) < 10, label);
  }
});

function randomName(r: () => number): string {
  const name = text(r, 12, false)
    .replace(/[\r\n]/g, ' ')
    .trim();
  return name || 'unnamed';
}

function randomSuite(r: () => number, index: number): SuiteResult {
  const statuses: TestResult['status'][] = ['pass', 'fail', 'skip', 'error'];
  const tests: TestResult[] = [];
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n; i++) {
    const status = pick(r, statuses);
    const test: TestResult = {
      id: i + 1,
      name: randomName(r),
      status,
      durationMs: Math.floor(r() * 1e5) / 10,
      diagnostics: Array.from({ length: Math.floor(r() * 3) }, () => text(r, 10, false).replace(/[\r\n]/g, ' ')),
    };
    if (status === 'skip') test.directive = `SKIP ${randomName(r)}`;
    tests.push(test);
  }
  const failed = tests.some((x) => x.status !== 'pass' && x.status !== 'skip');
  return {
    name: `suite${index}`,
    status: failed ? 'fail' : 'pass',
    durationMs: 1000,
    exitCode: 0,
    tests,
    errors: r() < 0.3 ? [text(r, 8, false)] : [],
    kernelFindings: r() < 0.2 ? [text(r, 8, false)] : [],
  };
}

await t.test(`written results read back: results.tap round-trips, junit.xml is well-formed (seed ${SEED})`, async (t) => {
  const r = rng(SEED + 1);
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-fuzz-'));
  const files: string[] = [];
  for (let i = 0; i < 40; i++) {
    const suites = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, k) => randomSuite(r, k));
    const run: RunResult = { runId: randomName(r), startedAt: '', command: text(r, 10, true), status: 'fail', exitCode: 1, phases: {}, suites };
    if (r() < 0.3) run.infraError = text(r, 10, true);
    // Each suite's block, one level in, is the suite's TAP: same names, same verdicts.
    const tap = toTap(run);
    for (const [k, suite] of suites.entries()) {
      const block = tap.split('\n').filter((l, _i, all) => {
        const start = all.indexOf(`# Subtest: ${suite.name}`);
        const end = all.findIndex((x, j) => j > start && /^(not )?ok \d+ - /.test(x));
        const at = all.indexOf(l);
        return at > start && at < end;
      });
      const back = parseTap(block.map((l) => l.replace(/^ {4}/, '')).join('\n'));
      const want = suite.tests.map((x) => [x.name, x.status === 'error' ? 'fail' : x.status]);
      // What failed the suite besides its tests is a failing point of its own (KTAP readers count points).
      if (suiteTrouble(suite).length) want.push(['suite health', 'fail']);
      const got = back.tests.map((x) => [x.name, x.status]);
      if (JSON.stringify(got) !== JSON.stringify(want)) t.same(got, want, `run ${i} suite ${k} reads back`);
    }
    const file = join(dir, `junit-${i}.xml`);
    writeFileSync(file, toJUnit(run));
    files.push(file);
  }
  t.pass('40 random runs: every suite block of results.tap read back with its names and verdicts');
  const { checked, problems } = validateJUnit(files);
  t.same(problems, [], `xmllint: all ${files.length} junit.xml files valid against ${checked.join(' and ')}`);
});
