// The plan as a person reads it (`sockvm run --dry-run`); --json prints the Plan itself.
import type { KernelSpec } from '../config/targets.js';
import { shellWords } from '../guest/quote.js';
import type { AccessPlan, Plan, TargetPlan } from './plan.js';

function kernelLine(spec: KernelSpec, user: TargetPlan['userKernel']): string {
  if (user) return `--kernel ${user.image}`;
  if (spec.provider === 'host') return 'host (the newest installed /boot/vmlinuz-*)';
  if (spec.provider === 'debian') return `debian:${spec.release} (packages, downloaded once into the cache)`;
  const parts = [`source ${spec.source}`, `config ${spec.config.join(',')}`];
  if (spec.series) parts.push(`patches ${spec.series}`);
  if (spec.extra?.length) parts.push(`extra ${spec.extra.join(' ')}`);
  if (spec.toolchain) parts.push(`toolchain ${spec.toolchain}`);
  return `${parts.join('; ')} (built into the cache unless cached)`;
}

const secs = (ms: number): string => `${ms / 1000} s`;

export function renderPlan(plan: Plan): string[] {
  const lines = [`plan ${plan.runId} → ${plan.resultsDir}`, `module source: ${plan.moduleSrc}`];
  const run = [`jobs ${plan.jobs}`, `repeat ${plan.repeat}`];
  if (plan.testFilter !== undefined) run.push(`--test '${plan.testFilter}'`);
  if (plan.seed !== undefined) run.push(`seed ${plan.seed}`);
  lines.push(run.join(', '));
  for (const t of plan.targets) {
    lines.push(`target ${t.name}`);
    lines.push(`  kernel:   ${kernelLine(t.kernel, t.userKernel)}`);
    lines.push(`  suites:   ${t.suites.join(' ')}`);
    for (const [suite, glob] of Object.entries(t.testFilters ?? {})) lines.push(`  rerun:    ${suite}: only '${glob}'`);
    lines.push(
      `  guests:   ${t.guests}; CPUs ${t.cpus.kvm} (KVM) / ${t.cpus.tcg} (TCG); boot limit ${secs(t.bootTimeoutMs.kvm)} / ${secs(t.bootTimeoutMs.tcg)}`,
    );
    if (t.modules.length) lines.push(`  modules:  ${t.modules.join(' ')}`);
    if (t.tools.length) lines.push(`  tools:    ${t.tools.join(' ')}`);
    if (t.traced.length) lines.push(`  traced:   ${t.traced.join(' ')}${t.coverageFloor !== undefined ? ` (coverage floor ${t.coverageFloor}%)` : ''}`);
    lines.push(`  results:  ${t.resultsDir}`);
  }
  if (plan.access) lines.push(...accessLines(plan.access));
  return lines;
}

function accessLines(a: AccessPlan): string[] {
  const lines: string[] = [];
  if (a.shell) lines.push('shell:     an interactive shell in guest 1, powered off when it exits');
  if (a.command) lines.push(`command:   ${'argv' in a.command ? shellWords(a.command.argv) : a.command.shellLine} (in guest 1's /root)`);
  for (const c of a.copies) lines.push(`copy:      ${c.host} → ${c.guest}`);
  const after = [a.keep ? 'keep the guests up' : '', a.gdb ? 'gdbstub on a local port, nokaslr' : ''].filter(Boolean);
  if (after.length) lines.push(`then:      ${after.join('; ')}`);
  return lines;
}
