#!/usr/bin/env node
// sockvm's command line: parses the command, wires reporters to the event bus, sets the exit code.
import { BISECT_USAGE, bisectExit, crashedUnderSuite } from './commands/bisect.js';
import type { ResultsFile } from './results/model.js';
import { cacheCommand } from './commands/cache.js';
import { compareCommand } from './commands/compare.js';
import { kernelCommand } from './commands/kernel.js';
import { sshConfigCommand, stopCommand } from './commands/kept.js';
import { matrixCommand } from './commands/matrix.js';
import { mergeCommand } from './commands/merge.js';
import { parseCommand } from './commands/parse.js';
import { makePlan, runCommand } from './commands/run.js';
import { toolchainCommand } from './commands/toolchain.js';
import { parseRunOptions, RUN_USAGE, SHELL_USAGE } from './config/run-options.js';
import { DEV_USAGE, parseDevOptions } from './config/dev-options.js';
import { EventBus } from './events.js';
import { suiteSourceDirs } from './plan/gather.js';
import { renderPlan } from './plan/render.js';
import { resultsWriter } from './results/writer.js';
import { consoleReporter, jsonReporter } from './ui/console-reporter.js';
import { Interrupted, interruptExit } from './util/cancel.js';
import { InfraError, UsageError, errorMessage, errorReport } from './util/errors.js';

const USAGE = `Usage: sockvm <command> [options]

Commands:
  run        build the module and suites, boot the kernel in QEMU (e1000 NIC), run the suites
             over SSH, write results/<run-id>/ (see 'sockvm run --help')
  bisect-run 'run' with git bisect run's exit codes: 0 good, 1 bad, 125 skip (build, boot or
             guest failure) (see 'sockvm bisect-run --help')
  toolchain  ls | update | prune the per-release build chroots (see 'sockvm toolchain --help')
  kernel     build a target's source kernel into the cache, print its paths; 'kernel key' prints
             its CI cache key (see 'sockvm kernel --help')
  cache      ls | verify | prune the cache: source kernels, modules, vmlinux, Debian kernels,
             toolchains (see 'sockvm cache --help')
  compare    what changed between two runs: newly failing, newly passing, flaky, missing, slower,
             metric regressions; exit 1 on a regression (see 'sockvm compare --help')
  matrix     print the CI job matrix (targets × --shards slices) for GitHub, GitLab or as JSON
             (see 'sockvm matrix --help')
  merge      join results directories (the slices of 'run --shard i/n') into one tree, one
             verdict; a missing slice is reported (see 'sockvm merge --help')
  parse      re-judge a saved run (results dir) or a suite's .tap without a VM (see 'sockvm parse --help')
  dev        boot a target once, watch the module and suites: on each save rebuild, reload
             newtcp.ko in the running guest, rerun the suites, print the verdict (see 'sockvm dev --help')
  shell      boot a target, load the module, open an interactive shell in the guest; powers off
             when the shell ends (see 'sockvm shell --help')
  ssh-config print an OpenSSH Host stanza for guests kept by 'sockvm run --keep'
  stop       power off guests kept by 'sockvm run --keep' ('--all' for every kept run)
  help       this text

npm start runs 'sockvm run' on the embedded default (the installed distro kernel).`;

/** A spinner needs a real terminal: a TTY with a width (a 0-column pty makes ora redraw forever). */
function isTerminal(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !process.env.CI;
}

/**
 * The run's one cancellation. The first SIGINT/SIGTERM aborts it: everything running stops,
 * the results are written, the exit is 130/143. A second signal exits at once.
 */
const controller = new AbortController();

function onSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (controller.signal.aborted) process.exit(interruptExit(controller.signal));
      controller.abort(new Interrupted(sig));
    });
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const { signal } = controller;
  // The commands that build or boot listen for signals; the others end on ^C as any program.
  if (command === 'run' || command === 'bisect-run' || command === 'shell' || command === 'dev' || command === 'kernel' || command === 'toolchain') onSignals();
  if (command === 'toolchain') return toolchainCommand(rest, (line) => process.stdout.write(`${line}\n`), signal);
  if (command === 'kernel') {
    // Progress on stderr (a moving line on a terminal); the artifacts on stdout.
    const bus = new EventBus();
    bus.on(consoleReporter({ interactive: isTerminal(process.stderr), verbose: false, targets: 1, out: process.stderr }));
    return kernelCommand(rest, (line) => process.stdout.write(`${line}\n`), bus, signal);
  }
  if (command === 'cache') return cacheCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'compare') return compareCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'matrix') return matrixCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'merge') return mergeCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'parse') return parseCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'ssh-config') return sshConfigCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'stop') return stopCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command !== 'run' && command !== 'shell' && command !== 'bisect-run' && command !== 'dev')
    throw new UsageError(`unknown command '${command}'; see 'sockvm help'`);
  const devOptions = command === 'dev' ? parseDevOptions(rest) : undefined;
  const options = devOptions === undefined ? parseRunOptions(rest) : devOptions === 'help' ? 'help' : devOptions.run;
  if (options === 'help') {
    const usage = { shell: SHELL_USAGE, dev: DEV_USAGE, 'bisect-run': `${BISECT_USAGE}\n\n${RUN_USAGE}` }[command as string] ?? RUN_USAGE;
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  options.shell = command === 'shell';
  const bus = new EventBus();
  if (options.progress === 'json') bus.on(jsonReporter());
  bus.emit({ type: 'phase-started', phase: 'plan' });
  const planStart = Date.now();
  const plan = await makePlan(options);
  bus.emit({ type: 'phase-ended', phase: 'plan', durationMs: Date.now() - planStart });
  if (options.dryRun) {
    process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlan(plan).join('\n')}\n`);
    return 0;
  }
  // The console reporter prefixes lines with their target when the plan has several. With a
  // command or a shell in the guest, stdout is the guest's: our own lines go to stderr.
  const guestOwnsStdout = plan.access?.command !== undefined || plan.access?.shell === true;
  const out = guestOwnsStdout ? process.stderr : process.stdout;
  bus.on(consoleReporter({ interactive: isTerminal(out), verbose: options.verbose, targets: plan.targets.length, out }));
  bus.on(resultsWriter({ tapVersion: options.tapVersion }));
  // bisect-run tells a guest that crashed under a suite (bad) from one that never booted (skip).
  let results: ResultsFile | undefined;
  bus.on((e) => void (e.type === 'run-results' && (results = e.results)));
  const terminal = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const dev =
    devOptions && devOptions !== 'help'
      ? {
          rebootOnBusy: devOptions.rebootOnBusy,
          suiteSourceDirs: suiteSourceDirs(options),
          ...(devOptions.maxCycles !== undefined ? { maxCycles: devOptions.maxCycles } : {}),
        }
      : undefined;
  const { exitCode } = await runCommand(plan, options, { bus, argv: rest, signal, terminal, ...(dev ? { dev } : {}) });
  if (command === 'bisect-run' && exitCode === 2 && crashedUnderSuite(results)) return 1;
  return exitCode;
}

/** -v/--verbose anywhere before a guest command's `--`: errors come with their stack and causes. */
const ownArgs = process.argv.includes('--') ? process.argv.slice(0, process.argv.indexOf('--')) : process.argv;
const verbose = ownArgs.includes('-v') || ownArgs.includes('--verbose');

// The exit is explicit once everything is written: a timer some wait left behind (a guard that
// lost its race) must not hold the process after the results, least of all after a ^C.
// Writes to pipes, files and terminals are synchronous on Linux, so nothing printed is lost.
// bisect-run's exit codes are git bisect run's: the run's (or the error's) mapped once, here.
const bisecting = process.argv[2] === 'bisect-run' && !ownArgs.includes('--help') && !ownArgs.includes('-h');
const exitAs = (code: number, usage = false): number => (bisecting ? bisectExit(code, usage) : code);
main(process.argv.slice(2)).then(
  (code) => process.exit(exitAs(interruptExit(controller.signal) ?? code)),
  (err: unknown) => {
    const interrupted = interruptExit(controller.signal);
    // An unexpected error (no InfraError of ours) is a bug: -v prints its stack and causes.
    const hint = err instanceof InfraError || verbose ? '' : ' (an unexpected error: -v prints its stack)';
    process.stderr.write(`sockvm: ${verbose ? errorReport(err) : errorMessage(err)}${hint}\n`);
    if (err instanceof InfraError && err.detail && interrupted === undefined) process.stderr.write(`${err.detail}\n`);
    process.exit(exitAs(interrupted ?? 2, interrupted === undefined && err instanceof UsageError));
  },
);
