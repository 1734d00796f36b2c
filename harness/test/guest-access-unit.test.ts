// The pure parts of guest access: the OpenSSH stanza of kept guests, the gdb command line from
// the guest's sysfs, and the verdict of a run with a command.
import t from 'tap';
import { knownHostsText, sshConfig, type KeptState } from '../src/access/kept.js';
import { gdbCommand, parseSections } from '../src/access/gdb.js';
import type { RunResult } from '../src/results/model.js';
import { judgeTarget } from '../src/results/verdict.js';

const state: KeptState = {
  version: 1,
  runId: 'R',
  target: 'host',
  keptAt: '2026-11-30T10:00:00Z',
  dir: '/res/R',
  identityFile: '/res/R/guest/id_ed25519',
  knownHosts: '/res/my runs/known_hosts',
  hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake root@guest',
  guests: [
    { name: 'guest1', pid: 10, startTime: '1', sshPort: 40022, consoleLog: '/res/R/console.log' },
    { name: 'guest2', pid: 11, startTime: '1', sshPort: 40023, consoleLog: '/res/R/console-guest2.log' },
  ],
};

await t.test('ssh-config: a Host per guest, key pinned under an alias, strict checking, paths quoted', async (t) => {
  const text = sshConfig(state).join('\n');
  t.match(text, /^Host sockvm sockvm-guest1\n {2}HostName 127\.0\.0\.1\n {2}Port 40022\n {2}User root\n {2}IdentityFile \/res\/R\/guest\/id_ed25519\n/m);
  t.match(text, /^Host sockvm-guest2\n {2}HostName 127\.0\.0\.1\n {2}Port 40023\n/m);
  t.match(text, /HostKeyAlias sockvm-guest1\n {2}UserKnownHostsFile "\/res\/my runs\/known_hosts"\n {2}StrictHostKeyChecking yes/);
  t.equal(
    knownHostsText(state.hostKey, ['guest1', 'guest2']),
    'sockvm-guest1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake\nsockvm-guest2 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake\n',
  );
});

await t.test('gdb: only section lines of a known name and a hex address are taken from the guest', async (t) => {
  const s = parseSections('.text 0xffffffffc0a00000\n.data 0xffffffffc0a05000\n.bss 0xffffffffc0a06000\n.evil $(rm -rf /)\n.rodata 0xffffffffc0a04000; id\n');
  t.same(s, { '.text': '0xffffffffc0a00000', '.data': '0xffffffffc0a05000', '.bss': '0xffffffffc0a06000' });
  t.equal(
    gdbCommand(41234, '/c/newtcp.ko', s),
    "gdb -q -ex 'target remote 127.0.0.1:41234' -ex 'add-symbol-file /c/newtcp.ko 0xffffffffc0a00000 -s .data 0xffffffffc0a05000 -s .bss 0xffffffffc0a06000'",
  );
  t.match(gdbCommand(1, '/k.ko', s, '/b/vmlinux'), /^gdb -q \/b\/vmlinux -ex /);
});

const base = (over: Partial<RunResult>): RunResult => ({
  runId: 'R',
  startedAt: '',
  command: '',
  status: 'pass',
  exitCode: 0,
  phases: {},
  suites: [],
  ...over,
});
const passing = {
  name: 'create',
  status: 'pass' as const,
  durationMs: 1,
  exitCode: 0,
  tests: [{ id: 1, name: 'a', status: 'pass' as const, diagnostics: [] }],
  errors: [],
  kernelFindings: [],
};

await t.test("with a command, the run's exit code is the command's", async (t) => {
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 0 } })), { status: 'pass', exitCode: 0 }, 'no suite asked for: not "no test ran"');
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 3 } })), { status: 'fail', exitCode: 3 });
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 137, signal: 'KILL' } })), { status: 'fail', exitCode: 137 });
  t.same(
    judgeTarget(base({ suites: [{ ...passing, status: 'fail' }], guestAccess: { mode: 'command', exitCode: 0 } })).exitCode,
    1,
    'a failed suite makes 0 into 1',
  );
  t.same(judgeTarget(base({ guestAccess: { mode: 'command', exitCode: 0, kernelFindings: ['WARNING: x'] } })), { status: 'fail', exitCode: 1 });
  t.same(judgeTarget(base({ infraError: 'the command did not finish', guestAccess: { mode: 'command', exitCode: null } })).exitCode, 2);
  t.same(judgeTarget(base({ guestAccess: { mode: 'keep' } })), { status: 'pass', exitCode: 0 }, '--keep alone is green once the guest is up');
  t.same(judgeTarget(base({ suites: [passing], guestAccess: { mode: 'keep' } })), { status: 'pass', exitCode: 0 });
  t.equal(judgeTarget(base({})).exitCode, 1, 'a plain run with no suite still proves nothing');
});
