// `sockvm parse`: re-judge saved output with today's parsers and verdict, no VM.
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type Rejudged, rejudgeDir } from '../results/rejudge.js';
import { readResultsFile } from '../results/results-file.js';
import { parseTapVersion, type TapVersion } from '../results/tap-writer.js';
import { runFiles } from '../results/writer.js';
import { runLogs } from '../report/logs.js';
import { appendStepSummary } from '../report/step-summary.js';
import { writeOut } from '../util/out-file.js';
import { matrixTable, targetSummary, totalsLine } from '../results/summary.js';
import { parseTap } from '../results/tap-parser.js';
import type { ResultsFile, RunResult, SuiteResult } from '../results/model.js';
import { judgeSuite, judgeTarget, judgeTest } from '../results/verdict.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';

export const PARSE_USAGE = `Usage: sockvm parse [--tap-version 14|13] <results dir | suite.tap>

Re-judges saved output without booting anything: each suite's .tap is parsed again and judged
with what results.json recorded besides it (exit code, timeout, crash, kernel findings,
durations), then each target and the run. Prints the summary a run prints and any verdict that
changed, and writes the run's reports again from the new verdict: results.tap, junit.xml,
report.html (results.json stays as recorded: it is what parse reads), and the summary to
$GITHUB_STEP_SUMMARY when set.
  --tap-version  results.tap's version line: 14 (default; also KTAP v1), 13 for Perl's prove
  <results dir>  results/<run-id>, results/latest, or one target's directory of a matrix run
  <suite.tap>    one suite's TAP alone (its exit code, kernel log and untimed tests' durations
                 unknown: TAP only)
Exit code as for 'sockvm run': 0 pass, 1 a test failed or none ran, 2 a suite crashed.`;

export async function parseCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('sockvm parse', args, { help: { type: 'boolean', short: 'h' }, 'tap-version': { type: 'string' } }, true);
  if (values.help) {
    out(PARSE_USAGE);
    return 0;
  }
  const [given, ...extra] = positionals;
  if (given === undefined || extra.length > 0) throw new UsageError(`sockvm parse takes one path: a results directory or a suite's .tap file\n${PARSE_USAGE}`);
  const tapVersion = parseTapVersion(values['tap-version']);
  const path = resolve(given);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UsageError(`${path}: no such file or directory; give a results directory (results/latest) or a suite's .tap file`);
  if (st.isFile()) return parseOneTap(path, out);
  const r = await rejudgeDir(path).catch((err: unknown) => {
    if (err instanceof UsageError) throw err;
    const why = err instanceof SyntaxError ? `is not valid JSON (${err.message})` : 'cannot be read';
    throw new UsageError(`${resolve(path, 'results.json')} ${why}; give the directory a run wrote (it holds results.json and the suites' .tap files)`);
  });
  await writeReports(path, r, tapVersion);
  const lines = r.matrix ? matrixTable(r.runs) : r.runs.flatMap((run) => targetSummary(run, path));
  lines.forEach((l) => out(l));
  for (const m of r.missing) out(`note: ${m}.tap is missing: judged as recorded`);
  for (const c of r.changes) out(`re-judged: ${c}`);
  if (r.verdict.problem && r.matrix) out(`error: ${r.verdict.problem}`);
  out(`${totalsLine(r.runs)} (re-judged from ${path}; exit ${r.verdict.exitCode})`);
  return r.verdict.exitCode;
}

/** The re-judged run's reports, as a run writes them, into its directory. */
async function writeReports(dir: string, r: Rejudged, tapVersion: TapVersion): Promise<void> {
  const recorded = readResultsFile(JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')), join(dir, 'results.json'));
  const verdict = { status: r.verdict.status, exitCode: r.verdict.exitCode };
  const results: ResultsFile = { ...recorded, ...verdict, targets: r.runs };
  if (r.verdict.problem) results.problem = r.verdict.problem;
  else delete results.problem;
  const files = runFiles(results, { tapVersion, logs: await runLogs(results, dir) });
  for (const name of ['results.tap', 'junit.xml', 'report.html']) await writeOut(join(dir, name), files[name] ?? '');
  await appendStepSummary(results);
}

/** One suite's TAP alone, judged as a target of that one suite (its exit code and kernel log unknown). */
async function parseOneTap(path: string, out: (line: string) => void): Promise<number> {
  const tap = parseTap(await readFile(path, 'utf8'));
  const name = basename(path).replace(/\.tap$/, '');
  const suite: SuiteResult = { name, durationMs: 0, ...judgeSuite(tap, { exitCode: null, harnessErrors: [], kernelFindings: [] }) };
  const run: RunResult = { runId: 'parse', startedAt: '', command: '', status: 'pass', exitCode: 0, phases: {}, suites: [suite] };
  const v = judgeTarget(run);
  for (const t of suite.tests)
    if (judgeTest(t) !== 'passed') out(`  ${t.status === 'skip' ? '-' : '✗'} ${t.id} ${t.name}${t.status === 'skip' ? ' (skipped)' : ''}`);
  for (const e of suite.errors) out(`error: ${e}`);
  out(`${totalsLine([run])} (TAP only: ${path})`);
  if (v.problem) out(`error: ${v.problem}`);
  return v.exitCode;
}
