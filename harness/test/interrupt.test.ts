// A signal at every phase a run can reach here: the run stops within 5 s with 130/143, writes
// its results (marked interrupted), and leaves no process (make, gcc, QEMU, their groups) and no
// temp dir behind. The CLI runs as a child with --progress json; each case waits for its phase.
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { SockvmEvent } from '../src/events.js';
import type { RunResult } from '../src/results/model.js';
import { cacheRoot, repoRoot } from '../src/util/paths.js';
import { emptyTrash } from '../src/util/trash.js';
import { cliArgv, onProgressEvents, qemuLeftBehind, readResults } from './helpers.js';
import { ProcessWatch } from './processes.js';

interface Interrupted {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  events: SockvmEvent[];
  resultsRoot: string;
  /** From the signal to the exit. */
  exitMs: number;
  /** The run's child processes still alive 5 s after the signal (when it had not exited yet). */
  after5s: string[];
  left: string[];
  /** The run's processes still alive now. */
  leftNow: () => string[];
  tmp: string;
  pid: number;
}

/**
 * Runs `sockvm run args --progress json` and sends `sig` when `when` first says so (it sees each
 * event, and is polled with the live descendants).
 */
function interruptRun(
  args: string[],
  sig: NodeJS.Signals,
  when: (e: SockvmEvent | undefined, descendants: string[]) => number | undefined,
  twice = false,
  env: Record<string, string> = {},
): Promise<Interrupted> {
  const resultsRoot = mkdtempSync(join(tmpdir(), 'sockvm-int-'));
  // The run's own temp dir: whatever it leaves there is a leftover.
  const tmp = mkdtempSync(join(tmpdir(), 'sockvm-int-tmp-'));
  return new Promise((resolve) => {
    const child = spawn(...cliArgv(['run', '--results-dir', resultsRoot, '--progress', 'json', ...args]), {
      env: { ...process.env, CI: 'true', TMPDIR: tmp, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const watch = new ProcessWatch(child.pid as number);
    let output = '';
    const events: SockvmEvent[] = [];
    let sentAt = 0;
    let after5s: string[] = [];
    const send = (delayMs: number | undefined): void => {
      if (sentAt || delayMs === undefined) return;
      sentAt = -1;
      setTimeout(() => {
        sentAt = Date.now();
        child.kill(sig);
        setTimeout(() => (after5s = watch.sample().map((p) => `${p.pid} ${p.cmd}`)), 5000).unref();
        if (twice) setTimeout(() => child.kill(sig), 50);
      }, delayMs);
    };
    onProgressEvents(
      child.stderr,
      (text) => (output += text),
      (e) => {
        events.push(e);
        send(when(e, []));
      },
    );
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const poll = setInterval(
      () =>
        send(
          when(
            undefined,
            watch.sample().map((p) => p.cmd),
          ),
        ),
      100,
    );
    child.on('exit', (code, signal) => {
      const exitMs = Date.now() - sentAt;
      clearInterval(poll);
      watch.stop();
      // Anything the run started must be gone by the time it exited (a moment for the kernel to reap).
      setTimeout(
        () =>
          resolve({
            code,
            signal,
            output,
            events,
            resultsRoot,
            exitMs,
            after5s,
            left: watch.left(),
            leftNow: () => watch.left(),
            tmp,
            pid: child.pid as number,
          }),
        200,
      );
    });
  });
}

const phaseStarted =
  (phase: string) =>
  (e: SockvmEvent | undefined): boolean =>
    e?.type === 'phase-started' && e.phase === phase;

/** Cache entries being filled by process `pid` (<entry>.tmp-<pid>): an interrupted fill leaves none. */
function cacheTemps(pid: number): string[] {
  const out: string[] = [];
  for (const kind of ['kernel', 'module', 'tracer', 'vmlinux', 'suites-bin']) {
    const dir = join(cacheRoot(), kind);
    if (existsSync(dir))
      out.push(
        ...readdirSync(dir)
          .filter((n) => n.endsWith(`.tmp-${pid}`))
          .map((n) => join(dir, n)),
      );
  }
  return out;
}

/** The checks every phase shares; returns the target's results (none when no target started). */
function checkInterrupted(t: Test, r: Interrupted, sig: NodeJS.Signals, phase: string, exitLimitMs = 5000): RunResult | undefined {
  const code = sig === 'SIGINT' ? 130 : 143;
  t.equal(r.signal, null, 'exited by itself, not killed by the signal');
  t.equal(r.code, code, `exit ${code} (output tail: ${r.output.slice(-800)})`);
  t.ok(r.exitMs < exitLimitMs, `${phase}: exited ${r.exitMs} ms after ${sig}`);
  t.same(r.after5s, [], 'every process of the run ended within 5 s of the signal');
  t.comment(`${phase}: exit ${r.exitMs} ms after ${sig}`);
  const file = join(r.resultsRoot, 'latest', 'results.json');
  t.ok(existsSync(file), 'results.json written');
  // Validated against the schema: an interrupted run writes the same shape as any other.
  const res = readResults(r.resultsRoot);
  t.equal(res.exitCode, code, 'results.json records the exit code');
  t.ok(res.targets.length <= 1, 'one target at most (the run has no --target)');
  for (const target of res.targets) t.equal(target.exitCode, code, `${target.target}'s results record the exit code`);
  const text = JSON.stringify(res);
  t.match(text, new RegExp(`interrupted by ${sig}`), 'marked interrupted');
  t.same(r.left, [], 'no process of the run left');
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left');
  t.same(readdirSync(r.tmp), [], 'no temp dir of the run left');
  t.same(cacheTemps(r.pid), [], 'no half-filled cache entry left');
  return res.targets[0];
}

await t.test('plan', async (t) => {
  const r = await interruptRun(['--suite', 'create'], 'SIGINT', (e) => (phaseStarted('plan')(e) ? 0 : undefined));
  checkInterrupted(t, r, 'SIGINT', 'plan');
  t.notOk(r.events.some(phaseStarted('suite-build')), 'nothing built after the plan');
});

await t.test('suite build', async (t) => {
  const r = await interruptRun(['--suite', 'create'], 'SIGTERM', (e) => (phaseStarted('suite-build')(e) ? 0 : undefined));
  checkInterrupted(t, r, 'SIGTERM', 'suite build');
  t.notOk(r.events.some(phaseStarted('kernel')), 'no target started');
});

const sourceDir = join(cacheRoot(), 'kernel-source');
const tarball = (existsSync(sourceDir) ? readdirSync(sourceDir) : [])
  .map((d) => join(sourceDir, d, 'usr', 'src', 'linux-source-6.1.tar.xz'))
  .find((p) => existsSync(p));

/**
 * A config file whose one target, `name`, builds the tarball with a LOCALVERSION of its own: a
 * fresh cache key, so the build always starts (and, interrupted, never ends). Removed after `t`.
 */
function freshSourceConfig(t: Test, source: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-int-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'sockvm.config.json');
  const extra = [`CONFIG_LOCALVERSION="-${name}${process.pid}${Date.now()}"`];
  writeFileSync(config, JSON.stringify({ targets: { [name]: { kernel: { source, series: '6.1', config: ['guest', 'net', 'newtcp'], extra } } } }));
  return config;
}

await t.test(
  'kernel build (a source kernel from a local tarball, a cache key of its own): make killed at once',
  { skip: tarball ? false : 'no cached linux-source-6.1.tar.xz (a 6.1-patched run unpacks it)' },
  async (t) => {
    if (!tarball) return;
    const config = freshSourceConfig(t, tarball, 'sigkernel');
    // The kernel's make (in <cache>/kernel/<key>.tmp-<pid>/tree), not the suites' make before it.
    const kernelMake = /\bmake -C \S*\/kernel\/\S*\.tmp-\d+\/tree\b/;
    const r = await interruptRun(['--config', config, '--suite', 'create'], 'SIGTERM', (_e, procs) => (procs.some((c) => kernelMake.test(c)) ? 0 : undefined));
    // make and gcc end within 5 s, and the exit does not wait for the half-built tree (1.5 GB,
    // ~75k files; 7–10 s to remove on a busy disk): it is renamed into the cache's trash.
    const res = checkInterrupted(t, r, 'SIGTERM', 'kernel build');
    t.ok(r.events.some(phaseStarted('kernel')), 'the kernel phase had started');
    t.notOk(
      r.events.some((e) => e.type === 'phase-ended' && e.phase === 'kernel'),
      'the kernel build never finished',
    );
    t.notMatch(JSON.stringify(res), /make .* failed/, 'the killed make is reported as the interrupt, not as a build failure');
    const entries = readdirSync(join(cacheRoot(), 'kernel')).filter((n) => n.includes(`.tmp-${r.pid}`));
    t.same(entries, [], 'no kernel build dir left in the cache');
    // The tree waits in the trash for the next build or `cache prune`; this test empties it now.
    const trash = join(cacheRoot(), 'trash');
    const trashed = readdirSync(trash).filter((n) => n.endsWith(`.tmp-${r.pid}`));
    t.equal(trashed.length, 1, 'the build tree went to the trash');
    const removed = await emptyTrash(cacheRoot());
    t.ok(
      trashed.every((n) => removed.includes(n) && !existsSync(join(trash, n))),
      'emptyTrash removes it (its process is gone)',
    );
  },
);

await t.test(
  'kernel source unpack (tar of the same local tarball): tar killed, the partial tree removed',
  { skip: tarball ? false : 'no cached linux-source-6.1.tar.xz (a 6.1-patched run unpacks it)' },
  async (t) => {
    if (!tarball) return;
    const config = freshSourceConfig(t, tarball, 'sigtar');
    const r = await interruptRun(['--config', config, '--suite', 'create'], 'SIGINT', (_e, procs) =>
      procs.some((c) => c.startsWith('tar -xf ') && c.includes('linux-source-6.1.tar.xz')) ? 500 : undefined,
    );
    checkInterrupted(t, r, 'SIGINT', 'kernel source unpack');
    t.notOk(
      r.events.some((e) => e.type === 'phase-ended' && e.phase === 'kernel'),
      'the kernel never finished',
    );
    // The partial tree went to the trash (see the kernel build case); not left for the next build.
    await emptyTrash(cacheRoot());
  },
);

await t.test('download (a Debian kernel with no apt lists yet: apt-get update is killed as it starts)', async (t) => {
  // A cache of its own that shares everything built (suites, modules, tracer, vmlinux) but has
  // no apt state and no Debian kernels: the bookworm kernel must be downloaded. The signal goes
  // as apt-get starts, so at most a few index files come down.
  const xdg = cacheWithout(t, ['apt', 'debian']);
  const r = await interruptRun(
    ['--target', 'debian-6.1', '--suite', 'create'],
    'SIGTERM',
    (_e, procs) => (procs.some((c) => /^apt-get /.test(c)) ? 0 : undefined),
    false,
    { XDG_CACHE_HOME: xdg },
  );
  checkInterrupted(t, r, 'SIGTERM', 'download');
  t.notOk(
    r.events.some((e) => e.type === 'phase-ended' && e.phase === 'kernel'),
    'the kernel was never prepared',
  );
  t.notOk(
    existsSync(join(xdg, 'sockvm', 'debian', 'bookworm')) && readdirSync(join(xdg, 'sockvm', 'debian', 'bookworm')).length > 0,
    'no Debian kernel entry made',
  );
});

/**
 * A cache of its own (under the test's temp dir, removed after `t`) that shares every entry of the
 * real one (symlinks) except `missing`, which the run must then make itself.
 */
function cacheWithout(t: Test, missing: string[]): string {
  const xdg = mkdtempSync(join(tmpdir(), 'sockvm-int-xdg-'));
  mkdirSync(join(xdg, 'sockvm'));
  for (const name of readdirSync(cacheRoot())) if (!missing.includes(name)) symlinkSync(join(cacheRoot(), name), join(xdg, 'sockvm', name));
  t.teardown(() => rmSync(xdg, { recursive: true, force: true }));
  return xdg;
}

await t.test('chroot (debootstrap of the trixie toolchain for debian-6.12, in a cache without chroots): its whole tree of processes killed', async (t) => {
  // Private locks too: the real cache's toolchain lock stays free for other runs.
  const xdg = cacheWithout(t, ['toolchain', 'locks']);
  let sawChildren = false;
  const r = await interruptRun(
    ['--target', 'debian-6.12', '--suite', 'create'],
    'SIGINT',
    (_e, procs) => {
      // Once debootstrap has children of its own (wget, dpkg, …): the whole tree must go.
      const boot = procs.some((c) => /\bdebootstrap\b/.test(c));
      const children = procs.filter((c) => /^(wget|dpkg|dpkg-deb|tar|ar|gpgv|zstd|xz|perl|chroot) /.test(c));
      if (boot && children.length && !sawChildren) t.comment(`signalled with ${children.map((c) => c.split(' ')[0]).join(', ')} running`);
      sawChildren ||= boot && children.length > 0;
      return sawChildren ? 0 : undefined;
    },
    false,
    { XDG_CACHE_HOME: xdg },
  );
  checkInterrupted(t, r, 'SIGINT', 'chroot');
  t.ok(sawChildren, 'the signal came while debootstrap ran children');
  const toolchains = join(xdg, 'sockvm', 'toolchain');
  t.same(
    (existsSync(toolchains) ? readdirSync(toolchains) : []).filter((n) => !n.endsWith('.log')),
    [],
    'no chroot, whole or partial, left in the cache',
  );
  t.same(
    readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.includes(xdg)),
    [],
    "no mount of debootstrap's left",
  );
});

await t.test('module build (a Kbuild that takes a minute): make killed at once, no cache entry', async (t) => {
  const src = mkdtempSync(join(tmpdir(), 'sockvm-int-mod-'));
  cpSync(join(repoRoot, 'kernel', 'newtcp'), src, { recursive: true });
  const marker = `sockvm-int-build-${process.pid}`;
  appendFileSync(join(src, 'Kbuild'), `\n$(shell sh -c 'sleep 60; true' ${marker})\n`);
  const r = await interruptRun(['--suite', 'create', '--module-src', src], 'SIGINT', (_e, procs) => (procs.some((c) => c.includes(marker)) ? 0 : undefined));
  checkInterrupted(t, r, 'SIGINT', 'module build');
  t.ok(r.events.some(phaseStarted('module-build')), 'the module phase had started');
});

await t.test('image build', async (t) => {
  const r = await interruptRun(['--suite', 'create'], 'SIGTERM', (e) => (phaseStarted('image-build')(e) ? 0 : undefined));
  checkInterrupted(t, r, 'SIGTERM', 'image build');
  t.notOk(r.events.some(phaseStarted('boot')), 'no guest booted');
});

await t.test('boot', async (t) => {
  const r = await interruptRun(['--suite', 'create'], 'SIGINT', (e) => (phaseStarted('boot')(e) ? 1000 : undefined));
  checkInterrupted(t, r, 'SIGINT', 'boot');
  t.ok(existsSync(join(r.resultsRoot, 'latest', 'console.log')), 'QEMU had started booting');
});

await t.test('suite (two guests: the wire suite)', async (t) => {
  const r = await interruptRun(['--suite', 'create', '--suite', 'wire'], 'SIGTERM', (e) =>
    e?.type === 'suite-started' && e.suite === 'wire' ? 1000 : undefined,
  );
  const res = checkInterrupted(t, r, 'SIGTERM', 'suite');
  t.equal(res?.suites.find((s) => s.name === 'create')?.status, 'pass', 'the suite that finished stays');
  t.notOk(
    res?.suites.some((s) => s.status === 'error'),
    'the interrupted suite is not reported as a crash',
  );
  t.notMatch(r.output, /suite wire: FAIL/, 'the interrupted suite is not reported as failed');
  t.notMatch(r.output, /rebooting the guest/, 'no guest booted again for the interrupted suite');
});

await t.test('shutdown', async (t) => {
  const r = await interruptRun(['--suite', 'create'], 'SIGINT', (e) => (phaseStarted('shutdown')(e) ? 0 : undefined));
  const res = checkInterrupted(t, r, 'SIGINT', 'shutdown');
  t.equal(res?.suites.find((s) => s.name === 'create')?.status, 'pass', 'the suite that ran stays');
});

await t.test('a second signal exits at once, and takes QEMU with it', async (t) => {
  const r = await interruptRun(['--suite', 'create'], 'SIGINT', (e) => (phaseStarted('boot')(e) ? 1000 : undefined), true);
  t.equal(r.code, 130, r.output.slice(-800));
  // 180–530 ms alone here, 1.1 s once at load 4.7: the bound is well under the first signal's 5 s.
  t.ok(r.exitMs < 2000, `exited ${r.exitMs} ms after the first signal`);
  t.comment(`second signal: exit ${r.exitMs} ms after the first`);
  // Exiting at once leaves QEMU to die with us (setpriv --pdeathsig KILL): a moment later.
  let left = r.leftNow();
  const start = Date.now();
  while (left.length && Date.now() - start < 3000) {
    await new Promise((res) => setTimeout(res, 100));
    left = r.leftNow();
  }
  t.same(left, [], `no process of the run left (${Date.now() - start} ms after the exit)`);
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left');
});
