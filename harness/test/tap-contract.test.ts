// results.tap as others read it: from the golden fixture runs (results-fixtures.ts, no VM), the
// file is parsed by tap-parser (strict TAP 14), by kunit's own KTAP parser (the kernel's
// tools/testing/kunit/kunit_parser.py, run by python3 with a timeout: it used to loop on plans
// that came last) and, as --tap-version 13, by Perl's prove. Each must read it without a parse
// error and count what results.json and junit.xml count.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Parser, type Result } from 'tap-parser';
import type { ResultsFile } from '../src/results/model.js';
import { runResultsFile } from '../src/results/results-file.js';
import { countTests, judgeRun, suiteTrouble, targetOwnError } from '../src/results/verdict.js';
import { runFiles } from '../src/results/writer.js';
import { cacheRoot } from '../src/util/paths.js';
import { matrixResults, matrixTargets, singleResults, suite, target } from './results-fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'sockvm-tap-contract-'));

/** The points a TAP consumer counts: every test, plus a failing one per suite-health and infrastructure error. */
function expectedPoints(results: ResultsFile): { passed: number; failed: number; skipped: number } {
  const c = countTests(results.targets.flatMap((r) => r.suites));
  const health = results.targets.flatMap((r) => r.suites).filter((s) => suiteTrouble(s).length > 0).length;
  const infra = results.targets.filter((r) => targetOwnError(r) !== undefined).length + (results.infraError ? 1 : 0);
  return { passed: c.passed, failed: c.failed + health + infra, skipped: c.skipped };
}

const green = (): ResultsFile => {
  const [first] = matrixTargets();
  if (!first) throw new Error('the matrix fixture has no green target');
  return runResultsFile([first], { runId: first.runId, command: 'npm run sockvm -- run', matrix: false, verdict: judgeRun([first]) });
};

const fixtures: [string, ResultsFile][] = [
  ['single (a failure, a kernel warning, a crash)', singleResults()],
  ['matrix (a suite-health failure, a target that never booted)', matrixResults()],
  ['green', green()],
];

interface TapTree {
  leaves: Result[];
  parseErrors: string[];
  ok: boolean;
  bailout: boolean | string;
}

/** tap-parser's reading: the points that close no subtest (tests, suite health, infrastructure), parse errors at any level. */
function tapParse(text: string): Promise<TapTree> {
  return new Promise((done) => {
    const leaves: Result[] = [];
    const parseErrors: string[] = [];
    const watch = (p: Parser, level: number): void => {
      // A subtest's own result line follows its lines: that point is the subtest's, not a test.
      let closesChild = false;
      p.on('assert', (r: Result) => {
        if (!closesChild) leaves.push(r);
        closesChild = false;
      });
      p.on('child', (c: Parser) => {
        closesChild = true;
        watch(c, level + 1);
      });
      p.on('complete', (final: { failures: Result[] }) => {
        for (const f of final.failures) if (f.tapError) parseErrors.push(`level ${level}: ${f.tapError}`);
      });
    };
    const root = new Parser({ strict: true }, (final) => done({ leaves, parseErrors, ok: final.ok, bailout: final.bailout }));
    watch(root, 0);
    root.end(text);
  });
}

await t.test('tap-parser reads results.tap strictly: no parse error, no bail out, the tests counted as results.json counts them', async (t) => {
  for (const [name, results] of fixtures) {
    const tree = await tapParse(runFiles(results)['results.tap'] ?? '');
    t.same(tree.parseErrors, [], `${name}: no parse error`);
    t.equal(tree.bailout, false, `${name}: no Bail out!`);
    t.equal(tree.ok, results.status === 'pass', `${name}: the stream's ok is the run's verdict`);
    const want = expectedPoints(results);
    const got = {
      passed: tree.leaves.filter((r) => r.ok && !r.skip).length,
      failed: tree.leaves.filter((r) => !r.ok).length,
      skipped: tree.leaves.filter((r) => r.skip).length,
    };
    t.same(got, want, `${name}: passed/failed/skipped`);
  }
});

