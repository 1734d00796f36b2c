import t from 'tap';
import { parseTap, TapParser } from '../src/results/tap-parser.js';

t.test('parses a passing stream with diagnostics and directives', async (t) => {
  const r = parseTap(['TAP version 14', '1..4', 'ok 1 - first', 'not ok 2 - second', '# got 3', '# want 4', 'ok 3 - third # SKIP no netns', 'ok 4 - fourth # TODO later'].join('\n'));
  t.equal(r.version, 14);
  t.same(r.plan, { start: 1, end: 4 });
  t.same(r.tests.map((x) => x.status), ['pass', 'fail', 'skip', 'todo']);
  t.same(r.tests[1]?.diagnostics, ['got 3', 'want 4']);
  t.equal(r.tests[2]?.directive, 'SKIP no netns');
  t.same(r.errors, []);
});

t.test('a stream that stops early is an error', async (t) => {
  const r = parseTap('1..3\nok 1 - a\n');
  t.match(r.errors.join('\n'), /planned 3 tests but ran 1/);
});

t.test('no plan is an error, bail out is reported', async (t) => {
  t.match(parseTap('ok 1 - a\n').errors.join('\n'), /no plan/);
  const r = parseTap('1..2\nBail out! module not loaded\n');
  t.equal(r.bailOut, 'module not loaded');
  t.match(r.errors.join('\n'), /Bail out! module not loaded/);
});

t.test('trailing plan, YAML blocks and out-of-order ids', async (t) => {
  const r = parseTap('ok 1 - a\n  ---\n  message: boom\n  ...\nok 3 - c\n1..2\n');
  t.same(r.tests[0]?.diagnostics, ['message: boom']);
  t.match(r.errors.join('\n'), /test 3 out of order/);
});

t.test('streaming returns each test as its line arrives', async (t) => {
  const p = new TapParser();
  t.equal(p.line('1..1'), undefined);
  t.equal(p.line('ok 1 - x')?.name, 'x');
  t.same(p.finish().errors, []);
});
