// The run's plan: every cheap decision for every target, made before any build, download or
// boot, from the options and what was read from disk (gather.ts). Pure: the same inputs give
// the same plan, and every usage error comes back at once.
import type { RunOptions } from '../config/run-options.js';
import { chooseTargets, type KernelSpec, type SockvmConfig, type Target } from '../config/targets.js';
import type { SuiteManifest } from '../suites/manifest.js';
import { UsageError } from '../util/errors.js';
import type { RerunSelection } from './rerun.js';
import { assignShards, type ShardSpec } from './shard.js';

/** A suite as found on disk, before anything is built. */
export interface FoundSuite {
  name: string;
  /** suites/<name>/ (or a --suites-dir's), where its sources and suite.json are. */
  sourceDir: string;
  manifest: SuiteManifest;
}

/** What planRun reads: gathered from disk by gatherPlanInputs. */
export interface PlanInputs {
  /** The targets file; undefined when it could not be read (its problem is in `problems`). */
  config: SockvmConfig | undefined;
  suites: FoundSuite[];
  /** The module source tree, when it is one (has a Kbuild or a Makefile). */
  moduleSrc: { path: string; isTree: boolean };
  /** Host programs the suites' manifests name: where each is on PATH, if anywhere. */
  tools: Record<string, string | undefined>;
  /** Source kernels' config fragments (as the config names them) that are not on disk: where each was looked for. */
  missingFragments: Record<string, string>;
  /** Problems found while reading (a suite's bad suite.json, a bad suite directory name). */
  problems: string[];
  /** What each --copy path is on the host (absent: it does not exist). */
  copies?: Record<string, 'file' | 'dir' | 'other' | undefined>;
  /** --durations: `<target>/<suite>` → ms in the earlier run. */
  durations?: Record<string, number>;
  /** --rerun-failed: what failed in the earlier run. */
  rerun?: RerunSelection;
}

/** Your command in the guest, the shell or kept guests (run -- cmd, --exec, --keep, shell). */
export interface AccessPlan {
  /** The command: its argv (after `--`) or --exec's line; absent with --keep alone and with shell. */
  command?: { argv: string[] } | { shellLine: string };
  /** Host path → where it goes in guest 1. */
  copies: { host: string; guest: string }[];
  keep: boolean;
  gdb: boolean;
  shell: boolean;
}

export interface TargetPlan {
  name: string;
  kernel: KernelSpec;
  /** --kernel: this image replaces the target's kernel. */
  userKernel?: { image: string; modulesDir?: string; buildDir?: string };
  /** The suites it runs, in order (each runs `repeat` times). */
  suites: string[];
  /** 2 when a selected suite needs a second guest. */
  guests: 1 | 2;
  /** Guest CPUs under each accelerator (the accelerator is chosen by a probe boot). */
  cpus: { kvm: number; tcg: number };
  /** Boot-to-SSH limit under each accelerator. */
  bootTimeoutMs: { kvm: number; tcg: number };
  /** Host programs the suites ship into the guest (absolute paths). */
  tools: string[];
  /** Kernel modules the suites load at boot. */
  modules: string[];
  /** Suites run under the tracer. */
  traced: string[];
  /** --rerun-failed: a suite's own test glob (its one failed test), over the run's --test. */
  testFilters?: Record<string, string>;
  coverageFloor?: number;
  /** Where this target's results go. */
  resultsDir: string;
}

export interface Plan {
  runId: string;
  /** The run's directory (results/<run-id>). */
  resultsDir: string;
  /** More than one target, or --target/--all-targets: a matrix with a directory per target. */
  matrix: boolean;
  jobs: number;
  moduleSrc: string;
  testFilter?: string;
  repeat: number;
  seed?: number;
  /** --shard: which slice this run is, and the targets of the whole selection (merge checks that no slice is missing). */
  shard?: ShardSpec & { targets: string[]; pairs: number };
  /** --rerun-failed: the results.json whose failures this run repeats. */
  rerunOf?: string;
  targets: TargetPlan[];
  /** A command, a shell or kept guests; absent for a plain run of suites. */
  access?: AccessPlan;
}

