import t from 'tap';
import { dependencyClosure, moduleName, parseModulesDep } from '../src/image/modules-dep.js';

const dep = parseModulesDep(
  [
    'kernel/net/a.ko: kernel/lib/b.ko kernel/lib/c.ko',
    'kernel/lib/b.ko: kernel/lib/c.ko',
    'kernel/lib/c.ko:',
    'kernel/drivers/net/e1000/e1000.ko:',
    'kernel/net/sch-netem.ko.xz: kernel/lib/c.ko',
    '',
  ].join('\n'),
);

await t.test('dependencies come before the module, each once', async (t) => {
  t.same(dependencyClosure(dep, ['a']), ['kernel/lib/c.ko', 'kernel/lib/b.ko', 'kernel/net/a.ko']);
  t.same(dependencyClosure(dep, ['e1000', 'a', 'b']), ['kernel/drivers/net/e1000/e1000.ko', 'kernel/lib/c.ko', 'kernel/lib/b.ko', 'kernel/net/a.ko']);
});

await t.test('names like modprobe: dashes, compression suffixes', async (t) => {
  t.equal(moduleName('kernel/net/sch-netem.ko.xz'), 'sch_netem');
  t.same(dependencyClosure(dep, ['sch-netem']), ['kernel/lib/c.ko', 'kernel/net/sch-netem.ko.xz']);
});

await t.test('an unknown module is a clear error', async (t) => {
  t.throws(() => dependencyClosure(dep, ['e1001']), /module 'e1001' is not in modules\.dep/);
});

await t.test('a cycle is reported, not looped on', async (t) => {
  const cyc = parseModulesDep('x.ko: y.ko\ny.ko: x.ko\n');
  t.throws(() => dependencyClosure(cyc, ['x']), /cycle/);
});
