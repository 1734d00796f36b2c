// `sockvm run`: kernel → module + suites → initramfs → VM → SSH → suites → results.
// Emits events and never prints; the caller attaches reporters.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModule } from '../build/module.js';
import { buildSuites } from '../build/suites.js';
import type { RunPlan } from '../config/run-options.js';
import type { EventBus, Phase } from '../events.js';
import { buildInitramfs } from '../image/initramfs.js';
import { makeRunKeys } from '../image/keys.js';
import type { KernelArtifact } from '../kernel/artifact.js';
import { findHostKernel, userKernel } from '../kernel/host.js';
import { bootableKernel } from '../kernel/vmlinux.js';
import { countTests, type RunResult } from '../results/model.js';
import { linkLatest, writeResults } from '../results/writer.js';
import { SuiteRunner } from '../suites/runner.js';
import { InfraError, UsageError, errorMessage } from '../util/errors.js';
import { cacheRoot, repoRoot } from '../util/paths.js';
import { chooseAccel } from '../vm/accel.js';
import { commandLine, MGMT_MAC, QEMU } from '../vm/boot.js';
import { Lab } from '../vm/lab.js';
import { readManifest } from '../suites/manifest.js';
import { roundName, selectSuites, type SuiteSpec } from '../suites/select.js';
import { exists } from '../util/fs.js';


export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}


export interface RunContext {
  bus: EventBus;
  argv: string[];
  /** Rejects when the user interrupts; the run then shuts down in order. */
  interrupted: Promise<never>;
}

