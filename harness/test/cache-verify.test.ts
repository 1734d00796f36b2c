// The cache checks itself: a truncated index, a module entry without its .ko, a 0-byte vmlinux
// and a text file where a kernel image should be are named by `cache verify`, and a run that
// meets a bad entry builds it again instead of using it.
import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyCache } from '../src/commands/cache.js';
import { checkKernelImage } from '../src/util/cache-check.js';
import { cachedDir } from '../src/util/fs.js';

const elf = (bytes: number): Buffer => Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(bytes - 4)]);
function bzImage(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b.write('HdrS', 0x202, 'latin1');
  return b;
}

await t.test('cache verify names every bad entry and passes the good ones', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'sockvm-cache-'));
  const put = (path: string, data: string | Buffer) => {
    mkdirSync(join(cache, path, '..'), { recursive: true });
    writeFileSync(join(cache, path), data);
  };
  put('module/good/newtcp.ko', elf(4096));
  mkdirSync(join(cache, 'module', 'no-ko'), { recursive: true });
  put('vmlinux/empty/vmlinux', '');
  put('vmlinux/no-pvh-entry/no-pvh', '');
  put('kernel/k-truncated/artifact.json', '{"image": "/x", "modul');
  const modules = join(cache, 'mods');
  put('mods/modules.dep', '');
  put('img/bzImage', bzImage(2 << 20));
  put('img/text', 'not a kernel\n'.repeat(200000));
  put('kernel/k-good/artifact.json', JSON.stringify({ image: join(cache, 'img/bzImage'), modulesDir: modules }));
  put('debian/bookworm/e-text/kernel.json', JSON.stringify({ image: join(cache, 'img/text'), modulesDir: modules }));
  put('debian/bookworm/e-nodep/kernel.json', JSON.stringify({ image: join(cache, 'img/bzImage'), modulesDir: join(cache, 'nowhere') }));
  put('debian/bookworm/resolved.json', '{"abi":');
  mkdirSync(join(cache, 'module', 'x.tmp-123'), { recursive: true });

  const found = Object.fromEntries((await verifyCache(cache)).map((p) => [`${p.kind} ${p.name}`, p.problem ?? 'ok']));
  t.equal(found['module good'], 'ok');
  t.match(found['module no-ko'], /newtcp\.ko is missing/);
  t.match(found['vmlinux empty'], /vmlinux has 0 bytes/);
  t.equal(found['vmlinux no-pvh-entry'], 'ok', 'a bzImage without PVH is recorded, not bad');
  t.match(found['kernel k-truncated'], /artifact\.json is not valid JSON/);
  t.equal(found['kernel k-good'], 'ok');
  t.match(found['debian bookworm/e-text'], /is neither a bzImage nor an ELF vmlinux/);
  t.match(found['debian bookworm/e-nodep'], /modules\.dep is missing/);
  t.match(found['debian bookworm/resolved.json'], /not valid JSON/);
  t.notOk('module x.tmp-123' in found, 'a build in progress is not judged');
  t.match(await checkKernelImage(join(cache, 'img/text')), /neither a bzImage nor an ELF/);
});

await t.test('a bad entry met on a hit is filled again, and says why', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'sockvm-cached-')), 'entry');
  let fills = 0;
  const fill = async (tmp: string) => {
    fills++;
    writeFileSync(join(tmp, 'newtcp.ko'), elf(2048));
  };
  const check = async (d: string) => (readFileSync(join(d, 'newtcp.ko')).length >= 1024 ? undefined : 'newtcp.ko too small');
  t.same(await cachedDir(dir, fill, check), { dir, hit: false });
  t.same(await cachedDir(dir, fill, check), { dir, hit: true });
  writeFileSync(join(dir, 'newtcp.ko'), '');
  t.same(await cachedDir(dir, fill, check), { dir, hit: false, replaced: 'newtcp.ko too small' });
  t.equal(fills, 2);
  t.equal(readFileSync(join(dir, 'newtcp.ko')).length, 2048);
});
