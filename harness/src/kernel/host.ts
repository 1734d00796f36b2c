// The embedded default kernel: the distro kernel installed on this machine.
import { open, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UsageError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import type { KernelArtifact } from './artifact.js';

/** Compares kernel releases like `sort -V`: numeric runs as numbers. */
export function compareReleases(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    if (/^\d+$/.test(x) && /^\d+$/.test(y)) return Number(x) - Number(y);
    return x < y ? -1 : 1;
  }
  return 0;
}

export interface HostKernelOptions {
  bootDir?: string;
  modulesRoot?: string;
}

/** The newest /boot/vmlinuz-* with matching /lib/modules/<release> and a kbuild tree. */
export async function findHostKernel(opts: HostKernelOptions = {}): Promise<KernelArtifact> {
  const bootDir = opts.bootDir ?? '/boot';
  const modulesRoot = opts.modulesRoot ?? '/lib/modules';
  const images = (await exists(bootDir)) ? (await readdir(bootDir)).filter((f) => f.startsWith('vmlinuz-')) : [];
  if (images.length === 0) {
    throw new UsageError(`no kernel in ${bootDir}: install one with 'apt-get install linux-image-amd64', or pass --kernel <bzImage>`);
  }
  const releases = images.map((f) => f.slice('vmlinuz-'.length)).sort(compareReleases).reverse();
  const problems: string[] = [];
  for (const release of releases) {
    const modulesDir = join(modulesRoot, release);
    const buildDir = join(modulesDir, 'build');
    if (!(await exists(join(modulesDir, 'modules.dep')))) {
      problems.push(`${release}: no ${modulesDir}/modules.dep (reinstall linux-image-${release})`);
      continue;
    }
    if (!(await exists(join(buildDir, 'Makefile')))) {
      problems.push(`${release}: no kbuild tree at ${buildDir} (apt-get install linux-headers-${release})`);
      continue;
    }
    return { image: join(bootDir, `vmlinuz-${release}`), modulesDir, buildDir, release };
  }
  throw new UsageError(`no usable kernel in ${bootDir}:\n  ${problems.join('\n  ')}`);
}

/** The release a kbuild tree was configured for (include/config/kernel.release). */
export async function buildDirRelease(buildDir: string): Promise<string> {
  // Debian's 5.10/6.1 headers record the upstream version there (6.1.192) and set the real
  // release (6.1.0-56-amd64) in .kernelvariables, which their Makefile reads.
  const vars = await readFile(join(buildDir, '.kernelvariables'), 'utf8').catch(() => '');
  const override = /^override\s+KERNELRELEASE\s*:?=\s*(\S+)\s*$/m.exec(vars);
  if (override?.[1]) return override[1];
  const file = join(buildDir, 'include', 'config', 'kernel.release');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    throw new UsageError(`--build-dir ${buildDir} is not a configured kbuild tree (no include/config/kernel.release): point it at /lib/modules/<release>/build or a built kernel tree`);
  }
}

/** A user-given kernel: --kernel with --modules-dir/--build-dir, checked to belong together. */
export async function userKernel(image: string, modulesDir: string | undefined, buildDir: string | undefined): Promise<KernelArtifact> {
  if (!(await exists(image))) throw new UsageError(`--kernel ${image}: no such file`);
  if (!modulesDir || !buildDir) {
    throw new UsageError(`--kernel ${image} needs --modules-dir <dir with modules.dep> and --build-dir <kbuild tree> too`);
  }
  if (!(await exists(join(modulesDir, 'modules.dep')))) {
    throw new UsageError(`--modules-dir ${modulesDir} has no modules.dep: run 'make modules_install INSTALL_MOD_PATH=…' or 'depmod' for it`);
  }
  const release = await buildDirRelease(buildDir);
  if (basename(modulesDir) !== release) {
    throw new UsageError(`--modules-dir ${modulesDir} does not match --build-dir release ${release}: modules and kbuild tree must come from the same kernel`);
  }
  if (!(await isKernelImage(image))) {
    throw new UsageError(`--kernel ${image}: not a kernel image (neither a bzImage with the "HdrS" setup header nor an ELF vmlinux); pass arch/x86/boot/bzImage or vmlinux from the kernel build`);
  }
  const imageRelease = await bzImageRelease(image);
  if (imageRelease !== undefined && imageRelease !== release) {
    throw new UsageError(`--kernel ${image} is release ${imageRelease}, but --build-dir is ${release}: boot the image the modules and kbuild tree were built with`);
  }
  return { image, modulesDir, buildDir, release };
}

/** A bzImage (setup header magic "HdrS" at 0x202) or an ELF file (a vmlinux QEMU boots by PVH). */
export async function isKernelImage(image: string): Promise<boolean> {
  const fh = await open(image, 'r');
  try {
    const head = Buffer.alloc(0x210);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const elf = bytesRead >= 4 && head.readUInt32BE(0) === 0x7f454c46;
    return elf || (bytesRead >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS');
  } catch {
    return false;
  } finally {
    await fh.close();
  }
}

/**
 * The release a bzImage names in its setup header (Documentation/x86/boot.rst: kernel_version
 * at 0x20e points at "6.1.0-56-amd64 (…) #1 SMP …", 0x200 bytes on). Undefined when the file
 * is no bzImage (a vmlinux, another arch): then nothing is checked here.
 */
export async function bzImageRelease(image: string): Promise<string | undefined> {
  const fh = await open(image, 'r');
  try {
    const head = Buffer.alloc(0x8000);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < 0x210 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
    const at = head.readUInt16LE(0x20e) + 0x200;
    if (head.readUInt16LE(0x20e) === 0 || at >= bytesRead) return undefined;
    const text = head.toString('latin1', at, Math.min(bytesRead, at + 256));
    return /^(\S+)/.exec(text)?.[1];
  } finally {
    await fh.close();
  }
}
