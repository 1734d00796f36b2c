// A kernel module's handler tables and functions, from its ELF: each data object holding
// function pointers (relocations R_X86_64_64 to a function, directly or as section + offset)
// is a table; with the kernel's struct layouts, a table whose size is a proto_ops, proto or
// net_proto_family gets that type and member names. Every other text function is listed too.
import { readFile } from 'node:fs/promises';
import type { StructLayout } from './btf.js';
import { Elf, R_X86_64_64, STT_FUNC, STT_OBJECT, STT_SECTION, type ElfSymbol } from './elf.js';

export interface TableSlot {
  offset: number;
  /** The struct member at that offset, when the kernel's BTF names it. */
  member?: string;
  function: string;
}

export interface HandlerTable {
  /** The module's object (e.g. newtcp_stream_ops). */
  object: string;
  /** proto_ops, proto, net_proto_family, or undefined for another kind of table. */
  type?: string;
  slots: TableSlot[];
}

export interface ModuleFunctions {
  tables: HandlerTable[];
  /** Every function in the module's run-time text (init and exit code excluded), sorted. */
  functions: string[];
  /** Functions in .init.text/.exit.text: gone after load or only run at unload. */
  initExit: string[];
}

/** Objects that hold function pointers but are the module loader's, not handler tables. */
const NOT_TABLE = /^__this_module$|^__UNIQUE_ID_|^__(ksymtab|kstrtab|initcall|exitcall|param|mod_)/;

/** Compiler pieces that are not function entries. */
const NOT_ENTRY = /\.cold(\.\d+)?$|^__pfx_|^__cfi_/;

export function moduleFunctions(buf: Buffer, where: string, structs: Map<string, StructLayout>): ModuleFunctions {
  const elf = new Elf(buf, where);
  const funcAt = new Map<string, string>();
  const functions = new Set<string>();
  const initExit = new Set<string>();
  for (const sym of elf.symbols) {
    if (sym.type !== STT_FUNC || !sym.name || NOT_ENTRY.test(sym.name)) continue;
    funcAt.set(`${sym.section}:${sym.value}`, sym.name);
    const section = elf.sections[sym.section]?.name ?? '';
    if (/^\.(init|exit)\.text/.test(section)) initExit.add(sym.name);
    else if (section.startsWith('.text')) functions.add(sym.name);
  }
  // Structs of one size (seq_operations and kernel_param_ops are both 32 bytes) are told apart
  // by where their function pointers are: every slot of the table must be one.
  const layoutFor = (size: number, offsets: number[]): StructLayout | undefined => {
    const fits = [...structs.values()].filter((s) => s.size === size && offsets.every((o) => s.functionPointers.has(o)));
    return fits.length === 1 ? fits[0] : undefined;
  };
  const target = (sym: ElfSymbol | undefined, addend: number): string | undefined => {
    if (!sym) return undefined;
    if (sym.type === STT_FUNC) return addend === 0 ? sym.name : undefined;
    if (sym.type === STT_SECTION) return funcAt.get(`${sym.section}:${addend}`);
    return undefined;
  };
  const tables: HandlerTable[] = [];
  const objects = elf.symbols.filter((s) => s.type === STT_OBJECT && s.size > 0 && s.name && !NOT_TABLE.test(s.name));
  const relocsBySection = new Map<number, ReturnType<Elf['relocations']>>();
  for (const obj of objects) {
    let relocs = relocsBySection.get(obj.section);
    if (!relocs) relocsBySection.set(obj.section, (relocs = elf.relocations(obj.section)));
    let slots: TableSlot[] = [];
    for (const r of relocs) {
      if (r.type !== R_X86_64_64 || r.offset < obj.value || r.offset >= obj.value + obj.size) continue;
      const fn = target(elf.symbols[r.symbol], r.addend);
      // Init and exit code never runs while the suites do: not a handler to reach.
      if (!fn || initExit.has(fn)) continue;
      slots.push({ offset: r.offset - obj.value, function: fn });
    }
    if (!slots.length) continue;
    slots.sort((a, b) => a.offset - b.offset);
    const layout = layoutFor(
      obj.size,
      slots.map((s) => s.offset),
    );
    if (layout)
      slots = slots.map((s) => {
        const member = layout.members.get(s.offset);
        return member ? { offset: s.offset, member, function: s.function } : s;
      });
    tables.push(layout ? { object: obj.name, type: layout.name, slots } : { object: obj.name, slots });
  }
  tables.sort((a, b) => (a.object < b.object ? -1 : a.object > b.object ? 1 : 0));
  return { tables, functions: [...functions].sort(), initExit: [...initExit].sort() };
}

export async function readModuleFunctions(ko: string, structs: Map<string, StructLayout>): Promise<ModuleFunctions> {
  return moduleFunctions(await readFile(ko), ko, structs);
}

/** A slot's name for people: the member, or the offset when the kernel's BTF gave none. */
export function slotName(slot: TableSlot): string {
  return slot.member ?? `+0x${slot.offset.toString(16)}`;
}
