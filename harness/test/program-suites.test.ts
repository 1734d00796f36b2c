// Suites of ready-made programs (--suites-dir <dir>/<name>/ with executables or suite.json
// "programs"): found and checked with errors naming the file and key, their generated driver
// run for real by the host's sh and busybox sh (the guest's shell) over real scripts, and its
// KTAP parsed into the tests a run records.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { programDriver, programSuiteFiles, suitePrograms } from '../src/build/program-suites.js';
import { buildSuites, discoverSuiteKinds } from '../src/build/suites.js';
import { parseManifest, readManifest } from '../src/suites/manifest.js';
import { TapParser } from '../src/results/tap-parser.js';
import { judgeSuite } from '../src/results/verdict.js';
import { repoRoot } from '../src/util/paths.js';

const base = mkdtempSync(join(tmpdir(), 'sockvm-programs-'));
const never = new AbortController().signal;

/** A suites directory with one suite `name` holding `files` (name → [text, mode]). */
function suitesDir(name: string, files: Record<string, [string, number]>): string {
  const dir = mkdtempSync(join(base, 'user-'));
  mkdirSync(join(dir, name));
  for (const [file, [text, mode]] of Object.entries(files)) {
    const path = join(dir, name, file);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    chmodSync(path, mode);
  }
  return dir;
}

await t.test('suite.json "programs": checked, errors name the file and the key', async (t) => {
  const where = '/x/suite.json';
  t.same(parseManifest('{"programs": ["socket", "run.sh"]}', where).programs, ['socket', 'run.sh']);
  t.equal(parseManifest('{}', where).programs, undefined);
  for (const bad of ['[]', '"socket"', '["../etc/passwd"]', '["a b"]', '["a;reboot"]', '["-rf"]', '[".hidden"]', '[1]']) {
    t.throws(
      () => parseManifest(`{"programs": ${bad}}`, where),
      /\/x\/suite\.json: (programs\[\d+\]: )?"programs" must be a non-empty list of file names/,
      `refused: ${bad}`,
    );
  }
  t.throws(() => parseManifest('{"programs": ["a", "a"]}', where), /"programs" names 'a' twice/);
  t.throws(() => parseManifest('{"guests": 2, "programs": ["a"]}', where), /"programs" runs in one guest; drop "guests": 2/);
});

