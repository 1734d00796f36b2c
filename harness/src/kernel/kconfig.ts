// Kconfig text handling: .config / fragment parsing, checking that every option a fragment asked
// for survived olddefconfig, and (best effort) what a dropped option depends on, read from the
// tree's Kconfig files. Pure functions first; the tree readers at the end.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** CONFIG_FOO → its value as written (`y`, `m`, `"text"`, `0x10`), or `n` for `# CONFIG_FOO is not set`. */
export type ConfigMap = Map<string, string>;

/** Parses a .config or a fragment. Later lines win, as in merge_config.sh. */
export function parseConfig(text: string): ConfigMap {
  const out: ConfigMap = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const [, option, value] = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line) ?? [];
    if (option !== undefined && value !== undefined) {
      out.set(option, value);
      continue;
    }
    const [, unset] = /^#\s*(CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line) ?? [];
    if (unset !== undefined) out.set(unset, 'n');
  }
  return out;
}

export interface Requested {
  option: string;
  value: string;
  /** Fragment file (or 'extra') that asked for it last. */
  from: string;
}

/** The options a list of fragments asks for, the last fragment winning (merge order). */
export function requestedOptions(fragments: { name: string; text: string }[]): Requested[] {
  const out = new Map<string, Requested>();
  for (const f of fragments) {
    for (const [option, value] of parseConfig(f.text)) {
      out.delete(option);
      out.set(option, { option, value, from: f.name });
    }
  }
  return [...out.values()];
}

