// sockvm dev without a guest: its options (what it refuses and why) and the watcher's batches
// (which saves rebuild the module, which a suite, which every suite; build output ignored).
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncSources } from '../src/build/module.js';
import { parseDevOptions } from '../src/config/dev-options.js';
import { SourceWatcher } from '../src/dev/watch.js';

await t.test('dev options: its own parsed, run options passed on, the meaningless refused with the reason', async (t) => {
  const o = parseDevOptions(['--suite', 'create', '--max-cycles', '3', '--reboot-on-busy', '--test', 'socket*']);
  t.not(o, 'help');
  if (o === 'help') return;
  t.equal(o.maxCycles, 3);
  t.equal(o.rebootOnBusy, true);
  t.same(o.run.only, ['create']);
  t.equal(o.run.testFilter, 'socket*');
  t.equal(parseDevOptions(['--help']), 'help');
  t.throws(() => parseDevOptions([]), /--suite: sockvm dev reruns the suites you name/);
  t.throws(() => parseDevOptions(['--suite', 'create', '--all-targets']), /--all-targets: sockvm dev keeps one target/);
  t.throws(() => parseDevOptions(['--suite', 'create', '--keep', '--max-cycles', 'x']), /--keep: [^\n]*\n--max-cycles x: expected a whole number/);
  t.throws(() => parseDevOptions(['--suite', 'create', '--bogus']), /Unknown option '--bogus'/);
});

await t.test('watcher: a module save, a suite save, a library save and build output make the right batches', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-watch-'));
  const dirs = { mod: join(root, 'newtcp'), create: join(root, 'suites', 'create'), stream: join(root, 'suites', 'stream'), lib: join(root, 'suites', 'lib') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const w = new SourceWatcher({
    moduleSrc: dirs.mod,
    suites: new Map([
      ['create', dirs.create],
      ['stream', dirs.stream],
    ]),
    shared: [dirs.lib],
  });
  t.teardown(() => w.close());
  await w.ready();
  const signal = new AbortController().signal;
  writeFileSync(join(dirs.mod, 'af_newtcp.o'), 'build output');
  writeFileSync(join(dirs.mod, 'af_newtcp.c'), '/* saved */');
  const mod = await w.next(signal);
  t.equal(mod.module, true);
  t.same(mod.suites, []);
  t.same(mod.files, ['af_newtcp.c'], 'the .o is not a save');
  writeFileSync(join(dirs.create, 'create.c'), 'int x;');
  const suite = await w.next(signal);
  t.equal(suite.module, false);
  t.same(suite.suites, ['create']);
  writeFileSync(join(dirs.lib, 'tap.h'), '#define X');
  t.same((await w.next(signal)).suites.sort(), ['create', 'stream'], 'the shared library rebuilds every suite');
  const ac = new AbortController();
  const waiting = w.next(ac.signal);
  ac.abort();
  await t.rejects(waiting, 'an abort ends the wait');
});

await t.test('syncSources: only changed files are written (make goes by mtime), removed sources go, build output stays', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sockvm-sync-'));
  const [from, to] = [join(root, 'src'), join(root, 'work')];
  mkdirSync(join(from, 'include'), { recursive: true });
  writeFileSync(join(from, 'a.c'), 'a');
  writeFileSync(join(from, 'b.c'), 'b');
  writeFileSync(join(from, 'include', 'h.h'), 'h');
  await syncSources(from, to);
  writeFileSync(join(to, 'a.o'), 'object');
  const old = new Date(2000, 0, 1);
  for (const f of ['a.c', 'b.c']) utimesSync(join(to, f), old, old);
  writeFileSync(join(from, 'a.c'), 'a, saved');
  rmSync(join(from, 'b.c'));
  writeFileSync(join(from, 'c.c'), 'c');
  await syncSources(from, to);
  t.equal(readFileSync(join(to, 'a.c'), 'utf8'), 'a, saved');
  t.ok(statSync(join(to, 'a.c')).mtimeMs > old.getTime(), 'the saved file is newer');
  t.notOk(existsSync(join(to, 'b.c')), 'a removed source is gone');
  t.ok(existsSync(join(to, 'c.c')) && existsSync(join(to, 'include', 'h.h')), 'new files and subdirectories arrive');
  t.ok(existsSync(join(to, 'a.o')), 'build output stays');
  writeFileSync(join(to, 'c.c'), 'c');
  utimesSync(join(to, 'c.c'), old, old);
  await syncSources(from, to);
  t.equal(statSync(join(to, 'c.c')).mtimeMs, old.getTime(), 'an unchanged file is not touched');
});
