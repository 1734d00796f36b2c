import type { SourceProvenance } from '../kernel/kbuild/recipe.js';
import type { Coverage } from '../trace/coverage.js';
import type { Metric } from './metrics.js';
// The results tree: run → suite → test, with every phase's duration.
export type Status = 'pass' | 'fail' | 'skip' | 'todo' | 'error';

export interface TestResult {
  /** Its number at its suite's top level (a subtest: its top-level parent's). */
  id: number;
  /** A subtest's numbers from the top level down ("3.2": subtest 2 of test 3); absent for a top-level test. */
  idPath?: string;
  name: string;
  status: Status;
  durationMs?: number;
  /** Diagnostic lines (without the leading '# '), and YAML block text when present. */
  diagnostics: string[];
  directive?: string;
}

export interface SuiteResult {
  name: string;
  status: 'pass' | 'fail' | 'error';
  durationMs: number;
  exitCode: number | null;
  plan?: { start: number; end: number };
  tests: TestResult[];
  /** Why the suite failed apart from its tests: bad plan, timeout, kernel oops, exit code. */
  errors: string[];
  /** dmesg lines that failed the suite (oops, warnings, new taint). */
  kernelFindings: string[];
  /** The seed a randomised suite printed ("# seed N"), for --seed. */
  seed?: number;
  /** Performance metrics the suite printed ("# metric {json}"): the perf suite's NEW_TCP against TCP. */
  metrics?: Metric[];
  /** How the peer guest died when the suite crashed it on purpose (suite.json "killsPeer"). */
  peerKilled?: string;
  /** What the verdict used besides the suite's TAP (`sockvm parse` re-judges from it and the .tap). */
  evidence?: SuiteEvidence;
  /** --trace: where this suite's trace went and what the tracer reported. */
  trace?: SuiteTrace;
}

/** What a suite's run showed outside its TAP stream. */
export interface SuiteEvidence {
  /** The suite program's exit code; null when it never ended (crash, timeout, lost session). */
  exitCode: number | null;
  timedOutSec?: number;
  /** Why the guest died during the suite: the suite crashed. */
  crashed?: string;
  /** The test that was running when the guest died (its result line never came). */
  crashedTest?: TestResult;
  /** The harness's own findings: the server side's exit, an SSH failure. */
  harnessErrors: string[];
  /** Kernel log lines (oops, warnings, new taint) raised during the suite. */
  kernelFindings: string[];
}

export interface SuiteTrace {
  /** trace/<suite>.json, relative to the target's results directory; absent when none came back. */
  file?: string;
  attached?: number;
  functions?: number;
  /** Listed functions the tracer could not attach to, with its reason. */
  unattached?: { function: string; error: string }[];
  drops?: Record<string, number>;
  attachMs?: number;
  /** What went wrong with the tracer (never a suite failure). */
  notes: string[];
}

