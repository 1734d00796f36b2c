// A kernel selftest through --suites-dir, in one boot of the host target: scripts/
// build-kselftest-suite builds net/reuseaddr_ports_exhausted (kselftest_harness.h, TAP 13) and
// net/socket (no TAP) static from Debian's 6.1 source (fetched into the cache if missing), and
// their results land in results.json and junit.xml as tests named <program>/<test>. The same
// binary run bare, without the namespace and sysctls its wrapper sets, is the red: the run
// fails, on its own tests, with the kselftest's assertion messages in the JUnit failure.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sourceIdentity } from '../src/kernel/source.js';
import { cacheRoot, repoRoot } from '../src/util/paths.js';
import { qemuLeftBehind, readTargetResult, runSockvm } from './helpers.js';

await t.test('a kselftest built from the Debian source runs as a suite of programs, its KTAP parsed into JUnit', async (t) => {
  const source = await sourceIdentity('debian:6.1', { cacheDir: cacheRoot(), log: (l) => t.comment(l) });
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-kselftest-'));
  const built = execFileSync('bash', [join(repoRoot, 'scripts', 'build-kselftest-suite'), dir, source.path], { encoding: 'utf8' }).trim();
  t.equal(built, join(dir, 'kselftest-net'));
  // The red: the same binary, without its namespace (every ephemeral port free, no autobind reuse).
  mkdirSync(join(dir, 'kselftest-bare'));
  copyFileSync(join(built, 'reuseaddr_ports_exhausted'), join(dir, 'kselftest-bare', 'reuseaddr_ports_exhausted'));
  writeFileSync(join(dir, 'kselftest-bare', 'suite.json'), '{"programs": ["reuseaddr_ports_exhausted"], "timeout": 60}\n');

  const r = await runSockvm(['--suites-dir', dir, '--suite', 'kselftest-net', '--suite', 'kselftest-bare']);
  t.equal(r.code, 1, `exit 1: the bare run fails\n${r.output}`);
  const run = readTargetResult(r.resultsRoot);
  const net = run.suites.find((s) => s.name === 'kselftest-net');
  const prefix = 'reuseaddr_ports_exhausted.sh/global.reuseaddr_ports_exhausted_';
  t.same(
    net?.tests.map((x) => [x.name, x.status]),
    [
      [`${prefix}unreusable`, 'pass'],
      [`${prefix}reusable_same_euid`, 'pass'],
      [`${prefix}reusable_different_euid`, 'pass'],
      ['socket', 'pass'],
    ],
    `kselftest-net: three kselftest_harness tests and socket by its exit code\n${JSON.stringify(net, null, 2)}`,
  );
  t.equal(net?.status, 'pass');

  const bare = run.suites.find((s) => s.name === 'kselftest-bare');
  t.equal(bare?.status, 'fail', 'without its set-up the kselftest fails');
  const unreusable = bare?.tests.find((x) => x.name === 'reuseaddr_ports_exhausted/global.reuseaddr_ports_exhausted_unreusable');
  t.equal(unreusable?.status, 'fail');
  t.match(unreusable?.diagnostics.join('\n'), /should fail to bind/, "the kselftest's own TH_LOG message is the failure's text");

  const junit = readFileSync(join(r.resultsRoot, 'latest', 'junit.xml'), 'utf8');
  t.match(junit, `<testcase classname="kselftest-net" name="${prefix}unreusable"`, 'JUnit has the subtest by its full name');
  t.match(junit, '<testcase classname="kselftest-net" name="socket"');
  t.match(
    junit,
    /<testcase classname="kselftest-bare" name="reuseaddr_ports_exhausted\/global\.reuseaddr_ports_exhausted_unreusable"[^>]*>\s*<failure[^>]*>[^<]*should fail to bind/,
  );
  t.match(
    readFileSync(join(r.resultsRoot, 'latest', 'kselftest-net.tap'), 'utf8'),
    /^ {2}TAP version 13$/m,
    "the program's own TAP is kept in the suite's .tap, indented as a subtest",
  );
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left behind');
});
