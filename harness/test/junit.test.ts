import t from 'tap';
import { toJUnit, xmlEscape } from '../src/results/junit.js';
import { toTap } from '../src/results/tap-writer.js';
import type { RunResult } from '../src/results/model.js';

const run: RunResult = {
  runId: 'r1',
  startedAt: '2026-01-01T00:00:00Z',
  command: 'sockvm run',
  status: 'fail',
  exitCode: 1,
  phases: {},
  suites: [
    {
      name: 'create',
      status: 'fail',
      durationMs: 1500,
      exitCode: 1,
      tests: [
        { id: 1, name: 'a & <b>', status: 'pass', diagnostics: [] },
        { id: 2, name: 'fails', status: 'fail', diagnostics: ['got "1"'] },
        { id: 3, name: 'skipped', status: 'skip', directive: 'SKIP why', diagnostics: [] },
      ],
      errors: [],
      kernelFindings: ['BUG: kernel NULL pointer dereference'],
    },
  ],
};

await t.test('junit counts and escapes', async (t) => {
  const xml = toJUnit(run);
  t.match(xml, /<testsuite name="create" tests="4" failures="1" errors="1" skipped="1" time="1\.500">/);
  t.match(xml, /name="a &amp; &lt;b&gt;"/);
  t.match(xml, /<failure message="fails">got &quot;1&quot;<\/failure>/);
  t.match(xml, /<skipped message="SKIP why"\/>/);
  t.match(xml, /<error message="BUG: kernel NULL pointer dereference">/);
  t.equal(xmlEscape('\u0001x'), 'x');
  // XML 1.0 forbids U+FFFE, U+FFFF and unpaired surrogates; a pair (an emoji) stays.
  t.equal(xmlEscape('a\ufffeb\uffffc\ud800d\udc00e\ud83d\ude00'), 'abcde\ud83d\ude00');
});

await t.test('junit reports an infrastructure error', async (t) => {
  t.match(toJUnit({ ...run, suites: [], infraError: 'boot failed' }), /name="infrastructure"><error message="boot failed"/);
});

await t.test('TAP 14 with the suite as a subtest', async (t) => {
  const tap = toTap(run);
  t.match(tap, /^TAP version 14\n# Subtest: create\n {4}ok 1 - a & <b>\n {4}not ok 2 - fails\n {4}# got "1"\n {4}ok 3 - skipped # SKIP why\n {4}1\.\.3\n/);
  t.match(tap, /not ok 1 - create\n1\.\.1\n$/);
});
