// Which packages make a Debian release's kernel: the image (and, from 7.x, the packages that
// carry its files), the headers, their -common package, kbuild and the compiler they name.
import { InfraError } from '../util/errors.js';
import { type AptEnv, aptShow, type DebPackage, dependsNames, toDeb } from './apt.js';

export interface KernelPackages {
  /** Kernel ABI/release string, e.g. 6.1.0-41-amd64 or 6.12.57+deb13-amd64. */
  abi: string;
  image: DebPackage;
  /**
   * Packages the image depends on that carry its files: from 7.x (sid) linux-image-<abi> is
   * empty and linux-binary-<abi> (vmlinuz), linux-modules-<abi> and linux-base-<abi> hold them.
   */
  imageParts: DebPackage[];
  headers: DebPackage;
  headersCommon: DebPackage;
  kbuild: DebPackage;
  /** The compiler package the headers depend on (linux-compiler-gcc-N-x86), when named. */
  compilerPackage?: string;
}

/**
 * From the Depends of linux-image-amd64 / linux-headers-amd64 (the metapackages), and of the
 * headers package: the concrete package names. Pure, for tests.
 */
export function pickKernelPackageNames(imageMetaDepends: string, headersMetaDepends: string): { abi: string; image: string; headers: string } {
  const image = dependsNames(imageMetaDepends).find((n) => /^linux-image-\d.*-amd64(-unsigned)?$/.test(n));
  const headers = dependsNames(headersMetaDepends).find((n) => /^linux-headers-\d.*-amd64$/.test(n));
  if (!image) throw new InfraError(`linux-image-amd64 depends on no linux-image-<abi>-amd64 package (Depends: ${imageMetaDepends})`);
  if (!headers) throw new InfraError(`linux-headers-amd64 depends on no linux-headers-<abi>-amd64 package (Depends: ${headersMetaDepends})`);
  const abi = image.slice('linux-image-'.length).replace(/-unsigned$/, '');
  if (headers !== `linux-headers-${abi}`) {
    throw new InfraError(
      `linux-image-amd64 (${image}) and linux-headers-amd64 (${headers}) disagree on the kernel ABI; the archive is mid-update, retry with a refresh`,
    );
  }
  return { abi, image, headers };
}

/** From the headers package's Depends: its -common package, linux-kbuild-* and the compiler metapackage. */
export function pickHeaderDeps(abi: string, headersDepends: string): { common: string; kbuild: string; compilerPackage?: string } {
  const names = dependsNames(headersDepends);
  const common = names.find((n) => n === `linux-headers-${abi.replace(/-amd64$/, '')}-common`) ?? names.find((n) => /^linux-headers-.*-common$/.test(n));
  const kbuild = names.find((n) => n.startsWith('linux-kbuild-'));
  const compilerPackage = names.find((n) => /^linux-compiler-/.test(n)) ?? names.find((n) => /^gcc-\d+$/.test(n));
  if (!common) throw new InfraError(`linux-headers-${abi} depends on no linux-headers-*-common (Depends: ${headersDepends})`);
  if (!kbuild) throw new InfraError(`linux-headers-${abi} depends on no linux-kbuild-* (Depends: ${headersDepends})`);
  return compilerPackage ? { common, kbuild, compilerPackage } : { common, kbuild };
}

/** The image package's dependencies that carry the kernel's files (split image packages). */
export function pickImageParts(abi: string, imageDepends: string): string[] {
  const parts = new RegExp(`^linux-(binary|modules|base|modules-extra)-${abi.replace(/[.+]/g, '\\$&')}$`);
  return [...new Set(dependsNames(imageDepends).filter((n) => parts.test(n)))];
}

/** All .debs of a kernel, image first. */
export function kernelDebs(k: KernelPackages): DebPackage[] {
  return [k.image, ...k.imageParts, k.headers, k.headersCommon, k.kbuild];
}

/** The newest kernel image, headers (arch and common) and kbuild of the release, with versions. */
export async function resolveKernelPackages(a: AptEnv): Promise<KernelPackages> {
  const imageMeta = await aptShow(a, 'linux-image-amd64');
  const headersMeta = await aptShow(a, 'linux-headers-amd64');
  const names = pickKernelPackageNames(imageMeta.Depends ?? '', headersMeta.Depends ?? '');
  const [image, headers] = await Promise.all([aptShow(a, names.image), aptShow(a, names.headers)]);
  const deps = pickHeaderDeps(names.abi, headers.Depends ?? '');
  const partNames = pickImageParts(names.abi, image.Depends ?? '');
  const [common, kbuild, parts] = await Promise.all([aptShow(a, deps.common), aptShow(a, deps.kbuild), Promise.all(partNames.map((n) => aptShow(a, n)))]);
  const result: KernelPackages = {
    abi: names.abi,
    image: toDeb(image),
    imageParts: parts.map(toDeb),
    headers: toDeb(headers),
    headersCommon: toDeb(common),
    kbuild: toDeb(kbuild),
  };
  if (deps.compilerPackage) result.compilerPackage = deps.compilerPackage;
  return result;
}
