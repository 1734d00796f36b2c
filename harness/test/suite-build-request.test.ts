// "build suites" builds only what the run selected: a run of one user suite compiles no built-in
// suite, a --suite subset only that subset; every name is still checked. The request is pure
// (suiteBuildRequests); buildSuites is then run for real with a user program suite selected next
// to the built-in C suites, which must not start make at all (before: every built-in suite was
// compiled, 19 of them, minutes of gcc on a cold cache).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildSuites, findSuites, suiteBuildRequests } from '../src/build/suites.js';
import { repoRoot } from '../src/util/paths.js';

const builtIn = join(repoRoot, 'suites');
const base = mkdtempSync(join(tmpdir(), 'sockvm-build-request-'));
t.teardown(() => rmSync(base, { recursive: true, force: true }));

/** A --suites-dir with one C suite `csuite` and one program suite `mine`. */
function userSuites(): string {
  const dir = mkdtempSync(join(base, 'user-'));
  mkdirSync(join(dir, 'csuite'));
  writeFileSync(join(dir, 'csuite', 'csuite.c'), 'int main(void) { return 0; }\n');
  mkdirSync(join(dir, 'mine'));
  writeFileSync(join(dir, 'mine', 'run.sh'), '#!/bin/sh\necho "1..1"\necho "ok 1 - mine"\n');
  chmodSync(join(dir, 'mine', 'run.sh'), 0o755);
  return dir;
}

await t.test('the request: only the selected suites, no directory without one', async (t) => {
  const user = userSuites();
  const found = await findSuites([builtIn, user]);
  const all = found.find((f) => f.src === builtIn)?.names ?? [];
  t.ok(all.length > 10, `${all.length} built-in suites found`);

  t.same(suiteBuildRequests(found, new Set(['mine'])), [{ src: user, compiled: [], programs: ['mine'] }], 'a user program suite alone: no built-in suite');
  t.same(
    suiteBuildRequests(found, new Set(['create', 'stream'])),
    [{ src: builtIn, compiled: ['create', 'stream'], programs: [] }],
    'a --suite subset: just those',
  );
  t.same(
    suiteBuildRequests(found, new Set(['csuite', 'create'])),
    [
      { src: builtIn, compiled: ['create'], programs: [] },
      { src: user, compiled: ['csuite'], programs: [] },
    ],
    'one of each directory: each directory builds its own',
  );
  t.same(suiteBuildRequests(found, new Set()), [], 'nothing selected: nothing built');
  const everything = suiteBuildRequests(found);
  t.same(
    everything.map((r) => [r.src, r.compiled.length + r.programs.length]),
    [
      [builtIn, all.length],
      [user, 2],
    ],
    'without a selection: everything found',
  );
});

await t.test('buildSuites with a user program suite selected: its driver, and make never runs', async (t) => {
  const user = userSuites();
  const log = join(base, 'build.log');
  const start = Date.now();
  const built = await buildSuites(builtIn, [builtIn, user], join(base, 'out'), log, new AbortController().signal, new Set(['mine']));
  t.comment(`built in ${Date.now() - start} ms`);
  t.same(
    built.map((b) => b.name),
    ['mine'],
    'only the selected suite',
  );
  t.notOk(existsSync(log), 'make never ran (no build.log)');
});

await t.test('a name that is not data is refused even when its suite is not selected', async (t) => {
  const user = userSuites();
  mkdirSync(join(user, 'bad name'));
  writeFileSync(join(user, 'bad name', 'x.c'), 'int main(void) { return 0; }\n');
  await t.rejects(
    buildSuites(builtIn, [builtIn, user], join(base, 'out2'), join(base, 'log2'), new AbortController().signal, new Set(['mine'])),
    /may hold only letters, digits/,
  );
});
