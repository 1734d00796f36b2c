// The one-screen summary: per suite for a single target, a targets × suites table for a matrix.
import { join } from 'node:path';
import { metricLines } from './metrics.js';
import type { RunResult } from './model.js';
import { countTests, judgeTest } from './verdict.js';
import { coverageLines } from '../trace/coverage.js';

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function targetSummary(run: RunResult, dir: string): string[] {
  const out: string[] = [];
  if (run.kernel) {
    const b = run.boot;
    // Guest 1's own boot to SSH; with two guests booting side by side, also when both were up.
    const guest1 = b ? b.toReadyMs + b.sshMs : run.phases.boot;
    const both = b && b.guests > 1 && run.phases.boot !== undefined ? ` (guest 1; both guests ${secs(run.phases.boot)})` : '';
    const boot = guest1 !== undefined ? ` · boot to SSH ${secs(guest1)}${both}` : '';
    out.push(`kernel ${run.kernel.release} · ${run.accelerator ?? 'no accel chosen'}${boot}`);
  }
  for (const s of run.suites) {
    const passed = s.tests.filter((t) => judgeTest(t) === 'passed').length;
    out.push(`  ${s.status === 'pass' ? '✓' : '✗'} ${s.name}: ${passed}/${s.tests.length} passed in ${secs(s.durationMs)}${s.errors.length ? ` — ${s.errors.join('; ')}` : ''}`);
    for (const k of s.kernelFindings.slice(0, 5)) out.push(`      kernel: ${k}`);
    for (const m of metricLines(s.metrics ?? [])) out.push(`      ${printable(m)}`);
    if (s.trace) {
      const t = s.trace;
      const drops = Object.values(t.drops ?? {}).reduce((a, b) => a + b, 0);
      if (t.file) out.push(`      trace: ${t.attached}/${t.functions} functions attached${t.attachMs !== undefined ? ` (in ${secs(t.attachMs)}, once per boot)` : ''}, ${drops} events dropped → ${t.file}`);
      for (const n of t.notes.filter((x) => !x.startsWith('tracer attached in')).slice(0, 3)) out.push(`      trace: ${printable(n)}`);
    }
  }
  if (run.coverage) {
    out.push('  coverage of the module\'s handlers (sockvm-trace):');
    for (const line of coverageLines(run.coverage)) out.push(`    ${printable(line)}`);
    if (run.coverageFloor) out.push(`    ${run.coverageFloor.met ? '✓' : '✗'} coverageFloor ${run.coverageFloor.percent}%`);
  }
  out.push(...endOfRunFindings(run, '  '));
  out.push(...accessLines(run));
  if (run.problem) out.push(`error: ${run.problem}`);
  if (run.infraError) {
    const [first, ...detail] = run.infraError.split('\n');
    out.push(`error: ${first}`);
    if (detail.length) out.push(`  ${detail.slice(-8).join('\n  ')}`, `  (full detail in ${join(dir, 'results.json')} and console.log)`);
  }
  return out;
}

/** How the user's command or shell ended, and the kernel's reports while it ran. */
function accessLines(run: RunResult): string[] {
  const a = run.guestAccess;
  if (!a || a.mode === 'keep' || a.exitCode === undefined) return [];
  const what = a.mode === 'shell' ? 'shell' : 'command';
  const how = a.exitCode === null ? 'did not finish' : `exited ${a.exitCode}${a.signal ? ` (${a.signal})` : ''}`;
  const out = [`  ${a.exitCode === 0 ? '✓' : '✗'} ${what} ${how}${a.durationMs !== undefined ? ` in ${secs(a.durationMs)}` : ''}`];
  for (const k of (a.kernelFindings ?? []).slice(0, 5)) out.push(`      kernel: ${printable(k)}`);
  return out;
}

/** Test names and notes came from the guest: no terminal control characters reach the screen. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const printable = (s: string): string => s.replace(/[\x00-\x1f\x7f]/g, '?');

/** What the end of the run found outside any suite: rmmod reports, kmemleak's verdict. */
function endOfRunFindings(run: RunResult, prefix: string): string[] {
  const out = (run.guest?.unloadFindings ?? []).slice(0, 5).map((k) => `${prefix}✗ rmmod newtcp: ${k}`);
  const leaks = run.guest?.kmemleak;
  if (!leaks) return out;
  const count = leaks.filter((l) => /unreferenced object/.test(l)).length;
  out.push(leaks.length ? `${prefix}✗ kmemleak: ${count} distinct leak(s)` : `${prefix}✓ kmemleak: scanned after the suites, no leaks`);
  out.push(...leaks.slice(0, 12).map((k) => `${prefix}    ${k}`));
  return out;
}

const VERDICT: Record<string, string> = { pass: 'pass', fail: 'FAIL', error: 'CRASH' };

/** Targets × suites, a verdict per cell, and each target's trouble underneath. */
export function matrixTable(runs: RunResult[]): string[] {
  const suites = [...new Set(runs.flatMap((r) => r.suites.map((s) => s.name)))];
  const header = ['target', 'kernel', ...suites, 'verdict'];
  const rows = runs.map((r) => [
    r.target ?? '?',
    r.kernel?.release ?? '-',
    ...suites.map((name) => {
      const s = r.suites.find((x) => x.name === name);
      return s ? (VERDICT[s.status] ?? s.status) : '-';
    }),
    r.infraError && !r.suites.some((s) => s.status === 'error') ? 'INFRA' : r.status === 'pass' ? 'pass' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  for (const r of runs) {
    if (r.infraError) out.push(`${r.target}: ${r.infraError.split('\n')[0]}`);
    if (r.problem) out.push(`${r.target}: ${r.problem}`);
    out.push(...endOfRunFindings(r, `${r.target}: `));
    for (const s of r.suites.filter((x) => x.status !== 'pass')) {
      const failed = s.tests.filter((t) => t.status === 'fail').map((t) => t.name);
      out.push(`${r.target}/${s.name}: ${[...s.errors, ...failed.map((n) => `not ok: ${n}`)].slice(0, 4).join('; ')}`);
    }
    if (r.coverage) out.push(...coverageLines(r.coverage).map((l) => `${r.target}: coverage: ${printable(l)}`));
    for (const s of r.suites) out.push(...metricLines(s.metrics ?? []).map((l) => `${r.target}/${s.name}: ${printable(l)}`));
  }
  return out;
}

/** Tests passed, failed and skipped over every target: the summary's last count. */
export function totalsLine(runs: RunResult[]): string {
  const c = countTests(runs.flatMap((r) => r.suites));
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
}
