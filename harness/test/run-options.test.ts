import t from 'tap';
import { parseRunOptions, type RunOptions } from '../src/config/run-options.js';

const plan = (argv: string[]): RunOptions => {
  const p = parseRunOptions(argv, '/w');
  if (p === 'help') throw new Error('unexpected help');
  return p;
};

await t.test('defaults', async (t) => {
  const p = plan([]);
  t.equal(p.accel, 'auto');
  t.equal(p.resultsRoot, '/w/results');
  t.equal(p.cpus, undefined, 'no --cpus: the target decides');
  t.equal(p.kernel, undefined);
  t.same(p.only, []);
});

await t.test('kernel paths resolve against the working directory', async (t) => {
  const p = plan(['--kernel', 'bz', '--modules-dir', 'm', '--build-dir', '/b', '--suite', 'create', '--suite', 'stream']);
  t.same(p.kernel, { image: '/w/bz', modulesDir: '/w/m', buildDir: '/b' });
  t.same(p.only, ['create', 'stream']);
});

await t.test('errors name the option and the fix', async (t) => {
  t.throws(() => plan(['--accel', 'hvf']), /--accel hvf: expected auto, kvm or tcg/);
  t.throws(() => plan(['--tap-version', '12']), /--tap-version 12: expected 14 \(TAP 14 and KTAP v1, the default\) or 13 \(for Perl's prove\)/);
  t.equal(plan(['--tap-version', '13']).tapVersion, 13);
  t.equal(plan([]).tapVersion, 14);
  t.throws(() => plan(['--cpus', '0']), /--cpus 0: expected a whole number from 1 to 64/);
  t.throws(() => plan(['--memory', 'lots']), /--memory lots/);
  t.throws(() => plan(['--build-dir', '/b']), /go with --kernel/);
  t.throws(() => plan(['--suite', '../etc']), /--suite \.\.\/etc/);
  t.throws(() => plan(['--frobnicate']), /Unknown option '--frobnicate'.*sockvm run --help/);
});

await t.test('help', async (t) => {
  t.equal(parseRunOptions(['--help']), 'help');
});

await t.test('--seed is a 32-bit decimal, as the guest reads SOCKVM_SEED', async (t) => {
  t.equal(plan(['--seed', '4294967295']).seed, 4294967295);
  t.equal(plan(['--seed', '0']).seed, 0);
  t.equal(plan([]).seed, undefined, 'no --seed: the target run picks one and records it');
  for (const bad of ['4294967296', '0x10', '1e3', '12345678901'])
    t.throws(() => plan(['--seed', bad]), /--seed .*: expected a decimal number from 0 to 4294967295/, bad);
});

await t.test('--memory has a floor the guest can boot in', async (t) => {
  t.equal(plan(['--memory', '256']).memoryMiB, 256);
  t.throws(() => plan(['--memory', '64']), /--memory 64: at least 256 MiB/);
});
