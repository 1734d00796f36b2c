// One target of `sockvm run`: kernel → module + suites → initramfs → guests → SSH → suites →
// results. Emits events and never prints; the caller attaches reporters.
import { randomInt } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModule, primeWorkDir } from '../build/module.js';
import { buildTracer } from '../build/tracer.js';
import { SEED_MAX, type RunOptions } from '../config/run-options.js';
import type { TargetPlan } from '../plan/plan.js';
import type { EventBus, Phase } from '../events.js';
import { buildInitramfs } from '../image/initramfs.js';
import { makeRunKeys } from '../image/keys.js';
import type { BuildProgress } from '../kernel/kbuild/make.js';
import { resolveKernel } from '../kernel/resolve.js';
import { bootableKernel } from '../kernel/vmlinux.js';
import type { RunResult } from '../results/model.js';
import { SuiteRunner } from '../suites/runner.js';
import { judgeTarget } from '../results/verdict.js';
import type { SuiteSpec } from '../suites/spec.js';
import { runRounds } from '../suites/session.js';
import { describeToolchain } from '../toolchain/toolchain.js';
import { abortReason, interruptExit } from '../util/cancel.js';
import { InfraError, errorMessage } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { writeOut } from '../util/out-file.js';
import { cacheRoot, repoRoot } from '../util/paths.js';
import { chooseAccel } from '../vm/accel.js';
import { QEMU } from '../vm/boot.js';
import { Lab } from '../vm/lab.js';
import { handlerStructs } from '../trace/btf.js';
import { computeCoverage } from '../trace/coverage.js';
import { functionList } from '../trace/func-list.js';
import { readModuleFunctions, type ModuleFunctions } from '../trace/ko-tables.js';
import type { TraceFile } from '../trace/trace-file.js';
import { accessResult, announceGdb, keepGuests, runAccess, type AccessContext } from '../access/session.js';
import type { GuestTerminal } from '../guest/stream.js';
import type { AccessPlan } from '../plan/plan.js';
import { devLoop, type DevOptions } from '../dev/loop.js';

/** A kernel build's progress as one short line (the spinner's text). */
function progressLine(p: BuildProgress): string {
  return `${p.compiled} files compiled in ${Math.round(p.elapsedMs / 1000)} s, last ${p.last}`;
}

export interface TargetContext {
  bus: EventBus;
  runId: string;
  command: string;
  /** The protocol module's source tree. */
  moduleSrc: string;
  /** Aborted when the user interrupts: every stage, child process, guest and wait stops. */
  signal: AbortSignal;
  /** Every suite built for this run (the target selects among them). */
  suites: SuiteSpec[];
  /** A command, a shell or kept guests (sockvm run -- cmd, --exec, --keep, --gdb; sockvm shell). */
  access?: AccessPlan;
  /** Where a command's output goes and a shell's keys come from (default: our own stdio). */
  terminal?: GuestTerminal;
  /** sockvm dev: the booted guests stay for a loop of saves, rebuilds and suite reruns. */
  dev?: DevOptions;
}

