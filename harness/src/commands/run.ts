// `sockvm run`: builds the suites once, runs each chosen target (one by default, a matrix with
// --target/--all-targets), writes the run's results and a summary event. Never prints.
import { join } from 'node:path';
import { buildSuites } from '../build/suites.js';
import type { RunOptions } from '../config/run-options.js';
import type { EventBus } from '../events.js';
import { runResultsFile } from '../results/results-file.js';
import { matrixTable, targetSummary, totalsLine } from '../results/summary.js';
import { judgeRun } from '../results/verdict.js';
import { readManifest } from '../suites/manifest.js';
import { gatherPlanInputs, suiteSourceDirs } from '../plan/gather.js';
import { planRun, type Plan } from '../plan/plan.js';
import { abortReason, interruptExit } from '../util/cancel.js';
import type { SuiteSpec } from '../suites/spec.js';
import { InfraError, UsageError, errorMessage } from '../util/errors.js';
import { exists, makeDirs } from '../util/fs.js';
import { cacheRoot, repoRoot } from '../util/paths.js';
import { commandLine } from '../vm/boot.js';
import type { GuestTerminal } from '../guest/stream.js';
import type { DevOptions } from '../dev/loop.js';
import { runTarget, type TargetContext } from './target-run.js';

export function newRunId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[:]/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface RunContext {
  bus: EventBus;
  argv: string[];
  /** Aborted when the user interrupts: everything running stops, the results are written. */
  signal: AbortSignal;
  /** Where a guest command's output goes and a shell's keys come from (default: our own stdio). */
  terminal?: GuestTerminal;
  /** sockvm dev: the target's guests stay for its loop of saves. */
  dev?: DevOptions;
}

/** Reads what the plan needs and plans the run: a UsageError lists every problem at once. */
export async function makePlan(options: RunOptions): Promise<Plan> {
  const inputs = await gatherPlanInputs(options);
  // --rerun-failed names the targets: the run goes on as if they were given.
  if (inputs.rerun) options.targets = inputs.rerun.targets.map((t) => t.name);
  return planRun(options, inputs, { runId: newRunId() });
}

/** Builds the suites some target selected (a run of one user suite compiles no built-in one). */
async function buildSelectedSuites(options: RunOptions, selected: ReadonlySet<string>, log: string, signal: AbortSignal): Promise<SuiteSpec[]> {
  const binaries = await buildSuites(join(repoRoot, 'suites'), suiteSourceDirs(options), join(cacheRoot(), 'suites-bin'), log, signal, selected);
  return Promise.all(
    binaries.map(async (b) => {
      const manifest = await readManifest(b.sourceDir);
      const spec: SuiteSpec = {
        name: b.name,
        binary: b.path,
        sourceDir: b.sourceDir,
        manifest,
        bpfObjects: await suiteBpfObjects(b.name, b.path, b.sourceDir, manifest.bpf),
      };
      if (b.files) spec.files = b.files;
      return spec;
    }),
  );
}

/**
 * Where each BPF object of a suite's manifest is: built by suites/Makefile next to the suite's
 * binary (<binary>.bpf/<x>.bpf.o from <x>.bpf.c), else ready-made in the suite's directory.
 */
async function suiteBpfObjects(suite: string, binary: string, sourceDir: string, names: string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const name of names) {
    const candidates = [join(`${binary}.bpf`, name), join(sourceDir, name)];
    let found: string | undefined;
    for (const c of candidates) if (await exists(c)) found ??= c;
    if (!found) {
      throw new UsageError(
        `suite ${suite}: BPF object '${name}' (suite.json "bpf") is neither built (no ${name.replace(/\.o$/, '.c')} in ${sourceDir}) nor in ${sourceDir}; add the source or the object, or drop it from "bpf"`,
      );
    }
    paths.push(found);
  }
  return paths;
}

/** The arguments that rerun one target of a matrix run: its --target, every other option kept. */
export function targetArgv(argv: string[], target: string): string[] {
  const out: string[] = [];
  let dropValue = false;
  for (const a of argv) {
    if (dropValue) {
      dropValue = false;
      continue;
    }
    if (a === '--all-targets' || a.startsWith('--target=') || a.startsWith('--jobs=')) continue;
    if (a === '--target' || a === '--jobs') {
      dropValue = true;
      continue;
    }
    out.push(a);
  }
  return ['--target', target, ...out];
}

