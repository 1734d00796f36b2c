import t from 'tap';
import { scanDmesg, taintLetters, unexpectedTaint } from '../src/results/dmesg-scan.js';

t.test('finds oopses and warnings with context', async (t) => {
  const lines = ['[1.0] e1000: eth0 up', '[2.0] BUG: kernel NULL pointer dereference, address: 0000000000000008', '[2.1] #PF: supervisor read', '[3.0] ok'];
  const found = scanDmesg(lines, 1);
  t.same(found, [lines[1], lines[2]]);
  t.same(scanDmesg(['[1.0] WARNING: CPU: 0 PID: 1 at net/core/sock.c:1 x'], 0).length, 1);
  t.same(scanDmesg(['[1.0] newtcp: loaded, family 22', '[1.1] a WARNING without colon is fine']), []);
});

t.test('taint: out-of-tree and unsigned are expected, warnings are not', async (t) => {
  t.same(taintLetters((1 << 12) | (1 << 13)), ['O', 'E']);
  t.same(unexpectedTaint(0, (1 << 12) | (1 << 13)), []);
  t.same(unexpectedTaint(1 << 12, (1 << 12) | (1 << 9)), ['W']);
  t.same(unexpectedTaint(1 << 9, 1 << 9), [], 'only new flags count');
});
