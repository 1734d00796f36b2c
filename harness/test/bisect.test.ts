// sockvm bisect-run's exit codes are git bisect run's: good 0, bad 1 (a guest crashed under a
// suite too), skip 125 for what cannot be tested (build, boot), and a stop (128, or the interrupt's own code) for what is wrong at
// every commit. The VM cases (a failing test: 1, a module that does not build: 125) are in
// bisect-run.test.ts.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { bisectExit, crashedUnderSuite } from '../src/commands/bisect.js';
import { repoRoot } from '../src/util/paths.js';
import { cliArgv } from './helpers.js';
import { matrixResults, singleResults } from './results-fixtures.js';

await t.test('run exit codes as git bisect run reads them', async (t) => {
  t.same(
    [0, 1, 2, 130, 143].map((c) => bisectExit(c)),
    [0, 1, 125, 130, 143],
  );
  t.equal(bisectExit(2, true), 128, 'bad usage stops the bisection');
  t.equal(bisectExit(2, false, true), 1, 'a guest that crashed under a suite: bad, not skipped');
  // The fixtures: one target whose guest died under the "hang" suite; a matrix whose target never booted.
  t.equal(crashedUnderSuite(singleResults()), true);
  t.equal(crashedUnderSuite(matrixResults()), false);
});

await t.test('the CLI: help is 0, bad usage is 128 with the usual message', async (t) => {
  const help = spawnSync(...cliArgv(['bisect-run', '--help']), { encoding: 'utf8', cwd: repoRoot });
  t.equal(help.status, 0);
  t.match(help.stdout, /git bisect run npm run -s sockvm -- bisect-run/);
  const bad = spawnSync(...cliArgv(['bisect-run', '--suite', 'nosuch', '--dry-run']), { encoding: 'utf8', cwd: repoRoot });
  t.equal(bad.status, 128);
  t.match(bad.stderr, /--suite nosuch: no such suite/);
  const dry = spawnSync(...cliArgv(['bisect-run', '--suite', 'create', '--dry-run']), { encoding: 'utf8', cwd: repoRoot });
  t.equal(dry.status, 0, dry.stderr);
});
