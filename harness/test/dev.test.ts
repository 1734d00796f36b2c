// sockvm dev end to end on the host target, on one boot: the verdict after the boot, a harmless
// edit of the module (rebuilt, copied, reloaded, create rerun: green), an edit that breaks
// socket(…, 0) (red, the failing tests counted), the original back (green again); a suite of
// our own edited to leave a newtcp socket open (the suite alone rebuilt), after which a module
// save is refused with the reason; then ^C (exit 130, no QEMU left).
import t from 'tap';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevCycle } from '../src/events.js';
import { repoRoot } from '../src/util/paths.js';
import { cliArgv, onProgressEvents, qemuLeftBehind } from './helpers.js';

/** A suite that, built with HOLD 1, leaves a newtcp socket open in a detached process for 60 s. */
const HOLDER_C = (hold: 0 | 1): string => `#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define HOLD ${hold}

int main(void)
{
	FILE *f = fopen("/sys/module/newtcp/parameters/family", "r");
	int family = 0;

	if (!f || fscanf(f, "%d", &family) != 1)
		return 1;
	fclose(f);
	printf("1..1\\n");
	fflush(stdout);
	if (HOLD && fork() == 0) {
		int fd = socket(family, SOCK_STREAM, 0);

		setsid();
		close(0);
		close(1);
		close(2);
		if (fd >= 0)
			sleep(60);
		_exit(0);
	}
	printf("ok 1 - holder (HOLD %d)\\n", HOLD);
	return 0;
}
`;

await t.test('sockvm dev: save → rebuild → reload → verdict, red on a broken edit, green again, a busy module refused, ^C ends it', async (t) => {
  const src = join(mkdtempSync(join(tmpdir(), 'sockvm-dev-src-')), 'newtcp');
  cpSync(join(repoRoot, 'kernel', 'newtcp'), src, { recursive: true });
  const file = join(src, 'af_newtcp.c');
  const original = readFileSync(file, 'utf8');
  const goodCheck = 'if (protocol != 0 && protocol != IPPROTO_TCP)';
  t.ok(original.includes(goodCheck), 'the protocol check the broken edit removes is there');
  const resultsRoot = mkdtempSync(join(tmpdir(), 'sockvm-dev-'));
  const ownSuites = mkdtempSync(join(tmpdir(), 'sockvm-dev-suites-'));
  mkdirSync(join(ownSuites, 'holder'));
  const holder = join(ownSuites, 'holder', 'holder.c');
  writeFileSync(holder, HOLDER_C(0));
  writeFileSync(
    join(ownSuites, 'holder', 'suite.json'),
    JSON.stringify({ guests: 1, timeout: 30, tags: ['dev-test'], description: 'holds a newtcp socket open when built with HOLD 1' }),
  );
  // Each save happens once the loop says it waits; the ^C after the third save's verdict.
  // The run's own mark in the edits: sources the shared module cache has never seen, so each save is built.
  const mark = `${process.pid}-${Date.now()}`;
  const edits = [
    () => writeFileSync(file, `${original}/* sockvm dev test: a harmless edit ${mark} */\n`),
    () => writeFileSync(file, `${original.replace(goodCheck, 'if (protocol != IPPROTO_TCP)')}/* ${mark} */\n`),
    () => writeFileSync(file, original),
    () => writeFileSync(holder, HOLDER_C(1)),
    () => writeFileSync(file, `${original}/* sockvm dev test: a save while a socket is open ${mark} */\n`),
  ];
  const cycles: DevCycle[] = [];
  let output = '';
  const child = spawn(
    ...cliArgv([
      'dev',
      '--suite',
      'create',
      '--suite',
      'holder',
      '--suites-dir',
      ownSuites,
      '--module-src',
      src,
      '--results-dir',
      resultsRoot,
      '--progress',
      'json',
      '--max-cycles',
      '7',
    ]),
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
  const [boot, harmless, broken, restored, holding, busy] = cycles;
  t.equal(cycles.length, 6, `six verdicts (boot and five saves)\n${output.slice(-3000)}`);
  t.equal(boot?.status, 'pass', 'create passes after the boot');
  t.equal(harmless?.status, 'pass', `a harmless edit: pass (${harmless?.reason ?? ''})`);
  t.same(harmless?.changed, ['af_newtcp.c'], 'the cycle names the saved file');
  for (const step of ['build', 'copy', 'reload', 'suites'] as const) t.ok((harmless?.steps[step] ?? -1) >= 0, `the harmless edit's ${step} step timed`);
  t.equal(harmless?.steps.reboot, undefined, 'no reboot: the module was swapped in the running guest');
  // The fast path's newtcp.ko (kbuild's commands replayed, no make) is the one loaded: green here, red below.
  t.match(
    harmless?.moduleBuild ?? '',
    /^replayed kbuild's commands \(af_newtcp\.o [\d.]+ s, /,
    `the save rebuilt by replay (${harmless?.moduleBuild ?? 'no note'})`,
  );
  t.match(broken?.moduleBuild ?? '', /^replayed kbuild's commands/, 'the breaking save too: its red comes from the replayed module');
  t.equal(restored?.moduleBuild, 'cached (these sources were built before)', 'the original back: the cached module');
  t.equal(broken?.status, 'fail', 'socket(…, 0) refused: the verdict is red');
  t.ok((broken?.suites[0]?.failed ?? 0) > 0, `create's failing tests counted (${broken?.suites[0]?.failed})`);
  t.equal(restored?.status, 'pass', 'the original back: green again');
  t.equal(holding?.status, 'pass', `the edited suite passes (${holding?.reason ?? ''})`);
  t.same(holding?.changed, ['holder/holder.c'], 'its cycle names the suite file');
  t.equal(holding?.steps.reload, undefined, 'a suite save reloads no module');
  t.equal(busy?.status, 'error', 'a module save while a socket is open: not reloaded');
  t.match(busy?.reason ?? '', /guest1 has 1 newtcp socket open \(\/proc\/net\/newtcp\).*--reboot-on-busy/s, 'the reason names the socket and the way out');
  t.match(
    output,
    /● PASS #1 \(af_newtcp\.c\) in [\d.]+ s: build [\d.]+ s, copy [\d.]+ s, reload [\d.]+ s, suites [\d.]+ s.*\n {2}newtcp\.ko: replayed kbuild's commands/,
    'the console line',
  );
  t.equal(code, 130, '^C: exit 130');
  t.same(qemuLeftBehind(resultsRoot), [], 'no QEMU left running');
  t.comment(`edit → verdict: ${cycles.map((c) => `#${c.index} ${c.status} ${(c.totalMs / 1000).toFixed(1)} s`).join(', ')}`);
});
