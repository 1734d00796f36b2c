// Nested KTAP and kselftest output (fixtures/ktap/): the tests each stream becomes, checked
// one by one here and in full against golden files (harness/test/golden/ktap.*.json;
// SOCKVM_UPDATE_GOLDEN=1 rewrites them, then read the diff).
import t from 'tap';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TapParser, type ParsedTap } from '../src/results/tap-parser.js';
import { judgeSuite } from '../src/results/verdict.js';
import { repoRoot } from '../src/util/paths.js';

const FIXTURES = join(repoRoot, 'harness', 'test', 'fixtures', 'ktap');
const GOLDEN = join(repoRoot, 'harness', 'test', 'golden');

/** A fixture parsed on a clock that stands still, so durations are 0 and the golden stable. */
function parseFixture(name: string): ParsedTap {
  const parser = new TapParser(() => 0);
  for (const line of readFileSync(join(FIXTURES, name), 'utf8').split('\n')) parser.feed(line);
  return parser.finish();
}

const byName = (tap: ParsedTap, name: string) => tap.tests.find((x) => x.name === name);

await t.test('KTAP spec example: nested levels become parent/child names, failures bubble up', async (t) => {
  const tap = parseFixture('kunit-nested.ktap');
  t.same(
    tap.tests.map((x) => [x.name, x.status]),
    [
      ['main_test/example_test_1/test_1', 'pass'],
      ['main_test/example_test_2/test_1', 'skip'],
      ['main_test/example_test_2/test_2', 'pass'],
      ['main_test/example_test_3/test_1', 'pass'],
      ['main_test/example_test_3/test_2', 'fail'],
      ['main_test/example_test_3/test_3', 'skip'],
    ],
    'leaves only: each parent result is said by its subtests',
  );
  t.same(byName(tap, 'main_test/example_test_1/test_1')?.diagnostics, ['test_1: initializing test_1'], 'a diagnostic belongs to the result after it');
  t.same(byName(tap, 'main_test/example_test_3/test_2')?.diagnostics, ['test_2: FAIL']);
  t.equal(byName(tap, 'main_test/example_test_2/test_1')?.directive, 'SKIP test_1 skipped');
  t.ok(
    tap.tests.every((x) => x.id === 1),
    'subtests carry their top-level test number',
  );
  t.same(tap.errors, []);
});

await t.test('kselftest programs under the driver: each rule of the verdict', async (t) => {
  const tap = parseFixture('programs.tap');
  t.same(tap.errors, [], 'the driver stream itself is whole');
  const harness = 'reuseaddr_ports_exhausted/global.reuseaddr_ports_exhausted_';
  t.equal(byName(tap, `${harness}unreusable`)?.status, 'pass');
  const failed = byName(tap, `${harness}reusable_same_euid`);
  t.equal(failed?.status, 'fail');
  t.match(failed?.diagnostics.join('\n'), /Expected -1 \(-1\) != fd2[\s\S]*FAIL {2}global/, "the harness's messages before the result are its diagnostics");
  t.match(byName(tap, `${harness}reusable_different_euid`), { status: 'skip', directive: 'SKIP no second user' }, 'a nameless skip is named by its RUN line');
  t.notOk(byName(tap, 'reuseaddr_ports_exhausted'), 'a failing program with a failing subtest is said by that subtest');

  const socket = byName(tap, 'socket');
  t.match(socket, { status: 'fail', id: 2 }, 'no TAP: one test, judged by the exit code');
  t.match(socket?.diagnostics, [/expected err/], 'its output is the diagnostics');
  t.match(byName(tap, 'hello.sh'), { status: 'pass', diagnostics: ['hello from a script', 'ok, that worked'] }, '"ok," in plain output is no result');

  const allOk = byName(tap, 'all-ok-exit-1');
  t.equal(allOk?.status, 'fail', 'exit 1 with every TAP line ok is a failure');
  t.match(allOk?.diagnostics[0], /exited with code 1 although none of its 2 subtests failed/);
  t.equal(byName(tap, 'all-ok-exit-1/first')?.status, 'pass');

  const nothing = byName(tap, 'tap-but-nothing');
  t.equal(nothing?.status, 'fail', 'TAP with no result, exit 0: never green for nothing');
  t.match(nothing?.diagnostics[0], /printed TAP version 13 but no test result/);

  const bails = byName(tap, 'bails');
  t.equal(bails?.status, 'fail');
  t.match(bails?.diagnostics.join('\n'), /planned 3 tests but ran 1[\s\S]*Bail out! no such device/);

  const missing = byName(tap, 'missing-tests');
  t.equal(missing?.status, 'fail', 'a program that ran 2 of 4 planned tests fails though it exited 0');
  t.match(missing?.diagnostics[0], /planned 4 tests but ran 2/);

  t.match(byName(tap, 'skipped'), { status: 'skip', directive: 'SKIP exit=4 (KSFT_SKIP)' }, 'KSFT_SKIP with plan 1..0 is a skip');

  t.match(byName(tap, 'xfail-and-error/known'), { status: 'todo', directive: 'XFAIL bug 123' }, 'XFAIL passes as an expected failure');
  t.match(byName(tap, 'xfail-and-error/broken'), { status: 'fail', directive: 'ERROR setup failed' }, "kselftest's '# error' fails");
  t.match(byName(tap, 'xfail-and-error/slow'), { status: 'fail', directive: 'TIMEOUT 30 seconds' });
  t.match(byName(tap, 'xfail-and-error/slow')?.diagnostics, ['garbage line: ok 3 is not at the start'], 'an unknown line is a diagnostic, not a result');

  const verdict = judgeSuite(tap, { exitCode: 1, harnessErrors: [], kernelFindings: [] });
  t.equal(verdict.status, 'fail');
  t.same(verdict.errors, [], 'a failing test explains the exit code');
});