/** Runs `work` over `items` with at most `jobs` at once, keeping the items' order in the result. */
async function pool<T, R>(items: T[], jobs: number, work: (item: T) => Promise<R>, stop: () => boolean): Promise<R[]> {
  const out: R[] = [];
  // One iterator shared by the workers: each takes the next item (taking is synchronous).
  const queue = items.entries();
  const worker = async (): Promise<void> => {
    while (!stop()) {
      const next = queue.next();
      if (next.done) return;
      const [i, item] = next.value;
      out[i] = await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return out.filter((r) => r !== undefined);
}

/** The shell line that runs `sockvm run` (or `shell`) with these arguments: npm's script works from any clone. */
function rerunCommand(argv: string[], verb = 'run'): string {
  return commandLine(['npm', 'run', 'sockvm', '--', verb, ...argv]);
}

export async function runCommand(plan: Plan, options: RunOptions, ctx: RunContext): Promise<{ exitCode: number; dir: string }> {
  const { bus } = ctx;
  const { runId, resultsDir: runDir, matrix } = plan;
  try {
    await makeDirs(runDir);
  } catch (err) {
    throw new UsageError(`--results-dir ${options.resultsRoot}: ${errorMessage(err)}; choose a writable directory`, { cause: err });
  }
  const command = rerunCommand(ctx.argv, ctx.dev ? 'dev' : options.shell ? 'shell' : 'run');
  bus.emit({ type: 'run-started', runId, resultsDir: runDir, command });

  let targets = plan.targets;
  let suites: SuiteSpec[] = [];
  let setupError: string | undefined;
  try {
    ctx.signal.throwIfAborted();
    // A command (or kept guests) without suites: nothing to build, the boot comes sooner.
    if (targets.some((t) => t.suites.length > 0)) {
      bus.emit({ type: 'phase-started', phase: 'suite-build' });
      const start = Date.now();
      const selected = new Set(targets.flatMap((t) => t.suites));
      suites = await buildSelectedSuites(options, selected, join(runDir, 'build.log'), ctx.signal);
      bus.emit({ type: 'phase-ended', phase: 'suite-build', durationMs: Date.now() - start });
    }
  } catch (err) {
    targets = [];
    setupError = ctx.signal.aborted ? abortReason(ctx.signal) : errorMessage(err) + (err instanceof InfraError && err.detail ? `\n${err.detail}` : '');
  }

  const runs = await pool(
    targets,
    plan.jobs,
    async (target) => {
      if (matrix) bus.emit({ type: 'target-started', target: target.name });
      const reproduce = matrix ? rerunCommand(targetArgv(ctx.argv, target.name)) : command;
      const tctx: TargetContext = { bus: bus.forTarget(target.name), runId, command: reproduce, moduleSrc: plan.moduleSrc, signal: ctx.signal, suites };
      if (plan.access) tctx.access = plan.access;
      if (ctx.terminal) tctx.terminal = ctx.terminal;
      if (ctx.dev) tctx.dev = ctx.dev;
      return runTarget(target, options, tctx);
    },
    () => ctx.signal.aborted,
  );
  // Interrupted before any target started: the run's own results say so.
  if (ctx.signal.aborted && !runs.length) setupError ??= abortReason(ctx.signal);

  const interrupted = interruptExit(ctx.signal);
  const verdict = judgeRun(runs, { ...(setupError ? { setupError } : {}), ...(interrupted !== undefined ? { interruptExit: interrupted } : {}) });
  const results = runResultsFile(runs, {
    runId,
    command,
    matrix,
    verdict,
    ...(setupError ? { infraError: setupError } : {}),
    ...(plan.shard ? { shard: plan.shard } : {}),
  });
  bus.emit({ type: 'run-results', dir: runDir, results });
  // Every result file is on disk before the summary says where they are; one that could not be
  // written (a full disk) makes the run an infrastructure error, unless the user interrupted it.
  let writeError: string | undefined;
  await bus.settled().catch((err: unknown) => (writeError = errorMessage(err)));
  const exitCode = writeError !== undefined && interrupted === undefined ? 2 : verdict.exitCode;

  const summary: string[] = [];
  if (matrix) summary.push(...matrixTable(runs));
  else for (const r of runs) summary.push(...targetSummary(r, runDir));
  if (setupError) summary.push(`error: ${setupError}`);
  if (writeError) summary.push(`error: results not fully written: ${writeError}`);
  summary.push(totalsLine(runs));
  summary.push(`results: ${runDir} (exit ${exitCode})`);
  bus.emit({ type: 'run-ended', exitCode, resultsDir: runDir, summary });
  return { exitCode, dir: runDir };
}
