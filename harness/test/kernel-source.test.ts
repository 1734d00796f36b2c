import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseConfig as parseTargets } from '../src/config/targets.js';
import { compileLine } from '../src/kernel/kbuild/make.js';
import { cacheKey, fragmentPath, normalizeConfig } from '../src/kernel/kbuild/recipe.js';
import {
  droppedOptions,
  explainDropped,
  extraFragment,
  parseConfig,
  parseKconfigDeps,
  readKconfigSymbols,
  requestedOptions,
  symbolsIn,
} from '../src/kernel/kconfig.js';
import { chooseSeries, loadSeries, parsePatchFailure, parseSeries, seriesNameForVersion } from '../src/kernel/patches.js';
import { makefileVersion, parseSourceSpec } from '../src/kernel/source.js';
import { repoRoot } from '../src/util/paths.js';

await t.test('series files: comments, blank lines, -pN, bad options and paths', async (t) => {
  t.same(parseSeries('# header\n\n0001-a.patch\n0002-b.patch -p0 # trailing comment\n'), [
    { patch: '0001-a.patch', strip: 1 },
    { patch: '0002-b.patch', strip: 0 },
  ]);
  t.throws(() => parseSeries('a.patch --fuzz=3\n', 'x/series'), /x\/series:1: unknown option '--fuzz=3'/);
  t.throws(() => parseSeries('../evil.patch\n'), /must be a file name inside the series directory/);
});

await t.test('the repository series parse and hash stably', async (t) => {
  for (const name of ['6.1', '6.12']) {
    const a = await loadSeries(join(repoRoot, 'kernel', 'patches'), name);
    const b = await loadSeries(join(repoRoot, 'kernel', 'patches'), name);
    t.ok(a.entries.length >= 3, `${name} has the AF_INET_NEW_TCP, SELinux and in-tree patches`);
    t.equal(a.entries[0]?.patch, '0001-net-add-AF_INET_NEW_TCP.patch');
    t.equal(a.hash, b.hash);
  }
  await t.rejects(loadSeries(join(repoRoot, 'kernel', 'patches'), '9.9'), /known series: .*6\.1/);
});

await t.test('version → series: exact major.minor, 6.12 never takes 6.1', async (t) => {
  t.equal(seriesNameForVersion('6.1.192'), '6.1');
  t.equal(seriesNameForVersion('6.12.57'), '6.12');
  t.equal(seriesNameForVersion('7.2.0-rc3'), '7.2');
  t.equal(seriesNameForVersion('2.6.24.7'), '2.6.24');
  t.equal(chooseSeries('6.1.192', ['6.1', '6.12']), '6.1');
  t.equal(chooseSeries('6.12.118', ['6.1', '6.12']), '6.12');
  t.equal(chooseSeries('6.6.30', ['6.1', '6.12']), undefined);
  t.throws(() => seriesNameForVersion('linux'), /cannot read a kernel version/);
});

await t.test('a failing patch names the file and the hunk', async (t) => {
  const out = `checking file include/linux/socket.h
checking file net/core/sock.c
Hunk #1 FAILED at 230.
1 out of 1 hunk FAILED
checking file net/socket.c`;
  const f = parsePatchFailure(out);
  t.equal(f.file, 'net/core/sock.c');
  t.same(f.hunks, ['net/core/sock.c: Hunk #1 FAILED at 230.']);
  t.equal(parsePatchFailure("can't find file to patch at input line 5").lines.length, 1);
});

await t.test('Makefile version', async (t) => {
  t.equal(makefileVersion('VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\nNAME = Curry Ramen\n'), '6.1.192');
  t.equal(makefileVersion('VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 24\nEXTRAVERSION = .7\n'), '2.6.24.7');
  t.equal(makefileVersion('VERSION = 7\nPATCHLEVEL = 2\nSUBLEVEL = 0\nEXTRAVERSION = -rc1\n'), '7.2-rc1');
  t.equal(makefileVersion('all:\n'), undefined);
});

await t.test('source specs', async (t) => {
  t.same(parseSourceSpec('debian:6.1'), { kind: 'debian', release: '6.1' });
  t.same(parseSourceSpec('/x/linux-6.1.tar.xz'), { kind: 'tarball', path: '/x/linux-6.1.tar.xz' });
  t.same(parseSourceSpec('linux', '/src'), { kind: 'tree', path: '/src/linux' });
});