/** One target of a run: its kernel, module, suites, guests and results in `dir`. */
export async function runTarget(target: TargetPlan, plan: RunOptions, ctx: TargetContext): Promise<RunResult> {
  const { bus } = ctx;
  const dir = target.resultsDir;
  // The run's keys and the image that embeds the guest's host key: readable by us alone.
  await mkdir(join(dir, 'guest'), { recursive: true, mode: 0o700 });
  await chmod(join(dir, 'guest'), 0o700);
  // One seed for every randomised suite of the run, so the pinned rerun line replays them all.
  const run: RunResult = {
    runId: ctx.runId,
    target: target.name,
    startedAt: new Date().toISOString(),
    command: ctx.command,
    status: 'pass',
    exitCode: 0,
    phases: {},
    suites: [],
    seed: plan.seed ?? randomInt(SEED_MAX + 1),
  };
  const cache = cacheRoot();

  const { access } = ctx;
  if (access) run.guestAccess = accessResult(access);
  // Held in an object so the finally block sees what the phases' closures set.
  const live: { lab?: Lab; kept?: boolean } = {};
  // The user's interrupt, or a fault that must end this target at once (its console log cannot
  // be written): either stops every stage, child process and guest the same way.
  const fault = new AbortController();
  const signal = AbortSignal.any([ctx.signal, fault.signal]);
  const phase = async <T>(name: Phase, work: () => Promise<T>, detail?: (r: T) => string | undefined): Promise<T> => {
    signal.throwIfAborted();
    bus.emit({ type: 'phase-started', phase: name });
    const start = Date.now();
    const result = await work();
    run.phases[name] = Date.now() - start;
    const d = detail?.(result);
    bus.emit(
      d ? { type: 'phase-ended', phase: name, durationMs: run.phases[name], detail: d } : { type: 'phase-ended', phase: name, durationMs: run.phases[name] },
    );
    return result;
  };

  try {
    // The plan chose them; the suites' build made them.
    const selected = target.suites.map((name) => ctx.suites.find((s) => s.name === name) as SuiteSpec);
    const moduleSrc = ctx.moduleSrc;
    const resolved = await phase(
      'kernel',
      () =>
        resolveKernel(target.kernel, {
          cacheDir: cache,
          target: target.name,
          signal,
          ...(target.userKernel ? { user: target.userKernel } : {}),
          log: (message) => bus.emit({ type: 'notice', message }),
          onProgress: (p) => bus.emit({ type: 'progress', phase: 'kernel', message: progressLine(p) }),
        }),
      (k) => `${k.kernel.release}${k.cached ? '' : ', prepared'}; toolchain ${describeToolchain(k.toolchain)}`,
    );
    const { kernel } = resolved;
    run.kernel = { release: kernel.release, image: kernel.image, modulesDir: kernel.modulesDir, buildDir: kernel.buildDir };
    run.toolchain = { name: describeToolchain(resolved.toolchain), reason: resolved.toolchainReason };
    if (resolved.packages) run.packages = resolved.packages;
    if (resolved.provenance) run.provenance = resolved.provenance;
    if (resolved.toolchain.kind !== 'host') bus.emit({ type: 'notice', message: `toolchain: ${resolved.toolchainReason}` });

    const buildLog = join(dir, 'build.log');
    const mod = await phase(
      'module-build',
      () =>
        buildModule(moduleSrc, kernel, cache, buildLog, {
          toolchain: resolved.toolchain,
          binds: resolved.binds,
          onReplaced: (message) => bus.emit({ type: 'notice', message }),
          signal,
        }),
      (m) => (m.cached ? 'cached' : undefined),
    );

    const labSize = target.guests;
    const traced = (suite: SuiteSpec): boolean => target.traced.includes(suite.name);
    const tracing = selected.some(traced);
    // The tracer and its function list go into every image (the dispatch suite runs the tool
    // itself); without clang or libbpf only tracing is lost, never the run.
    const tracer = await buildTracer(cache, buildLog, signal).catch((err: unknown) => {
      signal.throwIfAborted();
      bus.emit({
        type: 'notice',
        message: `sockvm-trace not built (${errorMessage(err).split('\n')[0]}); tracing and the dispatch suite are unavailable (scripts/setup installs clang, bpftool, libbpf-dev)`,
      });
      return undefined;
    });
    let moduleFns: ModuleFunctions | undefined;

    const keptTools = access?.keep ? await guestFileTools((message) => bus.emit({ type: 'notice', message })) : { tools: [], programs: [] };
    const { initrd, bootKernel, keys } = await phase('image-build', async () => {
      const keys = await makeRunKeys(join(dir, 'guest'), signal);
      await writeOut(join(dir, 'guest', 'id_ed25519'), keys.clientPrivate, { mode: 0o600 });
      await writeOut(join(dir, 'guest', 'known_host_key.pub'), `${keys.hostPublicLine}\n`);
      const image = await buildInitramfs(
        {
          rootfsDir: join(repoRoot, 'images', 'rootfs'),
          modulesDir: kernel.modulesDir,
          bootModules: ['e1000', ...target.modules],
          optionalModules: target.modules,
          busybox: '/bin/busybox',
          dropbear: '/usr/sbin/dropbear',
          newtcpKo: mod.ko,
          tools: [...target.tools, ...keptTools.tools],
          programs: keptTools.programs,
          ...(tracer
            ? {
                tracer: {
                  binary: tracer.path,
                  funcs: functionList((moduleFns = await readModuleFunctions(mod.ko, await tableLayouts(kernel.buildDir, kernel.image, cache, signal)))),
                },
              }
            : {}),
          suites: selected.map((s) => ({ name: s.name, path: s.binary, bpf: s.bpfObjects ?? [], files: s.files ?? [] })),
          hostKey: keys.hostKey,
          authorizedKey: keys.clientPublicLine,
          settings: { mgmtAddr: '10.0.2.15/24', mgmtGateway: '10.0.2.2' },
        },
        signal,
      );
      for (const m of image.missingModules) {
        const owners = selected.filter((s) => s.manifest.modules.includes(m)).map((s) => s.name);
        bus.emit({ type: 'notice', message: `module ${m} (suite.json of ${owners.join(', ')}): not in this kernel, left out; the tests that need it skip` });
      }
      const path = join(dir, 'guest', 'initramfs.cpio');
      await writeOut(path, image.cpio, { mode: 0o600 });
      return {
        initrd: path,
        bootKernel: await bootableKernel(kernel.image, cache, { signal, onReplaced: (message) => bus.emit({ type: 'notice', message }) }),
        keys,
      };
    });

    const accel = await phase(
      'accel-probe',
      () => chooseAccel(plan.accel, { qemu: QEMU, kernel: bootKernel.path, cacheDir: cache, probeLog: join(dir, 'kvm-probe.log'), signal }),
      (a) => a.accel,
    );
    run.accelerator = accel.accel;
    run.accelReason = accel.reason;
    if (accel.accel === 'tcg' && plan.accel === 'auto') bus.emit({ type: 'notice', message: accel.reason });

    const cpus = target.cpus[accel.accel];
    run.cpus = cpus;
    const lab = new Lab(
      labSize,
      {
        kernel: bootKernel.path,
        initrd,
        accel: accel.accel,
        memoryMiB: plan.memoryMiB,
        cpus,
        keys,
        dir,
        timeoutMs: target.bootTimeoutMs[accel.accel],
        detachable: access?.keep ?? false,
        gdb: access?.gdb ?? false,
        onLogError: (err) => fault.abort(err),
      },
      signal,
    );
    live.lab = lab;
    const kernelFormat = bootKernel.pvh ? 'PVH vmlinux' : 'bzImage';
    const timings = await phase(
      'boot',
      () => lab.boot(),
      () => `${kernelFormat}${labSize > 1 ? ', 2 guests' : ''}`,
    );
    run.boot = { ...timings, kernelFormat, guests: labSize };

    const traces: { suite: string; trace: TraceFile }[] = [];
    const runner = new SuiteRunner(lab, bus, {
      defaultTimeoutMs: plan.suiteTimeoutMs,
      overrideTimeout: plan.suiteTimeoutOverride ?? false,
      resultsDir: dir,
      seed: run.seed,
      testFilter: plan.testFilter,
      suiteTestFilters: target.testFilters,
      signal,
      ...(tracer && moduleFns
        ? {
            traced,
            tracedSuites: [...new Set(selected.filter(traced).map((s) => s.name))],
            onTrace: (suite: string, trace: TraceFile) => void traces.push({ suite, trace }),
          }
        : {}),
    });
    run.guest = {};
    if ((!selected.length && access) || ctx.dev) await phase('guest-setup', () => runner.prepareGuests(run.guest ?? {}));
    else
      await phase('suites', async () => {
        run.guest ??= {};
        await runner.prepareGuests(run.guest);
        if (!(await runRounds(run, { lab, runner, bus, dir, suites: selected, repeat: plan.repeat, untilFail: plan.untilFail, signal }))) return;
        // While the module is loaded, so its frames in a leak's backtrace have names.
        const leaks = await runner.leakReports();
        if (leaks) run.guest.kmemleak = leaks;
        if (tracing && moduleFns) {
          run.coverage = computeCoverage(moduleFns, traces);
          // The floor holds for the target's whole selection; a run of chosen suites reports only.
          const whole = wholeSelection(plan);
          if (target.coverageFloor !== undefined && whole)
            run.coverageFloor = { percent: target.coverageFloor, met: run.coverage.handlers.percent >= target.coverageFloor };
          else if (target.coverageFloor !== undefined)
            bus.emit({
              type: 'notice',
              message: `coverageFloor ${target.coverageFloor}% not checked: --suite/--tag/--test ran a selection (coverage ${run.coverage.handlers.percent}%)`,
            });
        } else if (tracing) {
          bus.emit({ type: 'notice', message: 'no coverage: sockvm-trace was not built' });
          // A floor that was asked for and could not be measured is not met.
          const whole = wholeSelection(plan);
          if (target.coverageFloor !== undefined && whole) run.coverageFloor = { percent: target.coverageFloor, met: false };
        }
        // A command or kept guests want the module loaded (and a command may hold its sockets open).
        if (!access) {
          const unloadFindings = await runner.unloadModules(run.guest);
          if (unloadFindings.length) run.guest.unloadFindings = unloadFindings;
        }
        await saveDmesg(dir, lab);
      });
    if (ctx.dev) {
      // One work tree for the session's module builds: each save recompiles only what changed.
      const build = { toolchain: resolved.toolchain, binds: resolved.binds, signal, workDir: join(dir, 'dev-module') };
      const rebuild = async (): Promise<{ ko: string; how: string }> => {
        let how = 'full make';
        const built = await buildModule(moduleSrc, kernel, cache, buildLog, { ...build, onBuildNote: (note) => (how = note) });
        return { ko: built.ko, how: built.cached ? 'cached (these sources were built before)' : how };
      };
      const prime = (): Promise<void> => primeWorkDir(moduleSrc, kernel, buildLog, build);
      const last = await devLoop({ lab, runner, run, bus, signal, dir, suites: selected, moduleSrc, buildModule: rebuild, primeModule: prime }, ctx.dev);
      signal.throwIfAborted();
      // The exit code is the last verdict's: a save whose build failed ends in error, whatever passed before.
      if (last?.status === 'error') run.infraError = `sockvm dev's last cycle (#${last.index}): ${last.reason ?? 'error'}`;
      await saveDmesg(dir, lab);
    }
    if (access && run.guestAccess) {
      const actx: AccessContext = {
        lab,
        run: run as RunResult & { guestAccess: NonNullable<RunResult['guestAccess']> },
        bus,
        phase,
        terminal: ctx.terminal ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
        signal,
      };
      if (access.gdb) await announceGdb(actx, mod.ko, kernel);
      await runAccess(access, actx);
      await saveDmesg(dir, lab);
      if (access.keep) {
        await keepGuests(actx, { dir, hostKey: keys.hostPublicLine, target: target.name });
        live.kept = true;
      }
    }
  } catch (err) {
    // Interrupted: whatever failed under the abort (a killed make, a killed QEMU) says less than why.
    run.infraError = signal.aborted ? abortReason(signal) : errorMessage(err);
    if (!signal.aborted && err instanceof InfraError && err.detail) run.infraError += `\n${err.detail}`;
  } finally {
    const { lab } = live;
    if (lab && !live.kept) {
      bus.emit({ type: 'phase-started', phase: 'shutdown' });
      const start = Date.now();
      if (!(await exists(join(dir, 'dmesg.txt')))) await saveDmesg(dir, lab, !signal.aborted).catch(() => undefined);
      const vms = lab.guests.map((g) => g.vm);
      await lab.shutdown();
      run.phases.shutdown = Date.now() - start;
      bus.emit({ type: 'phase-ended', phase: 'shutdown', durationMs: run.phases.shutdown });
      const logError = vms.map((vm) => vm.logError).find((e) => e !== undefined);
      if (logError && !run.infraError) run.infraError = logError.message;
    }
  }
  // Interrupted while shutting down: everything ran, and the run still says it was interrupted.
  if (signal.aborted && !run.infraError) run.infraError = abortReason(signal);

  run.command = pinnedCommand(run);
  const interrupted = interruptExit(signal);
  const verdict = judgeTarget(run, {
    ...(plan.testFilter !== undefined ? { testFilter: plan.testFilter } : {}),
    ...(interrupted !== undefined ? { interruptExit: interrupted } : {}),
  });
  run.exitCode = verdict.exitCode;
  run.status = verdict.status;
  if (verdict.problem) run.problem = verdict.problem;
  if (verdict.infraError) run.infraError = verdict.infraError;
  bus.emit({ type: 'target-results', dir, run });
  return run;
}

