// Your own commands in the guest, end to end on the host target: `run -- cmd` and `--exec`
// (output streamed, the command's exit code, --copy). One boot per test.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, qemuLeftBehind, readTargetResult } from './helpers.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** When each stdout line arrived (ms since the start). */
  arrivals: { line: string; at: number }[];
  resultsRoot: string;
}

/** Runs the CLI with stdout and stderr kept apart. */
function sockvm(args: string[], resultsRoot = mkdtempSync(join(tmpdir(), 'sockvm-access-'))): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args.flatMap((a) => (a === '@results' ? ['--results-dir', resultsRoot] : [a]))], {
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const start = Date.now();
    const r: Run = { code: null, stdout: '', stderr: '', arrivals: [], resultsRoot };
    child.stdout.on('data', (c: Buffer) => {
      r.stdout += c.toString();
      for (const line of c.toString().split('\n').filter(Boolean)) r.arrivals.push({ line, at: Date.now() - start });
    });
    child.stderr.on('data', (c: Buffer) => (r.stderr += c.toString()));
    child.on('exit', (code) => resolve({ ...r, code }));
  });
}

await t.test('run -- cmd: the argv reaches the guest verbatim, output streams as it comes, --copy lands in /root, exit code is the command’s', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'sockvm-copy-'));
  mkdirSync(join(data, 'payload'));
  writeFileSync(join(data, 'payload', 'hello.txt'), 'copied from the host\n');
  const tricky = "it's $(touch /tmp/pwned) `id`";
  const script =
    'echo first; sleep 3; cat /root/payload/hello.txt; printf "%s\\n" "$1"; grep -q "^newtcp " /proc/modules && echo module-loaded; echo to-stderr >&2; exit 7';
  const r = await sockvm(['run', '@results', '--copy', join(data, 'payload'), '--', 'sh', '-c', script, 'sh', tricky]);
  t.equal(r.code, 7, `exit code 7, the command's\n${r.stderr}`);
  t.equal(r.stdout, `first\ncopied from the host\n${tricky}\nmodule-loaded\n`, 'stdout is the command’s alone, byte for byte');
  t.match(r.stderr, /to-stderr/, "the command's stderr on ours");
  t.match(r.stderr, /command in the guest/, "sockvm's own lines on stderr");
  const first = r.arrivals.find((a) => a.line === 'first')?.at ?? Infinity;
  const later = r.arrivals.find((a) => a.line === 'copied from the host')?.at ?? 0;
  t.ok(later - first >= 2500, `"first" arrived ${later - first} ms before the rest: streamed, not collected`);
  const run = readTargetResult(r.resultsRoot);
  t.equal(run.guestAccess?.mode, 'command');
  t.equal(run.guestAccess?.exitCode, 7);
  t.same(run.guestAccess?.argv, ['sh', '-c', script, 'sh', tricky]);
  t.same(run.guestAccess?.copies, [{ host: join(data, 'payload'), guest: '/root/payload' }]);
  t.equal(run.exitCode, 7);
  t.same(run.suites, [], 'no suite ran');
  t.ok(existsSync(join(r.resultsRoot, 'latest', 'console.log')), 'console.log written');
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left running');
});

await t.test('--exec: a shell line; a command killed by signal n exits 128+n', async (t) => {
  const r = await sockvm(['run', '@results', '--exec', 'echo "sum $((6*7))"; kill -9 $$']);
  t.equal(r.code, 137, `128+9\n${r.stderr}`);
  t.equal(r.stdout, 'sum 42\n');
  t.equal(readTargetResult(r.resultsRoot).guestAccess?.exitCode, 137);
});

await t.test('usage errors come before any kernel work, with no run directory made', async (t) => {
  const r = await sockvm(['run', '@results', '--exec', 'id', '--copy', '/nonexistent-sockvm', '--', 'id']);
  t.equal(r.code, 2);
  t.match(r.stderr, /--exec and -- <cmd> both name a command/);
  t.match(r.stderr, /--copy \/nonexistent-sockvm: no such file or directory/);
  t.notOk(existsSync(join(r.resultsRoot, 'latest')), 'no run directory');
});
