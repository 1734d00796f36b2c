// sockvm dev's loop over booted guests: the selected suites' verdict, then for every batch of
// saves: rebuild what changed, copy it over the open SSH session, reload the module, rerun the
// suites, and a dev-cycle event with the verdict and each step's time. A crash, an oops or a
// guest that stopped answering gets fresh guests (the current module and suites copied in).
import { join } from 'node:path';
import { buildSuites, type SuiteBinary } from '../build/suites.js';
import type { DevCycle, EventBus, Phase } from '../events.js';
import type { RunResult, SuiteResult } from '../results/model.js';
import { countTests } from '../results/verdict.js';
import type { SuiteRunner } from '../suites/runner.js';
import type { SuiteSpec } from '../suites/spec.js';
import { InfraError, errorMessage } from '../util/errors.js';
import { writeOut } from '../util/out-file.js';
import { cacheRoot, repoRoot } from '../util/paths.js';
import type { Lab } from '../vm/lab.js';
import { copyModule, copySuite, moduleBusy, reloadModule } from './reload.js';
import { SourceWatcher, type ChangeSet } from './watch.js';

export interface DevOptions {
  /** A module held by open sockets is swapped by booting fresh guests instead of refusing. */
  rebootOnBusy: boolean;
  /** Stop after this many saves' cycles (scripts, tests, the benchmark); undefined: until ^C. */
  maxCycles?: number;
  /** Every directory of suites (suites/ and --suites-dir), for rebuilding one suite. */
  suiteSourceDirs: string[];
}

/** What runTarget hands over once the guests are up with the module loaded. */
export interface DevLab {
  lab: Lab;
  runner: SuiteRunner;
  run: RunResult;
  bus: EventBus;
  signal: AbortSignal;
  /** The target's results directory. */
  dir: string;
  suites: SuiteSpec[];
  moduleSrc: string;
  /** Builds newtcp.ko from the module source as it is now (the run's module build, cached by content); `how`: replayed, full make (why) or cached. */
  buildModule: () => Promise<{ ko: string; how: string }>;
  /** Builds the module once in the work tree buildModule reuses, so the first save is as quick as the next. */
  primeModule: () => Promise<void>;
}

type Step = keyof DevCycle['steps'];

/** What the guests run that is not in their boot image: a fresh boot copies it in again. */
interface Edited {
  ko?: string;
  suites: Map<string, SuiteBinary>;
}

/** A build failure's message with the compiler's last lines, as the user needs them. */
function failureText(err: unknown): string {
  const detail = err instanceof InfraError && err.detail ? `\n${err.detail.split('\n').slice(-15).join('\n')}` : '';
  return `${errorMessage(err)}${detail}`;
}

class DevCycles {
  private readonly edited: Edited = { suites: new Map() };
  /** The work tree's first build, run while the first verdict's suites run; a save waits for it. */
  priming: Promise<void> = Promise.resolve();
  /** Where the guest's (stripped) copy of newtcp.ko is made. */
  private readonly scratch: string;

  constructor(
    private readonly d: DevLab,
    private readonly o: DevOptions,
  ) {
    this.scratch = join(d.dir, 'dev-guest-ko');
  }

  /** One step of a cycle: a phase for the console, its time into `steps`. */
  private async step<T>(steps: DevCycle['steps'], name: Step, phase: Phase, work: () => Promise<T>): Promise<T> {
    this.d.signal.throwIfAborted();
    this.d.bus.emit({ type: 'phase-started', phase });
    const start = Date.now();
    try {
      return await work();
    } finally {
      const ms = Date.now() - start;
      steps[name] = (steps[name] ?? 0) + ms;
      this.d.bus.emit({ type: 'phase-ended', phase, durationMs: ms });
    }
  }

