import { join } from 'node:path';
import t from 'tap';
import { chooseTargets, parseConfig } from '../src/config/targets.js';
import { UsageError } from '../src/util/errors.js';

const good = JSON.stringify({
  default: 'host',
  targets: { host: { kernel: 'host' }, 'debian-6.12': { kernel: 'debian:trixie', tags: ['smoke'] } },
});

await t.test('parses targets and the default', async (t) => {
  const c = parseConfig(good, 'sockvm.config.json');
  t.equal(c.defaultTarget, 'host');
  t.same(c.targets[1], { name: 'debian-6.12', kernel: { provider: 'debian', release: 'trixie' }, tags: ['smoke'] });
  t.same(
    chooseTargets(c, [], false).map((x) => x.name),
    ['host'],
  );
  t.same(
    chooseTargets(c, [], true).map((x) => x.name),
    ['host', 'debian-6.12'],
  );
  t.same(
    chooseTargets(c, ['debian-6.12'], false).map((x) => x.name),
    ['debian-6.12'],
  );
});

await t.test('errors name the file, the key and the fix', async (t) => {
  const f = 'sockvm.config.json';
  t.throws(() => parseConfig('{"targets": {"x": {"kernel": "debian"}}}', f), /sockvm\.config\.json: targets\.x: "kernel" must be "host" or "debian:<release>"/);
  t.throws(() => parseConfig('{"targets": {"x": {}}}', f), /targets\.x: "kernel" is missing/);
  t.throws(() => parseConfig('{"targets": {"x": {"kernel": "host", "suite": []}}}', f), /targets\.x: unknown key "suite"/);
  t.throws(() => parseConfig('{"targets": {}}', f), /"targets" must be an object of named targets/);
  t.throws(() => parseConfig('{"targets": {"x": {"kernel": "host"}}, "default": "y"}', f), /"default" must name one of the targets \(x\)/);
  t.throws(() => parseConfig('{"target": {}}', f), /unknown key "target"/);
  t.throws(
    () => parseConfig('{"targets": {"x": {"kernel": "host", "tcgCpus": 0}}}', f),
    /targets\.x: "tcgCpus" must be a whole number of guest CPUs from 1 to 64/,
  );
  t.equal(parseConfig('{"targets": {"x": {"kernel": "host", "tcgCpus": 1}}}', f).targets[0]?.tcgCpus, 1);
  for (const bad of ['.', '..', '-x', 'a/b'])
    t.throws(
      () => parseConfig(JSON.stringify({ targets: { [bad]: { kernel: 'host' } } }), f),
      /a target name is letters, digits/,
      `target name ${bad} refused`,
    );
  t.throws(() => chooseTargets(parseConfig(good, f), ['host', 'host'], false), /--target host is named twice/);
  t.throws(() => chooseTargets(parseConfig(good, f), ['nope'], false), /--target nope: no such target in the configuration \(known: host, debian-6\.12\)/);
});

await t.test('every problem of the file at once, each at its key path', async (t) => {
  const file = {
    targets: {
      '6.1-debug': { kernel: { source: 'debian:6.1', config: ['guest', 'net', ''], make: { CC: 1, CXX: 'g++' } } },
      ok: { kernel: 'host', tags: ['smoke', 'a b'] },
      '..': { kernel: 'host' },
    },
  };
  const lines = [
    `c.json: targets."6.1-debug".kernel.config[2]: "config" must be a list of fragment names in kernel/config (e.g. ["guest", "net", "newtcp"]) or paths; "" is not one`,
    `c.json: targets."6.1-debug".kernel.make.CC: a make variable's value is a string, e.g. {"CC": "gcc-4.3", "ARCH": "x86_64"}, not 1`,
    `c.json: targets."6.1-debug".kernel.make: unknown key "CXX" (known: CC, HOSTCC, CROSS_COMPILE, ARCH)`,
    `c.json: targets.ok.tags[1]: "tags" must be a list of names like ["smoke", "wire"]; "a b" is not one`,
    `c.json: targets."..": a target name is letters, digits, '.', '-' and '_', starting with a letter, digit or '_'`,
  ];
  t.throws(() => parseConfig(JSON.stringify(file), 'c.json'), new UsageError(lines.join('\n')));
  // A source kernel's defaults and the kernel forms, as the harness sees them.
  const c = parseConfig('{"targets": {"s": {"kernel": {"source": "/k"}}, "d": {"kernel": "debian:6.1"}}}', 'c.json');
  t.same(
    c.targets.map((x) => x.kernel),
    [
      { provider: 'source', source: '/k', config: ['guest', 'net'] },
      { provider: 'debian', release: '6.1' },
    ],
  );
  t.equal(c.defaultTarget, 's', 'the first target is the default');
});

// Properties, not the list of names: a target added or renamed in sockvm.config.json keeps this green.
await t.test('the shipped configuration is valid and every target in it can be prepared', async (t) => {
  const { existsSync, readFileSync } = await import('node:fs');
  const { repoRoot } = await import('../src/util/paths.js');
  const { parseDebianRelease } = await import('../src/debian/releases.js');
  const { fragmentPath } = await import('../src/kernel/kbuild/recipe.js');
  const c = parseConfig(readFileSync(join(repoRoot, 'sockvm.config.json'), 'utf8'), 'sockvm.config.json');
  t.ok(
    c.targets.some((x) => x.name === c.defaultTarget),
    `the default target ${c.defaultTarget} is one of them`,
  );
  t.equal(new Set(c.targets.map((x) => x.name)).size, c.targets.length, 'names are unique');
  for (const target of c.targets) {
    const k = target.kernel;
    if (k.provider === 'debian') t.doesNotThrow(() => parseDebianRelease(k.release), `${target.name}: Debian release ${k.release} is known`);
    if (k.provider !== 'source') continue;
    for (const f of k.config) t.ok(existsSync(fragmentPath(f, repoRoot, repoRoot)), `${target.name}: config fragment ${f} exists`);
    if (k.series && k.series !== 'none')
      t.ok(existsSync(join(repoRoot, 'kernel', 'patches', k.series, 'series')), `${target.name}: patch series ${k.series} exists`);
  }
});

await t.test('each target of a matrix records the command that reruns just it', async (t) => {
  const { targetArgv } = await import('../src/commands/run.js');
  t.same(targetArgv(['--all-targets', '--tag', 'smoke', '--jobs', '2'], 'debian-6.12'), ['--target', 'debian-6.12', '--tag', 'smoke']);
  t.same(targetArgv(['--target', 'host', '--target=debian-5.10', '-v'], 'host'), ['--target', 'host', '-v']);
});
