// The kernel built from source that CI covers: 6.1-debug, Debian's 6.1 with the 6.1 series
// (AF_INET_NEW_TCP at its real number, 46, NEW_TCP in tree, its uapi headers installed) and
// KASAN, lockdep, kmemleak, UBSAN; built (or found), then the smoke suites on it. Only this one:
// each source kernel costs a fresh machine about half an hour of one core, and a fresh CI was
// CPU-bound (99 CPU-min on 2 cores, 53 min) with 6.1-patched built beside it. 6.1-patched is
// the same series and in-tree module without the debug options; it builds on demand.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { type Built, kernelBuild, qemuLeftBehind, readResults, runSockvm } from './helpers.js';

const TARGETS = ['6.1-debug'];

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

await t.test('6.1-debug: the kernel built (or found), then its smoke suites green at family 46', async (t) => {
  await Promise.all(
    TARGETS.map(async (name) => {
      const [b] = await kernelBuild([name]);
      t.equal(b?.target, name);
      t.ok(b && existsSync(b.image), `${name}: ${b?.image}`);
      t.match(b?.provenance?.cacheKey ?? '', /^[0-9a-f]{24}$/, `${name}: cache key`);
      t.comment(`${name}: ${b?.cached ? 'cache hit' : `built in ${b?.provenance?.buildSeconds} s`}`);
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
      const autoload = run.suites.find((s) => s.name === 'autoload')?.tests ?? [];
      t.ok(
        autoload.length > 0 && autoload.every((x) => x.status === 'pass'),
        `${name}: socket(46) loaded the module by its alias (autoload passed, not skipped)`,
      );
      const create = readFileSync(join(r.resultsRoot, 'latest', results.matrix ? name : '', 'create.tap'), 'utf8');
      t.match(create, /registered the default family 46 \(the kernel's AF_INET_NEW_TCP\)/, `${name}: create says which number it used`);
      if (name === '6.1-debug') t.same(run.guest?.kmemleak, [], 'kmemleak scanned after the suites: nothing');
      t.same(qemuLeftBehind(r.resultsRoot), [], `${name}: no QEMU left`);
    }),
  );
});

await t.test('a kernel built once is a cache hit', async (t) => {
  t.same(
    (await kernelBuild(TARGETS)).map((b) => b.cached),
    TARGETS.map(() => true),
  );
});