/** dropbear runs /usr/lib/sftp-server for scp and sftp (OpenSSH's scp speaks SFTP since 9.0). */
const SFTP_SERVER = { host: '/usr/lib/openssh/sftp-server', guest: '/usr/lib/sftp-server', pkg: 'openssh-sftp-server' };
const RSYNC = { host: '/usr/bin/rsync', pkg: 'rsync' };

/** What kept guests get so scp, sftp and rsync work against them: the host's, when installed. */
async function guestFileTools(notice: (m: string) => void): Promise<{ tools: string[]; programs: { path: string; source: string }[] }> {
  const out: { tools: string[]; programs: { path: string; source: string }[] } = { tools: [], programs: [] };
  const missing: string[] = [];
  if (await exists(SFTP_SERVER.host)) out.programs.push({ path: SFTP_SERVER.guest, source: SFTP_SERVER.host });
  else missing.push(SFTP_SERVER.pkg);
  if (await exists(RSYNC.host)) out.tools.push(RSYNC.host);
  else missing.push(RSYNC.pkg);
  if (missing.length)
    notice(
      `--keep: scp/sftp and rsync into the guests need ${missing.join(' and ')} on this machine (apt-get install ${missing.join(' ')}); ssh works without`,
    );
  return out;
}

/** The command that reruns this target as it ran: what auto chose (accelerator, seed) pinned. */
function pinnedCommand(run: RunResult): string {
  let command = run.command;
  if (run.accelerator && !/ --accel\b/.test(command)) command += ` --accel ${run.accelerator}`;
  if (run.seed !== undefined && !/ --seed\b/.test(command)) command += ` --seed ${run.seed}`;
  return command;
}

