// The planner: pure, every usage error at once, each naming the input and the fix.
import t from 'tap';
import { planOptions } from './plan-options.js';
import { parseConfig } from '../src/config/targets.js';
import { defaultManifest, type SuiteManifest } from '../src/suites/manifest.js';
import { planRun, type FoundSuite, type PlanInputs } from '../src/plan/plan.js';
import { renderPlan } from '../src/plan/render.js';

const suite = (name: string, m: Partial<SuiteManifest> = {}): FoundSuite => ({ name, sourceDir: `/r/suites/${name}`, manifest: defaultManifest(m) });

const config = parseConfig(
  JSON.stringify({
    default: 'host',
    targets: {
      host: { kernel: 'host' },
      slow: { kernel: { source: 'debian:6.12', series: '6.12', config: ['guest'] }, tcgCpus: 1, tcgBootTimeout: 300, suites: ['wire'] },
      tagged: { kernel: 'debian:6.1', tags: ['smoke'], coverageFloor: 80, trace: true },
    },
  }),
  'test.json',
);

const inputs = (over: Partial<PlanInputs> = {}): PlanInputs => ({
  config,
  suites: [
    suite('stream', { tags: ['smoke'] }),
    suite('create', { tags: ['smoke'] }),
    suite('wire', { guests: 2, tags: ['wire'], modules: ['sch_netem'], tools: ['tc'] }),
  ],
  moduleSrc: { path: '/r/kernel/newtcp', isTree: true },
  tools: { tc: '/usr/sbin/tc' },
  missingFragments: {},
  problems: [],
  ...over,
});

const plan = (argv: string[], over: Partial<PlanInputs> = {}) => planRun(planOptions(argv), inputs(over), { runId: 'R' });

await t.test('the default target runs every suite, by name, in the run directory', async (t) => {
  const p = plan([]);
  t.equal(p.matrix, false);
  t.equal(p.resultsDir, '/res/R');
  t.same(
    p.targets.map((x) => [x.name, x.suites, x.guests, x.resultsDir]),
    [['host', ['create', 'stream', 'wire'], 2, '/res/R']],
  );
  t.same(p.targets[0]?.tools, ['/usr/sbin/tc']);
  t.same(p.targets[0]?.modules, ['sch_netem']);
});

await t.test('an opt-in suite (perf) runs only when --suite names it or --tag selects it', async (t) => {
  const suites = [suite('create', { tags: ['smoke'] }), suite('perf', { guests: 2, tags: ['perf'], optIn: true })];
  t.same(plan([], { suites }).targets[0]?.suites, ['create']);
  t.same(plan(['--suite', 'perf'], { suites }).targets[0]?.suites, ['perf']);
  t.same(plan(['--tag', 'perf'], { suites }).targets[0]?.suites, ['perf']);
  t.same(plan(['--tag', 'smoke'], { suites }).targets[0]?.suites, ['create']);
});

await t.test("a target's own suites, CPUs and boot limits; --suite overrides the suites", async (t) => {
  const [slow] = plan(['--target', 'slow']).targets;
  t.same(slow?.suites, ['wire']);
  t.same(slow?.cpus, { kvm: 2, tcg: 1 });
  t.same(slow?.bootTimeoutMs, { kvm: 120000, tcg: 300000 });
  t.equal(slow?.resultsDir, '/res/R/slow', 'a --target run is a matrix: one directory per target');
  const [chosen] = plan(['--target', 'slow', '--suite', 'create', '--cpus', '3']).targets;
  t.same(chosen?.suites, ['create']);
  t.same(chosen?.cpus, { kvm: 3, tcg: 3 }, '--cpus wins over tcgCpus');
  t.equal(chosen?.guests, 1);
});

await t.test("a target's tags, tracing and coverage floor", async (t) => {
  const [tagged] = plan(['--target', 'tagged']).targets;
  t.same(tagged?.suites, ['create', 'stream']);
  t.same(tagged?.traced, ['create', 'stream']);
  t.equal(tagged?.coverageFloor, 80);
});

