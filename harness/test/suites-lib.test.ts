// suites/lib's test runner on the build host: its own selftest (passing, failing, hung, crashing,
// filtered and unkillable tests) built with the suites' Makefile and run as a TAP stream.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTap } from '../src/results/tap-parser.js';
import { repoRoot } from '../src/util/paths.js';

await t.test('suites/lib selftest: every check of the runner passes', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'sockvm-libselftest-'));
  const suites = join(repoRoot, 'suites');
  execFileSync('make', ['-s', '-C', suites, `SRC=${join(suites, 'lib')}`, `OUT=${out}`], { stdio: 'pipe' });
  const r = spawnSync(join(out, 'selftest'), { encoding: 'utf8', timeout: 120000 });
  const tap = parseTap(r.stdout);
  if (r.status !== 0) t.comment(r.stdout + r.stderr);
  t.equal(r.status, 0, 'the selftest exits 0');
  t.ok(tap.plan && tap.plan.end >= 25, `a plan of ${tap.plan?.end} checks`);
  t.same(
    tap.tests.filter((x) => x.status !== 'pass').map((x) => x.name),
    [],
    'no check failed',
  );
  t.equal(tap.tests.length, tap.plan?.end, 'every planned check reported');
});
