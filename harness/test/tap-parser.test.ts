import t from 'tap';
import { parseTap, TapParser } from '../src/results/tap-parser.js';

await t.test('parses a passing stream with diagnostics and directives', async (t) => {
  const r = parseTap(
    ['TAP version 14', '1..4', 'ok 1 - first', 'not ok 2 - second', '# got 3', '# want 4', 'ok 3 - third # SKIP no netns', 'ok 4 - fourth # TODO later'].join(
      '\n',
    ),
  );
  t.equal(r.version, 14);
  t.same(r.plan, { start: 1, end: 4 });
  t.same(
    r.tests.map((x) => x.status),
    ['pass', 'fail', 'skip', 'todo'],
  );
  t.same(r.tests[1]?.diagnostics, ['got 3', 'want 4']);
  t.equal(r.tests[2]?.directive, 'SKIP no netns');
  t.same(r.errors, []);
});

await t.test('a stream that stops early is an error', async (t) => {
  const r = parseTap('1..3\nok 1 - a\n');
  t.match(r.errors.join('\n'), /planned 3 tests but ran 1/);
});

await t.test('no plan is an error, bail out is reported', async (t) => {
  t.match(parseTap('ok 1 - a\n').errors.join('\n'), /no plan/);
  const r = parseTap('1..2\nBail out! module not loaded\n');
  t.equal(r.bailOut, 'module not loaded');
  t.match(r.errors.join('\n'), /Bail out! module not loaded/);
});

await t.test('trailing plan, YAML blocks and out-of-order ids', async (t) => {
  const r = parseTap('ok 1 - a\n  ---\n  message: boom\n  ...\nok 3 - c\n1..2\n');
  t.same(r.tests[0]?.diagnostics, ['message: boom']);
  t.match(r.errors.join('\n'), /test 3 out of order/);
});

await t.test('streaming returns each test as its line arrives', async (t) => {
  const p = new TapParser();
  t.equal(p.line('1..1'), undefined);
  t.equal(p.line('ok 1 - x')?.name, 'x');
  t.same(p.finish().errors, []);
});

await t.test("durations: the suite's own # time= wins, else the time since the test began", async (t) => {
  let clock = 1000;
  const p = new TapParser(() => clock);
  p.line('TAP version 14');
  p.line('1..3');
  p.line('# running 1 - timed by the suite');
  clock = 1400;
  const a = p.line('ok 1 - timed by the suite # time=12.5ms');
  t.match(a, { name: 'timed by the suite', status: 'pass', durationMs: 12.5 });
  t.notOk(a?.directive, 'time= is no directive');
  p.line('# running 2 - timed by arrival');
  t.match(p.running, { id: 2, name: 'timed by arrival', since: 1400 }, 'the running test is known before it ends');
  clock = 1650;
  t.match(p.line('not ok 2 - timed by arrival'), { status: 'fail', durationMs: 250 });
  t.equal(p.running, undefined, 'nothing runs between tests');
  const skip = p.line('ok 3 - skipped # SKIP filtered by SOCKVM_TEST');
  t.match(skip, { status: 'skip', directive: 'SKIP filtered by SOCKVM_TEST' });
  const done = p.finish();
  t.same(done.errors, []);
  t.same(
    done.tests.map((x) => x.diagnostics),
    [[], [], []],
    '"# running" lines are no diagnostics',
  );
});
