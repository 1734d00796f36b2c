// sockvm dev's fast module build: after one full kbuild of the work tree, a save of .c files is
// rebuilt by replaying the commands kbuild recorded in its .cmd files (compile + objtool of the
// saved files, the ld -r of the module, modpost, the .mod.o when modpost changed newtcp.mod.c,
// the final link), skipping make's ~5 s of reading the kernel's Makefiles and probing the
// compiler. Each command is the one make would run, so the .ko is the one make would give.
// Anything this cannot vouch for (a header or Makefile saved, a file added or removed, a .cmd
// missing or unreadable, an EXPORT_SYMBOL, a BTF step kbuild does not record, the last build not
// complete, a replayed command failing) is a reason for the full make instead.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The module's name: the work tree builds newtcp.ko. */
const MODULE = 'newtcp';

/** Written after a complete build of the work tree; removed before any build starts. */
export const BUILT_MARKER = '.sockvm-built.json';

export interface BuiltState {
  /** Objects compiled by replay since the last full make: their .cmd deps are stale (see fullMakeBegins). */
  replayed: string[];
}

/**
 * The command a kbuild .cmd file records for `target` (an absolute path): the value of
 * `savedcmd_<target> :=` (6.3+) or `cmd_<target> :=` (older), make's `$$` turned back into `$`.
 * Undefined when the file has no such line or the line still holds make syntax (`$(`, a lone `$`).
 */
export function recordedCommand(cmdFileText: string, target: string): string | undefined {
  for (const line of cmdFileText.split('\n')) {
    for (const prefix of [`savedcmd_${target} := `, `cmd_${target} := `]) {
      if (!line.startsWith(prefix)) continue;
      const raw = line.slice(prefix.length).trim();
      // Every $ must come as $$ (a shell $ escaped for make): anything else is unexpanded make.
      if (raw === '' || /\$(?!\$)/.test(raw.replace(/\$\$/g, ''))) return undefined;
      return raw.replace(/\$\$/g, '$');
    }
  }
  return undefined;
}

export interface ReplayStep {
  /** What the step makes, for the log and the timing (af_newtcp.o, newtcp.o, modpost, newtcp.mod.o, newtcp.ko). */
  what: string;
  command: string;
}

export type ReplayPlan = { steps: ReplayStep[]; modObject: ReplayStep } | { fallback: string };

async function readCommand(dir: string, target: string): Promise<string | undefined> {
  const text = await readFile(join(dir, `.${target}.cmd`), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : recordedCommand(text, join(dir, target));
}

/**
 * What replaying a save of `changed` (paths relative to the work tree `dir`) takes, or why
 * the full make must run instead. `added`/`removed`: files that appeared or went away.
 */
export async function planReplay(dir: string, change: { changed: string[]; added: string[]; removed: string[] }, kbuildDir: string): Promise<ReplayPlan> {
  if (change.added.length || change.removed.length) return { fallback: `files added or removed (${[...change.added, ...change.removed].join(', ')})` };
  if (!change.changed.length) return { fallback: 'nothing changed in the work tree' };
  const notC = change.changed.filter((f) => !/^[^/]+\.c$/.test(f));
  if (notC.length) return { fallback: `not a .c file of the module: ${notC.join(', ')}` };
  const built = await readBuiltState(dir);
  if (!built) return { fallback: 'the work tree has no complete build to start from' };
  if (existsSync(join(kbuildDir, 'vmlinux')) && /^CONFIG_DEBUG_INFO_BTF_MODULES=y$/m.test(await readFile(join(kbuildDir, '.config'), 'utf8').catch(() => '')))
    return { fallback: 'the kernel makes BTF for modules (a step kbuild does not record in .cmd)' };
  const steps: ReplayStep[] = [];
  for (const file of change.changed) {
    const object = file.replace(/\.c$/, '.o');
    if (/\bEXPORT_SYMBOL/.test(await readFile(join(dir, file), 'utf8'))) return { fallback: `${file} exports symbols (genksyms is not in the .cmd)` };
    const command = await readCommand(dir, object);
    if (!command) return { fallback: `no usable .${object}.cmd (${file} is not built by kbuild here?)` };
    steps.push({ what: object, command });
  }
  const names = [`${MODULE}.o`, 'Module.symvers', `${MODULE}.mod.o`, `${MODULE}.ko`];
  const commands = await Promise.all(names.map((n) => readCommand(dir, n)));
  const missing = names.filter((_, i) => !commands[i]);
  if (missing.length) return { fallback: `no usable .cmd for ${missing.join(', ')}` };
  const [link, modpost, modObject, ko] = commands as [string, string, string, string];
  steps.push({ what: `${MODULE}.o`, command: link }, { what: 'modpost', command: modpost });
  return { steps: [...steps, { what: `${MODULE}.ko`, command: ko }], modObject: { what: `${MODULE}.mod.o`, command: modObject } };
}

/** The objects a replay plan compiles from saved sources (not the module's ld -r). */
export function compiledObjects(plan: Extract<ReplayPlan, { steps: ReplayStep[] }>): string[] {
  return plan.steps.map((s) => s.what).filter((w) => w.endsWith('.o') && w !== `${MODULE}.o`);
}

export async function readBuiltState(dir: string): Promise<BuiltState | undefined> {
  try {
    const state = JSON.parse(await readFile(join(dir, BUILT_MARKER), 'utf8')) as Partial<BuiltState>;
    return Array.isArray(state.replayed) && state.replayed.every((r) => typeof r === 'string') ? { replayed: state.replayed } : undefined;
  } catch {
    return undefined;
  }
}

/** A build starts: the tree is not known complete until it ends well (markBuilt). */
export async function buildBegins(dir: string): Promise<BuiltState | undefined> {
  const state = await readBuiltState(dir);
  await rm(join(dir, BUILT_MARKER), { force: true });
  return state;
}

export async function markBuilt(dir: string, state: BuiltState): Promise<void> {
  await writeFile(join(dir, BUILT_MARKER), `${JSON.stringify(state)}\n`);
}

/**
 * Before a full make after replays: a replayed object's .cmd still lists the headers of its
 * earlier source (kbuild's fixdep did not run), so make could miss a header it now includes.
 * Removing the object makes make compile it again and record its dependencies afresh.
 */
export async function forgetReplayed(dir: string, state: BuiltState | undefined): Promise<void> {
  for (const object of state?.replayed ?? []) await rm(join(dir, object), { force: true });
}

/** The .d file gcc's -MMD wrote, which kbuild folds into .cmd and removes: removed likewise. */
export async function removeDepFile(dir: string, object: string): Promise<void> {
  await rm(join(dir, `.${object}.d`), { force: true });
}
