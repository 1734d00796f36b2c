#!/usr/bin/env node
// sockvm's command line: parses the command, wires reporters to the event bus, sets the exit code.
import { cacheCommand } from './commands/cache.js';
import { kernelCommand } from './commands/kernel.js';
import { parseCommand } from './commands/parse.js';
import { makePlan, runCommand } from './commands/run.js';
import { toolchainCommand } from './commands/toolchain.js';
import { parseRunOptions, RUN_USAGE } from './config/run-options.js';
import { EventBus } from './events.js';
import { renderPlan } from './plan/render.js';
import { resultsWriter } from './results/writer.js';
import { consoleReporter, jsonReporter } from './ui/console-reporter.js';
import { cancelAll } from './util/cancel.js';
import { InfraError, UsageError, errorMessage } from './util/errors.js';

const USAGE = `Usage: sockvm <command> [options]

Commands:
  run        build the module and suites, boot the kernel in QEMU (e1000 NIC), run the suites
             over SSH, write results/<run-id>/ (see 'sockvm run --help')
  toolchain  ls | update | prune the per-release build chroots (see 'sockvm toolchain --help')
  kernel     build a target's source kernel into the cache, print its paths (see 'sockvm kernel --help')
  cache      ls | prune the cache: source kernels, modules, vmlinux, Debian kernels, toolchains
  parse      re-judge a saved run (results dir) or a suite's .tap without a VM (see 'sockvm parse --help')
  help       this text

npm start runs 'sockvm run' on the embedded default (the installed distro kernel).`;

/** A spinner needs a real terminal: a TTY with a width (a 0-column pty makes ora redraw forever). */
function isTerminal(stream: NodeJS.WriteStream): boolean {
  return Boolean(stream.isTTY) && (stream.columns ?? 0) > 0 && !process.env.CI;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  if (command !== 'run') {
    // kernel and toolchain builds: a signal cancels their process groups; the exit says so.
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        interruptedExit = sig === 'SIGINT' ? 130 : 143;
        cancelAll(`interrupted by ${sig}`);
      });
    }
  }
  if (command === 'toolchain') return toolchainCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'kernel') {
    // Progress on stderr (a moving line on a terminal); the artifacts on stdout.
    const bus = new EventBus();
    bus.on(consoleReporter({ interactive: isTerminal(process.stderr), verbose: false, targets: 1, out: process.stderr }));
    return kernelCommand(rest, (line) => process.stdout.write(`${line}\n`), bus);
  }
  if (command === 'cache') return cacheCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command === 'parse') return parseCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command !== 'run') throw new UsageError(`unknown command '${command}'; see 'sockvm help'`);
  const options = parseRunOptions(rest);
  if (options === 'help') {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const plan = await makePlan(options);
  if (options.dryRun) {
    process.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlan(plan).join('\n')}\n`);
    return 0;
  }
  const bus = new EventBus();
  bus.on(consoleReporter({ interactive: isTerminal(process.stdout), verbose: options.verbose, targets: plan.targets.length }));
  if (options.progress === 'json') bus.on(jsonReporter());
  bus.on(resultsWriter());
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const interrupted = new Promise<never>((_, reject) => {
    onSignal = (signal) => reject(new InfraError(`interrupted by ${signal}`));
  });
  interrupted.catch(() => {});
  let signalled: NodeJS.Signals | undefined;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (signalled) return; // a second ^C while shutting down changes nothing: cleanup is bounded
      signalled = sig;
      cancelAll(`interrupted by ${sig}`);
      onSignal(sig);
    });
  }
  const interruptExit = (): number | undefined => (signalled ? (signalled === 'SIGINT' ? 130 : 143) : undefined);
  const { exitCode } = await runCommand(plan, options, { bus, argv: rest, interrupted, isInterrupted: () => signalled !== undefined, interruptExit });
  return exitCode;
}

/** Set when a kernel or toolchain command was interrupted: 130 SIGINT, 143 SIGTERM. */
let interruptedExit: number | undefined;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = interruptedExit ?? code;
  },
  (err: unknown) => {
    process.stderr.write(`sockvm: ${errorMessage(err)}\n`);
    if (err instanceof InfraError && err.detail && interruptedExit === undefined) process.stderr.write(`${err.detail}\n`);
    process.exitCode = interruptedExit ?? 2;
  },
);