  /** Fresh guests: booted again, what was edited since the image copied in, the module loaded. */
  private async freshGuests(steps: DevCycle['steps']): Promise<void> {
    const { lab, runner, run, signal } = this.d;
    await this.step(steps, 'reboot', 'boot', async () => {
      await lab.reboot();
      if (this.edited.ko) await copyModule(lab.guests, this.edited.ko, this.scratch, signal);
      for (const s of this.edited.suites.values()) await copySuite(lab.guests, s, signal);
      await runner.prepareGuests((run.guest ??= {}));
    });
  }

  /** The guests no longer answer (a hang, a panic while we built): why, or undefined. */
  private gone(): string | undefined {
    const { lab } = this.d;
    return lab.deathReason() ?? (lab.guests.some((g) => g.ssh.closed) ? 'the SSH session to a guest dropped' : undefined);
  }

  /** The cycle for a batch of saves (none: the verdict right after the boot). */
  async cycle(index: number, change?: ChangeSet): Promise<DevCycle> {
    const { lab, signal, bus } = this.d;
    const started = change?.at ?? Date.now();
    const steps: DevCycle['steps'] = {};
    let moduleBuild: string | undefined;
    const end = (status: DevCycle['status'], extra: Partial<DevCycle> = {}): DevCycle => ({
      index,
      changed: change?.files ?? [],
      status,
      steps,
      totalMs: Date.now() - started,
      suites: [],
      ...(moduleBuild ? { moduleBuild } : {}),
      ...extra,
    });
    try {
      if (change) {
        const dead = this.gone();
        let ko: string | undefined;
        let rebuilt: SuiteBinary[] = [];
        try {
          await this.step(steps, 'build', 'dev-build', async () => {
            await this.priming;
            const [k, s] = await Promise.all([
              change.module ? this.d.buildModule() : undefined,
              change.suites.length
                ? buildSuites(
                    join(repoRoot, 'suites'),
                    this.o.suiteSourceDirs,
                    join(cacheRoot(), 'suites-bin'),
                    join(this.d.dir, 'build.log'),
                    signal,
                    new Set(change.suites),
                  )
                : [],
            ]);
            ko = k?.ko;
            moduleBuild = k?.how;
            rebuilt = s;
          });
        } catch (err) {
          signal.throwIfAborted();
          return end('error', { reason: `build failed: ${failureText(err)}` });
        }
        if (ko) this.edited.ko = ko;
        for (const s of rebuilt) this.edited.suites.set(s.name, s);
        if (dead) {
          bus.emit({ type: 'notice', message: `the guests stopped answering (${dead}); booting fresh ones` });
          await this.freshGuests(steps);
        } else {
          await this.step(steps, 'copy', 'dev-copy', async () => {
            if (ko) await copyModule(lab.guests, ko, this.scratch, signal);
            for (const s of rebuilt) await copySuite(lab.guests, s, signal);
          });
          if (ko) {
            const busy = (await Promise.all(lab.guests.map(moduleBusy))).find((b) => b !== undefined);
            if (busy && !this.o.rebootOnBusy)
              return end('error', {
                reason: `newtcp.ko not reloaded: ${busy}; close them (or end the program holding them), or start sockvm dev with --reboot-on-busy to boot fresh guests instead`,
              });
            if (busy) {
              bus.emit({ type: 'notice', message: `${busy}: booting fresh guests to load the new newtcp.ko (--reboot-on-busy)` });
              await this.freshGuests(steps);
            } else {
              const reload = await this.step(steps, 'reload', 'dev-reload', () => reloadModule(lab.guests));
              if (reload.error || reload.findings.length) {
                // A refused insmod leaves a healthy guest without the module: the next save loads it.
                if (reload.findings.length || this.gone()) await this.afterCrash(index, steps, reload.findings);
                return end('error', { reason: reload.error ?? 'the kernel reported while reloading newtcp.ko', kernelFindings: reload.findings });
              }
            }
          }
        }
      }
      const results = await this.step(steps, 'suites', 'dev-suites', async () => {
        const out: SuiteResult[] = [];
        for (const s of this.d.suites) out.push(await this.d.runner.runSuite(s));
        return out;
      });
      signal.throwIfAborted();
      return await this.verdict(index, results, steps, end);
    } catch (err) {
      signal.throwIfAborted();
      // The guests failed under the cycle (a boot, an SSH session): the next save boots fresh ones.
      return end('error', { reason: failureText(err) });
    }
  }

