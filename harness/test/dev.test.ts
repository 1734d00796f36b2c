// sockvm dev end to end on the host target, on one boot: the verdict after the boot, a harmless
// edit of the module (rebuilt, copied, reloaded, create rerun: green), an edit that breaks
// socket(…, 0) (red, the failing tests counted), the original back (green again), then ^C
// (exit 130, no QEMU left).
import t from 'tap';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevCycle } from '../src/events.js';
import { repoRoot } from '../src/util/paths.js';
import { cli, onProgressEvents, qemuLeftBehind } from './helpers.js';

await t.test('sockvm dev: save → rebuild → reload → verdict, red on a broken edit, green again, ^C ends it', async (t) => {
  const src = join(mkdtempSync(join(tmpdir(), 'sockvm-dev-src-')), 'newtcp');
  cpSync(join(repoRoot, 'kernel', 'newtcp'), src, { recursive: true });
  const file = join(src, 'af_newtcp.c');
  const original = readFileSync(file, 'utf8');
  const goodCheck = 'if (protocol != 0 && protocol != IPPROTO_TCP)';
  t.ok(original.includes(goodCheck), 'the protocol check the broken edit removes is there');
  const resultsRoot = mkdtempSync(join(tmpdir(), 'sockvm-dev-'));
  // Each save happens once the loop says it waits; the ^C after the third save's verdict.
  const edits = [
    () => writeFileSync(file, `${original}/* sockvm dev test: a harmless edit */\n`),
    () => writeFileSync(file, original.replace(goodCheck, 'if (protocol != IPPROTO_TCP)')),
    () => writeFileSync(file, original),
  ];
  const cycles: DevCycle[] = [];
  let output = '';
  const child = spawn(
    process.execPath,
    [cli, 'dev', '--suite', 'create', '--module-src', src, '--results-dir', resultsRoot, '--progress', 'json', '--max-cycles', '5'],
    { env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  let waits = 0;
  onProgressEvents(
    child.stderr,
    (text) => (output += text),
    (e) => {
      if (e.type === 'dev-cycle') cycles.push(e.cycle);
      if (e.type !== 'dev-waiting') return;
      const edit = edits[waits++];
      if (edit) edit();
      else child.kill('SIGINT');
    },
  );
  const guard = setTimeout(() => child.kill('SIGKILL'), 600000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(guard);
  const [boot, harmless, broken, restored] = cycles;
  t.equal(cycles.length, 4, `four verdicts (boot and three saves)\n${output.slice(-3000)}`);
  t.equal(boot?.status, 'pass', 'create passes after the boot');
  t.equal(harmless?.status, 'pass', `a harmless edit: pass (${harmless?.reason ?? ''})`);
  t.same(harmless?.changed, ['af_newtcp.c'], 'the cycle names the saved file');
  for (const step of ['build', 'copy', 'reload', 'suites'] as const) t.ok((harmless?.steps[step] ?? -1) >= 0, `the harmless edit's ${step} step timed`);
  t.equal(harmless?.steps.reboot, undefined, 'no reboot: the module was swapped in the running guest');
  t.equal(broken?.status, 'fail', 'socket(…, 0) refused: the verdict is red');
  t.ok((broken?.suites[0]?.failed ?? 0) > 0, `create's failing tests counted (${broken?.suites[0]?.failed})`);
  t.equal(restored?.status, 'pass', 'the original back: green again');
  t.match(output, /● PASS #1 \(af_newtcp\.c\) in [\d.]+ s: build [\d.]+ s, copy [\d.]+ s, reload [\d.]+ s, suites [\d.]+ s/, 'the console line');
  t.equal(code, 130, '^C: exit 130');
  t.same(qemuLeftBehind(resultsRoot), [], 'no QEMU left running');
  t.comment(`edit → verdict: ${cycles.map((c) => `#${c.index} ${c.status} ${(c.totalMs / 1000).toFixed(1)} s`).join(', ')}`);
});
