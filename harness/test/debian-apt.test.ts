import t from 'tap';
import { aptConfig, aptDirs, aptSourcesList, debFileName, dependsNames, parseStanzas } from '../src/debian/apt.js';
import { kernelDebs, pickHeaderDeps, pickImageParts, pickKernelPackageNames } from '../src/debian/kernel-packages.js';
import { parseDebianRelease } from '../src/debian/releases.js';
import { kernelCacheKey, rebaseLink, rewriteHeadersMakefile } from '../src/debian/kernel.js';

await t.test('release names: codename, debian: prefix, kernel series', async (t) => {
  t.equal(parseDebianRelease('bookworm'), 'bookworm');
  t.equal(parseDebianRelease('debian:trixie'), 'trixie');
  t.equal(parseDebianRelease('6.12'), 'trixie');
  t.equal(parseDebianRelease('debian:5.10'), 'bullseye');
  t.equal(parseDebianRelease('7.2'), 'sid');
  t.throws(() => parseDebianRelease('buster'), /unknown Debian release 'buster': use one of bullseye \(5.10\)/);
});

await t.test('sources: main, -updates, -security; sid only main; all signed-by', async (t) => {
  const s = aptSourcesList('bookworm');
  t.match(s, /^deb \[arch=amd64 signed-by=\/usr\/share\/keyrings\/debian-archive-keyring.gpg\] http:\/\/deb.debian.org\/debian bookworm main$/m);
  t.match(s, /bookworm-updates main/);
  t.match(s, /debian-security bookworm-security main/);
  const sid = aptSourcesList('sid', { mirror: 'http://m/debian', ignoreValidUntil: true });
  t.equal(sid.trim().split('\n').length, 1);
  t.match(sid, /check-valid-until=no\] http:\/\/m\/debian sid main/);
  t.notMatch(aptSourcesList('trixie'), /check-valid-until/);
});

await t.test('apt.conf keeps every path private and never reads /etc/apt', async (t) => {
  const dirs = aptDirs('/c', 'trixie');
  const conf = aptConfig(dirs);
  t.match(conf, /Dir::Etc::parts "\/c\/apt\/trixie\/empty.d";/);
  t.match(conf, /Dir::Etc::sourcelist "\/c\/apt\/trixie\/sources.list";/);
  t.match(conf, /Dir::State::status "\/c\/apt\/trixie\/status";/);
  t.match(conf, /Dir::Cache::archives "\/c\/apt\/trixie\/archives";/);
  for (const line of conf.split('\n')) t.notMatch(line, /"\/etc\/apt|"\/var\/(lib|cache)\/apt/, line);
});

const SHOW = `Package: linux-image-amd64
Source: linux-signed-amd64 (6.12.118+1)
Version: 6.12.118-1
Depends: linux-image-6.12.118+deb13-amd64 (= 6.12.118-1)
Description: Linux for 64-bit PCs (meta-package)
 This package depends on the latest Linux kernel and modules for use on
 PCs with AMD64, Intel 64 or VIA Nano processors.

Package: other
Version: 1
`;

await t.test('apt-cache show stanzas', async (t) => {
  const st = parseStanzas(SHOW);
  t.equal(st.length, 2);
  t.equal(st[0]?.Version, '6.12.118-1');
  t.match(st[0]?.Description ?? '', /meta-package\)\nThis package/);
  t.same(dependsNames('a (>= 1), b | c:any (= 2),  d'), ['a', 'b', 'c', 'd']);
});

