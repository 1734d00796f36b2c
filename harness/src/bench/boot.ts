// Boot-to-SSH benchmark: the default boot against the variants each of its choices replaced,
// interleaved round by round so machine noise hits all of them alike. Prints medians and
// ratios to the default (npm run bench runs it with the other benchmarks, bench/main.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildModule } from '../build/module.js';
import { buildInitramfs } from '../image/initramfs.js';
import { makeRunKeys } from '../image/keys.js';
import { findHostKernel } from '../kernel/host.js';
import { bootableKernel } from '../kernel/vmlinux.js';
import { cacheRoot, repoRoot } from '../util/paths.js';
import { chooseAccel } from '../vm/accel.js';
import { bootGuest, QEMU } from '../vm/boot.js';
import { median } from './stats.js';

interface Variant {
  name: string;
  kernel: 'vmlinux' | 'bzImage';
  /** The initramfs as it was before: gzip'd (level 6). */
  gzipInitrd?: boolean;
  editArgs?: (args: string[]) => string[];
}

const replaceDevice =
  (from: string, to: string) =>
  (args: string[]): string[] =>
    args.map((a) => a.replace(from, to));
const dropBios = (args: string[]): string[] => {
  const i = args.indexOf('-bios');
  return i < 0 ? args : [...args.slice(0, i), ...args.slice(i + 2)];
};

const VARIANTS: Variant[] = [
  { name: 'default (PVH vmlinux, qboot, e1000 autoneg off)', kernel: 'vmlinux' },
  { name: 'compressed bzImage', kernel: 'bzImage' },
  { name: "gzip'd initramfs", kernel: 'vmlinux', gzipInitrd: true },
  { name: 'SeaBIOS instead of qboot', kernel: 'vmlinux', editArgs: dropBios },
  { name: 'e1000 autonegotiation on', kernel: 'vmlinux', editArgs: replaceDevice('autonegotiation=off', 'autonegotiation=on') },
];

/** The boot variants' medians; each line printed as it is measured. */
export async function bootVariants(rounds: number, cpus: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sockvm-bench-'));
  const cache = cacheRoot();
  const kernel = await findHostKernel();
  // A benchmark is stopped with ^C as a whole; its builds need no cancellation of their own.
  const never = new AbortController().signal;
  const mod = await buildModule(join(repoRoot, 'kernel', 'newtcp'), kernel, cache, join(dir, 'build.log'), { signal: never });
  const keys = await makeRunKeys(dir, never);
  const image = await buildInitramfs(
    {
      rootfsDir: join(repoRoot, 'images', 'rootfs'),
      modulesDir: kernel.modulesDir,
      bootModules: ['e1000'],
      busybox: '/bin/busybox',
      dropbear: '/usr/sbin/dropbear',
      newtcpKo: mod.ko,
      suites: [],
      hostKey: keys.hostKey,
      authorizedKey: keys.clientPublicLine,
      settings: { mgmtAddr: '10.0.2.15/24', mgmtGateway: '10.0.2.2' },
    },
    never,
  );
  const initrd = join(dir, 'initramfs.cpio');
  await writeFile(initrd, image.cpio);
  // What the host paid for the gzip'd image, and its file for that variant.
  const gzipStart = process.cpuUsage();
  const gz = gzipSync(image.cpio, { level: 6 });
  const gzipCpu = process.cpuUsage(gzipStart);
  const gzInitrd = join(dir, 'initramfs.cpio.gz');
  await writeFile(gzInitrd, gz);
  const vmlinux = await bootableKernel(kernel.image, cache, { signal: never });
  const accel = await chooseAccel('auto', { qemu: QEMU, kernel: vmlinux.path, cacheDir: cache, probeLog: join(dir, 'probe.log') });
  console.log(
    `boot-to-SSH benchmark: kernel ${kernel.release}, ${accel.accel}, ${cpus} CPUs, ${rounds} rounds, image ${(image.cpio.length / 1e6).toFixed(1)} MB (gzip'd ${(gz.length / 1e6).toFixed(1)} MB, ${((gzipCpu.user + gzipCpu.system) / 1e6).toFixed(2)} CPU-s to gzip)`,
  );

  const samples = new Map<string, { total: number[]; ready: number[]; ssh: number[]; init: number[] }>();
  for (let round = 1; round <= rounds; round++) {
    for (const v of VARIANTS) {
      const booted = await bootGuest({
        kernel: v.kernel === 'vmlinux' ? vmlinux.path : kernel.image,
        initrd: v.gzipInitrd ? gzInitrd : initrd,
        accel: accel.accel,
        memoryMiB: 1024,
        cpus,
        keys,
        dir,
        timeoutMs: 120000,
        ...(v.editArgs ? { editArgs: v.editArgs } : {}),
      });
      const t = booted.timings;
      const s = samples.get(v.name) ?? { total: [], ready: [], ssh: [], init: [] };
      s.total.push(t.toReadyMs + t.sshMs);
      s.ready.push(t.toReadyMs);
      s.ssh.push(t.sshMs);
      if (t.guestInitUptime !== undefined) s.init.push(t.guestInitUptime);
      samples.set(v.name, s);
      booted.guest.close();
      await booted.vm.stop(500);
      console.log(`  round ${round}: ${v.name}: ${((t.toReadyMs + t.sshMs) / 1000).toFixed(2)} s`);
    }
  }
  const base = median(samples.get(VARIANTS[0]?.name ?? '')?.total ?? [1]);
  console.log('\nvariant                                          boot-to-SSH  ratio  (spawn→ready, ready→SSH, guest uptime at init)');
  for (const v of VARIANTS) {
    const s = samples.get(v.name);
    if (!s) continue;
    const m = median(s.total);
    console.log(
      `${v.name.padEnd(48)} ${(m / 1000).toFixed(2).padStart(8)} s ${(m / base).toFixed(2).padStart(6)}  (${(median(s.ready) / 1000).toFixed(2)} s, ${(median(s.ssh) / 1000).toFixed(2)} s, ${s.init.length ? median(s.init).toFixed(2) : '?'} s)`,
    );
  }
  await rm(dir, { recursive: true, force: true });
}
