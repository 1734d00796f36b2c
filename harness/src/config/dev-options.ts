// `sockvm dev` options: its own (--reboot-on-busy, --max-cycles), the rest as `sockvm run`
// parses them, minus those that make no sense for guests kept under a watcher.
import { parseArgs } from 'node:util';
import { UsageError } from '../util/errors.js';
import { parseRunOptions, type RunOptions } from './run-options.js';

export interface DevCommandOptions {
  run: RunOptions;
  rebootOnBusy: boolean;
  maxCycles?: number;
}

export const DEV_USAGE = `Usage: sockvm dev --suite <name> [--test <glob>] [options]

Boots a target's guests once and keeps them while it watches the module source (kernel/newtcp,
or --module-src) and the selected suites' sources (and suites/lib). It runs the suites once,
then on every save:
  build    rebuilds only what changed: newtcp.ko (the run's module build, cached by content)
           and/or the saved suite's static binary
  copy     copies it into the guests over the open SSH session
  reload   rmmod + insmod of newtcp.ko; refused, with the reason, while a newtcp socket is open
           (/proc/net/newtcp) or the module is held (its refcnt): --reboot-on-busy boots fresh
           guests instead
  suites   reruns the selected suites
and prints the verdict with each step's time. An oops, a crash or a guest that stops answering
gets fresh guests (the oops shown, the console kept as crash-dev-<n>.console.txt). ^C powers
the guests off and exits 130. results.json holds the latest cycle.

Options:
  --suite <name>           a suite to rerun on each save (repeatable; or --tag)
  --tag <tag>              the suites with this suite.json tag
  --test <glob>            only the tests matching the glob (others SKIP)
  --target <name>          one target (default: the configuration's default)
  --module-src <dir>       watch and build the module from this tree instead of kernel/newtcp
  --suites-dir <dir>       also take (and watch) suites from <dir> (repeatable)
  --reboot-on-busy         when open sockets hold newtcp, boot fresh guests instead of refusing
  --max-cycles <n>         end after n saves' verdicts (0: after the first verdict), for scripts
                           and the benchmark; the exit code is the last verdict's
  --progress human|json    json: every event (a "dev-cycle" per verdict) as one JSON line on stderr
  --kernel, --modules-dir, --build-dir, --accel, --memory, --cpus, --boot-timeout,
  --suite-timeout, --seed, --results-dir, --config, -v: as for 'sockvm run'
  -h, --help               this text

Exit codes: those of the last verdict (0 pass, 1 fail, 2 build or guest error), 130/143 on
SIGINT/SIGTERM.`;

/** `sockvm run` options that have no meaning under a watcher, and why. */
const NOT_FOR_DEV: [keyof RunOptions, (o: RunOptions) => boolean, string][] = [
  ['allTargets', (o) => o.allTargets, '--all-targets: sockvm dev keeps one target; name it with --target'],
  ['targets', (o) => o.targets.length > 1, '--target: sockvm dev keeps one target; name one'],
  ['repeat', (o) => o.repeat > 1 || o.untilFail, '--repeat/--until-fail: each save reruns the suites once'],
  ['trace', (o) => o.trace, '--trace: not under sockvm dev; use sockvm run --trace'],
  ['dryRun', (o) => o.dryRun, '--dry-run: use sockvm run --dry-run with the same options'],
  ['keep', (o) => o.keep, '--keep: sockvm dev keeps its guests until ^C; for guests that outlive it use sockvm run --keep'],
  ['gdb', (o) => o.gdb, '--gdb: not under sockvm dev; use sockvm run --keep --gdb'],
  ['copies', (o) => o.copies.length > 0, '--copy: not under sockvm dev; use sockvm run --keep and scp'],
  ['exec', (o) => o.exec !== undefined || o.commandArgv !== undefined, 'a guest command (-- cmd, --exec): not under sockvm dev; use sockvm run'],
];

export function parseDevOptions(argv: string[], cwd = process.cwd()): DevCommandOptions | 'help' {
  // Our two options out first; everything else is sockvm run's to parse and check.
  const { values, tokens } = parseArgs({
    args: argv,
    strict: false,
    tokens: true,
    allowPositionals: true,
    options: { 'reboot-on-busy': { type: 'boolean' }, 'max-cycles': { type: 'string' } },
  });
  const ours = new Set<number>();
  for (const t of tokens) {
    if (t.kind !== 'option' || (t.name !== 'reboot-on-busy' && t.name !== 'max-cycles')) continue;
    ours.add(t.index);
    if (t.name === 'max-cycles' && !t.inlineValue) ours.add(t.index + 1);
  }
  const run = parseRunOptions(
    argv.filter((_, i) => !ours.has(i)),
    cwd,
  );
  if (run === 'help') return 'help';
  const problems = NOT_FOR_DEV.filter(([, used]) => used(run)).map(([, , why]) => why);
  if (!run.only.length && !run.tags.length)
    problems.push('--suite: sockvm dev reruns the suites you name on each save: give --suite <name> (e.g. --suite create) or --tag');
  const out: DevCommandOptions = { run, rebootOnBusy: values['reboot-on-busy'] === true };
  const max = values['max-cycles'];
  if (max !== undefined) {
    const n = typeof max === 'string' && /^\d{1,6}$/.test(max) ? Number(max) : NaN;
    if (Number.isNaN(n)) problems.push(`--max-cycles ${String(max)}: expected a whole number from 0 (0: end after the first verdict)`);
    else out.maxCycles = n;
  }
  if (problems.length) throw new UsageError(problems.join('\n'));
  return out;
}