await t.test('every usage error at once: suite, tag, module source, tool, target, gathered problems', async (t) => {
  const err = t.throws(() =>
    plan(['--target', 'slow', '--target', 'nosuch', '--suite', 'strem', '--suite', 'wire', '--tag', 'smok', '--module-src', '/tmp/x'], {
      moduleSrc: { path: '/tmp/x', isTree: false },
      tools: {},
      problems: ['/r/suites/bad/suite.json: "guests" must be 1 or 2, not 3'],
    }),
  ) as Error;
  const lines = err.message.split('\n');
  t.match(err.message, /--suite strem: no such suite \(known: stream, create, wire\)/);
  t.match(err.message, /--tag smok: no suite has this tag \(tags in use: smoke, wire\)/);
  t.match(err.message, /--module-src \/tmp\/x: no Kbuild or Makefile there; point it at a copy of kernel\/newtcp/);
  t.match(err.message, /--target nosuch: no such target/);
  t.match(err.message, /suite\.json: "guests" must be 1 or 2/);
  t.equal(err.name, 'UsageError');
  t.equal(lines.length, new Set(lines).size, 'each problem once');
});

await t.test('an unreadable targets file is the one problem about targets: no "no such target" for each --target', async (t) => {
  const err = t.throws(() =>
    plan(['--target', 'host', '--target', 'slow'], { config: undefined, problems: ['sockvm.config.json: targets."x".kernel: must be ...'] }),
  ) as Error;
  t.match(err.message, /sockvm\.config\.json: targets/);
  t.notMatch(err.message, /no such target/);
});

await t.test("a tool missing on the host and a target's own typo are named", async (t) => {
  t.throws(() => plan(['--suite', 'wire'], { tools: {} }), /suite wire: tool 'tc' \(suite.json "tools"\) is not installed/);
  const typo = parseConfig(JSON.stringify({ targets: { t: { kernel: 'host', suites: ['nosuch'] } } }), 'c.json');
  t.throws(() => plan([], { config: typo }), /target t: its "suites" entry nosuch: no such suite/);
});

await t.test("a source target's missing config fragment is named before any kernel work", async (t) => {
  const missing = { missingFragments: { guest: '/r/kernel/config/guest.config' } };
  t.throws(
    () => plan(['--target', 'slow'], missing),
    /target slow: config fragment 'guest' \(its kernel's "config"\) is not there: no \/r\/kernel\/config\/guest\.config; fragments live in kernel\/config\/<name>\.config/,
  );
  t.doesNotThrow(() => plan(['--target', 'host'], missing), 'a target that builds no kernel does not care');
  t.doesNotThrow(() => plan(['--target', 'slow', '--kernel', 'bz', '--modules-dir', 'm'], missing), '--kernel replaces the built kernel');
});

await t.test('--suite and --tag that leave nothing: an error, not an empty green run', async (t) => {
  t.throws(() => plan(['--suite', 'wire', '--tag', 'smoke']), /target host: no suite selected/);
});

await t.test('--kernel goes with one target', async (t) => {
  t.throws(() => plan(['--kernel', 'bz', '--modules-dir', 'm', '--build-dir', 'b', '--target', 'host', '--target', 'slow']), /--kernel boots one kernel/);
  t.same(plan(['--kernel', 'bz', '--modules-dir', 'm', '--build-dir', 'b']).targets[0]?.userKernel, { image: '/w/bz', modulesDir: '/w/m', buildDir: '/w/b' });
});

await t.test('the plan is plain data, and renders', async (t) => {
  const p = plan(['--target', 'slow', '--target', 'host', '--test', 'bind*', '--seed', '7']);
  t.same(JSON.parse(JSON.stringify(p)), p, 'survives JSON');
  const text = renderPlan(p).join('\n');
  t.match(text, /target slow\n {2}kernel: {3}source debian:6\.12; config guest; patches 6\.12/);
  t.match(text, /--test 'bind\*', seed 7/);
  t.match(text, /results: {2}\/res\/R\/host/);
});

await t.test('bad options are reported together', async (t) => {
  const err = t.throws(() => planOptions(['--memory', '64', '--cpus', '0', '--accel', 'hvf'])) as Error;
  t.equal(err.message.split('\n').length, 3, err.message);
  t.throws(() => planOptions(['--json']), /--json prints the plan of --dry-run/);
});
