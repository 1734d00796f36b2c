import t from 'tap';
import { ccFromKernelVariables, compilerFromCompileH, kernelCompiler, parseCompilerText, parseGccVersionOutput } from '../src/kernel/kernel-compiler.js';
import { BASE_PACKAGES, debootstrapArgs } from '../src/toolchain/chroot.js';
import { mountsUnder } from '../src/toolchain/mounts.js';
import { chrootArgv, normalizeBinds } from '../src/toolchain/run.js';
import { chooseToolchain, releaseForGcc } from '../src/toolchain/toolchain.js';

const VARS_TRIXIE = `override ARCH = x86
override KERNELRELEASE = 6.12.118+deb13-amd64
CCACHE = ccache
CC = $(if $(DEBIAN_KERNEL_USE_CCACHE),$(CCACHE)) $(CROSS_COMPILE)gcc-14
DEB_BUILD_ARCH ?= $(shell dpkg --print-architecture)
override CROSS_COMPILE = x86_64-linux-gnu-
`;

await t.test('compiler from .kernelvariables and .config', async (t) => {
  t.same(ccFromKernelVariables(VARS_TRIXIE), { cc: 'gcc-14', family: 'gcc', major: 14 });
  t.equal(ccFromKernelVariables('ARCH = x86\n'), undefined);
  const c = kernelCompiler({
    kernelVariables: VARS_TRIXIE,
    config: 'CONFIG_X=y\nCONFIG_CC_VERSION_TEXT="x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"\nCONFIG_CC_IS_GCC=y\n',
  });
  t.same(c, {
    cc: 'gcc-14',
    family: 'gcc',
    major: 14,
    source: '.kernelvariables',
    version: '14.2.0',
    text: 'x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0',
  });
  const only = kernelCompiler({ config: 'CONFIG_CC_VERSION_TEXT="gcc-10 (Debian 10.2.1-6) 10.2.1 20210110"\n' });
  t.same(only, { cc: 'gcc-10', family: 'gcc', major: 10, version: '10.2.1', source: '.config', text: 'gcc-10 (Debian 10.2.1-6) 10.2.1 20210110' });
  const h = compilerFromCompileH(
    '#define UTS_VERSION "#1"\n#define LINUX_COMPILER "gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40"\n',
  );
  t.equal(kernelCompiler({ compileH: `#define LINUX_COMPILER "${h}"\n` })?.source, 'compile.h');
  t.equal(parseCompilerText('Debian clang version 19.1.7 (3)')?.cc, 'clang-19');
  t.equal(kernelCompiler({}), undefined);
  t.same(parseGccVersionOutput('gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright (C) 2022\n'), { major: 12, version: '12.2.0' });
  t.same(parseGccVersionOutput('gcc (Debian 16.2.0-4) 16.2.0\n'), { major: 16, version: '16.2.0' });
});

const gcc = (major: number, version: string) => ({ cc: `gcc-${major}`, family: 'gcc' as const, major, version, source: '.kernelvariables' });

await t.test('toolchain choice: host when the gcc major matches, else the release chroot', async (t) => {
  const bw = chooseToolchain(gcc(12, '12.2.0'), '12.2.0', 'bookworm');
  t.equal(bw.kind, 'host');
  t.equal(bw.reason, 'kernel built with gcc-12 (12.2.0); host gcc 12.2.0 is the same major version');
  const tx = chooseToolchain(gcc(14, '14.2.0'), '12.2.0', 'trixie');
  t.same(tx, {
    kind: 'chroot',
    release: 'trixie',
    extraPackages: ['gcc-14'],
    reason: 'kernel built with gcc-14 (14.2.0); host gcc 12.2.0 differs, so a Debian trixie chroot with gcc-14 builds it',
  });
  const bu = chooseToolchain(gcc(10, '10.2.1'), '12.2.0');
  t.equal(bu.kind === 'chroot' && bu.release, 'bullseye', 'release derived from the gcc when not given');
  t.equal(chooseToolchain(undefined, '12.2.0').kind, 'host');
  t.equal(chooseToolchain(gcc(16, '16.2.0'), undefined, 'sid').kind, 'chroot');
  t.equal(releaseForGcc(16), 'sid');
  t.equal(releaseForGcc(12), 'bookworm');
});

await t.test('debootstrap command line', async (t) => {
  t.same(debootstrapArgs('trixie', '/c/t/root', 'http://deb.debian.org/debian', [...BASE_PACKAGES, 'gcc-14', 'gcc']), [
    '--variant=minbase',
    '--include=gcc,make,libc6-dev,libelf-dev,dwarves,kmod,bc,bison,flex,libssl-dev,xz-utils,perl,gcc-14',
    '--components=main',
    'trixie',
    '/c/t/root',
    'http://deb.debian.org/debian',
  ]);
});

await t.test('chroot runs: binds at the same path, private mount namespace', async (t) => {
  t.same(normalizeBinds(['/a/b/', '/a', '/c/d', '/c/d/e', '/cc']), ['/a', '/c/d', '/cc']);
  const a = chrootArgv('/r', 'make', ['-C', '/k', 'M=/m'], { cwd: '/m', binds: ['/k'], env: { KBUILD_VERBOSE: '1' } });
  t.equal(a.cmd, 'unshare');
  t.same(a.args.slice(0, 4), ['--mount', '--propagation', 'private', '--']);
  const tail = a.args.slice(a.args.indexOf('sh') + 1);
  t.same(tail, ['/r', '/m', '2', '/k', '/m', '--', '/usr/bin/env', 'KBUILD_VERBOSE=1', 'make', '-C', '/k', 'M=/m']);
});

await t.test('mounts under a directory, deepest first', async (t) => {
  const info = [
    '22 1 0:21 / /proc rw - proc proc rw',
    '90 1 0:50 / /c/tc/root/proc rw - proc proc rw',
    '91 1 0:5 / /c/tc/root/dev rw - devtmpfs udev rw',
    '92 91 0:6 / /c/tc/root/dev/pts rw - devpts devpts rw',
    '93 1 0:7 / /c/tc2/root/proc rw - proc proc rw',
    '94 1 0:8 / /c/tc/with\\040space rw - tmpfs t rw',
  ].join('\n');
  t.same(mountsUnder(info, '/c/tc/'), ['/c/tc/root/dev/pts', '/c/tc/with space', '/c/tc/root/proc', '/c/tc/root/dev']);
  t.same(mountsUnder(info, '/nowhere'), []);
});
