// report.html: the whole run in one self-contained page (inline CSS, no script, no fetch; its
// Content-Security-Policy forbids any). Verdict and counts, targets × suites, each failure with
// its diagnostics, each target's dmesg excerpt and console tail, a bar per phase, perf metrics,
// trace coverage.
// Every name and line in it came from a guest or a user: all of it goes through escapeHtml.
import type { ResultsFile, RunResult, SuiteResult } from '../results/model.js';
import { metricLines } from '../results/metrics.js';
import { coverageLines } from '../trace/coverage.js';
import { countTests, judgeTest, targetOwnError } from '../results/verdict.js';

/** A target's logs as the report shows them: the ends of its dmesg.txt and console.log. */
export interface TargetLogs {
  dmesg?: string;
  console?: string;
}

/** Lines of a log the report keeps: the tail, where a failure's story ends. */
export const LOG_TAIL_LINES = 60;

// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** Text as HTML text or attribute value: markup characters as entities, control characters gone. */
export function escapeHtml(text: string): string {
  return text.replace(CONTROL, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** The last `n` lines of a log, without ANSI colour sequences. */
export function tail(text: string, n = LOG_TAIL_LINES): string {
  // eslint-disable-next-line no-control-regex -- ANSI sequences start with ESC
  const lines = text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const VERDICT: Record<ResultsFile['status'], string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR' };

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{padding:.3em .6em;border-radius:4px;color:#fff}h1.pass{background:#2e7d32}h1.fail{background:#c62828}h1.error{background:#6a1b9a}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
td.pass{background:#e8f5e9}td.fail{background:#ffebee}td.error{background:#f3e5f5}td.none{color:#999}
pre{background:#f6f6f6;padding:.5em;overflow:auto;max-height:30em;white-space:pre-wrap;word-break:break-all}
.bar{display:flex;height:1.4em;margin:.3em 0;border:1px solid #ccc}.bar span{overflow:hidden;white-space:nowrap;font-size:11px;padding:0 .2em;border-right:1px solid #fff}
.p0{background:#90caf9}.p1{background:#a5d6a7}.p2{background:#ffe082}.p3{background:#ef9a9a}.p4{background:#ce93d8}.p5{background:#80cbc4}
.failure{border-left:4px solid #c62828;padding-left:.6em;margin:.8em 0}`;

function cell(suite: SuiteResult | undefined): string {
  if (!suite) return '<td class="none">–</td>';
  const passed = suite.tests.filter((t) => judgeTest(t) === 'passed').length;
  const label = suite.status === 'error' ? 'CRASH' : suite.status === 'fail' ? 'FAIL' : 'pass';
  return `<td class="${suite.status}">${label} ${passed}/${suite.tests.length}</td>`;
}

function matrixTable(runs: RunResult[]): string {
  const suites = [...new Set(runs.flatMap((r) => r.suites.map((s) => s.name)))];
  const head = `<tr><th>target</th><th>kernel</th>${suites.map((s) => `<th>${escapeHtml(s)}</th>`).join('')}<th>verdict</th></tr>`;
  const rows = runs.map((r) => {
    const cells = suites.map((name) => cell(r.suites.find((s) => s.name === name))).join('');
    return `<tr><td>${escapeHtml(r.target ?? 'host')}</td><td>${escapeHtml(r.kernel?.release ?? '–')}</td>${cells}<td class="${r.status}">${VERDICT[r.status]}</td></tr>`;
  });
  return `<table id="matrix">${head}${rows.join('')}</table>`;
}

/**
 * One bar per target: each top-level phase's share of the run, its name and time in the segment
 * and its title. The phases within one ("suite:create" within "suites", "reboot:panic") are
 * listed under the bar: in it they would count twice.
 */
function phaseBar(run: RunResult): string {
  const all = Object.entries(run.phases).filter(([, ms]) => ms > 0);
  const phases = all.filter(([name]) => !name.includes(':'));
  const total = phases.reduce((n, [, ms]) => n + ms, 0);
  if (!total) return '';
  const segments = phases.map(([name, ms], i) => {
    const label = `${escapeHtml(name)} ${secs(ms)}`;
    return `<span class="p${i % 6}" style="width:${((100 * ms) / total).toFixed(2)}%" title="${label}">${label}</span>`;
  });
  const within = all.filter(([name]) => name.includes(':')).map(([name, ms]) => `${name} ${secs(ms)}`);
  return `<div class="bar" data-phases="${phases.length}">${segments.join('')}</div>${within.length ? `<p class="within">${escapeHtml(within.join(' · '))}</p>` : ''}`;
}

const pre = (lines: string[], cls = ''): string => (lines.length ? `<pre${cls ? ` class="${cls}"` : ''}>${escapeHtml(lines.join('\n'))}</pre>` : '');

/** Each failing or crashed test with its diagnostics, and each suite's own trouble. */
function failures(run: RunResult): string[] {
  const where = run.target ? `${run.target}/` : '';
  const out: string[] = [];
  for (const suite of run.suites.filter((s) => s.status !== 'pass')) {
    for (const test of suite.tests.filter((t) => judgeTest(t) === 'failed')) {
      const what = test.status === 'error' ? 'crashed' : 'not ok';
      out.push(`<div class="failure"><h4>${escapeHtml(`${where}${suite.name}: ${what} ${test.id} - ${test.name}`)}</h4>${pre(test.diagnostics)}</div>`);
    }
    const trouble = [...suite.errors, ...suite.kernelFindings.map((k) => `kernel: ${k}`)];
    if (trouble.length) out.push(`<div class="failure"><h4>${escapeHtml(`${where}${suite.name}`)}</h4>${pre(trouble)}</div>`);
  }
  const own = [targetOwnError(run), run.problem, ...(run.guest?.unloadFindings ?? []).map((k) => `rmmod newtcp: ${k}`)].filter((x): x is string => Boolean(x));
  if (own.length) out.push(`<div class="failure"><h4>${escapeHtml(run.target ?? 'run')}</h4>${pre(own)}</div>`);
  return out;
}

function targetSection(run: RunResult, logs: TargetLogs): string {
  const about = [
    run.kernel ? `kernel ${run.kernel.release}` : 'no kernel',
    run.accelerator ?? 'no accelerator chosen',
    run.seed !== undefined ? `seed ${run.seed}` : undefined,
    `exit ${run.exitCode}`,
  ].filter(Boolean);
  const parts = [
    `<section class="target"><h2>${escapeHtml(run.target ?? 'host')}: ${VERDICT[run.status]}</h2>`,
    `<p>${escapeHtml(about.join(' · '))}</p>`,
    phaseBar(run),
  ];
  const fails = failures(run);
  if (fails.length) parts.push('<h3>Failures</h3>', ...fails);
  for (const s of run.suites.filter((x) => x.metrics?.length))
    parts.push(`<h3>Performance: ${escapeHtml(s.name)} (NEW_TCP against TCP)</h3>`, pre(metricLines(s.metrics ?? []), 'metrics'));
  if (run.coverage) parts.push('<h3>Trace coverage</h3>', pre(coverageLines(run.coverage), 'coverage'));
  if (logs.dmesg) parts.push(`<h3>dmesg (last ${LOG_TAIL_LINES} lines)</h3>`, pre([tail(logs.dmesg)], 'dmesg'));
  if (logs.console) parts.push(`<h3>console (last ${LOG_TAIL_LINES} lines)</h3>`, pre([tail(logs.console)], 'console'));
  parts.push('</section>');
  return parts.join('\n');
}

/** The report of a run; `logs[i]` holds target i's logs (absent when none were kept). */
export function toHtml(results: ResultsFile, logs: TargetLogs[] = []): string {
  const c = countTests(results.targets.flatMap((r) => r.suites));
  const why = [results.infraError?.split('\n')[0], results.problem].filter((x): x is string => Boolean(x));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>sockvm ${escapeHtml(results.runId)}: ${VERDICT[results.status]}</title>
<style>${STYLE}</style></head><body>
<h1 class="${results.status}" id="verdict">${VERDICT[results.status]} · exit ${results.exitCode}</h1>
<p id="counts"><span id="passed">${c.passed}</span> passed, <span id="failed">${c.failed}</span> failed, <span id="skipped">${c.skipped}</span> skipped · run ${escapeHtml(results.runId)}</p>
<p><code>${escapeHtml(results.command)}</code></p>
${why.length ? pre(why, 'why') : ''}
${matrixTable(results.targets)}
${results.targets.map((run, i) => targetSection(run, logs[i] ?? {})).join('\n')}
</body></html>
`;
}
