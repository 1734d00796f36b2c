// sockvm dev's fast module build: kbuild's .cmd files read (6.1's cmd_, 6.3+'s savedcmd_, make
// syntax refused), the fall-backs to the full make, and on the host's own kbuild tree a replayed
// newtcp.ko byte for byte the one make gives.
import t from 'tap';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { markBuilt, planReplay, recordedCommand } from '../src/build/kbuild-replay.js';
import { buildModule, primeWorkDir } from '../src/build/module.js';
import { repoRoot } from '../src/util/paths.js';

const D = '/tmp/w/dev-module';
// Trimmed from a Debian 12 (6.1) build: the make-escaped $$ of the awk and sed lines kept.
const CMD_61 = [`cmd_${D}/newtcp.mod := printf '%s\\n'   af_newtcp.o newtcp_tx.o | awk '!x[$$0]++ { print("${D}/"$$0) }' > ${D}/newtcp.mod`, ''].join('\n');
const SYMVERS_61 = `cmd_${D}/Module.symvers :=  sed 's/ko$$/o/'  ${D}/modules.order | scripts/mod/modpost -m     -W -o ${D}/Module.symvers -e -i Module.symvers -T - \n`;
// Trimmed from a Debian 13 (6.12) build: savedcmd_, then source_ and deps_ lines that are not commands.
const OBJ_612 = [
  `savedcmd_${D}/af_newtcp.o :=  x86_64-linux-gnu-gcc-14 -Wp,-MMD,${D}/.af_newtcp.o.d -nostdinc -DKBUILD_BASENAME='"af_newtcp"' -c -o ${D}/af_newtcp.o ${D}/af_newtcp.c  `,
  '',
  `source_${D}/af_newtcp.o := ${D}/af_newtcp.c`,
  '',
  `deps_${D}/af_newtcp.o := \\`,
  '  include/linux/compiler-version.h \\',
  '',
].join('\n');

await t.test('.cmd parsing: the recorded command, make escapes undone; anything still make syntax refused', async (t) => {
  t.equal(recordedCommand(CMD_61, `${D}/newtcp.mod`), `printf '%s\\n'   af_newtcp.o newtcp_tx.o | awk '!x[$0]++ { print("${D}/"$0) }' > ${D}/newtcp.mod`);
  t.equal(
    recordedCommand(SYMVERS_61, `${D}/Module.symvers`),
    `sed 's/ko$/o/'  ${D}/modules.order | scripts/mod/modpost -m     -W -o ${D}/Module.symvers -e -i Module.symvers -T -`,
  );
  t.match(
    recordedCommand(OBJ_612, `${D}/af_newtcp.o`),
    /^x86_64-linux-gnu-gcc-14 -Wp,-MMD,.* -c -o \/tmp\/w\/dev-module\/af_newtcp\.o \/tmp\/w\/dev-module\/af_newtcp\.c$/,
  );
  t.equal(recordedCommand(OBJ_612, `${D}/newtcp_tx.o`), undefined, 'another target: no command');
  t.equal(recordedCommand(OBJ_612, `/other${D}/af_newtcp.o`), undefined, 'the same file name in another tree: no command');
  t.equal(recordedCommand(`cmd_${D}/x.o := gcc $(CFLAGS) -c x.c\n`, `${D}/x.o`), undefined, 'unexpanded make: refused');
  t.equal(recordedCommand(`cmd_${D}/x.o := echo $HOME\n`, `${D}/x.o`), undefined, 'a lone $ (not make output): refused');
  t.equal(recordedCommand(`cmd_${D}/x.o := \n`, `${D}/x.o`), undefined, 'empty: refused');
  t.equal(recordedCommand('garbage\n\u0000', `${D}/x.o`), undefined);
});

