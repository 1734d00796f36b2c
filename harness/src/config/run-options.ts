// `sockvm run` options: parsed and validated into a typed plan. Every error names the option
// and the fix.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { join, resolve } from 'node:path';
import { parseTapVersion, type TapVersion } from '../results/tap-writer.js';
import { repoRoot } from '../util/paths.js';
import { UsageError } from '../util/errors.js';
import type { AccelMode } from '../vm/accel.js';
import { parseShard, type ShardSpec } from '../plan/shard.js';

export interface RunOptions {
  /** Targets named with --target; empty means the configuration's default. */
  targets: string[];
  allTargets: boolean;
  /** Targets run at once (--jobs). */
  jobs: number;
  configFile: string;
  kernel?: { image: string; modulesDir?: string; buildDir?: string };
  /** The protocol module's source tree (default kernel/newtcp). */
  moduleSrc?: string;
  accel: AccelMode;
  /** Suite names to run; empty means every suite found. */
  only: string[];
  /** Keep only suites carrying one of these manifest tags. */
  tags: string[];
  /** A glob on test names, honoured by the suites' TAP library (SOCKVM_TEST). */
  testFilter?: string;
  /** Run the selection this many times (with untilFail: at most this many). */
  repeat: number;
  /** Stop repeating at the first round with a failure. */
  untilFail: boolean;
  /** The seed every randomised suite gets (SOCKVM_SEED); chosen per target run when not given. */
  seed?: number;
  /** Extra directories of suites, besides the repo's suites/. */
  suiteDirs: string[];
  resultsRoot: string;
  /** --boot-timeout; undefined: the target's tcgBootTimeout under TCG, else 120 s. */
  bootTimeoutMs?: number;
  /** A suite's limit when its suite.json names none (600 s). */
  suiteTimeoutMs: number;
  /** --suite-timeout: overrides every suite's own limit. */
  suiteTimeoutOverride?: boolean;
  memoryMiB: number;
  /** Guest CPUs; undefined: the target's tcgCpus under TCG, else 2. */
  cpus?: number;
  verbose: boolean;
  /** --trace: run every suite under the guest's BPF tracer and report handler coverage. */
  trace: boolean;
  /** --dry-run: print the plan and exit without building or booting anything. */
  dryRun: boolean;
  /** --json: the dry run's plan as JSON. */
  json: boolean;
  /** --progress json: every event as one JSON line on stderr (for tools and tests). */
  progress: 'human' | 'json';
  /** --tap-version 13: results.tap headed for Perl's prove, which refuses TAP 14 (the lines are the same). */
  tapVersion: TapVersion;
  /** Your own command in the guest: the words after `--`, or --exec's shell line (the planner checks they do not meet). */
  commandArgv?: string[];
  exec?: string;
  /** --copy: host files or directories copied to /root/<basename> in guest 1 before the command. */
  copies: string[];
  /** --keep: leave the guests up after the suites or the command. */
  keep: boolean;
  /** --gdb: QEMU's gdbstub on a local port, the kernel booted with nokaslr. */
  gdb: boolean;
  /** `sockvm shell`: an interactive shell in guest 1 instead of a command. */
  shell: boolean;
  /** --shard i/n: run only this slice of the (target, suite) pairs. */
  shard?: ShardSpec;
  /** --durations: an earlier results.json whose suite times balance the shards. */
  durationsFile?: string;
  /** --rerun-failed: a results directory whose failed (target, suite, test) are run again. */
  rerunFailed?: string;
}