const DEFAULT_CPUS = 2;
const DEFAULT_BOOT_TIMEOUT_MS = 120_000;

/** Collects problems instead of stopping at the first one. */
function attempt<T>(problems: string[], work: () => T): T | undefined {
  try {
    return work();
  } catch (err) {
    problems.push(err instanceof Error ? err.message : String(err));
    return undefined;
  }
}

/** Problems with names a selection uses: a suite or a tag that does not exist. */
function unknownNames(only: string[], tags: string[], found: FoundSuite[], where: { suite: string; tag: string }): string[] {
  const problems: string[] = [];
  for (const name of only) {
    if (!found.some((s) => s.name === name)) problems.push(`${where.suite} ${name}: no such suite (known: ${found.map((s) => s.name).join(', ')})`);
  }
  const known = new Set(found.flatMap((s) => s.manifest.tags));
  for (const tag of tags) {
    if (!known.has(tag)) problems.push(`${where.tag} ${tag}: no suite has this tag (tags in use: ${[...known].sort().join(', ') || 'none'})`);
  }
  return problems;
}

/** The suites a target runs: --suite/--tag when given, else the target's own (none with a command, a shell or --keep). */
function selectFor(options: RunOptions, target: Target, found: FoundSuite[], problems: string[], access: AccessPlan | undefined): FoundSuite[] {
  const fromCli = options.only.length > 0 || options.tags.length > 0;
  if (access && !fromCli) return [];
  const only = fromCli ? options.only : (target.suites ?? []);
  const tags = fromCli ? options.tags : (target.tags ?? []);
  const own = { suite: `target ${target.name}: its "suites" entry`, tag: `target ${target.name}: its "tags" entry` };
  // The command line's names are checked once for the run (planRun); the target's own here.
  const bad = unknownNames(only, tags, found, fromCli ? { suite: '--suite', tag: '--tag' } : own);
  if (!fromCli) problems.push(...bad);
  if (bad.length) return [];
  // With no names, every suite but the opt-in ones, which a tag may still select.
  const everyDefault = found.filter((s) => !s.manifest.optIn || tags.length > 0).sort((a, b) => a.name.localeCompare(b.name));
  let chosen = only.length ? only.map((n) => found.find((s) => s.name === n) as FoundSuite) : everyDefault;
  if (tags.length) chosen = chosen.filter((s) => s.manifest.tags.some((t) => tags.includes(t)));
  if (!chosen.length)
    problems.push(
      `target ${target.name}: no suite selected (--suite ${only.join(',') || '-'} with --tag ${tags.join(',')} leaves none); widen --suite or --tag`,
    );
  return chosen;
}

/** The targets named (or all, or the default); an unknown name is a problem, the rest still planned. */
function chooseAll(options: RunOptions, config: SockvmConfig, problems: string[]): Target[] {
  const all = attempt(problems, () => chooseTargets(config, options.targets, options.allTargets));
  if (all) return all;
  return [...new Set(options.targets)].flatMap((name) => attempt(problems, () => chooseTargets(config, [name], false)) ?? []);
}