await t.test('replay plan: what makes the full make run, with the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sockvm-replay-'));
  const kbuild = join(dir, 'kbuild');
  mkdirSync(kbuild);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cmd = (target: string, line: string): void => writeFileSync(join(dir, `.${target}.cmd`), `cmd_${join(dir, target)} := ${line}\n`);
  writeFileSync(join(dir, 'af_newtcp.c'), 'int x;\n');
  writeFileSync(join(dir, 'newtcp_tx.c'), 'EXPORT_SYMBOL(y);\n');
  const plan = (change: Partial<{ changed: string[]; added: string[]; removed: string[] }>) =>
    planReplay(dir, { changed: [], added: [], removed: [], ...change }, kbuild);
  t.same(await plan({ changed: ['af_newtcp.c'] }), { fallback: 'the work tree has no complete build to start from' });
  await markBuilt(dir, { replayed: [] });
  t.same(await plan({ changed: ['newtcp.h'] }), { fallback: 'not a .c file of the module: newtcp.h' });
  t.same(await plan({ changed: ['Kbuild', 'af_newtcp.c'] }), { fallback: 'not a .c file of the module: Kbuild' });
  t.same(await plan({ changed: ['af_newtcp.c'], added: ['newtcp_new.c'] }), { fallback: 'files added or removed (newtcp_new.c)' });
  t.same(await plan({ changed: ['newtcp_tx.c'] }), { fallback: 'newtcp_tx.c exports symbols (genksyms is not in the .cmd)' });
  t.match(await plan({ changed: ['af_newtcp.c'] }), { fallback: /no usable \.af_newtcp\.o\.cmd/ });
  cmd('af_newtcp.o', 'gcc -c -o af_newtcp.o af_newtcp.c');
  t.same(await plan({ changed: ['af_newtcp.c'] }), { fallback: 'no usable .cmd for newtcp.o, Module.symvers, newtcp.mod.o, newtcp.ko' });
  cmd('newtcp.o', 'ld -r');
  cmd('Module.symvers', 'modpost');
  cmd('newtcp.mod.o', 'gcc mod');
  cmd('newtcp.ko', 'ld ko');
  t.same(await plan({ changed: ['af_newtcp.c'] }), {
    steps: [
      { what: 'af_newtcp.o', command: 'gcc -c -o af_newtcp.o af_newtcp.c' },
      { what: 'newtcp.o', command: 'ld -r' },
      { what: 'modpost', command: 'modpost' },
      { what: 'newtcp.ko', command: 'ld ko' },
    ],
    modObject: { what: 'newtcp.mod.o', command: 'gcc mod' },
  });
  writeFileSync(join(kbuild, 'vmlinux'), '');
  writeFileSync(join(kbuild, '.config'), 'CONFIG_DEBUG_INFO_BTF_MODULES=y\n');
  t.match(await plan({ changed: ['af_newtcp.c'] }), { fallback: /BTF for modules/ });
});

// The host target's kbuild tree: Debian's headers package, installed by scripts/setup.
const headers = existsSync('/usr/src') ? readdirSync('/usr/src').find((n) => /^linux-headers-.*-amd64$/.test(n)) : undefined;
const kbuildDir = headers ? join('/usr/src', headers) : '/usr/src/linux-headers-<release>-amd64';
await t.test(
  'a replayed build: byte for byte the newtcp.ko make gives, the full make after a header save',
  { skip: !existsSync(kbuildDir) && `no ${kbuildDir}` },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sockvm-replay-build-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const [src, work, log] = [join(dir, 'src'), join(dir, 'work'), join(dir, 'build.log')];
    cpSync(join(repoRoot, 'kernel', 'newtcp'), src, { recursive: true });
    const kernel = { image: '', modulesDir: '', buildDir: kbuildDir, release: headers?.replace(/^linux-headers-/, '') ?? '' };
    const notes: string[] = [];
    const o = { signal: AbortSignal.timeout(300_000), workDir: work, onBuildNote: (n: string) => notes.push(n) };
    await primeWorkDir(src, kernel, log, o);
    appendFileSync(join(src, 'af_newtcp.c'), '\nstatic const char sockvm_replay_probe[] __used = "a change the object must carry";\n');
    const replayed = await buildModule(src, kernel, join(dir, 'cache'), log, o);
    t.match(notes.at(-1), /^replayed kbuild's commands \(af_newtcp\.o [\d.]+ s, newtcp\.o [\d.]+ s, modpost [\d.]+ s, (newtcp\.mod\.o [\d.]+ s, )?newtcp\.ko/);
    t.notOk(existsSync(join(work, '.af_newtcp.o.d')), "gcc's .d file removed, as kbuild does");
    // make from scratch on the same sources in the same tree: what kbuild alone would load.
    const replayedBytes = readFileSync(replayed.ko);
    for (const f of ['af_newtcp.o', 'newtcp.o', 'newtcp.mod.o', 'newtcp.ko']) rmSync(join(work, f));
    execFileSync('make', ['-s', '-C', kbuildDir, `M=${work}`, 'W=1', '-j2', 'modules'], { stdio: 'ignore', timeout: 300_000 }); // uncancelled: bounded by timeout
    t.ok(readFileSync(join(work, 'newtcp.ko')).equals(replayedBytes), 'the replayed newtcp.ko is the one make builds (vermagic, CRCs, build id)');
    appendFileSync(join(src, 'newtcp.h'), '\n/* a header save */\n');
    await buildModule(src, kernel, join(dir, 'cache'), log, o);
    t.equal(notes.at(-1), 'full make: not a .c file of the module: newtcp.h');
  },
);