await t.test('discovery: executables or "programs" make a program suite; C sources a built one', async (t) => {
  const exe = suitesDir('mine', { 'selftest.sh': ['#!/bin/sh\necho hi\n', 0o755], 'notes.txt': ['data\n', 0o644] });
  t.same(await discoverSuiteKinds(exe), [{ name: 'mine', kind: 'programs' }]);
  const listed = suitesDir('mine', { 'suite.json': ['{"programs": ["b.sh"]}\n', 0o644], 'b.sh': ['#!/bin/sh\n', 0o755] });
  t.same(await discoverSuiteKinds(listed), [{ name: 'mine', kind: 'programs' }]);
  const dataOnly = suitesDir('notes', { 'notes.txt': ['data\n', 0o644] });
  t.same(await discoverSuiteKinds(dataOnly), [], 'a directory of data files is no suite');
  const both = suitesDir('mixed', { 'suite.json': ['{"programs": ["x"]}\n', 0o644], 'x.c': ['int main(void) { return 0; }\n', 0o644] });
  await t.rejects(discoverSuiteKinds(both), /mixed\/suite\.json: "programs" lists ready-made programs, but .* also holds C sources/);
  const clash = suitesDir('a', { 'run.sh': ['#!/bin/sh\n', 0o755] });
  mkdirSync(join(clash, 'a.d'));
  writeFileSync(join(clash, 'a.d', 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
  await t.rejects(
    buildSuites(join(repoRoot, 'suites'), [clash], join(base, 'out'), join(base, 'log'), never),
    /'a' .* and 'a\.d' .* would share a path in the guest/,
  );
});

await t.test('programs listed must be executable files there; file names are data', async (t) => {
  const missing = suitesDir('s', { 'suite.json': ['{"programs": ["gone"]}\n', 0o644], 'other.sh': ['#!/bin/sh\n', 0o755] });
  const dir = join(missing, 's');
  t.throws(
    () => suitePrograms(dir, { ...parseManifest('{"programs": ["gone"]}', 'x') }, []),
    /s\/suite\.json: "programs" names 'gone', which is not a file in/,
  );
  const notExec = suitesDir('s', { 'suite.json': ['{"programs": ["run.sh"]}\n', 0o644], 'run.sh': ['#!/bin/sh\n', 0o644] });
  const d2 = join(notExec, 's');
  t.throws(() => suitePrograms(d2, parseManifest('{"programs": ["run.sh"]}', 'x'), []), /not a file/);
  const files = await programSuiteFiles(d2);
  const manifest = await readManifest(d2);
  t.throws(() => suitePrograms(d2, manifest, files), /"programs" names 'run.sh', which is not executable; chmod \+x .*run\.sh/);
  const sentinel = join(base, 'pwned');
  const evil = suitesDir('s', { 'ok.sh': ['#!/bin/sh\n', 0o755], [`a;touch ${sentinel}`.replace(/\//g, '_')]: ['x', 0o755] });
  await t.rejects(programSuiteFiles(join(evil, 's')), /may hold only letters, digits/);
  await t.rejects(buildSuites(join(repoRoot, 'suites'), [evil], join(base, 'out'), join(base, 'log'), never), /may hold only letters, digits/);
  t.notOk(existsSync(sentinel));
});

/** The driver's output for programs in `dir` (as the guest runs /suites/<name>), under `shell`. */
function runDriver(
  shell: string[],
  name: string,
  files: Record<string, [string, number]>,
  env: Record<string, string> = {},
): { out: string; code: number | null } {
  const dir = suitesDir(name, files);
  const driver = join(dir, name);
  const programs = suitePrograms(
    join(dir, name),
    { ...parseManifest('{}', 'x') },
    Object.keys(files).map((rel) => ({ rel, source: '', mode: files[rel]?.[1] ?? 0 })),
  );
  // The guest layout: /suites/<name> is the driver, /suites/<name>.d/ the files.
  execFileSync('mv', [join(dir, name), `${driver}.d`]);
  writeFileSync(driver, programDriver(name, programs), { mode: 0o755 });
  const r = spawnSync(shell[0] ?? 'sh', [...shell.slice(1), driver], {
    encoding: 'utf8',
    cwd: base,
    env: { PATH: process.env.PATH ?? '', SOCKVM_SUITE: name, ...env },
    input: 'stdin must not reach a program\n',
  });
  return { out: r.stdout, code: r.status };
}

const programs: Record<string, [string, number]> = {
  'a-ktap.sh': [
    '#!/bin/sh\necho "TAP version 13"\necho "1..2"\necho "ok 1 first"\necho "# checking cwd"\n[ "$(basename "$PWD")" = mine.d ] && echo "ok 2 cwd is the suite directory" || echo "not ok 2 cwd $PWD"\n',
    0o755,
  ],
  'b-plain.sh': ['#!/bin/sh\necho "no TAP here"\necho "to stderr" >&2\nread x && echo "read stdin: $x"\nexit 3\n', 0o750],
  'c-skip.sh': ['#!/bin/sh\necho "1..0 # SKIP needs hardware"\nexit 4\n', 0o755],
  'd-ok-exit1.sh': ['#!/bin/sh\necho "KTAP version 1"\necho "1..1"\necho "ok 1 fine"\nexit 1\n', 0o755],
  'e-signal.sh': ['#!/bin/sh\nkill -SEGV $$\n', 0o755],
  'f-noeol.sh': ['#!/bin/sh\nprintf "TAP version 13\\n1..1\\nok 1 last line without newline"\n', 0o755],
  'data.txt': ['not a program\n', 0o644],
};

for (const shell of [['sh'], ['busybox', 'sh']]) {
  await t.test(
    `the driver under ${shell.join(' ')}: KTAP the parser turns into the run's tests`,
    { skip: shell[0] === 'busybox' && !existsSync('/bin/busybox') && 'no busybox' },
    async (t) => {
      const { out, code } = runDriver(shell, 'mine', programs);
      t.equal(code, 1, 'a failing program fails the driver');
      const parser = new TapParser(() => 0);
      for (const line of out.split('\n')) parser.feed(line);
      const tap = parser.finish();
      t.same(tap.errors, [], `a whole KTAP stream:\n${out}`);
      const status = Object.fromEntries(tap.tests.map((x) => [x.name, x.status]));
      t.same(status, {
        'a-ktap.sh/first': 'pass',
        'a-ktap.sh/cwd is the suite directory': 'pass',
        'b-plain.sh': 'fail',
        'c-skip.sh': 'skip',
        'd-ok-exit1.sh/fine': 'pass',
        'd-ok-exit1.sh': 'fail',
        'e-signal.sh': 'fail',
        'f-noeol.sh/last line without newline': 'pass',
      });
      const plain = tap.tests.find((x) => x.name === 'b-plain.sh');
      t.same(plain?.diagnostics, ['no TAP here', 'to stderr'], 'output and stderr are its diagnostics; stdin is /dev/null');
      t.match(out, /not ok 2 b-plain\.sh # exit=3\n/);
      t.match(out, /not ok 5 e-signal\.sh # exit=139 \(signal 11\)/);
      t.match(tap.tests.find((x) => x.name === 'd-ok-exit1.sh')?.diagnostics[0], /exited with code 1 although none of its 1 subtests failed/);
      t.equal(judgeSuite(tap, { exitCode: code, harnessErrors: [], kernelFindings: [] }).status, 'fail');
    },
  );
}

await t.test('SOCKVM_TEST selects programs by name or <suite>/<name>; the rest are skipped', async (t) => {
  const two = { 'one.sh': ['#!/bin/sh\necho one\n', 0o755], 'two.sh': ['#!/bin/sh\necho two\n', 0o755] } as Record<string, [string, number]>;
  const { out, code } = runDriver(['sh'], 'pick', two, { SOCKVM_TEST: 'pick/t*' });
  t.equal(code, 0);
  t.match(out, /ok 1 one\.sh # SKIP filtered by SOCKVM_TEST\n# running 2 - two\.sh\n {2}two\nok 2 two\.sh\n/);
  t.match(runDriver(['sh'], 'pick', two, { SOCKVM_TEST: 'one.*' }).out, /# running 1 - one\.sh[\s\S]*ok 2 two\.sh # SKIP/);
});

await t.test('buildSuites: a program suite gets its driver and its files, no make', async (t) => {
  const dir = suitesDir('mine', { 'run.sh': ['#!/bin/sh\necho hi\n', 0o750], 'lib/helper.txt': ['x\n', 0o640] });
  const log = join(base, 'build.log');
  const built = await buildSuites(join(repoRoot, 'suites'), [dir], join(base, 'out'), log, never);
  t.equal(built.length, 1);
  const suite = built[0];
  t.same(
    suite?.files?.map((f) => [f.rel, f.mode]),
    [
      ['lib/helper.txt', 0o640],
      ['run.sh', 0o750],
    ],
  );
  t.match(readFileSync(suite?.path ?? '', 'utf8'), /for prog in run\.sh; do/);
  t.equal(statSync(suite?.path ?? '').mode & 0o777, 0o755);
  t.notOk(existsSync(log), 'make never ran');
});

/** Whether a process is gone (a zombie waiting for its reaper counts as gone). */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

for (const shell of [['sh'], ['busybox', 'sh']]) {
  await t.test(`the suite's time limit (SIGTERM) ends the driver and its programs together, under ${shell.join(' ')}`, async (t) => {
    const pidFile = join(base, `hang-${shell.join('-')}.pid`);
    const dir = suitesDir('hang', {
      'hang.sh': [`#!/bin/sh\necho "TAP version 13"\necho "1..2"\necho "ok 1 before the hang"\nsleep 1000 &\necho $! >${pidFile}\nwait\n`, 0o755],
    });
    const driver = join(dir, 'hang');
    execFileSync('mv', [driver, `${driver}.d`]);
    writeFileSync(driver, programDriver('hang', ['hang.sh']), { mode: 0o755 });
    const started = Date.now();
    // setsid: the driver's process group is its own, not this test's.
    const r = spawnSync('setsid', ['busybox', 'timeout', '-s', 'TERM', '2', ...shell, driver], { encoding: 'utf8', timeout: 30_000 });
    t.equal(r.signal, 'SIGKILL', `the driver ends by SIGKILL (the runner reads 137: timed out)\n${r.stdout}${r.stderr}`);
    t.ok(Date.now() - started < 15_000, `at the limit, not when the program would end (${Date.now() - started} ms)`);
    t.match(r.stdout, /^ {2}ok 1 before the hang$/m, 'what it printed before is kept');
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    t.ok(sleeper > 0 && gone(sleeper), `the program's own child (pid ${sleeper}) is gone too`);
  });
}