/** kunit_parser.py from a kernel tree in the cache (the source kernels' trees hold it). */
function kunitDir(): string | undefined {
  const root = join(cacheRoot(), 'kernel');
  const keys = existsSync(root) ? readdirSync(root) : [];
  return keys.map((key) => join(root, key, 'tree', 'tools', 'testing', 'kunit')).find((dir) => existsSync(join(dir, 'kunit_parser.py')));
}

// parse_run_tests on each file's lines (one python3 for all: its start is the cost); each tree of
// names, statuses and counts as one JSON line.
const KUNIT_DRIVER = `
import sys, json
sys.path.insert(0, sys.argv[1])
import kunit_parser
def tree(t):
    c = t.counts
    return {'name': t.name, 'status': t.status.name, 'passed': c.passed, 'failed': c.failed, 'crashed': c.crashed,
            'skipped': c.skipped, 'errors': c.errors, 'subtests': [tree(s) for s in t.subtests]}
for path in sys.argv[2:]:
    print('KUNIT-JSON ' + json.dumps(tree(kunit_parser.parse_run_tests(open(path).read().splitlines(True)))))
`;

interface KunitTest {
  name: string;
  status: string;
  passed: number;
  failed: number;
  crashed: number;
  skipped: number;
  errors: number;
  subtests: KunitTest[];
}

await t.test("kunit's KTAP parser reads results.tap: plans first, no parse error, the same counts, in bounded time", async (t) => {
  const dir = kunitDir();
  if (!dir) {
    t.fail(
      `kunit_parser.py not found under ${join(cacheRoot(), 'kernel')}/*/tree/tools/testing/kunit: build a source kernel target once (sockvm kernel --target 6.1-patched)`,
    );
    return;
  }
  const driver = join(scratch, 'kunit-driver.py');
  writeFileSync(driver, KUNIT_DRIVER);
  const files = fixtures.map(([, results], i) => {
    const file = join(scratch, `kunit-${i}.tap`);
    writeFileSync(file, runFiles(results)['results.tap'] ?? '');
    return file;
  });
  const run = spawnSync('python3', [driver, dir, ...files], { encoding: 'utf8', timeout: 20_000 });
  if (run.error || run.status !== 0) {
    t.fail(`kunit_parser did not finish within 20 s (${run.error?.message ?? `exit ${run.status}`}):\n${run.stderr.slice(-1500)}`);
    return;
  }
  const trees = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('KUNIT-JSON '))
    .map((l) => JSON.parse(l.slice('KUNIT-JSON '.length)) as KunitTest);
  for (const [i, [name, results]] of fixtures.entries()) {
    const top = trees[i];
    if (!top) {
      t.fail(`${name}: kunit_parser printed no result`);
      continue;
    }
    t.equal(top.errors, 0, `${name}: kunit reports no parse error`);
    if (top.errors) t.comment(run.stdout.slice(-3000));
    t.equal(top.crashed, 0, `${name}: no subtest is missing (each plan matches its points)`);
    const want = expectedPoints(results);
    t.same({ passed: top.passed, failed: top.failed, skipped: top.skipped }, want, `${name}: passed/failed/skipped as results.json`);
    t.equal(top.status === 'SUCCESS', results.status === 'pass', `${name}: kunit's verdict (${top.status}) is the run's`);
    const names = results.matrix ? results.targets.map((r) => r.target) : (results.targets[0]?.suites ?? []).map((s) => s.name);
    t.same(
      top.subtests.map((s) => s.name),
      names,
      `${name}: one subtest per ${results.matrix ? 'target' : 'suite'}`,
    );
  }
});