await t.test('package names from the metapackages and the headers package', async (t) => {
  const n = pickKernelPackageNames('linux-image-6.12.118+deb13-amd64 (= 6.12.118-1)', 'linux-headers-6.12.118+deb13-amd64 (= 6.12.118-1)');
  t.same(n, { abi: '6.12.118+deb13-amd64', image: 'linux-image-6.12.118+deb13-amd64', headers: 'linux-headers-6.12.118+deb13-amd64' });
  t.throws(() => pickKernelPackageNames('linux-image-6.1.0-56-amd64', 'linux-headers-6.1.0-55-amd64'), /disagree on the kernel ABI/);
  t.throws(() => pickKernelPackageNames('', 'linux-headers-6.1.0-55-amd64'), /no linux-image-<abi>-amd64/);
  const bw = pickHeaderDeps(
    '6.1.0-56-amd64',
    'linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), linux-compiler-gcc-12-x86 (>= 6.1.192-2)',
  );
  t.same(bw, { common: 'linux-headers-6.1.0-56-common', kbuild: 'linux-kbuild-6.1', compilerPackage: 'linux-compiler-gcc-12-x86' });
  const tx = pickHeaderDeps('6.12.118+deb13-amd64', 'linux-headers-6.12.118+deb13-common (= 6.12.118-1), linux-kbuild-6.12.118+deb13 (= 6.12.118-1), gcc-14');
  t.same(tx, { common: 'linux-headers-6.12.118+deb13-common', kbuild: 'linux-kbuild-6.12.118+deb13', compilerPackage: 'gcc-14' });
  t.throws(() => pickHeaderDeps('6.1.0-56-amd64', 'linux-headers-6.1.0-56-common'), /no linux-kbuild/);
});

await t.test('split image packages (7.x): binary, modules and base are unpacked too', async (t) => {
  const deps =
    'dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, linux-base-7.2.13+deb14-amd64 (= 7.2.13-1), linux-binary-7.2.13+deb14-amd64 (= 7.2.13-1), linux-modules-7.2.13+deb14-amd64 (= 7.2.13-1)';
  t.same(pickImageParts('7.2.13+deb14-amd64', deps), ['linux-base-7.2.13+deb14-amd64', 'linux-binary-7.2.13+deb14-amd64', 'linux-modules-7.2.13+deb14-amd64']);
  t.same(pickImageParts('6.1.0-56-amd64', 'linux-base (>= 4.3~), kmod'), []);
  t.same(pickImageParts('7.2.13+deb14-amd64', 'linux-modules-7.2.13Xdeb14-amd64'), [], 'the + in the ABI is literal');
});

await t.test('.deb file names and cache keys', async (t) => {
  t.equal(debFileName({ name: 'a', version: '1:2.3-4' }), 'a_1%3a2.3-4_amd64.deb');
  t.equal(debFileName({ name: 'a', version: '1', filename: 'pool/main/l/linux/linux-kbuild-6.1_6.1.192-2_amd64.deb' }), 'linux-kbuild-6.1_6.1.192-2_amd64.deb');
  const k = {
    abi: '6.1.0-56-amd64',
    image: { name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2' },
    imageParts: [],
    headers: { name: 'linux-headers-6.1.0-56-amd64', version: '6.1.192-2' },
    headersCommon: { name: 'linux-headers-6.1.0-56-common', version: '6.1.192-2' },
    kbuild: { name: 'linux-kbuild-6.1', version: '6.1.192-2' },
  };
  t.equal(kernelDebs(k).length, 4);
  t.match(kernelCacheKey(k), /^6\.1\.0-56-amd64-[0-9a-f]{12}$/);
  t.not(kernelCacheKey(k), kernelCacheKey({ ...k, kbuild: { name: 'linux-kbuild-6.1', version: '6.1.192-3' } }));
});

await t.test('headers paths rewritten to where they were unpacked', async (t) => {
  t.equal(
    rewriteHeadersMakefile('include /usr/src/linux-headers-6.1.0-56-common/Makefile\n', '/c/r'),
    'include /c/r/usr/src/linux-headers-6.1.0-56-common/Makefile\n',
  );
  t.equal(
    rewriteHeadersMakefile('MAKEARGS := -C /usr/src/linux-headers-5.10.0-46-common O=/usr/src/linux-headers-5.10.0-46-amd64\n', '/c'),
    'MAKEARGS := -C /c/usr/src/linux-headers-5.10.0-46-common O=/c/usr/src/linux-headers-5.10.0-46-amd64\n',
  );
  t.equal(rewriteHeadersMakefile('# see /usr/src/packages\n', '/c'), '# see /usr/src/packages\n');
  t.equal(rebaseLink('/usr/src/linux-headers-6.1.0-56-amd64', '/c/r'), '/c/r/usr/src/linux-headers-6.1.0-56-amd64');
  t.equal(rebaseLink('../../lib/linux-kbuild-6.1/scripts', '/c/r'), undefined);
  t.equal(rebaseLink('/c/r/usr/src/x', '/c/r'), undefined, 'already rebased');
});