export const RUN_USAGE = `Usage: sockvm run [options] [-- <cmd> [args]]

Builds newtcp.ko and the suites for a kernel, boots it in QEMU with an e1000 NIC, runs the
suites over SSH and writes results/<run-id>/ (results/latest points at the newest run).

Targets (sockvm.config.json; default: its "default" target, the installed distro kernel):
  --target <name>          run this target (repeatable); results go to <run>/<target>/
  --all-targets            run every target: one matrix, one verdict
  --jobs <n>               targets run at once (default 1)
  --config <file>          the targets file (default: sockvm.config.json in the repository)

Kernel (overrides the target's; default target: the newest /boot/vmlinuz-* with
/lib/modules/<release> and its build tree):
  --kernel <bzImage>       boot this kernel image instead
  --modules-dir <dir>      its modules (holding modules.dep); required with --kernel
  --build-dir <dir>        its kbuild tree, to build newtcp.ko against; required with --kernel

Module:
  --module-src <dir>       build the protocol module from this tree instead of kernel/newtcp
                           (a work-in-progress copy, or a deliberately broken one)

Run:
  --suite <name>           run only this suite (repeatable, runs in the order given;
                           default: every suite but the opt-in ones: perf)
  --tag <tag>              run only suites whose suite.json has this tag (repeatable;
                           --tag perf runs the perf suite)
  --test <glob>            run only tests whose name (or <suite>/<name>) matches the fnmatch
                           glob (e.g. 'bind*', 'stream/*EPIPE*'); others SKIP
  --repeat <n>             run the selection n times (results named <suite>#<round>)
  --until-fail             with --repeat: stop after the first round with a failure
                           (without --repeat: up to 100 rounds)
  --seed <n>               seed for every randomised suite (fuzz, differential): 0..4294967295;
                           without it each run picks one, records it and pins it in the rerun
                           line; with --repeat, round n gets seed + n - 1
  --trace                  run each suite under sockvm-trace (eBPF kprobes on every module
                           function, the socket layer, inner TCP and e1000): traces in
                           <target>/trace/<suite>.json, handler coverage per table in
                           results.json and the summary; a target's "coverageFloor" then
                           fails the run when fewer handlers were reached (also "trace": true
                           per target in sockvm.config.json or per suite in suite.json)
  --rerun-failed <dir>     run only what failed in that results directory: each failed target's
                           failed suites, each narrowed to its failed test when one failed
                           there and nothing else did (a crash or a warning: the whole suite);
                           a run with nothing failed is an error (exit 2), not a green rerun;
                           not with --target, --all-targets, --suite, --tag, --test or --shard
  --shard <i>/<n>          run only slice i of n of the (target, suite) pairs chosen (the same
                           choice in every job gives every pair to exactly one slice); results
                           go to <run>/<target>/ as with --target; 'sockvm merge' joins slices
  --durations <file>       with --shard: balance the slices by each (target, suite)'s time in
                           this earlier results.json (default: by count)
  --suites-dir <dir>       also run the suites in <dir>: <dir>/<name>/*.c built, or <dir>/<name>/ of
                           ready-made programs (executables, suite.json "programs"); repeatable

Your commands in the guest (one target; no suites run unless --suite/--tag asks for them,
and then the suites run first; the module stays loaded):
  -- <cmd> [args]          run <cmd> in guest 1 (cwd /root, over the run's SSH session, stdin
                           empty); its stdout and stderr stream to ours as they come, sockvm's own
                           lines go to stderr, and sockvm exits with the command's exit code
                           (128+n when signal n killed it; 1 when it exited 0 but a suite failed;
                           2 when the build, boot or guest failed before it ended)
  --exec "<shell line>"    the same with a line for the guest's shell (busybox sh); not with --
  --copy <path>            copy a host file or directory to /root/<basename> in guest 1 before
                           the command (repeatable)
  --keep                   leave the guests running afterwards (QEMU detached); prints how to
                           reach them: 'sockvm ssh-config' (an OpenSSH Host stanza), 'sockvm stop'
  --gdb                    QEMU's gdbstub on 127.0.0.1:<port>, the kernel booted with nokaslr;
                           prints a gdb command line with the module's symbols at its load
                           address (with a command, --keep, or 'sockvm shell')
  --accel auto|kvm|tcg     accelerator (default auto: KVM if a probe boot shows it works,
                           else TCG; the verdict is cached in ~/.cache/sockvm/accel.json)
  --memory <MiB>           guest memory, 256 to 65536 (default 1024)
  --cpus <n>               guest CPUs (default 2; under TCG a target's "tcgCpus" if it sets one)
  --boot-timeout <s>       boot-to-SSH limit in seconds (default 120; under TCG a target's "tcgBootTimeout" if it sets one)
  --suite-timeout <s>      per-suite limit in seconds, overriding each suite.json "timeout"
                           (default: the suite.json value, else 600)
  --results-dir <dir>      where run directories go (default ./results)
  --dry-run                resolve targets, kernels, suites, guests, CPUs, tools, module source
                           and result paths, print the plan and exit 0 (nothing is built or
                           booted); every usage error is reported at once, exit 2
  --json                   with --dry-run: the plan as JSON on stdout
  --progress human|json    json: also every event as one JSON line on stderr (default human)
  --tap-version 14|13      results.tap's version line: 14 (default; also KTAP v1), 13 for Perl's prove
  -v, --verbose            echo every TAP line as it streams
  -h, --help               this text

Exit codes (with a command: see above): 0 all tests passed, 1 a test or suite failed, 2 the harness or infrastructure
failed (bad input, build failure, guest crash), 130/143 interrupted by SIGINT/SIGTERM (everything
running is stopped and the results are written; a second signal exits at once).`;

