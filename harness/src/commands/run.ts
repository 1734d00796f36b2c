// `sockvm run`: kernel → module + suites → initramfs → VM → SSH → suites → results.
// Emits events and never prints; the caller attaches reporters.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModule } from '../build/module.js';
import { buildSuites, discoverSuites } from '../build/suites.js';
import type { RunPlan } from '../config/run-options.js';
import type { EventBus, Phase } from '../events.js';
import type { Guest } from '../guest/ssh.js';
import { buildInitramfs } from '../image/initramfs.js';
import { makeRunKeys } from '../image/keys.js';
import type { KernelArtifact } from '../kernel/artifact.js';
import { findHostKernel, userKernel } from '../kernel/host.js';
import { bootableKernel } from '../kernel/vmlinux.js';
import { countTests, type RunResult } from '../results/model.js';
import { linkLatest, writeResults } from '../results/writer.js';
import { SuiteRunner, checkE1000 } from '../suites/runner.js';
import { InfraError, UsageError, errorMessage } from '../util/errors.js';
import { cacheRoot, repoRoot } from '../util/paths.js';
import { chooseAccel } from '../vm/accel.js';
import { bootGuest, commandLine, MGMT_MAC, QEMU } from '../vm/boot.js';
import type { Vm } from '../vm/vm.js';
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
  const live: { vm?: Vm; guest?: Guest } = {};
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
    const mod = await phase('module-build', () => buildModule(join(repoRoot, 'kernel', 'newtcp'), kernel, cache, buildLog), (m) => (m.cached ? 'cached' : undefined));

    const suitesDir = join(repoRoot, 'suites');
    const sources = [suitesDir, ...plan.suiteDirs];
    const binaries = await phase('suite-build', () => buildSuites(suitesDir, sources, join(cache, 'suites-bin'), buildLog));
    for (const name of plan.only) {
      if (!binaries.some((b) => b.name === name)) {
        const known = (await Promise.all(sources.map(discoverSuites))).flat().join(', ');
        throw new UsageError(`--suite ${name}: no such suite (known: ${known})`);
      }
    }
    const selected = plan.only.length ? binaries.filter((b) => plan.only.includes(b.name)) : binaries;

    const { initrd, bootKernel, keys } = await phase('image-build', async () => {
      const keys = await makeRunKeys(join(dir, 'guest'));
      await writeFile(join(dir, 'guest', 'id_ed25519'), keys.clientPrivate, { mode: 0o600 });
      await writeFile(join(dir, 'guest', 'known_host_key.pub'), `${keys.hostPublicLine}\n`);
      const image = await buildInitramfs({
        rootfsDir: join(repoRoot, 'images', 'rootfs'),
        modulesDir: kernel.modulesDir,
        bootModules: ['e1000'],
        busybox: '/bin/busybox',
        dropbear: '/usr/sbin/dropbear',
        newtcpKo: mod.ko,
        suites: selected,
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

    live.guest = await phase(
      'boot',
      async () => {
        const booted = await bootGuest({
          kernel: bootKernel.path,
          initrd,
          accel: accel.accel,
          memoryMiB: plan.memoryMiB,
          cpus: plan.cpus,
          keys,
          dir,
          timeoutMs: plan.bootTimeoutMs,
          onVm: (vm) => (live.vm = vm),
        });
        run.boot = { ...booted.timings, kernelFormat: bootKernel.pvh ? 'PVH vmlinux' : 'bzImage' };
        return booted.guest;
      },
      () => (bootKernel.pvh ? 'PVH vmlinux' : 'bzImage'),
    );

    const g = live.guest;
    const v = live.vm as Vm; // set by the boot phase, which just succeeded
    const runner = new SuiteRunner(g, bus, {
      suites: selected.map((s) => s.name),
      suiteTimeoutMs: plan.suiteTimeoutMs,
      resultsDir: dir,
      mgmtMac: MGMT_MAC,
      guestGone: () => v.deathReason(),
      consoleTail: () => v.consoleTail(),
    });
    await phase('suites', async () => {
      run.guest = {};
      await checkE1000(g, MGMT_MAC, run.guest);
      await runner.loadModule(run.guest);
      for (const suite of selected) {
        const result = await runner.runSuite(suite.name);
        run.suites.push(result);
        run.phases[`suite:${suite.name}`] = result.durationMs;
        await writeResults(run, dir);
        if (result.status === 'error') throw new InfraError(`suite ${suite.name}: ${result.errors[0] ?? 'guest lost'}`, v.consoleTail());
      }
      await writeFile(join(dir, 'dmesg.txt'), await g.run('dmesg'));
      await runner.unloadModule(run.guest);
    });
  } catch (err) {
    run.infraError = errorMessage(err);
    if (err instanceof InfraError && err.detail) run.infraError += `\n${err.detail}`;
  } finally {
    const start = Date.now();
    const { vm, guest } = live;
    if (guest && vm?.running) {
      // Powered off politely when the guest still answers; QEMU is stopped regardless.
      if (!(await exists(join(dir, 'dmesg.txt')))) {
        const d = await guest.exec('dmesg', { timeoutMs: 5000 });
        if (d.code === 0) await writeFile(join(dir, 'dmesg.txt'), d.stdout);
      }
      void guest.exec('poweroff -f', { timeoutMs: 2000 });
      await Promise.race([vm.exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    guest?.close();
    if (vm) await vm.stop();
    if (vm) run.phases.shutdown = Date.now() - start;
    if (vm && !(await exists(join(dir, 'dmesg.txt')))) await writeFile(join(dir, 'dmesg.txt'), `(guest unreachable; console tail)\n${vm.consoleTail(200)}\n`);
  }

  const counts = countTests(run);
  const failedSuites = run.suites.filter((s) => s.status !== 'pass').length;
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