/** The plan, or one UsageError listing every problem (each names the input and the fix). */
export function planRun(options: RunOptions, inputs: PlanInputs, run: { runId: string }): Plan {
  const problems = [...inputs.problems];
  // No targets file: its own problem is reported, not one "no such target" per --target.
  const targets = inputs.config ? chooseAll(options, inputs.config, problems) : [];
  problems.push(...unknownNames(options.only, options.tags, inputs.suites, { suite: '--suite', tag: '--tag' }));
  if (options.kernel && targets.length > 1) problems.push('--kernel boots one kernel: use it with a single --target (or none)');
  if (!inputs.moduleSrc.isTree) problems.push(`--module-src ${inputs.moduleSrc.path}: no Kbuild or Makefile there; point it at a copy of kernel/newtcp`);
  const access = planAccess(options, inputs, problems);
  if (access && targets.length > 1)
    problems.push(`${accessName(access)} works on one target: name one --target (not ${options.allTargets ? '--all-targets' : targets.length})`);
  // A slice's results are one target's directory each, as merge expects them.
  const matrix = options.targets.length > 0 || options.allTargets || options.shard !== undefined;
  const resultsDir = `${options.resultsRoot}/${run.runId}`;
  const planned: TargetPlan[] = [];
  const selections = targets.map((target) => {
    // --rerun-failed: the suites that failed on this target (none listed: its own selection).
    const failed = inputs.rerun?.targets.find((t) => t.name === target.name)?.suites ?? [];
    return { target, selected: selectFor(failed.length ? { ...options, only: failed, tags: [] } : options, target, inputs.suites, problems, access) };
  });
  const shard = options.shard ? sliceSelections(selections, options.shard, inputs.durations, problems, access) : undefined;
  for (const { target, selected } of selections) {
    if (shard && !selected.length) continue;
    const tools: string[] = [];
    for (const name of new Set(selected.flatMap((s) => s.manifest.tools))) {
      const path = inputs.tools[name];
      const owner = selected.find((s) => s.manifest.tools.includes(name))?.name;
      if (path) tools.push(path);
      else
        problems.push(
          `suite ${owner}: tool '${name}' (suite.json "tools") is not installed on this machine; install the package that provides it (tc: iproute2)`,
        );
    }
    // A fragment typo would otherwise surface after the kernel source is fetched and unpacked.
    if (target.kernel.provider === 'source' && !options.kernel) {
      for (const f of target.kernel.config) {
        const path = inputs.missingFragments[f];
        if (path !== undefined)
          problems.push(
            `target ${target.name}: config fragment '${f}' (its kernel's "config") is not there: no ${path}; fragments live in kernel/config/<name>.config`,
          );
      }
    }
    const traced = selected.filter((s) => options.trace || target.trace === true || s.manifest.trace).map((s) => s.name);
    const tp: TargetPlan = {
      name: target.name,
      kernel: target.kernel,
      suites: selected.map((s) => s.name),
      guests: selected.some((s) => s.manifest.guests === 2) ? 2 : 1,
      cpus: { kvm: options.cpus ?? DEFAULT_CPUS, tcg: options.cpus ?? target.tcgCpus ?? DEFAULT_CPUS },
      bootTimeoutMs: {
        kvm: options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS,
        tcg: options.bootTimeoutMs ?? (target.tcgBootTimeout !== undefined ? target.tcgBootTimeout * 1000 : DEFAULT_BOOT_TIMEOUT_MS),
      },
      tools,
      modules: [...new Set(selected.flatMap((s) => s.manifest.modules))],
      traced,
      resultsDir: matrix ? `${resultsDir}/${target.name}` : resultsDir,
    };
    if (options.kernel) tp.userKernel = options.kernel;
    if (target.coverageFloor !== undefined) tp.coverageFloor = target.coverageFloor;
    const filters = inputs.rerun?.targets.find((t) => t.name === target.name)?.testFilters;
    if (filters && Object.keys(filters).length) tp.testFilters = filters;
    planned.push(tp);
  }
  if (problems.length) throw new UsageError([...new Set(problems)].join('\n'));
  const plan: Plan = {
    runId: run.runId,
    resultsDir,
    matrix,
    jobs: options.jobs,
    moduleSrc: inputs.moduleSrc.path,
    repeat: options.repeat,
    targets: planned,
  };
  if (options.testFilter !== undefined) plan.testFilter = options.testFilter;
  if (options.seed !== undefined) plan.seed = options.seed;
  if (shard) plan.shard = shard;
  if (inputs.rerun) plan.rerunOf = inputs.rerun.from;
  if (access) plan.access = access;
  return plan;
}

/**
 * Keeps in each target's selection only the suites of this slice (in place), and says what the
 * whole selection was; a slice with nothing in it is a problem (a green run of nothing is not).
 */
