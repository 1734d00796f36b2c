// A target's kernel and the toolchain that builds modules for it: the host's installed kernel,
// a user-given one, or a Debian release's packages (downloaded and cached) with a chroot of the
// release whose compiler built the kernel.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { KernelSpec } from '../config/targets.js';
import { ensureToolchain, hostGccVersion } from '../toolchain/chroot.js';
import { chooseToolchain, type Toolchain } from '../toolchain/toolchain.js';
import { withLock } from '../util/lock.js';
import { repoRoot } from '../util/paths.js';
import type { KernelArtifact } from './artifact.js';
import { prepareDebianKernel } from '../debian/kernel.js';
import { buildSourceKernel } from './kbuild/build.js';
import type { BuildProgress } from './kbuild/make.js';
import type { SourceProvenance } from './kbuild/recipe.js';
import { findHostKernel, userKernel } from './host.js';

export interface ResolvedKernel {
  kernel: KernelArtifact;
  toolchain: Toolchain;
  /** One line: which toolchain and why. */
  toolchainReason: string;
  /** Host directories a chroot build must see (the unpacked kernel tree). */
  binds: string[];
  /** Distro packages the kernel came from, with exact versions. */
  packages?: { name: string; version: string }[];
  /** Nothing was downloaded, unpacked or created. */
  cached: boolean;
  /** A source kernel: what it was built from (source identity, series, cache key, reproduce line). */
  provenance?: SourceProvenance;
  /** A source kernel that carries NEW_TCP: its `make headers_install` include directory. */
  uapiHeaders?: string;
}

export interface ResolveOptions {
  cacheDir: string;
  /** A --kernel given on the command line, which overrides the target's. */
  user?: { image: string; modulesDir?: string; buildDir?: string };
  log?: (line: string) => void;
  /** Source kernels: the build's progress (files compiled), for a moving status line. */
  onProgress?: (p: BuildProgress) => void;
  /** The target's name (recorded in the source kernel's reproduce line). */
  target?: string;
  /** Source kernels: rebuild even when cached. */
  force?: boolean;
  /** Aborts downloads, chroot creation and builds (their process groups are killed). */
  signal: AbortSignal;
}

/**
 * Resolves a target's kernel. Downloads, chroots and builds happen under a lock per kernel spec,
 * so concurrent sockvm processes (CI's background preparation, `--jobs`, two clones) wait for
 * one another and then find the cache entry instead of building it twice.
 */
export async function resolveKernel(spec: KernelSpec, o: ResolveOptions): Promise<ResolvedKernel> {
  if (o.user || spec.provider === 'host') return resolveUnlocked(spec, o);
  const key = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  const lock = join(o.cacheDir, 'locks', `kernel-${key}`);
  return withLock(lock, () => resolveUnlocked(spec, o), {
    signal: o.signal,
    onWait: (pid) => o.log?.(`waiting for sockvm process ${pid}, which is preparing this kernel (${lock})`),
  });
}

async function resolveUnlocked(spec: KernelSpec, o: ResolveOptions): Promise<ResolvedKernel> {
  if (o.user) {
    const kernel = await userKernel(o.user.image, o.user.modulesDir, o.user.buildDir);
    return { kernel, toolchain: { kind: 'host' }, toolchainReason: 'host (a kernel given with --kernel)', binds: [], cached: true };
  }
  if (spec.provider === 'host') {
    return { kernel: await findHostKernel(), toolchain: { kind: 'host' }, toolchainReason: 'host (the installed distro kernel)', binds: [], cached: true };
  }
  if (spec.provider === 'source') {
    const toolchain: Toolchain =
      !spec.toolchain || spec.toolchain === 'host' ? { kind: 'host' } : (await ensureToolchain(spec.toolchain, { cacheDir: o.cacheDir, signal: o.signal })).toolchain;
    const built = await buildSourceKernel(spec, {
      cacheDir: o.cacheDir,
      repoRoot,
      toolchain,
      signal: o.signal,
      ...(o.log ? { log: o.log } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      ...(o.target ? { target: o.target } : {}),
      ...(o.force ? { force: true } : {}),
    });
    const k = built.kernel;
    const kernel: KernelArtifact = { image: k.image, modulesDir: k.modulesDir, buildDir: k.buildDir, release: k.release };
    const reason = toolchain.kind === 'host' ? `host (${k.provenance.compiler} built the kernel)` : `the ${toolchain.release} chroot that built the kernel`;
    return { kernel, toolchain, toolchainReason: reason, binds: [k.entryDir], cached: built.cached, provenance: k.provenance, ...(k.uapiHeaders ? { uapiHeaders: k.uapiHeaders } : {}) };
  }
  const prepared = await prepareDebianKernel(spec.release, o.log ? { cacheDir: o.cacheDir, log: o.log, signal: o.signal } : { cacheDir: o.cacheDir, signal: o.signal });
  const k = prepared.kernel;
  const choice = chooseToolchain(k.compiler, await hostGccVersion(o.signal), k.debianRelease);
  const kernel: KernelArtifact = { image: k.image, modulesDir: k.modulesDir, buildDir: k.buildDir, release: k.release };
  if (choice.kind === 'host') {
    return { kernel, toolchain: { kind: 'host' }, toolchainReason: choice.reason, binds: [k.root], packages: k.packages, cached: prepared.cached };
  }
  const tc = await ensureToolchain(choice.release, { cacheDir: o.cacheDir, extraPackages: choice.extraPackages, signal: o.signal });
  return { kernel, toolchain: tc.toolchain, toolchainReason: choice.reason, binds: [k.root], packages: k.packages, cached: prepared.cached && !tc.created };
}
