import t from 'tap';
import { fingerprint, reportLines, scanDmesg, taintLetters, unexpectedTaint } from '../src/results/dmesg-scan.js';

await t.test('finds oopses and warnings with context', async (t) => {
  const lines = ['[1.0] e1000: eth0 up', '[2.0] BUG: kernel NULL pointer dereference, address: 0000000000000008', '[2.1] #PF: supervisor read', '[3.0] ok'];
  const found = scanDmesg(lines, 1);
  t.equal(found.length, 1);
  t.same(found[0]?.lines, [lines[1], lines[2]]);
  t.equal(scanDmesg(['[1.0] WARNING: CPU: 0 PID: 1 at net/core/sock.c:1 x'], 0).length, 1);
  t.same(scanDmesg(['[1.0] newtcp: loaded, family 22', '[1.1] a WARNING without colon is fine']), []);
  t.equal(scanDmesg(['[5.0] INFO: task suite:77 blocked for more than 120 seconds.'], 0).length, 1, 'hung task');
  t.equal(scanDmesg(['[5.0] refcount_t: underflow; use-after-free.'], 0).length, 1, 'refcount');
  t.equal(scanDmesg(['[9.0] rcu: INFO: rcu_preempt self-detected stall on CPU'], 0).length, 1, 'RCU stall');
  t.equal(scanDmesg(['[9.0] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:'], 0).length, 1, 'RCU stall seen by another CPU');
});

await t.test('a report that ended does not hide the next one, close behind it', async (t) => {
  const lines = [
    '[1.0] WARNING: CPU: 0 PID: 1 at net/newtcp/newtcp_proto.c:88 newtcp_close+0x1f/0x40 [newtcp]',
    '[1.0] Modules linked in: newtcp(OE)',
    '[1.0] ---[ end trace 0000000000000000 ]---',
    '[1.1] BUG: kernel NULL pointer dereference, address: 0000000000000008',
    '[1.1] Oops: 0000 [#1] PREEMPT SMP NOPTI',
  ];
  const found = scanDmesg(lines);
  t.equal(found.length, 2, 'the warning and the oops');
  t.same(found[0]?.lines, lines.slice(0, 3), 'the warning ends at its end line');
  t.same(found[1]?.lines, lines.slice(3), 'the oops keeps its own Oops line');
});

await t.test('the same report repeated is kept once, counted', async (t) => {
  const release = '[1.000] WARNING: CPU: 0 PID: 101 at net/newtcp/af_newtcp.c:88 newtcp_release+0x1f/0x40 [newtcp]';
  const releaseAgain = '[2.000] WARNING: CPU: 1 PID: 202 at net/newtcp/af_newtcp.c:88 newtcp_release+0x1f/0x40 [newtcp]';
  const close = '[3.000] WARNING: CPU: 1 PID: 203 at net/newtcp/af_newtcp.c:99 newtcp_close+0x1f/0x40 [newtcp]';
  const found = scanDmesg([release, releaseAgain, close], 0);
  t.equal(found.length, 2);
  t.equal(found[0]?.count, 2);
  t.match(reportLines(found)[0] ?? '', /\(×2\)$/);
  t.equal(fingerprint(release), fingerprint(releaseAgain));
  t.not(fingerprint(release), fingerprint(close));
});

await t.test('taint: out-of-tree and unsigned are expected, warnings are not', async (t) => {
  t.same(taintLetters((1 << 12) | (1 << 13)), ['O', 'E']);
  t.same(unexpectedTaint(0, (1 << 12) | (1 << 13)), []);
  t.same(unexpectedTaint(1 << 12, (1 << 12) | (1 << 9)), ['W']);
  t.same(unexpectedTaint(1 << 9, 1 << 9), [], 'only new flags count');
});
