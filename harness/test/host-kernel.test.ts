import t from 'tap';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bzImageRelease, compareReleases, findHostKernel, userKernel } from '../src/kernel/host.js';

function fakeRoot(releases: { rel: string; modules?: boolean; build?: boolean }[]): { boot: string; mods: string } {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-host-'));
  const boot = join(root, 'boot');
  const mods = join(root, 'modules');
  mkdirSync(boot);
  for (const r of releases) {
    writeFileSync(join(boot, `vmlinuz-${r.rel}`), 'x');
    if (r.modules) {
      mkdirSync(join(mods, r.rel, 'build'), { recursive: true });
      writeFileSync(join(mods, r.rel, 'modules.dep'), '');
      if (r.build) writeFileSync(join(mods, r.rel, 'build', 'Makefile'), '');
    }
  }
  return { boot, mods };
}

await t.test('release order is numeric', async (t) => {
  t.ok(compareReleases('6.10.0-1-amd64', '6.9.0-1-amd64') > 0);
  t.ok(compareReleases('6.1.0-56-amd64', '6.1.0-9-amd64') > 0);
  t.equal(compareReleases('5.10.0-1', '5.10.0-1'), 0);
});

await t.test('picks the newest kernel that has modules and a kbuild tree', async (t) => {
  const r = fakeRoot([
    { rel: '6.1.0-9-amd64', modules: true, build: true },
    { rel: '6.1.0-56-amd64', modules: true, build: true },
    { rel: '6.12.0-1-amd64', modules: true, build: false },
  ]);
  const k = await findHostKernel({ bootDir: r.boot, modulesRoot: r.mods });
  t.equal(k.release, '6.1.0-56-amd64');
  t.equal(k.buildDir, join(r.mods, '6.1.0-56-amd64', 'build'));
});

await t.test('errors name the package to install', async (t) => {
  const none = fakeRoot([]);
  await t.rejects(findHostKernel({ bootDir: none.boot, modulesRoot: none.mods }), /apt-get install linux-image-amd64/);
  const noHeaders = fakeRoot([{ rel: '6.1.0-56-amd64', modules: true, build: false }]);
  await t.rejects(findHostKernel({ bootDir: noHeaders.boot, modulesRoot: noHeaders.mods }), /apt-get install linux-headers-6\.1\.0-56-amd64/);
});

await t.test('a user kernel must come with matching modules and build dir', async (t) => {
  const r = fakeRoot([{ rel: '6.1.0-56-amd64', modules: true, build: true }]);
  const image = join(r.boot, 'vmlinuz-6.1.0-56-amd64');
  await t.rejects(userKernel(image, undefined, undefined), /needs --modules-dir/);
  await t.rejects(userKernel('/nonexistent/bzImage', 'm', 'b'), /--kernel \/nonexistent\/bzImage: no such file/);
  const build = join(r.mods, '6.1.0-56-amd64', 'build');
  await t.rejects(userKernel(image, join(r.mods, '6.1.0-56-amd64'), build), /not a configured kbuild tree/);
  mkdirSync(join(build, 'include', 'config'), { recursive: true });
  writeFileSync(join(build, 'include', 'config', 'kernel.release'), '6.2.0\n');
  await t.rejects(userKernel(image, join(r.mods, '6.1.0-56-amd64'), build), /does not match --build-dir release 6\.2\.0/);
  writeFileSync(join(build, 'include', 'config', 'kernel.release'), '6.1.0-56-amd64\n');
  writeFileSync(image, 'a text file, not a kernel\n');
  await t.rejects(
    userKernel(image, join(r.mods, '6.1.0-56-amd64'), build),
    /not a kernel image \(neither a bzImage with the "HdrS" setup header nor an ELF vmlinux\)/,
  );
});

await t.test('a user kernel image must be the release its modules and build dir are', async (t) => {
  const host = await findHostKernel();
  t.equal(await bzImageRelease(host.image), host.release, `the installed ${host.image} names its release`);
  t.equal(await bzImageRelease(fileURLToPath(import.meta.url)), undefined, 'no bzImage: nothing to compare');
  const r = fakeRoot([{ rel: '6.0.9-other', modules: true, build: true }]);
  const build = join(r.mods, '6.0.9-other', 'build');
  mkdirSync(join(build, 'include', 'config'), { recursive: true });
  writeFileSync(join(build, 'include', 'config', 'kernel.release'), '6.0.9-other\n');
  await t.rejects(
    userKernel(host.image, join(r.mods, '6.0.9-other'), build),
    new RegExp(`is release ${host.release.replace(/\./g, '\\.')}, but --build-dir is 6\\.0\\.9-other`),
  );
});