await t.test('.config parsing and dropped options', async (t) => {
  const final = parseConfig('#\n# comment\nCONFIG_NET=y\nCONFIG_E1000=y\n# CONFIG_SLUB is not set\nCONFIG_SLOB=y\nCONFIG_LOCALVERSION="-x"\n');
  t.equal(final.get('CONFIG_SLUB'), 'n');
  t.equal(final.get('CONFIG_LOCALVERSION'), '"-x"');
  const requested = requestedOptions([
    { name: 'guest.config', text: 'CONFIG_NET=y\nCONFIG_E1000=m\n# CONFIG_MODULES is not set\n' },
    { name: 'debug.config', text: 'CONFIG_KASAN=y\nCONFIG_E1000=y\n' },
  ]);
  t.same(
    requested.map((r) => `${r.option}=${r.value}@${r.from}`),
    ['CONFIG_NET=y@guest.config', 'CONFIG_MODULES=n@guest.config', 'CONFIG_KASAN=y@debug.config', 'CONFIG_E1000=y@debug.config'],
    'the last fragment wins',
  );
  const dropped = droppedOptions(requested, final);
  t.same(
    dropped.map((d) => d.option),
    ['CONFIG_KASAN'],
    'not-set and absent are the same; only KASAN is missing',
  );
  t.same(extraFragment(['CONFIG_X=y', 'oops']).bad, ['oops']);
});

