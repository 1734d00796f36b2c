#!/usr/bin/env node
// sockvm's command line: parses the command, wires reporters to the event bus, sets the exit code.
import { runCommand } from './commands/run.js';
import { toolchainCommand } from './commands/toolchain.js';
import { parseRunOptions, RUN_USAGE } from './config/run-options.js';
import { EventBus } from './events.js';
import { consoleReporter } from './ui/console-reporter.js';
import { InfraError, UsageError, errorMessage } from './util/errors.js';

const USAGE = `Usage: sockvm <command> [options]

Commands:
  run        build the module and suites, boot the kernel in QEMU (e1000 NIC), run the suites
             over SSH, write results/<run-id>/ (see 'sockvm run --help')
  toolchain  ls | update | prune the per-release build chroots (see 'sockvm toolchain --help')
  help       this text

npm start runs 'sockvm run' on the embedded default (the installed distro kernel).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  if (command === 'toolchain') return toolchainCommand(rest, (line) => process.stdout.write(`${line}\n`));
  if (command !== 'run') throw new UsageError(`unknown command '${command}'; see 'sockvm help'`);
  const plan = parseRunOptions(rest);
  if (plan === 'help') {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const bus = new EventBus();
  // A spinner needs a real terminal: a TTY with a width (a 0-column pty makes ora redraw forever).
  const interactive = Boolean(process.stdout.isTTY) && (process.stdout.columns ?? 0) > 0 && !process.env.CI;
  bus.on(consoleReporter({ interactive, verbose: plan.verbose }));
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
      onSignal(sig);
    });
  }
  const { exitCode } = await runCommand(plan, { bus, argv: rest, interrupted, isInterrupted: () => signalled !== undefined });
  if (signalled) return signalled === 'SIGINT' ? 130 : 143;
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`sockvm: ${errorMessage(err)}\n`);
    if (err instanceof InfraError && err.detail) process.stderr.write(`${err.detail}\n`);
    process.exitCode = 2;
  },
);