/**
 * The kernel's proto_ops/proto/net_proto_family layouts for member names: from the vmlinux's
 * .BTF (the kbuild tree's, else the one unpacked from the image); none when it has no BTF.
 */
async function tableLayouts(buildDir: string, image: string, cache: string, signal: AbortSignal): Promise<Awaited<ReturnType<typeof handlerStructs>>> {
  const fromTree = join(buildDir, 'vmlinux');
  if (await exists(fromTree)) {
    const layouts = await handlerStructs(fromTree, signal);
    if (layouts.size) return layouts;
  }
  const boot = await bootableKernel(image, cache, { signal });
  return boot.pvh ? handlerStructs(boot.path, signal) : new Map();
}

/** The guests' kernel logs at the end of the run: dmesg.txt, dmesg-guest2.txt (the console's tail when `ask` is false or a guest is gone). */
async function saveDmesg(dir: string, lab: Lab, ask = true): Promise<void> {
  const prefix = 'dmesg';
  for (const g of lab.guests) {
    const suffix = g.index === 1 ? '' : `-${g.name}`;
    const d = ask && g.vm.running ? await g.ssh.exec('dmesg', { timeoutMs: 5000 }) : undefined;
    const text = d?.code === 0 ? d.stdout : `(guest unreachable; console tail)\n${g.vm.consoleTail(200)}\n`;
    await writeOut(join(dir, `${prefix}${suffix}.txt`), text);
  }
}

/** Whether the run covers each target's whole selection: a coverage floor holds only then. */
function wholeSelection(plan: RunOptions): boolean {
  return !plan.only.length && !plan.tags.length && plan.testFilter === undefined && plan.shard === undefined && plan.rerunFailed === undefined;
}