export const SHELL_USAGE = `Usage: sockvm shell [options]

Builds newtcp.ko for a target's kernel, boots it in QEMU, loads the module and opens an
interactive shell (busybox sh, on a pty of your terminal's size) in the guest over SSH. Your
terminal is raw while it runs: ^C, ^Z and every other key go to the guest. The guest is powered
off when the shell exits, and sockvm exits with the shell's exit status. Results (console.log,
dmesg.txt, results.json) are written as for 'sockvm run'.

Options: those of 'sockvm run' that choose and boot the kernel (--target, --kernel,
--modules-dir, --build-dir, --module-src, --accel, --memory, --cpus, --boot-timeout,
--results-dir, --config), --copy <path> (to /root/<basename> before the shell), --gdb (QEMU's
gdbstub; the attach line is printed before the shell opens), and --suite/--tag to run suites
first. For a guest that stays up: sockvm run --keep, then sockvm ssh-config > f; ssh -F f sockvm.`;

/**
 * Guest memory in MiB: below 256 the initramfs (busybox, dropbear, modules, the suites) does
 * not unpack, and the guest dies before SSH with nothing saying why.
 */
function guestMemory(value: string | undefined): number {
  const mib = positiveInt('memory', value, 1024, 65536);
  if (mib < 256) throw new UsageError(`--memory ${value}: at least 256 MiB (the initramfs and the suites need it); the default is 1024`);
  return mib;
}

/** Seeds are 32-bit, decimal: what the guest's tap_seed() takes from SOCKVM_SEED. */
export const SEED_MAX = 4294967295;

export function parseSeed(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= SEED_MAX ? n : undefined;
}

function positiveInt(option: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new UsageError(`--${option} ${value}: expected a whole number from 1 to ${max}`);
  return n;
}

/** Which targets a command covers, from which sockvm.config.json: run, kernel build and matrix all take them. */
export const TARGET_OPTIONS = {
  target: { type: 'string', multiple: true },
  'all-targets': { type: 'boolean' },
  config: { type: 'string' },
} as const;

