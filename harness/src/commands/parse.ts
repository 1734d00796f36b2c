// `sockvm parse`: re-judge saved output with today's parsers and verdict, no VM.
import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { rejudgeDir } from '../results/rejudge.js';
import { matrixTable, targetSummary, totalsLine } from '../results/summary.js';
import { parseTap } from '../results/tap-parser.js';
import type { RunResult, SuiteResult } from '../results/model.js';
import { judgeSuite, judgeTarget, judgeTest } from '../results/verdict.js';
import { parseCommandArgs } from '../util/args.js';
import { UsageError } from '../util/errors.js';

export const PARSE_USAGE = `Usage: sockvm parse <results dir | suite.tap>

Re-judges saved output without booting anything: each suite's .tap is parsed again and judged
with what results.json recorded besides it (exit code, timeout, crash, kernel findings,
durations), then each target and the run. Prints the summary a run prints and any verdict that
changed.
  <results dir>  results/<run-id>, results/latest, or one target's directory of a matrix run
  <suite.tap>    one suite's TAP alone (its exit code, kernel log and untimed tests' durations
                 unknown: TAP only)
Exit code as for 'sockvm run': 0 pass, 1 a test failed or none ran, 2 a suite crashed.`;

export async function parseCommand(args: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parseCommandArgs('sockvm parse', args, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    out(PARSE_USAGE);
    return 0;
  }
  const [given, ...extra] = positionals;
  if (given === undefined || extra.length > 0) throw new UsageError(`sockvm parse takes one path: a results directory or a suite's .tap file\n${PARSE_USAGE}`);
  const path = resolve(given);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UsageError(`${path}: no such file or directory; give a results directory (results/latest) or a suite's .tap file`);
  if (st.isFile()) return parseOneTap(path, out);
  const r = await rejudgeDir(path).catch((err: unknown) => {
    if (err instanceof UsageError) throw err;
    const why = err instanceof SyntaxError ? `is not valid JSON (${err.message})` : 'cannot be read';
    throw new UsageError(`${resolve(path, 'results.json')} ${why}; give the directory a run wrote (it holds results.json and the suites' .tap files)`);
  });
  const lines = r.matrix ? matrixTable(r.runs) : r.runs.flatMap((run) => targetSummary(run, path));
  lines.forEach((l) => out(l));
  for (const m of r.missing) out(`note: ${m}.tap is missing: judged as recorded`);
  for (const c of r.changes) out(`re-judged: ${c}`);
  if (r.verdict.problem && r.matrix) out(`error: ${r.verdict.problem}`);
  out(`${totalsLine(r.runs)} (re-judged from ${path}; exit ${r.verdict.exitCode})`);
  return r.verdict.exitCode;
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
