// The GitHub Actions job summary: when $GITHUB_STEP_SUMMARY names a file, the run appends its
// verdict, a targets × suites table and its failures in Markdown. GitHub renders HTML inside
// Markdown, so guest text is entity-escaped and kept out of table syntax.
import { appendFile } from 'node:fs/promises';
import type { ResultsFile, RunResult } from '../results/model.js';
import { ioError } from '../util/out-file.js';
import { countTests, judgeTest, targetOwnError } from '../results/verdict.js';
import { escapeHtml } from './html.js';

/** Text for a Markdown table cell or line: escaped HTML, no pipes, backticks or newlines. */
export const mdText = (text: string): string =>
  escapeHtml(text)
    .replace(/[|`*_[\]\\]/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/\s*\n\s*/g, ' ');

const VERDICT: Record<ResultsFile['status'], string> = { pass: '✅ pass', fail: '❌ FAIL', error: '💥 ERROR' };
/** Failures listed in the summary: the rest is in report.html and junit.xml. */
const MAX_FAILURES = 20;

function table(runs: RunResult[]): string[] {
  const suites = [...new Set(runs.flatMap((r) => r.suites.map((s) => s.name)))];
  const rows = runs.map((r) => {
    const cells = suites.map((name) => {
      const s = r.suites.find((x) => x.name === name);
      if (!s) return '–';
      const passed = s.tests.filter((t) => judgeTest(t) === 'passed').length;
      return `${s.status === 'pass' ? 'pass' : s.status === 'fail' ? '**FAIL**' : '**CRASH**'} ${passed}/${s.tests.length}`;
    });
    return `| ${mdText(r.target ?? 'host')} | ${mdText(r.kernel?.release ?? '–')} | ${cells.join(' | ')} | ${VERDICT[r.status]} |`;
  });
  return [`| target | kernel | ${suites.map(mdText).join(' | ')} | verdict |`, `|${' --- |'.repeat(suites.length + 3)}`, ...rows];
}

function failureLines(runs: RunResult[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    const where = r.target ? `${r.target}/` : '';
    for (const s of r.suites.filter((x) => x.status !== 'pass')) {
      for (const t of s.tests.filter((x) => judgeTest(x) === 'failed'))
        out.push(
          `- ${mdText(`${where}${s.name}: ${t.status === 'error' ? 'crashed' : 'not ok'} ${t.id} - ${t.name}`)}${t.diagnostics[0] ? `: ${mdText(t.diagnostics[0])}` : ''}`,
        );
      for (const e of [...s.errors, ...s.kernelFindings]) out.push(`- ${mdText(`${where}${s.name}: ${e}`)}`);
    }
    const own = targetOwnError(r) ?? r.problem;
    if (own) out.push(`- ${mdText(`${r.target ?? 'run'}: ${own.split('\n')[0] ?? ''}`)}`);
  }
  return out;
}

export function toStepSummary(results: ResultsFile): string {
  const c = countTests(results.targets.flatMap((r) => r.suites));
  const lines = [`## sockvm: ${VERDICT[results.status]} (exit ${results.exitCode})`, '', `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`, ''];
  if (results.infraError) lines.push(`**infrastructure:** ${mdText(results.infraError.split('\n')[0] ?? '')}`, '');
  if (results.problem) lines.push(`**${mdText(results.problem)}**`, '');
  if (results.targets.some((r) => r.suites.length)) lines.push(...table(results.targets), '');
  const fails = failureLines(results.targets);
  if (fails.length) {
    lines.push('### Failures', '', ...fails.slice(0, MAX_FAILURES));
    if (fails.length > MAX_FAILURES) lines.push(`- … and ${fails.length - MAX_FAILURES} more (report.html, junit.xml)`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Appends the run's summary to $GITHUB_STEP_SUMMARY when it names a file; nothing otherwise. */
export async function appendStepSummary(results: ResultsFile, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const path = env.GITHUB_STEP_SUMMARY;
  if (!path) return;
  await appendFile(path, toStepSummary(results)).catch((err: unknown) => {
    throw ioError(path, err);
  });
}
