// A suite's verdict from its TAP and evidence, and `sockvm parse` re-judging saved runs: a
// result line edited in a saved .tap changes the verdict; evidence outside the TAP is kept.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult, SuiteResult } from '../src/results/model.js';
import { legacyEvidence, rejudgeDir } from '../src/results/rejudge.js';
import { readResultsFile } from '../src/results/results-file.js';
import { toJUnit } from '../src/results/junit.js';
import { parseTap } from '../src/results/tap-parser.js';
import { toTap } from '../src/results/tap-writer.js';
import { judgeSuite } from '../src/results/verdict.js';
import { repoRoot } from '../src/util/paths.js';
import { cli } from './helpers.js';
import { validResults } from './results-schema.js';

const GREEN = 'TAP version 14\n1..2\nok 1 - a\nok 2 - b\n';
const RED = 'TAP version 14\n1..2\nok 1 - a\nnot ok 2 - b\n# b: check failed\n';
const none = { exitCode: 0, harnessErrors: [], kernelFindings: [] };

await t.test('judgeSuite: TAP, exit code, timeout, crash and kernel findings each decide', async (t) => {
  t.equal(judgeSuite(parseTap(GREEN), none).status, 'pass');
  t.equal(judgeSuite(parseTap(RED), { ...none, exitCode: 1 }).status, 'fail');
  t.same(judgeSuite(parseTap(RED), { ...none, exitCode: 1 }).errors, [], 'a failing test explains exit 1');
  t.same(judgeSuite(parseTap(GREEN), { ...none, exitCode: 3 }).errors, ['exited with code 3 without a failing test']);
  t.same(judgeSuite(parseTap('1..2\nok 1 - a\n'), { ...none, exitCode: null, timedOutSec: 30 }).errors, [
    'timed out after 30 s and was killed',
    'planned 2 tests but ran 1',
  ]);
  t.equal(judgeSuite(parseTap(GREEN), { ...none, kernelFindings: ['WARNING: at net/x.c'] }).status, 'fail');
  const crashedTest = { id: 2, name: 'b', status: 'error' as const, diagnostics: ['crashed: panic'] };
  const crash = judgeSuite(parseTap('1..2\nok 1 - a\n'), { ...none, exitCode: null, crashed: 'crashed: panic', crashedTest });
  t.equal(crash.status, 'error');
  t.equal(crash.errors[0], 'crashed: panic');
  t.same(
    crash.tests.map((x) => x.status),
    ['pass', 'error'],
  );
  t.same(judgeSuite(parseTap('1..0 # SKIP no module\n'), none).tests, [], 'a skipped plan is no test, not a failure');
});

await t.test('legacy results.json: the errors the TAP does not explain become evidence', async (t) => {
  const suite: SuiteResult = {
    name: 's',
    status: 'fail',
    durationMs: 1,
    exitCode: null,
    tests: [],
    errors: ['planned 2 tests but ran 1', 'timed out after 30 s and was killed', 'the server side on guest2 exited with code 1; see s.server.log'],
    kernelFindings: ['BUG: x'],
  };
  const ev = legacyEvidence(suite, ['planned 2 tests but ran 1']);
  t.equal(ev.timedOutSec, 30);
  t.same(ev.harnessErrors, ['the server side on guest2 exited with code 1; see s.server.log']);
  t.same(ev.kernelFindings, ['BUG: x']);
});

const suite = (name: string, status: SuiteResult['status']): SuiteResult => ({
  name,
  status,
  durationMs: 5,
  exitCode: 0,
  tests: [],
  errors: [],
  kernelFindings: [],
  evidence: { exitCode: 0, harnessErrors: [], kernelFindings: [] },
});
const run = (target: string | undefined, suites: SuiteResult[]): RunResult => ({
  runId: 'r1',
  ...(target ? { target } : {}),
  startedAt: '',
  command: 'npm run sockvm -- run',
  status: 'pass',
  exitCode: 0,
  phases: {},
  suites,
});

