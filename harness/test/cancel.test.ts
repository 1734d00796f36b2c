// runInGroup, the way long children (apt, tar, dpkg-deb) run: an abort kills the child's whole
// process group and rejects with the reason; a harness killed outright takes its children along
// (setpriv --pdeathsig), each stage of a shell pipeline included.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runInGroup } from '../src/util/cancel.js';

/** Live processes (not the harness that started them, whose script names them) whose command line contains `marker`. */
function withMarker(marker: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(marker) && !cmd.startsWith(process.execPath)) out.push(`${pid} ${cmd.trim()}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Waits (at most `ms`) until `ok()`; returns whether it came true. */
async function until(ok: () => boolean, ms: number): Promise<boolean> {
  for (const start = Date.now(); Date.now() - start < ms; await sleep(20)) if (ok()) return true;
  return ok();
}

// sleep takes fractions: a unique one marks this test's processes.
const mark = (n: number): string => `${3000 + n}.${process.pid}`;

await t.test('an abort kills the whole group (grandchildren too) and rejects with the reason', async (t) => {
  const ac = new AbortController();
  const run = runInGroup('sh', ['-c', `sleep ${mark(1)} & sleep ${mark(2)}; wait`], { signal: ac.signal });
  t.ok(await until(() => withMarker(mark(2)).length > 0 && withMarker(mark(1)).length > 0, 30000), 'both sleeps running');
  const start = Date.now();
  ac.abort(new Error('interrupted by SIGINT'));
  await t.rejects(run, { message: 'interrupted by SIGINT' });
  // The sleeps last 50 min: any bound far below that proves the kill; 2 s was too tight for a loaded CI (2011 ms seen).
  t.ok(Date.now() - start < 10000, `rejected ${Date.now() - start} ms after the abort`);
  t.same([...withMarker(mark(1)), ...withMarker(mark(2))], [], 'nothing of the group left');
  await t.rejects(runInGroup('true', [], { signal: ac.signal }), { message: 'interrupted by SIGINT' }, 'not started once aborted');
});

await t.test("a child's failure is a result, not a rejection", async (t) => {
  const r = await runInGroup('sh', ['-c', 'echo out; echo err >&2; exit 3'], {});
  t.equal(r.failed, true);
  t.equal(r.exitCode, 3);
  t.equal(r.stdout, 'out');
  t.match(r.all, /out\nerr/);
});

await t.test('a harness killed outright (SIGKILL) takes its children along, each stage of a pipeline too', async (t) => {
  const cancel = new URL('../src/util/cancel.js', import.meta.url).href;
  const script = `
    const m = await import(${JSON.stringify(cancel)});
    const die = m.dieWithUsPrefix();
    void m.runInGroup('sleep', ['${mark(3)}'], {});
    void m.runInGroup('sh', ['-c', die + ' sleep ${mark(4)} | ' + die + ' sleep ${mark(5)}'], {});
    setInterval(() => {}, 1000);`;
  const harness = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const marks = [mark(3), mark(4), mark(5)];
  // Each one exec'd into sleep itself: a "setpriv … sleep" not yet exec'd may not have its pdeathsig yet.
  t.ok(await until(() => marks.every((m) => withMarker(m).some((p) => /^\s*\d+ sleep /.test(p))), 30000), 'the children run');
  harness.kill('SIGKILL');
  const gone = await until(() => marks.every((m) => withMarker(m).length === 0), 10000);
  const left = [...new Set(marks.flatMap(withMarker))];
  t.ok(gone, `no child left (${left.join('; ')})`);
  // Whatever a failure left is ours to clean up.
  for (const p of left) {
    try {
      process.kill(Number(p.split(' ')[0]), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
});