  /** The suites' results as the cycle's verdict; a crash or a kernel report gets fresh guests. */
  private async verdict(
    index: number,
    results: SuiteResult[],
    steps: DevCycle['steps'],
    end: (status: DevCycle['status'], extra?: Partial<DevCycle>) => DevCycle,
  ): Promise<DevCycle> {
    const { run, bus, dir } = this.d;
    // results.json holds the latest cycle: what `sockvm dev` ends with is its verdict.
    run.suites = results;
    bus.emit({ type: 'target-results', dir, run: { ...run } });
    const findings = results.flatMap((r) => r.kernelFindings);
    const crashed = results.filter((r) => r.status === 'error').map((r) => r.name);
    if (crashed.length || findings.length) await this.afterCrash(index, steps, findings);
    const suites = results.map((r) => ({ name: r.name, status: r.status, ...countTests([r]) }));
    const { passed, failed } = countTests(results);
    const status = crashed.length ? 'error' : results.some((r) => r.status !== 'pass') ? 'fail' : passed + failed === 0 ? 'fail' : 'pass';
    const extra: Partial<DevCycle> = { suites: suites.map((s) => ({ name: s.name, status: s.status, passed: s.passed, failed: s.failed })) };
    if (findings.length) extra.kernelFindings = findings;
    if (crashed.length) extra.reason = `the guest crashed during ${crashed.join(', ')}`;
    else if (status === 'fail' && passed + failed === 0) extra.reason = 'no test ran (every test skipped: check --test)';
    else if (status === 'fail' && results.some((r) => r.errors.length)) extra.reason = results.flatMap((r) => r.errors).join('; ');
    return end(status, extra);
  }

  /** An oops, a panic or a hang: the console kept, the oops shown, fresh guests booted. */
  private async afterCrash(index: number, steps: DevCycle['steps'], findings: string[]): Promise<void> {
    const { lab, bus, dir } = this.d;
    const file = join(dir, `crash-dev-${index}.console.txt`);
    await writeOut(file, `${lab.consoleTail(300)}\n`);
    const shown = findings.length ? findings.slice(0, 20).join('\n') : lab.consoleTail(20);
    bus.emit({ type: 'notice', message: `the kernel reported (console in ${file}); booting fresh guests:\n${shown}` });
    await this.freshGuests(steps);
  }
}

/**
 * Runs the selected suites, then a cycle per batch of saves until ^C (`signal`) or maxCycles.
 * The run's suites are the last cycle's, so the caller's verdict is the latest one; the last
 * cycle is returned (an error cycle, a failed build, has no suites to say so).
 */
export async function devLoop(d: DevLab, o: DevOptions): Promise<DevCycle | undefined> {
  const suiteDirs = new Map<string, string>();
  for (const s of d.suites) if (s.sourceDir) suiteDirs.set(s.name, s.sourceDir);
  const watcher = new SourceWatcher({ moduleSrc: d.moduleSrc, suites: suiteDirs, shared: [join(repoRoot, 'suites', 'lib')] });
  const cycles = new DevCycles(d, o);
  let last: DevCycle | undefined;
  try {
    await watcher.ready();
    // A failed priming build costs only speed: the save's own build reports the failure.
    cycles.priming = d.primeModule().catch(() => undefined);
    for (let index = 0; ; index++) {
      const change = index === 0 ? undefined : await watcher.next(d.signal).catch(() => undefined);
      if (index > 0 && !change) return last;
      last = await cycles.cycle(index, change);
      d.bus.emit({ type: 'dev-cycle', cycle: last });
      if (o.maxCycles !== undefined && index >= o.maxCycles) return last;
      d.bus.emit({ type: 'dev-waiting', watching: watcher.watching });
    }
  } finally {
    await watcher.close();
  }
}
