// The kernel matrix: the Debian targets of sockvm.config.json (5.10, 6.1, 6.12, 7.2), each with
// its own toolchain, the smoke suites on each, one verdict. A Debian kernel of the same release as
// the host target's (the installed linux-image-amd64, today debian-6.1's) is not booted again:
// e2e runs the whole programme on it.
import t from 'tap';
import { join } from 'node:path';
import { kernelBuild, qemuLeftBehind, readResults, runSockvm } from './helpers.js';

const DEBIAN = ['debian-5.10', 'debian-6.1', 'debian-6.12', 'debian-7.2'];
const kernels = await kernelBuild(['host', ...DEBIAN]);
const hostRelease = kernels.find((k) => k.target === 'host')?.release;
const TARGETS = DEBIAN.filter((name) => kernels.find((k) => k.target === name)?.release !== hostRelease);

await t.test('a matrix run covers the smoke suites on every Debian kernel and gives one verdict', async (t) => {
  t.ok(TARGETS.length >= 3, `the Debian kernels besides the host's: ${TARGETS.join(', ')}`);
  // Three at once: the smoke suites mostly wait (timeouts, handshakes), and two of the guests
  // have one vCPU (tcgCpus), so three share the two cores.
  const r = await runSockvm([...TARGETS.flatMap((x) => ['--target', x]), '--tag', 'smoke', '--jobs', '3']);
  t.equal(r.code, 0, r.output);
  const run = readResults(r.resultsRoot);
  t.equal(run.matrix, true, "each target's files in a directory of its own");
  t.same(
    run.targets.map((x) => x.target),
    TARGETS,
  );
  const series = { 'debian-5.10': /^5\.10\./, 'debian-6.1': /^6\.1\./, 'debian-6.12': /^6\.12\./, 'debian-7.2': /^7\.2\./ } as Record<string, RegExp>;
  for (const target of run.targets) {
    const name = target.target ?? '?';
    t.equal(target.status, 'pass', `${name} green`);
    t.ok(
      target.suites.length > 0 && target.suites.every((s) => s.status === 'pass'),
      `${name}: ${target.suites.map((s) => `${s.name}=${s.status}`).join(' ')}`,
    );
    t.equal(target.guest?.e1000Bound, true, `${name}: SSH over e1000`);
    t.match(target.kernel?.release ?? '', series[name] ?? /^$/, `${name} booted its own kernel`);
    t.ok(
      (target.packages ?? []).some((p) => /^linux-image-/.test(p.name)),
      `${name}: package versions recorded`,
    );
    t.ok(target.toolchain?.reason, `${name}: toolchain and why recorded`);
    t.same(
      readResults(r.resultsRoot, join('latest', name, 'results.json')).targets.map((x) => x.target),
      [name],
      `${name}/results.json written, valid, its own target only`,
    );
  }
  t.match(r.output, /target\s+kernel\s+.*verdict/);
  t.same(qemuLeftBehind(r.resultsRoot), []);
});