function sliceSelections(
  selections: { target: Target; selected: FoundSuite[] }[],
  spec: ShardSpec,
  durations: Record<string, number> | undefined,
  problems: string[],
  access: AccessPlan | undefined,
): Plan['shard'] {
  if (access) problems.push(`--shard ${spec.index}/${spec.count} slices suites: not with ${accessName(access)}`);
  const items = selections.flatMap(({ target, selected }) => selected.map((s) => ({ target: target.name, suite: s.name })));
  const shardOf = assignShards(items, spec.count, durations);
  const mine = new Set(items.filter((_, i) => shardOf[i] === spec.index - 1).map((i) => `${i.target}/${i.suite}`));
  for (const sel of selections) sel.selected = sel.selected.filter((s) => mine.has(`${sel.target.name}/${s.name}`));
  if (items.length && !mine.size)
    problems.push(
      `--shard ${spec.index}/${spec.count}: the selection has ${items.length} (target, suite) pairs and this slice none; use at most ${items.length} slices`,
    );
  return { ...spec, targets: selections.map((s) => s.target.name), pairs: items.length };
}

function accessName(a: AccessPlan): string {
  return a.shell ? 'sockvm shell' : a.command ? 'a guest command' : '--keep';
}

/** The guest-access part of the plan (command, copies, --keep, --gdb, shell), its problems into `problems`. */
function planAccess(o: RunOptions, inputs: PlanInputs, problems: string[]): AccessPlan | undefined {
  const argv = o.commandArgv;
  if (argv !== undefined && o.exec !== undefined) problems.push('--exec and -- <cmd> both name a command: give one (--exec for a shell line, -- for an argv)');
  if (argv !== undefined && argv.length === 0) problems.push('-- ends the options but no command follows: give one (sockvm run -- uname -r), or drop the --');
  if (o.exec !== undefined && o.exec.trim() === '') problems.push('--exec "": an empty shell line; give a command (--exec "uname -r")');
  if (o.shell && (argv !== undefined || o.exec !== undefined))
    problems.push('sockvm shell opens a shell: it takes no command (use sockvm run -- <cmd> or --exec)');
  if (o.shell && o.keep)
    problems.push(
      'sockvm shell powers the guest off when the shell ends: for a guest that stays, use sockvm run --keep, then sockvm ssh-config > f; ssh -F f sockvm',
    );
  const command = argv?.length ? { argv } : o.exec?.trim() ? { shellLine: o.exec } : undefined;
  const active = command !== undefined || o.keep || o.shell;
  if (!active) {
    if (o.copies.length) problems.push('--copy copies files for your command: add -- <cmd>, --exec "<line>" or --keep (or use sockvm shell)');
    if (o.gdb) problems.push('--gdb needs a guest that stays up while you attach: add --keep, a command (-- <cmd>), or use sockvm shell --gdb');
    return undefined;
  }
  if (o.repeat > 1 || o.untilFail) {
    if (!o.only.length && !o.tags.length) problems.push('--repeat and --until-fail repeat suites: with a command, name them with --suite or --tag');
  }
  const copies: AccessPlan['copies'] = [];
  for (const host of o.copies) {
    const kind = inputs.copies?.[host];
    const base = host.split('/').filter(Boolean).pop() ?? '';
    if (kind === undefined) problems.push(`--copy ${host}: no such file or directory on this machine; give an existing file or directory`);
    else if (kind === 'other')
      problems.push(`--copy ${host}: neither a regular file nor a directory (a symlink? give the path it points to); copy files and directories only`);
    else if (!base || base === '.' || base === '..')
      problems.push(`--copy ${host}: names no file (it goes to /root/<basename> in the guest); give the file's or directory's own path`);
    else if (copies.some((c) => c.guest === `/root/${base}`))
      problems.push(`--copy ${host}: another --copy also goes to /root/${base}; rename one (copies go to /root/<basename>)`);
    else copies.push({ host, guest: `/root/${base}` });
  }
  const plan: AccessPlan = { copies, keep: o.keep, gdb: o.gdb, shell: o.shell };
  if (command) plan.command = command;
  return plan;
}