await t.test('Kconfig dependencies of a dropped option', async (t) => {
  const kconfig = `menuconfig KASAN
	bool "KASAN: dynamic memory safety error detector"
	depends on (((HAVE_ARCH_KASAN && CC_HAS_KASAN_GENERIC) || \\
		     (HAVE_ARCH_KASAN_SW_TAGS && CC_HAS_KASAN_SW_TAGS)) && \\
		    CC_HAS_WORKING_NOSANITIZE_ADDRESS) || \\
		   HAVE_ARCH_KASAN_HW_TAGS
	depends on (SLUB && SYSFS) || (SLAB && !DEBUG_SLAB)
	help
	  depends on NOTHING (help text is not parsed)

if KASAN
config KASAN_INLINE
	bool "Inline"
endif
`;
  const syms = parseKconfigDeps(kconfig, 'lib/Kconfig.kasan');
  t.equal(syms.length, 2);
  t.equal(syms[0]?.dependsOn.length, 2);
  t.match(syms[0]?.dependsOn[1], /SLUB && SYSFS/);
  t.same(syms[1]?.dependsOn, ['KASAN'], 'an enclosing if is a dependency');
  t.same(symbolsIn('(SLUB && SYSFS) || (SLAB && !DEBUG_SLAB) || X=y'), ['SLUB', 'SYSFS', 'SLAB', 'DEBUG_SLAB', 'X']);
  const final = parseConfig('CONFIG_SLOB=y\nCONFIG_SYSFS=y\n');
  const map = new Map(syms.map((s) => [s.name, [s]]));
  const lines = explainDropped(
    [
      { option: 'CONFIG_KASAN', value: 'y', from: 'debug.config' },
      { option: 'CONFIG_NOPE', value: 'y', from: 'extra' },
    ],
    map,
    final,
  );
  t.match(lines[0], /CONFIG_KASAN=y \(from debug\.config\): got absent; depends on .*SLUB && SYSFS.* \[.*SLUB=n SYSFS=y/);
  t.match(lines[1], /no 'config NOPE' in this tree's Kconfig files/);

  const choice = parseKconfigDeps(
    'choice\n\tprompt "Choose SLAB allocator"\n\tdefault SLUB\nconfig SLAB\n\tbool "SLAB"\nconfig SLUB\n\tbool "SLUB"\nendchoice\nconfig AFTER\n\tbool\n',
    'mm/Kconfig',
  );
  t.same(
    choice.map((s) => [s.name, Boolean(s.choice)]),
    [
      ['SLAB', true],
      ['SLUB', true],
      ['AFTER', false],
    ],
  );
  t.match(
    explainDropped([{ option: 'CONFIG_SLUB', value: 'y', from: 'guest.config' }], new Map([['SLUB', choice.filter((s) => s.name === 'SLUB')]]), final)[0],
    /a choice member: another option of the same choice won/,
  );

  const tree = await mkdtemp(join(tmpdir(), 'kconfig-'));
  await mkdir(join(tree, 'lib'));
  await mkdir(join(tree, 'arch', 'arm'), { recursive: true });
  await writeFile(join(tree, 'lib', 'Kconfig.kasan'), kconfig);
  await writeFile(join(tree, 'arch', 'arm', 'Kconfig'), 'config KASAN\n\tdepends on ARM\n');
  const read = await readKconfigSymbols(tree, 'x86', new Set(['KASAN']));
  t.same([...read.keys()], ['KASAN']);
  t.equal(read.get('KASAN')?.length, 1, 'other arches are not read');
});

await t.test('cache keys: stable, sensitive to every input, blind to .config comments', async (t) => {
  const base = {
    sourceId: 'sha256:abc',
    seriesHash: 's1',
    config: '# date\nCONFIG_A=y\n',
    compiler: 'gcc (Debian 12.2.0-14) 12.2.0',
    make: { CC: 'ccache gcc', HOSTCC: 'ccache gcc' },
  };
  const k = cacheKey('content', base);
  t.match(k, /^[0-9a-f]{24}$/);
  t.equal(cacheKey('content', { ...base, config: '# other date\nCONFIG_A=y\n\n' }), k);
  t.equal(cacheKey('content', { ...base, make: { HOSTCC: 'ccache gcc', CC: 'ccache gcc' } }), k, 'make variable order does not matter');
  for (const change of [
    { sourceId: 'sha256:abd' },
    { seriesHash: 's2' },
    { config: 'CONFIG_A=m' },
    { compiler: 'gcc 13' },
    { make: { CC: 'gcc' } },
    { newtcpHash: 'n1' },
  ]) {
    t.not(cacheKey('content', { ...base, ...change }), k, `changes with ${Object.keys(change)[0]}`);
  }
  const { seriesHash: _drop, ...noSeries } = base;
  t.not(cacheKey('content', noSeries), k, 'no series differs from a series');
  t.not(cacheKey('recipe', base), k, 'recipe and content keys never collide');
  t.equal(normalizeConfig('#\n# Automatically generated\nCONFIG_A=y\n# CONFIG_B is not set\n'), 'CONFIG_A=y\n# CONFIG_B is not set');
});

await t.test('build output: compile lines counted', async (t) => {
  t.equal(compileLine('  CC      net/core/sock.o'), 'net/core/sock.o');
  t.equal(compileLine('  CC [M]  net/newtcp/af_newtcp.o'), 'net/newtcp/af_newtcp.o');
  t.equal(compileLine('  AS      arch/x86/entry/entry_64.o'), 'arch/x86/entry/entry_64.o');
  t.equal(compileLine('  LD      vmlinux'), undefined);
  t.equal(compileLine('CC=gcc'), undefined);
});

await t.test('fragment names and paths', async (t) => {
  t.equal(fragmentPath('guest', '/repo', '/cfg'), '/repo/kernel/config/guest.config');
  t.equal(fragmentPath('my.config', '/repo', '/cfg'), '/cfg/my.config');
  t.equal(fragmentPath('/abs/x.config', '/repo', '/cfg'), '/abs/x.config');
});

await t.test('source kernels in sockvm.config.json', async (t) => {
  const f = 'sockvm.config.json';
  const c = parseTargets(
    JSON.stringify({
      targets: {
        p: {
          kernel: { source: 'debian:6.1', series: '6.1', config: ['guest', 'net', 'newtcp'], extra: ['CONFIG_X=y'], make: { CC: 'gcc-4.3', ARCH: 'i386' } },
        },
      },
    }),
    f,
  );
  t.same(c.targets[0]?.kernel, {
    provider: 'source',
    source: 'debian:6.1',
    series: '6.1',
    config: ['guest', 'net', 'newtcp'],
    extra: ['CONFIG_X=y'],
    make: { CC: 'gcc-4.3', ARCH: 'i386' },
  });
  t.same(parseTargets('{"targets": {"p": {"kernel": {"source": "/src/linux"}}}}', f).targets[0]?.kernel, {
    provider: 'source',
    source: '/src/linux',
    config: ['guest', 'net'],
  });
  t.throws(
    () => parseTargets('{"targets": {"p": {"kernel": {"source": "debian:6.1", "fragments": []}}}}', f),
    /targets\.p\.kernel: unknown key "fragments" \(known: source, series, config, extra, make, toolchain\)/,
  );
  t.throws(
    () => parseTargets('{"targets": {"p": {"kernel": {"source": "debian:6.1", "extra": ["X=y"]}}}}', f),
    /"extra" must be a list of "CONFIG_NAME=value" items/,
  );
  t.throws(
    () => parseTargets('{"targets": {"p": {"kernel": {"source": "debian:6.1", "make": {"CFLAGS": "-O0"}}}}}', f),
    /targets\.p\.kernel\.make: unknown key "CFLAGS" \(known: CC, HOSTCC, CROSS_COMPILE, ARCH\)/,
  );
  t.throws(() => parseTargets('{"targets": {"p": {"kernel": {"series": "6.1"}}}}', f), /"source" must be/);
});