/** prove on a TAP file (its "test" is cat): exit code and report. */
function prove(text: string, name: string): { status: number | null; out: string } {
  const file = join(scratch, name);
  writeFileSync(file, text);
  const run = spawnSync('prove', ['--exec', 'cat', file], { encoding: 'utf8', timeout: 20_000, cwd: dirname(file) });
  if (run.error) throw new Error(`prove could not run (${run.error.message}): Debian's perl package has it; scripts/setup installs it`);
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

await t.test('--tap-version 13: Perl prove reads results.tap without a parse error and fails exactly the failed points', async (t) => {
  for (const [name, results] of fixtures) {
    const tap13 = runFiles(results, { tapVersion: 13 })['results.tap'] ?? '';
    t.match(tap13, /^TAP version 13\n/, `${name}: version 13`);
    const r = prove(tap13, `${name.split(' ')[0] ?? 'x'}-13.tap`);
    t.notMatch(r.out, /Parse errors/, `${name}: no parse error`);
    if (/Parse errors/.test(r.out)) t.comment(r.out);
    const top = results.matrix ? results.targets.map((x) => x.status) : (results.targets[0]?.suites ?? []).map((s) => s.status);
    const failed = top.filter((s) => s !== 'pass').length + (results.infraError ? 1 : 0);
    if (failed) t.match(r.out, new RegExp(`Failed ${failed}/`), `${name}: prove fails ${failed} point(s)`);
    else t.match(r.out, /All tests successful/, `${name}: prove passes it`);
    t.equal(r.status, results.status === 'pass' ? 0 : 1, `${name}: prove's exit code is the verdict`);
  }
  // Why the option exists: prove refuses version 14.
  t.match(prove(runFiles(green())['results.tap'] ?? '', 'green-14.tap').out, /Parse errors: TAP specified version 14/);
});

await t.test("a '#' or '\\' in a name is escaped, a guest's 'Subtest:' line stays a diagnostic", async (t) => {
  const hostile = target('host', [suite('names', 'TAP version 14\n1..3\nnot ok 1 - count \\# TODO of records\nok 2 - back\\\\slash\nok 3 - diag\n')]);
  // What a guest may print as a diagnostic ("# Subtest: evil" in its TAP is a subtest to our parser already).
  hostile.suites[0]?.tests[2]?.diagnostics.push('Subtest: evil', '    1..9');
  const results = runResultsFile([hostile], { runId: hostile.runId, command: 'x', matrix: false, verdict: judgeRun([hostile]) });
  const tap = runFiles(results)['results.tap'] ?? '';
  t.match(tap, /not ok 1 - count \\# TODO of records # time=/);
  t.match(tap, / {4}# > Subtest: evil\n/, 'the diagnostic cannot open a subtest');
  const tree = await tapParse(tap);
  t.same(tree.parseErrors, []);
  t.same(
    tree.leaves.map((r) => [r.name, r.ok, Boolean(r.todo)]),
    [
      ['count # TODO of records', false, false],
      ['back\\slash', true, false],
      ['diag', true, false],
    ],
    'tap-parser reads the names back and sees no TODO',
  );
  // The same name as a suite (prove reads only the top level): still a failure, not a TODO.
  const evil = { ...results, targets: [{ ...hostile, suites: hostile.suites.map((s) => ({ ...s, name: 'evil # TODO' })) }] };
  const r = prove(runFiles(evil, { tapVersion: 13 })['results.tap'] ?? '', 'evil-13.tap');
  t.match(r.out, /Failed 1\/1/, "prove: the escaped '#' is no directive");
});

t.teardown(() => execFileSync('rm', ['-rf', scratch]));

await t.test('results.tap, junit.xml and results.json agree on the counts and name the same failures', async (t) => {
  for (const [name, results] of fixtures) {
    const files = runFiles(results);
    const want = expectedPoints(results);
    const root = /<testsuites [^>]*tests="(\d+)" failures="(\d+)" errors="(\d+)"/.exec(files['junit.xml'] ?? '');
    const skipped = [...(files['junit.xml'] ?? '').matchAll(/<skipped /g)].length;
    t.same(
      { tests: Number(root?.[1]), failedOrErrors: Number(root?.[2]) + Number(root?.[3]), skipped },
      { tests: want.passed + want.failed + want.skipped, failedOrErrors: want.failed, skipped: want.skipped },
      `${name}: junit.xml's totals are results.tap's points`,
    );
    const tree = await tapParse(files['results.tap'] ?? '');
    const failedInTap = tree.leaves.filter((r) => !r.ok).map((r) => r.name);
    const failedInJunit = [...(files['junit.xml'] ?? '').matchAll(/<testcase classname="[^"]*" name="([^"]*)"[^>]*>\n {6}<(?:failure|error) /g)].map(
      (m) => m[1],
    );
    t.same(failedInJunit, failedInTap, `${name}: the same failures, in the same order`);
  }
});
