// Kernels built from source, as CI covers them: 6.1-debug (KASAN, lockdep, kmemleak, UBSAN) and
// 6.1-patched (AF_INET_NEW_TCP at its real number, 46) each run the smoke suites as soon as its
// kernel is there, side by side. On a first run (.ci/run builds the debug kernel first: the
// longer build and the slower smoke) the debug smoke overlaps the other build; on a warm cache
// the two smokes overlap each other. Every later build is a cache hit.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { type Built, kernelBuild, qemuLeftBehind, readResults, runSockvm } from './helpers.js';

const TARGETS = ['6.1-debug', '6.1-patched'];

const solNewtcp = (text: string): string | undefined => /^#define SOL_NEWTCP\s+(\d+)/m.exec(text)?.[1];
const repoSol = solNewtcp(readFileSync(join(repoRoot, 'kernel', 'newtcp', 'include', 'uapi', 'linux', 'newtcp.h'), 'utf8'));

/** The patched tree names SOL_NEWTCP as the module does, and exports NEW_TCP's uapi headers. */
function checkUapi(t: Test, name: string, b: Built): void {
  t.equal(
    solNewtcp(readFileSync(join(b.buildDir, 'include', 'linux', 'socket.h'), 'utf8')),
    repoSol,
    `${name}: include/linux/socket.h has SOL_NEWTCP ${repoSol}, as uapi/linux/newtcp.h`,
  );
  const uapi = b.uapiHeaders ?? '';
  t.ok(existsSync(join(uapi, 'linux', 'newtcp.h')), `${name}: make headers_install exported linux/newtcp.h (${uapi})`);
  // A user program builds against the installed headers alone, as against a distro's.
  const program = `#include <netinet/in.h>
#include <linux/newtcp.h>
#include <linux/newtcp_diag.h>
_Static_assert(SOL_NEWTCP == ${repoSol}, "SOL_NEWTCP");
_Static_assert(sizeof(struct sockaddr_newtcp) == sizeof(struct sockaddr_in), "layout");
`;
  t.doesNotThrow(
    () => execFileSync('cc', ['-fsyntax-only', '-Wall', '-Werror', '-isystem', uapi, '-x', 'c', '-'], { input: program, stdio: ['pipe', 'pipe', 'pipe'] }),
    `${name}: a program builds on the installed linux/newtcp.h`,
  );
}

const releases: string[] = [];
await t.test('6.1-debug and 6.1-patched: each kernel built (or found), then its smoke suites green at family 46', async (t) => {
  await Promise.all(
    TARGETS.map(async (name) => {
      const [b] = await kernelBuild([name]);
      t.equal(b?.target, name);
      t.ok(b && existsSync(b.image), `${name}: ${b?.image}`);
      t.match(b?.provenance?.cacheKey ?? '', /^[0-9a-f]{24}$/, `${name}: cache key`);
      t.comment(`${name}: ${b?.cached ? 'cache hit' : `built in ${b?.provenance?.buildSeconds} s`}`);
      releases.push(b?.release ?? '');
      if (b) checkUapi(t, name, b);

      const r = await runSockvm(['--target', name, '--tag', 'smoke']);
      t.equal(r.code, 0, r.output);
      const results = readResults(r.resultsRoot);
      const [run] = results.targets;
      if (!run) return t.fail(`${name}: no target in results.json`);
      t.equal(run.target, name);
      t.equal(run.status, 'pass', `${name} green`);
      t.match(run.kernel?.release ?? '', /^6\.1\.\d+-sockvm-[0-9a-f]{8}$/, `${name} booted the kernel it built`);
      t.equal(run.kernel?.release, b?.release, `${name}: the release kernel build reported`);
      t.equal(run.provenance?.series?.name, '6.1', `${name}: series recorded`);
      t.equal(run.guest?.family, 46, `${name}: the module took the kernel's AF_INET_NEW_TCP`);
      const create = readFileSync(join(r.resultsRoot, 'latest', results.matrix ? name : '', 'create.tap'), 'utf8');
      t.match(create, /registered the default family 46 \(the kernel's AF_INET_NEW_TCP\)/, `${name}: create says which number it used`);
      if (name === '6.1-debug') t.same(run.guest?.kmemleak, [], 'kmemleak scanned after the suites: nothing');
      t.same(qemuLeftBehind(r.resultsRoot), [], `${name}: no QEMU left`);
    }),
  );
});

await t.test('each configuration has its own release, and a kernel built once is a cache hit', async (t) => {
  t.equal(new Set(releases).size, TARGETS.length, releases.join(' '));
  t.same(
    (await kernelBuild(TARGETS)).map((b) => b.cached),
    [true, true],
  );
});
