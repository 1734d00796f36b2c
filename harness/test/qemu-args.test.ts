import t from 'tap';
import { kernelCommandLine, qemuArgs } from '../src/vm/qemu-args.js';

const base = { kernel: '/k', initrd: '/i', accel: 'tcg' as const, memoryMiB: 512, cpus: 2, sshPort: 40022, mgmtMac: '52:54:00:12:34:56' };

await t.test('forwards SSH on 127.0.0.1 only, to the chosen port', async (t) => {
  const args = qemuArgs(base).join(' ');
  t.match(args, /hostfwd=tcp:127\.0\.0\.1:40022-:22/);
  t.notMatch(args, /0\.0\.0\.0/);
});

await t.test('uses an e1000 without option ROM and with the given MAC', async (t) => {
  const args = qemuArgs(base);
  const dev = args[args.indexOf('-device') + 1] ?? '';
  t.match(dev, /^e1000,/);
  t.match(dev, /romfile=,/);
  t.match(dev, /mac=52:54:00:12:34:56/);
});

await t.test('no defaults, no reboot, panic exits', async (t) => {
  const args = qemuArgs(base);
  t.ok(args.includes('-nodefaults'));
  t.ok(args.includes('-no-reboot'));
  t.match(args[args.indexOf('-append') + 1] ?? '', /\bpanic=-1\b/);
  t.match(kernelCommandLine(), /console=ttyS0/);
});

await t.test('accelerator picks the CPU model', async (t) => {
  const kvm = qemuArgs({ ...base, accel: 'kvm' });
  t.equal(kvm[kvm.indexOf('-accel') + 1], 'kvm');
  t.equal(kvm[kvm.indexOf('-cpu') + 1], 'host');
  const tcg = qemuArgs(base);
  t.equal(tcg[tcg.indexOf('-cpu') + 1], 'max');
});

await t.test('firmware only when given', async (t) => {
  t.notOk(qemuArgs(base).includes('-bios'));
  const withFw = qemuArgs({ ...base, firmware: '/usr/share/qemu/qboot.rom' });
  t.equal(withFw[withFw.indexOf('-bios') + 1], '/usr/share/qemu/qboot.rom');
});

await t.test('the inter-guest link is a unix datagram pair, never a UDP port other processes could reach', async (t) => {
  const args = qemuArgs({ ...base, link: { mac: '52:54:00:99:00:01', localPath: '/tmp/sockvm-link-x/guest1', remotePath: '/tmp/sockvm-link-x/guest2' } }).join(
    ' ',
  );
  t.match(args, /-netdev dgram,id=link,local\.type=unix,local\.path=\/tmp\/sockvm-link-x\/guest1,remote\.type=unix,remote\.path=\/tmp\/sockvm-link-x\/guest2/);
  t.match(args, /e1000,netdev=link,mac=52:54:00:99:00:01/);
  t.notMatch(args, /udp=/);
});

await t.test('a kept guest logs its console to a file QEMU appends to; a comma in the path is escaped', async (t) => {
  const args = qemuArgs({ ...base, consoleFile: '/r/run,1/console.log' });
  t.equal(args[args.indexOf('-chardev') + 1], 'file,id=console,path=/r/run,,1/console.log,append=on');
  t.equal(args[args.indexOf('-serial') + 1], 'chardev:console');
  t.notOk(
    args.some((a) => a.startsWith('stdio')),
    'no stdio console',
  );
  t.equal(qemuArgs(base)[qemuArgs(base).indexOf('-chardev') + 1], 'stdio,id=console,signal=off', 'by default the console comes on stdout');
});

await t.test('--gdb: the gdbstub on 127.0.0.1 only, the kernel without KASLR; neither by default', async (t) => {
  const args = qemuArgs({ ...base, gdbPort: 41234 });
  t.equal(args[args.indexOf('-gdb') + 1], 'tcp:127.0.0.1:41234');
  t.notOk(args.includes('-S'), 'the guest boots without waiting for a debugger');
  t.match(args[args.indexOf('-append') + 1] ?? '', /\bnokaslr\b/);
  t.notOk(qemuArgs(base).includes('-gdb'));
  t.notMatch(qemuArgs(base)[qemuArgs(base).indexOf('-append') + 1] ?? '', /nokaslr/);
});