export interface RunResult {
  runId: string;
  /** The target (sockvm.config.json) this result is for. */
  target?: string;
  startedAt: string;
  command: string;
  status: 'pass' | 'fail' | 'error';
  exitCode: number;
  infraError?: string;
  /** Why suites that all passed still do not make a green run (no test ran). */
  problem?: string;
  kernel?: { release: string; image: string; modulesDir: string; buildDir: string };
  /** Which toolchain built the module, and why. */
  toolchain?: { name: string; reason: string };
  /** A kernel built from source: source identity, patch series, fragments, cache key, reproduce line. */
  provenance?: SourceProvenance;
  /** Distro packages the kernel came from, with exact versions. */
  packages?: { name: string; version: string }[];
  accelerator?: string;
  /** The seed every randomised suite got (SOCKVM_SEED): --seed, or chosen for the run. */
  seed?: number;
  /** Guest CPUs each guest had. */
  cpus?: number;
  accelReason?: string;
  /** Where boot-to-SSH time went (host ms and guest uptime in s). */
  /** Guest 1's boot (QEMU start → console ready → SSH up); phases.boot is until every guest was up. */
  boot?: { toReadyMs: number; sshMs: number; guestInitUptime?: number; guestReadyUptime?: number; kernelFormat: string; guests: number };
  /** Phase name → milliseconds. */
  phases: Record<string, number>;
  guest?: {
    e1000Bound?: boolean;
    interface?: string;
    moduleLoaded?: boolean;
    moduleUnloaded?: boolean;
    family?: number;
    /** Kernel reports (BUG, WARNING, …) raised while unloading the module: they fail the run. */
    unloadFindings?: string[];
    /** kmemleak's reports after the suites (kernels with kmemleak only; [] = scanned, none). */
    kmemleak?: string[];
  };
  suites: SuiteResult[];
  /** --trace: handler coverage of the module over the traced suites. */
  coverage?: Coverage;
  /** The target's coverage floor (percent of handlers) and whether it was met. */
  coverageFloor?: { percent: number; met: boolean };
  /** A command of the user's (-- cmd, --exec), a shell, kept guests or --gdb: what ran and how it ended. */
  guestAccess?: GuestAccessResult;
}

/** Your own command in the guest (or the shell, or kept guests), as results.json records it. */
export interface GuestAccessResult {
  /** command: -- <cmd> or --exec; shell: sockvm shell; keep: --keep alone. */
  mode: 'command' | 'shell' | 'keep';
  /** The guest shell line that ran the command (its words quoted). */
  command?: string;
  /** The words after `--`, as given. */
  argv?: string[];
  /** --copy: host path → where it went in guest 1. */
  copies?: { host: string; guest: string }[];
  /** How the command or the shell ended: its exit code (128+n when signal n killed it); null when it never ended. */
  exitCode?: number | null;
  signal?: string;
  durationMs?: number;
  /** Kernel reports (oops, warnings, new taint) raised while it ran: they fail the run. */
  kernelFindings?: string[];
  /** --keep: the state file of the guests left running (sockvm ssh-config, sockvm stop read it). */
  keptState?: string;
  /** --gdb: where the gdbstub is and the gdb command line that loads the module's symbols. */
  gdb?: GdbInfo;
}

export interface GdbInfo {
  port: number;
  /** The newtcp.ko whose symbols the command loads (the build's, with its debug info). */
  ko: string;
  /** The gdb command line to attach with (printed for the user). */
  command: string;
  /** A vmlinux with symbols, when one was found; why not, when not. */
  vmlinux?: string;
  vmlinuxMissing?: string;
  /** newtcp.ko's section addresses in the guest (/sys/module/newtcp/sections). */
  sections: Record<string, string>;
}

/** The version of results.json's shape (harness/schema/results.schema.json); files before it had none. */
export const RESULTS_SCHEMA_VERSION = 2;

/**
 * results.json: one shape for a run of one target or of many. The run's verdict, and each
 * target's full result.
 */
export interface ResultsFile {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  runId: string;
  command: string;
  status: 'pass' | 'fail' | 'error';
  exitCode: number;
  /** Why the run failed before or outside any target (bad usage, a suite build that failed). */
  infraError?: string;
  /** Why a run that found no failure is still not green (no target ran). */
  problem?: string;
  /**
   * Whether each target's files (its .tap files, console.log, …) are in a directory named after
   * it (a run with --target or --all-targets), or beside this file (a run of the default target,
   * and each target's own results.json in a matrix run).
   */
  matrix: boolean;
  /** --shard: this run is slice `index` of `count` of a selection of `pairs` (target, suite) over `targets`; `sockvm merge` checks that every slice came. */
  shard?: RunShard;
  /** `sockvm merge`: the results directories this one joins. */
  mergedFrom?: string[];
  targets: RunResult[];
}

export interface RunShard {
  index: number;
  count: number;
  targets: string[];
  pairs: number;
}
