// Which compiler builds the module for a kernel: the host's, or a chroot of the Debian release
// whose gcc built the kernel. Pure decisions here; chroot.ts makes them real.
import type { DebianRelease } from '../debian/releases.js';
import type { KernelCompiler } from '../kernel/kernel-compiler.js';

export type Toolchain = { kind: 'host' } | { kind: 'chroot'; release: DebianRelease; root: string };

/** What chooseToolchain decides, before any chroot exists. */
export type ToolchainChoice = { kind: 'host'; reason: string } | { kind: 'chroot'; release: DebianRelease; extraPackages: string[]; reason: string };

/** The Debian release whose default gcc is `major`, for kernels that do not say their release. */
export function releaseForGcc(major: number): DebianRelease {
  if (major <= 10) return 'bullseye';
  if (major <= 12) return 'bookworm';
  if (major <= 14) return 'trixie';
  return 'sid';
}

/** `x86_64-linux-gnu-gcc-14` is what Debian's headers call; `gcc-14` the package that holds it. */
export function compilerPackage(c: KernelCompiler): string {
  return c.family === 'clang' ? `clang-${c.major}` : `gcc-${c.major}`;
}

/**
 * The toolchain for a kernel, with one line saying why. The host is chosen when its gcc has the
 * kernel's major version (the kernel's flags and plugins are per major version); otherwise a
 * chroot of the kernel's release (or of the release shipping that gcc) with that gcc added.
 */
export function chooseToolchain(
  kernelCompiler: KernelCompiler | undefined,
  hostGccVersion: string | undefined,
  kernelRelease?: DebianRelease,
): ToolchainChoice {
  const host = hostGccVersion ? `host gcc ${hostGccVersion}` : 'no host gcc';
  if (!kernelCompiler) {
    return { kind: 'host', reason: `the kernel records no compiler (.kernelvariables, .config); using ${host}` };
  }
  const built = `${kernelCompiler.cc}${kernelCompiler.version ? ` (${kernelCompiler.version})` : ''}`;
  const hostMajor = hostGccVersion ? Number(hostGccVersion.split('.')[0]) : undefined;
  if (kernelCompiler.family === 'gcc' && hostMajor === kernelCompiler.major) {
    return { kind: 'host', reason: `kernel built with ${built}; ${host} is the same major version` };
  }
  const release = kernelRelease ?? releaseForGcc(kernelCompiler.major);
  const pkg = compilerPackage(kernelCompiler);
  return {
    kind: 'chroot',
    release,
    extraPackages: [pkg],
    reason: `kernel built with ${built}; ${host} differs, so a Debian ${release} chroot with ${pkg} builds it`,
  };
}

export function describeToolchain(tc: Toolchain): string {
  return tc.kind === 'host' ? 'host' : `chroot:${tc.release}`;
}
