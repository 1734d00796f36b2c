import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toJUnit, uniqueNames, xmlEscape } from '../src/results/junit.js';
import { toTap } from '../src/results/tap-writer.js';
import type { RunResult, SuiteResult } from '../src/results/model.js';
import { crashError } from '../src/results/verdict.js';
import { runFiles } from '../src/results/writer.js';
import { validateJUnit } from './junit-schema.js';
import { matrixResults, singleResults } from './results-fixtures.js';

const run: RunResult = {
  runId: 'r1',
  startedAt: '2026-01-01T00:00:00Z',
  command: 'sockvm run',
  status: 'fail',
  exitCode: 1,
  phases: {},
  suites: [
    {
      name: 'create',
      status: 'fail',
      durationMs: 1500,
      exitCode: 1,
      tests: [
        { id: 1, name: 'a & <b>', status: 'pass', diagnostics: [] },
        { id: 2, name: 'fails', status: 'fail', diagnostics: ['got "1"'] },
        { id: 3, name: 'skipped', status: 'skip', directive: 'SKIP why', diagnostics: [] },
      ],
      errors: [],
      kernelFindings: ['BUG: kernel NULL pointer dereference'],
    },
  ],
};

const suite = (): SuiteResult => ({ name: 'create', status: 'pass', durationMs: 1500, exitCode: 0, tests: [], errors: [], kernelFindings: [] });

await t.test('junit counts and escapes', async (t) => {
  const xml = toJUnit(run);
  t.match(xml, /<testsuites name="sockvm r1" tests="4" failures="1" errors="1" time="1\.500">/, 'the totals on the root');
  t.match(xml, /<testsuite name="create" tests="4" failures="1" errors="1" skipped="1" time="1\.500">/);
  t.match(xml, /name="a &amp; &lt;b&gt;"/);
  t.match(
    xml,
    /<failure type="not ok" message="got &quot;1&quot;">got &quot;1&quot;<\/failure>\n {6}<system-out>got &quot;1&quot;<\/system-out>/,
    'message: the first diagnostic line',
  );
  t.match(xml, /<skipped message="SKIP why"\/>/);
  t.match(xml, /name="suite health">\n {6}<error type="suite" message="BUG: kernel NULL pointer dereference">/);
  t.equal(xmlEscape('\u0001x'), 'x');
  // XML 1.0 forbids U+FFFE, U+FFFF and unpaired surrogates; a pair (an emoji) stays.
  t.equal(xmlEscape('a\ufffeb\uffffc\ud800d\udc00e\ud83d\ude00'), 'abcde\ud83d\ude00');
});

await t.test('junit reports an infrastructure error', async (t) => {
  t.match(
    toJUnit({ ...run, suites: [], infraError: 'boot failed\nline 2' }),
    /name="infrastructure">\n {6}<error type="infrastructure" message="boot failed">boot failed\nline 2<\/error>/,
  );
});

await t.test('kernel, accelerator and seed are properties of every testsuite', async (t) => {
  const xml = toJUnit({ ...run, target: 'debian-6.1', kernel: { release: '6.1.0-9', image: '', modulesDir: '', buildDir: '' }, accelerator: 'tcg', seed: 42 });
  t.match(
    xml,
    /<properties>\n {6}<property name="target" value="debian-6\.1"\/>\n {6}<property name="kernel" value="6\.1\.0-9"\/>\n {6}<property name="accelerator" value="tcg"\/>\n {6}<property name="seed" value="42"\/>/,
  );
});

await t.test('testcase names are unique in their suite: a shared name gets its test number', async (t) => {
  t.same(
    uniqueNames([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: 'a' },
    ]),
    ['a [test 1]', 'b', 'a [test 3]'],
  );
  const twice = {
    ...run,
    suites: [{ ...suite(), tests: [1, 2].map((id) => ({ id, name: 'socket(STREAM, -1) fails', status: 'pass' as const, diagnostics: [] })) }],
  };
  const names = [...toJUnit(twice).matchAll(/<testcase classname="create" name="([^"]*)"/g)].map((m) => m[1]);
  t.same(names, ['socket(STREAM, -1) fails [test 1]', 'socket(STREAM, -1) fails [test 2]']);
});

await t.test("one crash is one error: the crashed test carries the suite's report, the target adds none", async (t) => {
  const crashed = {
    ...suite(),
    status: 'error' as const,
    exitCode: null,
    tests: [
      { id: 1, name: 'before', status: 'pass' as const, diagnostics: [] },
      { id: 2, name: 'panics', status: 'error' as const, diagnostics: ['crashed: the guest died during the suite'] },
    ],
    errors: ['crashed: the guest died (test 2 (panics) was running): Kernel panic', 'planned 3 tests but ran 1'],
    kernelFindings: ['Kernel panic - not syncing: oops'],
  };
  const xml = toJUnit({ ...run, status: 'error', exitCode: 2, suites: [crashed], infraError: crashError([crashed]) ?? '' });
  t.equal([...xml.matchAll(/<error /g)].length, 1, 'one <error> in the file');
  t.match(xml, /<testsuites name="sockvm r1" tests="2" failures="0" errors="1"/);
  t.match(
    xml,
    /name="panics" time="0\.000">\n {6}<error type="crash" message="crashed: the guest died during the suite">[^<]*Kernel panic - not syncing: oops<\/error>/,
  );
  t.notMatch(xml, /infrastructure|suite health/);
  // The target's own infrastructure error (not the crash restated) is still its own error.
  t.match(toJUnit({ ...run, suites: [crashed], infraError: 'rebooting the guest failed' }), /name="infrastructure"/);
});

await t.test("TAP 14 and KTAP v1 with the suite as a subtest: plans first, the suite's health a point of its own", async (t) => {
  const tap = toTap(run);
  t.match(
    tap,
    /^TAP version 14\n1\.\.1\n# Subtest: create\n {4}1\.\.4\n {4}ok 1 - a & <b>\n {4}not ok 2 - fails\n {4}# got "1"\n {4}ok 3 - skipped # SKIP why\n/,
  );
  t.match(tap, / {4}not ok 4 - suite health\n {4}# BUG: kernel NULL pointer dereference\nnot ok 1 - create\n$/);
  t.notMatch(toTap({ ...run, infraError: 'boot failed' }), /Bail out!/, 'no Bail out!: an infrastructure error is a failing point');
  t.match(toTap({ ...run, infraError: 'boot failed' }), /^TAP version 14\n1\.\.2\n[^]*\nnot ok 2 - infrastructure\n# boot failed\n$/);
});

await t.test("the golden runs' junit.xml is valid against Jenkins' junit-4.xsd (and junit-10.xsd when SOCKVM_JUNIT_XSD names it)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-junit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const files = [singleResults(), matrixResults()].map((results, i) => {
    const file = join(dir, `junit-${i}.xml`);
    writeFileSync(file, runFiles(results)['junit.xml'] ?? '');
    return file;
  });
  const { checked, problems } = validateJUnit(files);
  t.same(problems, [], `valid against ${checked.join(' and ')}`);
});

await t.test('the schema check can fail: a testcase without its name is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-junit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'junit.xml');
  writeFileSync(file, (runFiles(singleResults())['junit.xml'] ?? '').replace(/(<testcase [^>]*?) name="[^"]*"/, '$1'));
  t.match(validateJUnit([file]).problems.join('\n'), /attribute 'name' is required/);
});
