// Your own commands in the guest, end to end on the host target: `run -- cmd` and `--exec`
// (output streamed, the command's exit code, --copy), kept guests reached with the system's
// OpenSSH client and stopped, and `sockvm shell` driven through a real pty. One boot per test.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliArgv, qemuLeftBehind, readTargetResult } from './helpers.js';

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
    const child = spawn(...cliArgv([...args.flatMap((a) => (a === '@results' ? ['--results-dir', resultsRoot] : [a]))]), {
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

/** --keep --gdb on one target: reached with the system's ssh and scp through ssh-config, gdb attached, stopped. */
async function keptGuest(t: Test, target?: string): Promise<void> {
  const r = await sockvm(['run', '@results', '--keep', '--gdb', ...(target ? ['--target', target] : [])]);
  const dir = join(r.resultsRoot, 'latest');
  // Whatever fails below, the guest must not outlive the test.
  t.teardown(() => void spawnSync(...cliArgv(['stop', '--run', dir]), { timeout: 30000 }));
  t.equal(r.code, 0, `exit 0\n${r.stderr}${r.stdout}`);
  t.match(r.stdout, /guests kept running:/);
  t.match(r.stdout, /ssh-config/);
  const run = readTargetResult(r.resultsRoot);
  const state = run.guestAccess?.keptState ?? '';
  t.ok(existsSync(state), `state file ${state}`);
  t.equal(qemuLeftBehind(r.resultsRoot).length, 1, 'QEMU still runs after sockvm exited');

  // The system's OpenSSH client, through the stanza (pinned host key, strict checking). Not
  // ssh -F <(…): ssh closes every inherited descriptor above 2 before it reads its config.
  const ssh = spawnSync('bash', ['-c', '"$0" "$1" ssh-config --run "$2" | ssh -F /dev/stdin sockvm uname -r', process.execPath, cli, dir], {
    encoding: 'utf8',
    timeout: 60000,
  });
  t.equal(ssh.status, 0, `ssh exit 0: ${ssh.stderr}`);
  t.equal(ssh.stdout.trim(), run.kernel?.release, 'uname -r in the guest is the kernel the run booted');
  const config = join(r.resultsRoot, 'ssh_config');
  writeFileSync(config, spawnSync(...cliArgv(['ssh-config', '--run', dir]), { encoding: 'utf8' }).stdout);
  const file = join(r.resultsRoot, 'to-guest.txt');
  writeFileSync(file, 'over scp\n');
  const scp = spawnSync('scp', ['-F', config, file, 'sockvm:/root/'], { encoding: 'utf8', timeout: 60000 });
  t.equal(scp.status, 0, `scp exit 0: ${scp.stderr}`);
  const back = spawnSync('ssh', ['-F', config, 'sockvm', 'cat', '/root/to-guest.txt'], { encoding: 'utf8', timeout: 60000 });
  t.equal(back.stdout, 'over scp\n', 'the file arrived');

  // --gdb: the gdbstub answers and names newtcp's create function from the module's symbols.
  const gdb = run.guestAccess?.gdb;
  t.ok(gdb, 'gdb attach line recorded');
  t.match(r.stdout, /gdb -q .*target remote 127\.0\.0\.1:\d+/, 'the gdb line is printed');
  const addr = spawnSync('ssh', ['-F', config, 'sockvm', 'awk \'$3 == "newtcp_create" { print $1 }\' /proc/kallsyms'], {
    encoding: 'utf8',
    timeout: 60000,
  }).stdout.trim();
  t.match(addr, /^[0-9a-f]{16}$/, `newtcp_create at ${addr}`);
  if (gdb) {
    const extra = Object.entries(gdb.sections)
      .filter(([n]) => n !== '.text')
      .flatMap(([n, a]) => ['-s', n, a]);
    const args = ['-batch', '-nx', '-ex', `target remote 127.0.0.1:${gdb.port}`, '-ex', ['add-symbol-file', gdb.ko, gdb.sections['.text'], ...extra].join(' ')];
    const g = spawnSync('gdb', [...args, '-ex', `info symbol 0x${addr}`, '-ex', 'detach'], { encoding: 'utf8', timeout: 120000 });
    t.match(g.stdout, /newtcp_create in section \.text/, `gdb names the function\n${g.stdout}${g.stderr}`);
  }

  const stop = spawnSync(...cliArgv(['stop', '--run', dir]), { encoding: 'utf8', timeout: 60000 });
  t.equal(stop.status, 0, `stop exit 0: ${stop.stdout}${stop.stderr}`);
  t.match(stop.stdout, /guest1: powered off/);
  t.same(qemuLeftBehind(r.resultsRoot), [], 'no QEMU left');
  t.notOk(existsSync(state), 'state removed');
}

await t.test('--keep: the guest outlives sockvm, the system ssh and scp reach it through ssh-config, --gdb attaches, stop powers it off', (t) => keptGuest(t));

// A Debian kernel too (its own module build, its own modules for the image): the same, on 6.12.
await t.test('--keep, ssh-config, --gdb and stop on a Debian target (debian-6.12)', (t) => keptGuest(t, 'debian-6.12'));

/** Drives `sockvm shell` through a real pty (python3's pty module): waits for the guest's prompt, types, reports the exit status. */
const PTY_DRIVER = `
import os, pty, select, sys, time, fcntl, termios, struct
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 30, 100, 0, 0))
out = b''
def read_until(pattern, limit):
    global out
    end = time.time() + limit
    while time.time() < end and pattern not in out:
        r, _, _ = select.select([fd], [], [], 0.5)
        if fd in r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
read_until(b'shell in the guest', 300)
read_until(b'# ', 60)
os.write(fd, b'sleep 100\\r')
time.sleep(2)
os.write(fd, b'\\x03')
time.sleep(1)
os.write(fd, b'stty size; echo $((6*7)); exit 3\\r')
read_until(b'results:', 120)
read_until(b'\\xff', 5)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

await t.test('sockvm shell: a pty of our size, keys (^C too) reach the guest, the exit status is the shell’s', async (t) => {
  const resultsRoot = mkdtempSync(join(tmpdir(), 'sockvm-shell-'));
  const r = spawnSync('python3', ['-c', PTY_DRIVER, process.execPath, cli, 'shell', '--results-dir', resultsRoot], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', TERM: 'xterm' },
    timeout: 600000,
  });
  t.equal(r.status, 3, `exit 3, the shell's\n${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^42\r?$/m, 'the guest computed 42');
  t.match(r.stdout, /^30 100\r?$/m, 'the guest pty has our window size');
  t.notMatch(r.stdout, /interrupted by SIGINT/, '^C went to the guest, not to sockvm');
  t.equal(readTargetResult(resultsRoot).guestAccess?.exitCode, 3);
  t.same(qemuLeftBehind(resultsRoot), [], 'powered off after the shell');
});