/** `sockvm run`'s options (and `shell`'s, `bisect-run`'s): the CI files' test checks what they call against it. */
export const RUN_OPTIONS = {
  ...TARGET_OPTIONS,
  jobs: { type: 'string' },
  kernel: { type: 'string' },
  'modules-dir': { type: 'string' },
  'build-dir': { type: 'string' },
  'module-src': { type: 'string' },
  suite: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  test: { type: 'string' },
  repeat: { type: 'string' },
  'until-fail': { type: 'boolean' },
  trace: { type: 'boolean' },
  seed: { type: 'string' },
  'suites-dir': { type: 'string', multiple: true },
  shard: { type: 'string' },
  durations: { type: 'string' },
  'rerun-failed': { type: 'string' },
  accel: { type: 'string' },
  memory: { type: 'string' },
  cpus: { type: 'string' },
  'boot-timeout': { type: 'string' },
  'suite-timeout': { type: 'string' },
  'results-dir': { type: 'string' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  progress: { type: 'string' },
  'tap-version': { type: 'string' },
  exec: { type: 'string' },
  copy: { type: 'string', multiple: true },
  keep: { type: 'boolean' },
  gdb: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export function parseRunOptions(argv: string[], cwd = process.cwd()): RunOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      // Positionals only after `--` (the guest command); tokens say where the terminator was.
      allowPositionals: true,
      tokens: true,
      strict: true,
      options: RUN_OPTIONS,
    });
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UsageError(`${msg}; see 'sockvm run --help'`, { cause: err });
  }
  const v = parsed.values;
  if (v.help) return 'help';
  // Every bad option at once: each check that fails leaves its message and the default.
  const problems: string[] = [];
  const check = <T>(value: () => T, fallback: T): T => {
    try {
      return value();
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
      return fallback;
    }
  };
  const accel = v.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') problems.push(`--accel ${accel}: expected auto, kvm or tcg`);
  if ((v['modules-dir'] || v['build-dir']) && !v.kernel) {
    problems.push('--modules-dir and --build-dir go with --kernel <bzImage>; without --kernel the installed distro kernel is used');
  }
  for (const name of v.suite ?? []) {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) problems.push(`--suite ${name}: a suite name is a directory name under suites/ (letters, digits, - and _)`);
  }
  if (v.seed !== undefined && parseSeed(v.seed) === undefined)
    problems.push(`--seed ${v.seed}: expected a decimal number from 0 to ${SEED_MAX} (as a run prints it: "# seed N")`);
  // The glob reaches the guest in single quotes: any printable character but the quote.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point here
  if (v.test !== undefined && !/^[^'\x00-\x1f\x7f]+$/.test(v.test))
    problems.push(`--test ${v.test}: a glob of printable characters without ' (match a quote with ?)`);
  const untilFail = v['until-fail'] ?? false;
  if (v.target?.length && v['all-targets']) problems.push('--target and --all-targets exclude each other: name targets, or take them all');
  if (v.json && !v['dry-run']) problems.push("--json prints the plan of --dry-run; add --dry-run (for a run's events as JSON use --progress json)");
  const terminator = parsed.tokens.find((tok) => tok.kind === 'option-terminator')?.index ?? Infinity;
  const stray = parsed.tokens.filter((tok) => tok.kind === 'positional' && tok.index < terminator);
  for (const tok of stray) if (tok.kind === 'positional') problems.push(`unexpected argument '${tok.value}': a command for the guest goes after --`);
  const progress = v.progress ?? 'human';
  if (progress !== 'human' && progress !== 'json') problems.push(`--progress ${progress}: expected human or json`);
  const plan: RunOptions = {
    targets: v.target ?? [],
    allTargets: v['all-targets'] ?? false,
    jobs: check(() => positiveInt('jobs', v.jobs, 1, 16), 1),
    configFile: v.config ? resolve(cwd, v.config) : join(repoRoot, 'sockvm.config.json'),
    accel: accel === 'kvm' || accel === 'tcg' ? accel : 'auto',
    only: v.suite ?? [],
    tags: v.tag ?? [],
    repeat: check(() => positiveInt('repeat', v.repeat, untilFail ? 100 : 1, 10000), 1),
    untilFail,
    suiteDirs: (v['suites-dir'] ?? []).map((d) => resolve(cwd, d)),
    resultsRoot: resolve(cwd, v['results-dir'] ?? 'results'),
    suiteTimeoutMs: check(() => positiveInt('suite-timeout', v['suite-timeout'], 600, 86400), 600) * 1000,
    memoryMiB: check(() => guestMemory(v.memory), 1024),
    verbose: v.verbose ?? false,
    trace: v.trace ?? false,
    dryRun: v['dry-run'] ?? false,
    json: v.json ?? false,
    progress: progress === 'json' ? 'json' : 'human',
    tapVersion: check(() => parseTapVersion(v['tap-version']), 14),
    copies: (v.copy ?? []).map((c) => resolve(cwd, c)),
    keep: v.keep ?? false,
    gdb: v.gdb ?? false,
    shell: false,
  };
  if (terminator !== Infinity) plan.commandArgv = parsed.tokens.flatMap((tok) => (tok.kind === 'positional' && tok.index > terminator ? [tok.value] : []));
  if (v.exec !== undefined) plan.exec = v.exec;
  if (v['suite-timeout'] !== undefined) plan.suiteTimeoutOverride = true;
  if (v.cpus !== undefined) plan.cpus = check(() => positiveInt('cpus', v.cpus, 2, 64), 2);
  if (v['boot-timeout'] !== undefined) plan.bootTimeoutMs = check(() => positiveInt('boot-timeout', v['boot-timeout'], 120, 3600), 120) * 1000;
  if (v.test !== undefined) plan.testFilter = v.test;
  if (v['module-src'] !== undefined) plan.moduleSrc = resolve(cwd, v['module-src']);
  const seed = v.seed === undefined ? undefined : parseSeed(v.seed);
  if (seed !== undefined) plan.seed = seed;
  if (v.kernel) {
    plan.kernel = { image: resolve(cwd, v.kernel) };
    if (v['modules-dir']) plan.kernel.modulesDir = resolve(cwd, v['modules-dir']);
    if (v['build-dir']) plan.kernel.buildDir = resolve(cwd, v['build-dir']);
  }
  if (v.shard !== undefined) {
    const shard = check(() => parseShard(v.shard ?? ''), undefined);
    if (shard) plan.shard = shard;
  }
  if (v.durations !== undefined) {
    if (v.shard === undefined) problems.push('--durations balances shards: add --shard i/n (or drop --durations)');
    plan.durationsFile = resolve(cwd, v.durations);
  }
  if (v['rerun-failed'] !== undefined) {
    plan.rerunFailed = resolve(cwd, v['rerun-failed']);
    const clash = (['target', 'all-targets', 'suite', 'tag', 'test', 'shard'] as const).filter((o) => v[o] !== undefined);
    if (clash.length)
      problems.push(
        `--rerun-failed ${v['rerun-failed']} chooses the targets, suites and tests (what failed there): drop ${clash.map((o) => `--${o}`).join(', ')}`,
      );
  }
  if (problems.length) throw new UsageError(problems.join('\n'));
  return plan;
}