await t.test('TAP 14 subtests: "# Subtest:", four-space indentation, YAML in a subtest', async (t) => {
  const tap = parseFixture('tap14-subtests.tap');
  t.same(
    tap.tests.map((x) => [x.name, x.status]),
    [
      ['group/alpha', 'pass'],
      ['group/beta', 'fail'],
      ['flat', 'pass'],
    ],
  );
  t.same(byName(tap, 'group/beta')?.diagnostics, ['message: boom']);
  t.same(tap.errors, []);
});

await t.test("kselftest's own runner (run_kselftest.sh) as a program: one test per selftest, its '# '-prefixed output the diagnostics", async (t) => {
  const tap = parseFixture('run-kselftest.tap');
  t.same(
    tap.tests.map((x) => [x.name, x.status]),
    [
      ['run_kselftest.sh/selftests: net: socket', 'pass'],
      ['run_kselftest.sh/selftests: net: reuseaddr_ports_exhausted', 'fail'],
    ],
  );
  t.match(
    tap.tests[1]?.diagnostics.join('\n'),
    /not ok 2 global\.reuseaddr_ports_exhausted_reusable_same_euid/,
    "the selftest's own TAP is in its diagnostics",
  );
  t.same(tap.errors, []);
});

await t.test('a stream cut inside a program keeps the subtests it reported', async (t) => {
  const p = new TapParser(() => 0);
  for (const line of ['KTAP version 1', '1..2', '# running 1 - killed', '  TAP version 13', '  1..3', '  ok 1 first']) p.feed(line);
  t.equal(p.running?.name, 'killed', 'the crash is attributed to the running program');
  const tap = p.finish();
  t.same(
    tap.tests.map((x) => [x.id, x.name, x.status]),
    [[1, 'killed/first', 'pass']],
  );
  t.match(tap.errors.join('\n'), /subtest killed ended without its result line[\s\S]*killed: planned 3 tests but ran 1[\s\S]*planned 2 tests but ran 0/);
  const crashedTest = { id: 1, name: 'killed', status: 'error' as const, diagnostics: ['crashed'] };
  const verdict = judgeSuite(tap, { exitCode: null, crashed: 'crashed: the guest died', crashedTest, harnessErrors: [], kernelFindings: [] });
  t.ok(
    verdict.tests.some((x) => x.name === 'killed' && x.status === 'error'),
    'the crashed program is still a test though its subtests share its number',
  );
});

await t.test('a parent line streams its subtests as it arrives', async (t) => {
  const p = new TapParser(() => 0);
  t.same(p.feed('KTAP version 1'), []);
  p.feed('1..1');
  t.same(p.feed('  KTAP version 1'), []);
  t.same(p.feed('  1..2'), []);
  t.same(p.feed('  ok 1 a'), [], 'a subtest waits for its parent, which names it');
  p.feed('  ok 2 b');
  t.same(
    p.feed('ok 1 parent').map((x) => x.name),
    ['parent/a', 'parent/b'],
  );
  t.same(p.finish().errors, []);
});

await t.test('golden: every fixture parsed', async (t) => {
  for (const name of ['kunit-nested.ktap', 'programs.tap', 'run-kselftest.tap', 'tap14-subtests.tap']) {
    const text = `${JSON.stringify(parseFixture(name), null, 2)}\n`;
    const path = join(GOLDEN, `ktap.${name}.json`);
    if (process.env.SOCKVM_UPDATE_GOLDEN === '1') {
      mkdirSync(GOLDEN, { recursive: true });
      writeFileSync(path, text);
    }
    let want: string;
    try {
      want = readFileSync(path, 'utf8');
    } catch {
      want = `${path} is missing: write it with SOCKVM_UPDATE_GOLDEN=1 and read it`;
    }
    t.equal(text, want, `${name} as in harness/test/golden/ktap.${name}.json`);
  }
});
