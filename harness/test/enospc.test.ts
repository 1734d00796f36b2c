// A full disk mid-run is an infrastructure error: the results dir is a small tmpfs that the test
// fills up once the guest has booted, so the suite's TAP, the console log and the result files
// meet ENOSPC. The run must exit 2 with one line naming the file and ENOSPC (no stack trace),
// leave no process behind, and keep whole what it wrote before the disk filled. A console log
// that cannot be written ends the run at once, not when the suite ends.
import { spawn, execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { cliArgv, onProgressEvents, qemuLeftBehind } from './helpers.js';
import { ProcessWatch } from './processes.js';

/** Every regular file under `dir` with its content. */
function snapshot(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(p);
      else if (st?.isFile()) out.set(p, readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** Writes `dir/filler` until the filesystem says ENOSPC. */
function fill(dir: string): number {
  const fd = openSync(join(dir, 'filler'), 'w');
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}

const mnt = mkdtempSync(join(tmpdir(), 'sockvm-enospc-'));
// Room for the run's files up to the boot (the image is the biggest, a few MB), then filled.
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'sockvm-enospc', mnt]);
t.teardown(() => {
  execFileSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true });
});

interface FilledRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  left: string[];
  /** The run's results root: a directory of its own on the tmpfs. */
  root: string;
  /** Every file of the results root just before the fill. */
  before: Map<string, Buffer>;
  /** Bytes the fill wrote. */
  filled: number;
  startedAt: number;
  filledAt: number;
  exitedAt: number;
}

/** `sockvm run <args>` into a results root of its own on the tmpfs, filled up as soon as the boot phase ends. */
function runAndFill(args: string[]): Promise<FilledRun> {
  const root = mkdtempSync(join(mnt, 'run-'));
  let before = new Map<string, Buffer>();
  let filled = 0;
  let filledAt = 0;
  const startedAt = Date.now();
  return new Promise((resolve) => {
    const child = spawn(...cliArgv(['run', '--results-dir', root, '--progress', 'json', ...args]), {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const watch = new ProcessWatch(child.pid as number);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    onProgressEvents(
      child.stderr,
      (text) => (output += text),
      (e) => {
        if (e.type === 'phase-ended' && e.phase === 'boot' && !filled) {
          before = snapshot(root);
          filled = fill(mnt);
          filledAt = Date.now();
        }
      },
    );
    child.on('exit', (code, signal) => {
      const exitedAt = Date.now();
      watch.stop();
      // A moment for the kernel to reap what died with the run.
      setTimeout(() => resolve({ code, signal, output, left: watch.left(), root, before, filled, startedAt, filledAt, exitedAt }), 200);
    });
  });
}

/** What every filled run must show: exit 2 naming the file, no stack, nothing left, earlier files whole. */
function checkFilledRun(t: Test, r: FilledRun): void {
  const tail = r.output.slice(-1500);
  t.comment(`boot after ${Math.round((r.filledAt - r.startedAt) / 1000)} s; exit ${((r.exitedAt - r.filledAt) / 1000).toFixed(1)} s after the fill`);
  t.comment(
    r.output
      .split('\n')
      .filter((l) => !l.startsWith('{"'))
      .join('\n'),
  );
  t.ok(r.filled > 0, `the tmpfs was filled after the boot (${r.filled >> 20} MiB)`);
  t.equal(r.signal, null, 'exited by itself');
  t.equal(r.code, 2, `exit 2, an infrastructure error (output tail: ${tail})`);
  const named = new RegExp(`cannot write ${r.root}/\\S+: ENOSPC`);
  t.match(r.output, named, 'a message names the file and ENOSPC');
  t.notMatch(r.output, /^\s+at \S+.*:\d+:\d+\)?$/m, 'no stack trace');
  t.notMatch(r.output, /unexpected error|RangeError|Unhandled/i, 'no unexpected error');
  t.same(r.left, [], 'no process of the run left');
  t.same(qemuLeftBehind(r.root), [], 'no QEMU left');
  // What was on disk before is still there, and whole: a file may have grown, never shrunk.
  t.ok(r.before.size > 0, `${r.before.size} files before the fill`);
  for (const [path, old] of r.before) {
    const now = statSync(path, { throwIfNoEntry: false }) ? readFileSync(path) : undefined;
    t.ok(now !== undefined && now.subarray(0, old.length).equals(old), `${relative(r.root, path)} intact (${old.length} bytes before)`);
  }
  t.same(
    readdirSync(r.root, { recursive: true }).filter((n) => String(n).endsWith('.tmp')),
    [],
    'no half-written .tmp file left',
  );
  // The next case gets the room back.
  unlinkSync(join(mnt, 'filler'));
}

await t.test('the results dir fills up after the boot: exit 2 naming the file and ENOSPC, no stack, no process left, earlier files whole', async (t) => {
  checkFilledRun(t, await runAndFill(['--suite', 'create']));
});

await t.test('the console log meets the full disk while the suite prints nothing: the run ends at once, exit 2 naming console.log', async (t) => {
  // The suite writes to the guest's console for 60 s and never to its TAP: only the console log's
  // failed write can end the run early (before: it ended with the suite, then said why).
  const suites = join(repoRoot, 'harness', 'test', 'fixtures', 'suites-console');
  const r = await runAndFill(['--suites-dir', suites, '--suite', 'console-writer']);
  checkFilledRun(t, r);
  t.match(r.output, new RegExp(`cannot write ${r.root}/\\S+/console\\.log: ENOSPC`), 'the message names console.log');
  t.ok(r.exitedAt - r.filledAt < 20000, `exit ${((r.exitedAt - r.filledAt) / 1000).toFixed(1)} s after the fill, not after the suite's 60 s`);
});