export async function runCommand(plan: RunPlan, ctx: RunContext): Promise<{ exitCode: number; run: RunResult; dir: string }> {
  const { bus } = ctx;
  const runId = newRunId();
  const dir = join(plan.resultsRoot, runId);
  await mkdir(join(dir, 'guest'), { recursive: true });
  const command = commandLine(['sockvm', 'run', ...ctx.argv]);
  const run: RunResult = { runId, startedAt: new Date().toISOString(), command, status: 'pass', exitCode: 0, phases: {}, suites: [] };
  const cache = cacheRoot();
  bus.emit({ type: 'run-started', runId, resultsDir: dir, command });

  // Held in an object so the finally block sees what the phases' closures set.
  const live: { lab?: Lab } = {};
  const phase = async <T>(name: Phase, work: () => Promise<T>, detail?: (r: T) => string | undefined): Promise<T> => {
    bus.emit({ type: 'phase-started', phase: name });
    const start = Date.now();
    const result = await Promise.race([work(), ctx.interrupted]);
    run.phases[name] = Date.now() - start;
    const d = detail?.(result);
    bus.emit(d ? { type: 'phase-ended', phase: name, durationMs: run.phases[name], detail: d } : { type: 'phase-ended', phase: name, durationMs: run.phases[name] });
    return result;
  };

  try {
    const kernel = await phase<KernelArtifact>(
      'kernel',
      () => (plan.kernel ? userKernel(plan.kernel.image, plan.kernel.modulesDir, plan.kernel.buildDir) : findHostKernel()),
      (k) => k.release,
    );
    run.kernel = { release: kernel.release, image: kernel.image, modulesDir: kernel.modulesDir, buildDir: kernel.buildDir };

    const buildLog = join(dir, 'build.log');
    const moduleSrc = plan.moduleSrc ?? join(repoRoot, 'kernel', 'newtcp');
    if (!(await exists(join(moduleSrc, 'Kbuild'))) && !(await exists(join(moduleSrc, 'Makefile')))) {
      throw new UsageError(`--module-src ${moduleSrc}: no Kbuild or Makefile there; point it at a copy of kernel/newtcp`);
    }
    const mod = await phase('module-build', () => buildModule(moduleSrc, kernel, cache, buildLog), (m) => (m.cached ? 'cached' : undefined));

    const suitesDir = join(repoRoot, 'suites');
    const sources = [suitesDir, ...plan.suiteDirs];
    const binaries = await phase('suite-build', () => buildSuites(suitesDir, sources, join(cache, 'suites-bin'), buildLog));
    const specs: SuiteSpec[] = await Promise.all(binaries.map(async (b) => ({ name: b.name, binary: b.path, manifest: await readManifest(b.sourceDir) })));
    const selected = selectSuites(specs, { only: plan.only, tags: plan.tags, repeat: plan.repeat });
    if (!selected.length) throw new UsageError('no suite selected: check --suite and --tag');
    const labSize: 1 | 2 = selected.some((s) => s.manifest.guests === 2) ? 2 : 1;

    const { initrd, bootKernel, keys } = await phase('image-build', async () => {
      const keys = await makeRunKeys(join(dir, 'guest'));
      await writeFile(join(dir, 'guest', 'id_ed25519'), keys.clientPrivate, { mode: 0o600 });
      await writeFile(join(dir, 'guest', 'known_host_key.pub'), `${keys.hostPublicLine}\n`);
      const image = await buildInitramfs({
        rootfsDir: join(repoRoot, 'images', 'rootfs'),
        modulesDir: kernel.modulesDir,
        bootModules: ['e1000', ...new Set(selected.flatMap((s) => s.manifest.modules))],
        busybox: '/bin/busybox',
        dropbear: '/usr/sbin/dropbear',
        newtcpKo: mod.ko,
        tools: await resolveTools(selected),
        suites: selected.map((s) => ({ name: s.name, path: s.binary })),
        hostKey: keys.hostKey,
        authorizedKey: keys.clientPublicLine,
        settings: { mgmtMac: MGMT_MAC, mgmtAddr: '10.0.2.15/24', mgmtGateway: '10.0.2.2' },
      });
      const path = join(dir, 'guest', 'initramfs.cpio.gz');
      await writeFile(path, image.gz);
      return { initrd: path, bootKernel: await bootableKernel(kernel.image, cache), keys };
    });

    const accel = await phase('accel-probe', () => chooseAccel(plan.accel, { qemu: QEMU, kernel: bootKernel.path, cacheDir: cache, probeLog: join(dir, 'kvm-probe.log') }), (a) => a.accel);
    run.accelerator = accel.accel;
    run.accelReason = accel.reason;
    if (accel.accel === 'tcg' && plan.accel === 'auto') bus.emit({ type: 'notice', message: accel.reason });

    const lab = new Lab(labSize, { kernel: bootKernel.path, initrd, accel: accel.accel, memoryMiB: plan.memoryMiB, cpus: plan.cpus, keys, dir, timeoutMs: plan.bootTimeoutMs });
    live.lab = lab;
    const kernelFormat = bootKernel.pvh ? 'PVH vmlinux' : 'bzImage';
    const timings = await phase('boot', () => lab.boot(), () => `${kernelFormat}${labSize > 1 ? ', 2 guests' : ''}`);
    run.boot = { ...timings, kernelFormat, guests: labSize };

    const runner = new SuiteRunner(lab, bus, { defaultTimeoutMs: plan.suiteTimeoutMs, resultsDir: dir, seed: plan.seed, testFilter: plan.testFilter });
    await phase('suites', async () => {
      run.guest = {};
      await runner.prepareGuests(run.guest);
      rounds: for (let round = 1; round <= plan.repeat; round++) {
        for (const suite of selected) {
          const name = roundName(suite.name, round, plan.repeat);
          const result = await runner.runSuite(suite, name);
          run.suites.push(result);
          run.phases[`suite:${name}`] = result.durationMs;
          await writeResults(run, dir);
          if (result.status === 'error') {
            // The guest crashed or hung: a fresh one takes over for the suites that remain.
            bus.emit({ type: 'notice', message: `suite ${name} crashed; rebooting the guest${labSize > 1 ? 's' : ''} for the next suite` });
            await saveCrashConsole(dir, lab, `crash-${name}`);
            const reboot = Date.now();
            await lab.reboot();
            run.phases[`reboot:${name}`] = Date.now() - reboot;
            await runner.prepareGuests({});
          }
        }
        if (plan.untilFail && run.suites.some((s) => s.status !== 'pass')) {
          bus.emit({ type: 'notice', message: `--until-fail: round ${round} failed; stopping` });
          break rounds;
        }
      }
      await saveDmesg(dir, lab);
      await runner.unloadModules(run.guest);
    });
  } catch (err) {
    run.infraError = errorMessage(err);
    if (err instanceof InfraError && err.detail) run.infraError += `\n${err.detail}`;
  } finally {
    const start = Date.now();
    const { lab } = live;
    if (lab) {
      if (!(await exists(join(dir, 'dmesg.txt')))) await saveDmesg(dir, lab).catch(() => undefined);
      await lab.shutdown();
      run.phases.shutdown = Date.now() - start;
    }
  }

  const counts = countTests(run);
  const failedSuites = run.suites.filter((s) => s.status !== 'pass').length;
  const crashed = run.suites.filter((s) => s.status === 'error').map((s) => s.name);
  if (crashed.length && !run.infraError) run.infraError = `the guest crashed during ${crashed.join(', ')} (the remaining suites ran on a fresh guest)`;
  run.exitCode = run.infraError ? 2 : failedSuites ? 1 : 0;
  run.status = run.infraError ? 'error' : failedSuites ? 'fail' : 'pass';
  await writeResults(run, dir);
  await linkLatest(dir);

  const summary: string[] = [];
  if (run.kernel) {
    const boot = run.phases.boot !== undefined ? ` · boot to SSH ${(run.phases.boot / 1000).toFixed(1)} s` : '';
    summary.push(`kernel ${run.kernel.release} · ${run.accelerator ?? 'no accel chosen'}${boot}`);
  }
  for (const s of run.suites) {
    const passed = s.tests.filter((t) => t.status === 'pass').length;
    summary.push(`  ${s.status === 'pass' ? '✓' : '✗'} ${s.name}: ${passed}/${s.tests.length} passed in ${(s.durationMs / 1000).toFixed(1)} s${s.errors.length ? ` — ${s.errors.join('; ')}` : ''}`);
    for (const k of s.kernelFindings.slice(0, 5)) summary.push(`      kernel: ${k}`);
  }
  if (run.infraError) {
    const [first, ...detail] = run.infraError.split('\n');
    summary.push(`error: ${first}`);
    if (detail.length) summary.push(`  ${detail.slice(-8).join('\n  ')}`, `  (full detail in ${join(dir, 'results.json')} and console.log)`);
  }
  summary.push(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  summary.push(`results: ${dir} (exit ${run.exitCode})`);
  bus.emit({ type: 'run-ended', exitCode: run.exitCode, resultsDir: dir, summary });
  return { exitCode: run.exitCode, run, dir };
}

/** The guests' kernel logs at the end of the run: dmesg.txt, dmesg-guest2.txt. */
async function saveDmesg(dir: string, lab: Lab, prefix = 'dmesg'): Promise<void> {
  for (const g of lab.guests) {
    const suffix = g.index === 1 ? '' : `-${g.name}`;
    const d = g.vm.running ? await g.ssh.exec('dmesg', { timeoutMs: 5000 }) : undefined;
    const text = d?.code === 0 ? d.stdout : `(guest unreachable; console tail)\n${g.vm.consoleTail(200)}\n`;
    await writeFile(join(dir, `${prefix}${suffix}.txt`), text);
  }
}

/** What the crashed guest's console showed, kept before the reboot replaces the guest. */
async function saveCrashConsole(dir: string, lab: Lab, name: string): Promise<void> {
  await writeFile(join(dir, `${name}.console.txt`), `${lab.consoleTail(300)}\n`);
}

/** The host programs the selected suites' manifests ask for, found on PATH. */
async function resolveTools(suites: SuiteSpec[]): Promise<string[]> {
  const names = [...new Set(suites.flatMap((s) => s.manifest.tools))];
  const dirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')];
  const found: string[] = [];
  for (const name of names) {
    let path: string | undefined;
    for (const dir of dirs) {
      if (dir && (await exists(join(dir, name)))) {
        path = join(dir, name);
        break;
      }
    }
    const owner = suites.find((s) => s.manifest.tools.includes(name))?.name;
    if (!path) throw new UsageError(`suite ${owner}: tool '${name}' (suite.json "tools") is not installed on this machine; install the package that provides it (tc: iproute2)`);
    found.push(path);
  }
  return found;
}
