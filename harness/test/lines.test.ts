// Guest output is parsed in linear time with bounded memory, whatever the guest prints.
import t from 'tap';
import { TapParser, splitTestLine } from '../src/results/tap-parser.js';
import { BoundedText, LineSplitter } from '../src/util/lines.js';

const timed = (fn: () => void): number => {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

await t.test('lines split across chunks, a multibyte character split across chunks, a last line without newline', async (t) => {
  const got: string[] = [];
  const s = new LineSplitter((l) => got.push(l));
  const euro = Buffer.from('€');
  s.push(Buffer.concat([Buffer.from('ok 1 - a\nok 2 - b'), euro.subarray(0, 1)]));
  s.push(Buffer.concat([euro.subarray(1), Buffer.from('\n\nlast')]));
  s.end();
  t.same(got, ['ok 1 - a', 'ok 2 - b€', '', 'last']);
});

await t.test('a line over the cap is cut and marked, the next line is whole', async (t) => {
  const got: string[] = [];
  const s = new LineSplitter((l) => got.push(l), 10);
  s.push('0123456789abcdef');
  s.push('ghij\nnext\n');
  t.match(got[0], /^0123456789 \[sockvm: line cut at 10 characters, 10 more dropped\]$/);
  t.equal(got[1], 'next');
});

await t.test('8 MiB without a newline in 64 KiB chunks: linear (well under a second), memory capped', async (t) => {
  let lines = 0;
  const s = new LineSplitter(() => lines++);
  const chunk = Buffer.alloc(64 << 10, 'x');
  const ms = timed(() => {
    for (let i = 0; i < 128; i++) s.push(chunk);
    s.end();
  });
  t.equal(lines, 1);
  t.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
});

await t.test('bounded output keeps the head and says how much it dropped', async (t) => {
  const b = new BoundedText(5);
  b.push(Buffer.from('abc'));
  b.push(Buffer.from('defgh'));
  t.equal(b.text(), 'abcde\n[sockvm: output cut at 5 characters, 3 more dropped]\n');
});

await t.test('TAP result lines: adversarial spaces and hashes parse in linear time', async (t) => {
  t.same(splitTestLine('not ok 3 - name # SKIP why'), [true, '3', 'name', 'SKIP why']);
  t.same(splitTestLine('ok - x'), [false, undefined, 'x', undefined]);
  for (const size of [64 << 10, 1 << 20]) {
    const line = `ok 1 - a${' '.repeat(size)}b`;
    const p = new TapParser(() => 0);
    const ms = timed(() => p.line(line));
    t.ok(ms < 2000, `${size} spaces: ${ms.toFixed(1)} ms`);
  }
});