await t.test('sockvm parse re-judges a saved run and a matrix from their .tap files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-parse-'));
  writeFileSync(join(dir, 'results.json'), JSON.stringify(run(undefined, [suite('one', 'pass'), suite('two', 'pass')])));
  writeFileSync(join(dir, 'one.tap'), GREEN);
  writeFileSync(join(dir, 'two.tap'), GREEN);
  const same = await rejudgeDir(dir);
  t.equal(same.verdict.exitCode, 0);
  t.same(same.changes, []);
  // A result line edited to "not ok": the saved run is now red, and says which suite changed.
  writeFileSync(join(dir, 'two.tap'), RED);
  const red = await rejudgeDir(dir);
  t.equal(red.verdict.exitCode, 1);
  t.same(red.changes, ['two: recorded pass, now fail', 'run: recorded pass, now fail']);

  const m = mkdtempSync(join(tmpdir(), 'sockvm-parse-m-'));
  // A matrix run's results.json as written before schemaVersion 2 (no version, no "matrix").
  const matrix = { runId: 'm', command: 'x', status: 'pass', exitCode: 0, targets: [run('a', [suite('one', 'pass')]), run('b', [suite('one', 'pass')])] };
  writeFileSync(join(m, 'results.json'), JSON.stringify(matrix));
  for (const [target, tap] of [
    ['a', GREEN],
    ['b', '1..2\nok 1 - a\n'],
  ] as const) {
    mkdirSync(join(m, target));
    writeFileSync(join(m, target, 'one.tap'), tap);
  }
  const mr = await rejudgeDir(m);
  t.equal(mr.matrix, true);
  t.equal(mr.verdict.exitCode, 1, 'the worst target decides');
  t.match(mr.runs[1]?.suites[0]?.errors, ['planned 2 tests but ran 1']);

  // The command: the summary, what changed, the exit code; a bad path names itself and the fix.
  let code = 0;
  let output = '';
  try {
    output = execFileSync('node', [cli, 'parse', dir], { encoding: 'utf8' });
  } catch (err) {
    const e = err as { status: number; stdout: string };
    code = e.status;
    output = e.stdout;
  }
  t.equal(code, 1);
  t.match(output, /re-judged: two: recorded pass, now fail/);
  t.match(output, /3 passed, 1 failed, 0 skipped \(re-judged from/);
  try {
    execFileSync('node', [cli, 'parse', join(dir, 'nope')], { encoding: 'utf8', stdio: 'pipe' });
    t.fail('a missing path must fail');
  } catch (err) {
    const e = err as { status: number; stderr: string };
    t.equal(e.status, 2);
    t.match(e.stderr, /nope: no such file or directory; give a results directory/);
  }
});

await t.test('sockvm parse keeps the durations the run recorded (fixtures/results/timed)', async (t) => {
  const dir = join(repoRoot, 'harness', 'test', 'fixtures', 'results', 'timed');
  validResults(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')), 'fixtures/results/timed/results.json');
  const r = await rejudgeDir(dir);
  t.same(r.changes, []);
  const suite = r.runs[0]?.suites[0];
  t.equal(suite?.durationMs, 2345, "the suite's time, from results.json");
  t.same(
    suite?.tests.map((x) => x.durationMs),
    [812.25, 340, 3],
    "each test's: the TAP's # time=, else what results.json recorded (the run's clock from '# running' to the result)",
  );
  // On a copy: parse writes the reports again into the directory it re-judges.
  const copy = mkdtempSync(join(tmpdir(), 'sockvm-parse-timed-'));
  cpSync(dir, copy, { recursive: true });
  const summary = join(copy, 'step-summary.md');
  const output = execFileSync('node', [cli, 'parse', '--tap-version', '13', copy], { encoding: 'utf8', env: { ...process.env, GITHUB_STEP_SUMMARY: summary } });
  t.match(output, /stream: 2\/3 passed in 2\.3 s/);
  const [run] = r.runs;
  if (!run) throw new Error('the timed fixture has no target');
  t.equal(readFileSync(join(copy, 'results.tap'), 'utf8'), toTap(run, 13), 'results.tap as a run writes it, version 13 as asked');
  t.equal(readFileSync(join(copy, 'junit.xml'), 'utf8'), toJUnit(run), 'junit.xml as a run writes it');
  t.match(readFileSync(join(copy, 'report.html'), 'utf8'), /<h1 class="pass" id="verdict">PASS · exit 0<\/h1>/, 'report.html with the verdict');
  t.match(readFileSync(summary, 'utf8'), /^## sockvm: ✅ pass \(exit 0\)/, '$GITHUB_STEP_SUMMARY appended');
  t.equal(readFileSync(join(copy, 'results.json'), 'utf8'), readFileSync(join(dir, 'results.json'), 'utf8'), 'results.json stays as recorded');

  // The TAP alone: a test has the time it reported, and an untimed one none (not the parser's ~0 ms).
  t.same(
    parseTap(readFileSync(join(dir, 'stream.tap'), 'utf8')).tests.map((x) => x.durationMs),
    [812.25, undefined, undefined],
  );

  // A run recorded before tests' times were in the TAP: every time comes from results.json.
  const legacy = join(repoRoot, 'harness', 'test', 'fixtures', 'results', 'legacy-single');
  const recorded = readResultsFile(JSON.parse(readFileSync(join(legacy, 'results.json'), 'utf8')), 'legacy-single');
  const again = await rejudgeDir(legacy);
  t.same(
    again.runs[0]?.suites.map((s) => [s.durationMs, s.tests.map((x) => x.durationMs)]),
    recorded.targets[0]?.suites.map((s) => [s.durationMs, s.tests.map((x) => x.durationMs)]),
  );
});
