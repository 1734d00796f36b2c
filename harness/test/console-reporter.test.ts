// The console reporter: two targets run in parallel (--jobs 2) print whole lines, each with its
// target's name; one target prints plain lines as before. Golden output from a fixed sequence.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t, { type Test } from 'tap';
import { EventBus, type SockvmEvent } from '../src/events.js';
import { TapParser } from '../src/results/tap-parser.js';
import { consoleReporter, jsonReporter } from '../src/ui/console-reporter.js';
import { repoRoot } from '../src/util/paths.js';

const golden = join(repoRoot, 'harness', 'test', 'golden');

/** Two targets, interleaved as --jobs 2 interleaves them; emitted through per-target views. */
function interleaved(bus: EventBus): void {
  const a = bus.forTarget('debian-6.1');
  const b = bus.forTarget('6.12-patched');
  bus.emit({ type: 'run-started', runId: 'R', resultsDir: '/res/R', command: 'npm run sockvm -- run' });
  bus.emit({ type: 'phase-started', phase: 'suite-build' });
  bus.emit({ type: 'phase-ended', phase: 'suite-build', durationMs: 1200 });
  a.emit({ type: 'target-started', target: 'debian-6.1' });
  b.emit({ type: 'target-started', target: '6.12-patched' });
  a.emit({ type: 'phase-started', phase: 'kernel' });
  b.emit({ type: 'phase-started', phase: 'kernel' });
  b.emit({ type: 'progress', phase: 'kernel', message: '10 files compiled in 3 s, last init/main.o' });
  a.emit({ type: 'phase-ended', phase: 'kernel', durationMs: 300, detail: '6.1.0-57-amd64' });
  b.emit({ type: 'progress', phase: 'kernel', message: '20 files compiled in 6 s, last mm/slub.o' });
  a.emit({ type: 'phase-started', phase: 'boot' });
  a.emit({ type: 'notice', message: 'KVM unusable; using TCG' });
  a.emit({ type: 'phase-ended', phase: 'boot', durationMs: 5800, detail: 'bzImage' });
  a.emit({ type: 'suite-started', suite: 'create' });
  a.emit({ type: 'suite-line', suite: 'create', guest: 'guest1', line: 'ok 1 - socket' });
  // The parser adds the diagnostics that follow a result line to the result it already emitted.
  const bind = { id: 2, name: 'bind', status: 'fail' as const, diagnostics: [] as string[] };
  a.emit({ type: 'test-result', suite: 'create', test: bind });
  bind.diagnostics.push('t_bind:12: check failed: rc == 0 (errno EINVAL): bind', '', 'a', 'b', 'c', 'd');
  b.emit({ type: 'phase-ended', phase: 'kernel', durationMs: 61000, detail: '6.12.48, prepared' });
  a.emit({ type: 'suite-ended', suite: 'create', status: 'fail', durationMs: 700 });
  bus.emit({ type: 'run-ended', exitCode: 1, resultsDir: '/res/R', summary: ['1 passed, 1 failed, 0 skipped', 'results: /res/R (exit 1)'] });
}

function render(targets: number, verbose: boolean, clock: number[]): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const bus = new EventBus();
  let tick = 0;
  // Each progress event reads the clock once: clock[i] is the i-th progress event's time (the last one repeats).
  const now = (): number => {
    const time = clock[Math.min(tick++, clock.length - 1)];
    if (time === undefined) throw new Error('render: give the clock at least one reading');
    return time;
  };
  bus.on(consoleReporter({ interactive: false, verbose, targets, out, now }));
  interleaved(bus);
  return text;
}

function matchesGolden(t: Test, name: string, text: string): void {
  const file = join(golden, name);
  if (process.env.SOCKVM_UPDATE_GOLDEN === '1') writeFileSync(file, text);
  t.equal(text, readFileSync(file, 'utf8'), `${name} (SOCKVM_UPDATE_GOLDEN=1 rewrites it)`);
}

await t.test('two parallel targets: every line names its target, nothing is overwritten', async (t) => {
  matchesGolden(t, 'two-targets.console.txt', render(2, false, [0, 1000]));
});

await t.test('two parallel targets, verbose: TAP lines too, with their target', async (t) => {
  matchesGolden(t, 'two-targets-verbose.console.txt', render(2, true, [0, 1000]));
});

await t.test("a plain progress line per target at most every 30 s, each target's clock its own", async (t) => {
  const text = render(2, false, [0, 31000]);
  t.equal(text.match(/\[6\.12-patched\] {3}… /g)?.length, 2, 'the second progress line after 31 s is shown');
});

await t.test('every event carries its target when emitted through a target view; --progress json shows it', async (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const bus = new EventBus();
  bus.on(jsonReporter(out));
  interleaved(bus);
  const events = text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SockvmEvent);
  const runWide = new Set(['run-started', 'run-ended']);
  for (const e of events) {
    if (runWide.has(e.type) || (e.type.startsWith('phase-') && e.target === undefined && (e as { phase: string }).phase === 'suite-build')) continue;
    t.ok(e.target === 'debian-6.1' || e.target === '6.12-patched', `${e.type} has its target`);
  }
  t.equal(events.find((e) => e.type === 'suite-line')?.guest, 'guest1');
});

/** A suite's TAP fed line by line as the runner feeds it: each result the parser gives becomes an event. */
function renderSuite(suite: string, tap: string): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const bus = new EventBus();
  bus.on(consoleReporter({ interactive: false, verbose: false, targets: 1, out }));
  const parser = new TapParser(null);
  bus.emit({ type: 'suite-started', suite });
  for (const line of tap.split('\n')) for (const test of parser.feed(line)) bus.emit({ type: 'test-result', suite, test });
  const failed = parser.finish().tests.some((test) => test.status === 'fail');
  bus.emit({ type: 'suite-ended', suite, status: failed ? 'fail' : 'pass', durationMs: 1000 });
  return text;
}

await t.test("nested subtests: each failure line shows its own id path (3.2), not its parent's number", async (t) => {
  const fixtures = join(repoRoot, 'harness', 'test', 'fixtures', 'ktap');
  const text = ['programs.tap', 'kunit-nested.ktap'].map((f) => renderSuite(f.replace(/\..*/, ''), readFileSync(join(fixtures, f), 'utf8'))).join('');
  matchesGolden(t, 'ktap-subtests.console.txt', text);
  t.match(text, /^ {2}not ok 1\.2 - programs: reuseaddr_ports_exhausted\/global\.reuseaddr_ports_exhausted_reusable_same_euid$/m, "a program's subtest: 1.2");
  t.match(text, /^ {2}not ok 1\.3\.2 - kunit-nested: main_test\/example_test_3\/test_2$/m, 'two levels down: 1.3.2');
  t.match(text, /^ {2}not ok 2 - programs: socket$/m, 'a test without subtests keeps its number');
});
