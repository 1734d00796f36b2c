// Suite names are data: a --suites-dir entry named with shell or make syntax is refused before
// make runs (it used to run as a root shell command on the host), and a user suite may not
// shadow a built-in one.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { buildSuites, discoverSuites } from '../src/build/suites.js';
import { UsageError } from '../src/util/errors.js';
import { repoRoot } from '../src/util/paths.js';

const base = mkdtempSync(join(tmpdir(), 'sockvm-names-'));
const suitesDir = join(repoRoot, 'suites');

function userSuites(dirName: string, file = 'x.c'): string {
  const dir = mkdtempSync(join(base, 'user-'));
  mkdirSync(join(dir, dirName));
  writeFileSync(join(dir, dirName, file), 'int main(void) { return 0; }\n');
  return dir;
}

await t.test('shell and make syntax in a suite directory or source name never reaches make', async (t) => {
  // make runs in suites/: a command that got through would leave suites/sockvm-pwned.
  const sentinel = join(suitesDir, 'sockvm-pwned');
  for (const name of ['a`touch sockvm-pwned`b', 'a$(touch sockvm-pwned)', 'a;touch sockvm-pwned', 'a b', '-rf', '.hidden']) {
    const dir = userSuites(name);
    await t.rejects(
      buildSuites(suitesDir, [dir], join(base, 'out'), join(base, 'build.log'), new AbortController().signal),
      UsageError,
      `refused: ${JSON.stringify(name)}`,
    );
  }
  const dir = userSuites('ok', 'x$(shell touch sockvm-pwned).c');
  await t.rejects(discoverSuites(dir), /source file name may hold only/);
  t.notOk(existsSync(sentinel), 'nothing was executed');
});

await t.test('a user suite named like a built-in one is refused, naming both places', async (t) => {
  const dir = userSuites('create');
  await t.rejects(
    buildSuites(suitesDir, [suitesDir, dir], join(base, 'out'), join(base, 'build.log'), new AbortController().signal),
    /suite 'create' is in both/,
  );
});

await t.test('plain names are accepted', async (t) => {
  t.same(await discoverSuites(userSuites('my_suite-2.v1')), ['my_suite-2.v1']);
});
