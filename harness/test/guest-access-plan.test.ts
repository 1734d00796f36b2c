// Guest access in the plan: `--` and --exec, --copy, --keep, --gdb and shell, with every usage
// error reported at once before any kernel work.
import t from 'tap';
import { parseRunOptions, type RunOptions } from '../src/config/run-options.js';
import { parseConfig } from '../src/config/targets.js';
import { planRun, type PlanInputs } from '../src/plan/plan.js';
import { renderPlan } from '../src/plan/render.js';
import { defaultManifest } from '../src/suites/manifest.js';

const config = parseConfig(JSON.stringify({ default: 'host', targets: { host: { kernel: 'host' }, other: { kernel: 'debian:6.1' } } }), 'test.json');
const manifest = defaultManifest({ tags: ['smoke'] });
const inputs = (copies: PlanInputs['copies'] = {}): PlanInputs => ({
  config,
  suites: [
    { name: 'create', sourceDir: '/r/suites/create', manifest },
    { name: 'stream', sourceDir: '/r/suites/stream', manifest },
  ],
  moduleSrc: { path: '/r/kernel/newtcp', isTree: true },
  tools: {},
  missingFragments: {},
  problems: [],
  copies,
});
const options = (argv: string[], shell = false): RunOptions => {
  const o = parseRunOptions(['--results-dir', '/res', ...argv], '/w');
  if (o === 'help') throw new Error('help');
  o.shell = shell;
  return o;
};
const plan = (argv: string[], copies: PlanInputs['copies'] = {}, shell = false) => planRun(options(argv, shell), inputs(copies), { runId: 'R' });

await t.test('the words after -- are the command, verbatim; options before it stay ours', async (t) => {
  const o = options(['--target', 'host', '--', 'ls', '-l', '--target', "it's"]);
  t.same(o.commandArgv, ['ls', '-l', '--target', "it's"]);
  t.same(o.targets, ['host']);
  const p = plan(['--', 'uname', '-r']);
  t.same(p.access?.command, { argv: ['uname', '-r'] });
  t.same(p.targets[0]?.suites, [], 'no suites unless asked');
  t.same(plan(['--suite', 'create', '--exec', 'echo hi']).targets[0]?.suites, ['create'], '--suite with a command: the suites run too');
  t.same(plan(['--exec', 'echo $((6*7))']).access?.command, { shellLine: 'echo $((6*7))' });
  t.same(plan(['--keep']).targets[0]?.suites, [], '--keep alone: boot and keep, no suites');
});

await t.test('a stray word before -- is an error that says where a command goes', async (t) => {
  t.throws(() => options(['uname']), /unexpected argument 'uname': a command for the guest goes after --/);
});

await t.test('usage errors come together, before any kernel work', async (t) => {
  const err = (argv: string[], copies: PlanInputs['copies'] = {}, shell = false): string => {
    try {
      plan(argv, copies, shell);
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    return '';
  };
  t.match(err(['--exec', 'id', '--', 'id']), /--exec and -- <cmd> both name a command/);
  t.match(err(['--']), /-- ends the options but no command follows/);
  t.match(err(['--exec', ' ']), /--exec "": an empty shell line/);
  t.match(err(['--copy', '/x']), /--copy copies files for your command/);
  t.match(err(['--gdb']), /--gdb needs a guest that stays up/);
  t.match(err(['--all-targets', '--', 'id']), /a guest command works on one target/);
  t.match(err(['--copy', '/nope', '--', 'id'], {}), /--copy \/nope: no such file or directory/);
  t.match(err(['--copy', '/dev/null', '--', 'id'], { '/dev/null': 'other' }), /neither a regular file nor a directory/);
  t.match(err(['--copy', '/a/x', '--copy', '/b/x', '--', 'id'], { '/a/x': 'file', '/b/x': 'dir' }), /another --copy also goes to \/root\/x/);
  t.match(err(['--', 'id'], {}, true), /sockvm shell opens a shell: it takes no command/);
  t.match(err(['--keep'], {}, true), /sockvm shell powers the guest off/);
  // Several at once.
  const all = err(['--exec', 'a', '--copy', '/nope', '--all-targets', '--', 'b']);
  t.match(all, /--exec and --/);
  t.match(all, /--copy \/nope/);
  t.match(all, /one target/);
});

await t.test('copies go to /root/<basename>; the dry run shows the access', async (t) => {
  const p = plan(['--copy', '/w/data/', '--copy', '/w/tool', '--keep', '--gdb', '--', 'tool'], { '/w/data': 'dir', '/w/tool': 'file' });
  t.same(p.access?.copies, [
    { host: '/w/data', guest: '/root/data' },
    { host: '/w/tool', guest: '/root/tool' },
  ]);
  t.equal(p.access?.keep, true);
  t.equal(p.access?.gdb, true);
  const text = renderPlan(p).join('\n');
  t.match(text, /command:\s+'tool'/);
  t.match(text, /copy:\s+\/w\/data → \/root\/data/);
  t.match(text, /keep the guests up; gdbstub/);
});