/** Single `CONFIG_X=y` items (a target's "extra") as fragment text; a bad item is reported. */
export function extraFragment(items: string[]): { text: string; bad: string[] } {
  const bad = items.filter((i) => !/^(CONFIG_[A-Za-z0-9_]+=.+|# CONFIG_[A-Za-z0-9_]+ is not set)$/.test(i.trim()));
  return { text: `${items.map((i) => i.trim()).join('\n')}\n`, bad };
}

export interface Dropped extends Requested {
  /** What the final .config has: a value, `n` (not set), or undefined (not even visible). */
  got?: string;
}

/** Normalizes "n" and missing to the same thing for a comparison. */
function same(want: string, got: string | undefined): boolean {
  if (want === 'n') return got === undefined || got === 'n';
  return want === got;
}

/** The requested options the final .config does not have as asked. */
export function droppedOptions(requested: Requested[], final: ConfigMap): Dropped[] {
  const out: Dropped[] = [];
  for (const r of requested) {
    const got = final.get(r.option);
    if (same(r.value, got)) continue;
    const d: Dropped = { ...r };
    if (got !== undefined) d.got = got;
    out.push(d);
  }
  return out;
}

export interface KconfigSymbol {
  name: string;
  file: string;
  /** Every `depends on` expression of the entry, and of the enclosing if/menu blocks when seen. */
  dependsOn: string[];
  /** `select X if Y` lines elsewhere are not collected; `visible if`/choice parents are. */
  choice?: string;
}

/**
 * The `config NAME` / `menuconfig NAME` entries of one Kconfig file's text and their
 * `depends on` lines, plus the `if EXPR` blocks they sit in. Pure, for tests.
 */
export function parseKconfigDeps(text: string, file: string): KconfigSymbol[] {
  const out: KconfigSymbol[] = [];
  const ifs: string[] = [];
  let cur: KconfigSymbol | undefined;
  let inChoice = false;
  let choiceDeps: string[] = [];
  let help = false;
  let helpIndent = -1;
  for (const raw of joinContinuations(text)) {
    const indent = /^\s*/.exec(raw)?.[0].replace(/\t/g, '        ').length ?? 0;
    const line = raw.trim();
    if (help) {
      if (line === '' || indent > helpIndent) continue;
      help = false;
    }
    if (!line || line.startsWith('#')) continue;
    const [, entry] = /^(?:menu)?config\s+([A-Za-z0-9_]+)/.exec(line) ?? [];
    if (entry !== undefined) {
      cur = { name: entry, file, dependsOn: [...ifs, ...(inChoice ? choiceDeps : [])] };
      if (inChoice) cur.choice = 'choice';
      out.push(cur);
      continue;
    }
    if (/^(help|---help---)$/.test(line)) {
      help = true;
      helpIndent = indent;
      continue;
    }
    const [, dep] = /^depends\s+on\s+(.+)$/.exec(line) ?? [];
    if (dep !== undefined) {
      if (cur) cur.dependsOn.push(dep.trim());
      else if (inChoice) choiceDeps.push(dep.trim());
      continue;
    }
    const [, ifExpr] = /^if\s+(.+)$/.exec(line) ?? [];
    if (ifExpr !== undefined) {
      ifs.push(ifExpr.trim());
      cur = undefined;
      continue;
    }
    if (line === 'endif') {
      ifs.pop();
      cur = undefined;
      continue;
    }
    if (line === 'choice' || line.startsWith('choice ')) {
      inChoice = true;
      choiceDeps = [];
      cur = undefined;
      continue;
    }
    if (line === 'endchoice') {
      inChoice = false;
      cur = undefined;
      continue;
    }
    if (/^(menu|endmenu|source|comment|mainmenu)\b/.test(line)) cur = undefined;
  }
  return out;
}

/** The lines of a Kconfig text with each backslash-continued line joined to the next (trimmed). */
function joinContinuations(text: string): string[] {
  const out: string[] = [];
  let pending: string | undefined;
  for (const line of text.split('\n')) {
    const joined = pending === undefined ? line : `${pending} ${line.trim()}`;
    if (joined.endsWith('\\')) pending = joined.slice(0, -1);
    else {
      out.push(joined);
      pending = undefined;
    }
  }
  // A backslash on the last line has nothing to join: it stays.
  if (pending !== undefined) out.push(`${pending}\\`);
  return out;
}

/** The symbols named in a dependency expression (`A && (B || !C=y)` → A, B, C). */
export function symbolsIn(expr: string): string[] {
  return [...new Set((expr.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []).filter((s) => !/^(y|m|n|if)$/.test(s)))];
}

/**
 * One line per dropped option: what was asked, what the .config has, and its dependencies with
 * each dependency symbol's value in the final .config (`SLUB=n`), so the missing one stands out.
 */
export function explainDropped(dropped: Dropped[], symbols: Map<string, KconfigSymbol[]>, final: ConfigMap): string[] {
  return dropped.map((d) => {
    const name = d.option.replace(/^CONFIG_/, '');
    const got = d.got === undefined ? 'absent' : d.got === 'n' ? 'not set' : d.got;
    const defs = symbols.get(name) ?? [];
    let deps = '';
    if (!defs.length) deps = `; no 'config ${name}' in this tree's Kconfig files (misspelt, or not in this version/arch)`;
    else {
      const exprs = [...new Set(defs.flatMap((s) => s.dependsOn.map((e) => e.replace(/\s+/g, ' ').trim())))];
      const choice = defs.some((s) => s.choice) ? '; a choice member: another option of the same choice won (a later fragment, or the choice default)' : '';
      if (exprs.length) {
        const vals = [...new Set(exprs.flatMap(symbolsIn))].map((s) => `${s}=${final.get(`CONFIG_${s}`) ?? 'n'}`);
        const all = exprs.length === 1 ? (exprs[0]) : exprs.map((e) => `(${e})`).join(' && ');
        deps = `; depends on ${all} [${vals.join(' ')}] (${defs[0]?.file})${choice}`;
      } else deps = choice ? `${choice} (${defs[0]?.file})` : `; no 'depends on' (${defs[0]?.file}): look for a 'select' conflict or a value range`;
    }
    return `${d.option}=${d.value} (from ${d.from}): got ${got}${deps}`;
  });
}

/** Every Kconfig* file under the tree (arch/ limited to `srcarch`), read and parsed. */
export async function readKconfigSymbols(tree: string, srcarch = 'x86', only?: Set<string>): Promise<Map<string, KconfigSymbol[]>> {
  const out = new Map<string, KconfigSymbol[]>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(tree, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name.startsWith('.') || path === 'Documentation' || path === 'tools' || (rel === 'arch' && e.name !== srcarch)) continue;
        await walk(path);
      } else if (e.name.startsWith('Kconfig')) {
        const text = await readFile(join(tree, path), 'utf8').catch(() => '');
        for (const s of parseKconfigDeps(text, path)) {
          if (only && !only.has(s.name)) continue;
          out.set(s.name, [...(out.get(s.name) ?? []), s]);
        }
      }
    }
  };
  await walk('');
  return out;
}
