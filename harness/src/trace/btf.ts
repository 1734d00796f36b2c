// Struct layouts from a kernel's BTF (`bpftool btf dump file <vmlinux> format raw`): the sizes
// that tell a module's proto_ops, proto and net_proto_family tables apart, and the member at
// each offset. The Debian kernels' vmlinux carries .BTF; a kernel without it gives no names.
import { execa } from 'execa';

export interface StructLayout {
  name: string;
  size: number;
  /** Member name by byte offset (function pointers are whole bytes). */
  members: Map<number, string>;
  /** Offsets of the members that are function pointers. */
  functionPointers: Set<number>;
}

/** The kernel structures whose members are the module's handlers (socket layer, /proc, netns, parameters). */
export const HANDLER_STRUCTS = ['proto_ops', 'proto', 'net_proto_family', 'seq_operations', 'pernet_operations', 'kernel_param_ops'] as const;

/** Parses bpftool's raw dump, keeping the named structs (first definition of each). */
export function parseBtfRaw(text: string, wanted: readonly string[]): Map<string, StructLayout> {
  const found = new Map<string, StructLayout>();
  const ptrTo = new Map<number, number>();
  const funcProtos = new Set<number>();
  const memberTypes = new Map<StructLayout, Map<number, number>>();
  let current: StructLayout | undefined;
  for (const line of text.split('\n')) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'(?: size=(\d+))?(?: type_id=(\d+))?/.exec(line);
    if (head) {
      current = undefined;
      const [, id, kind, name, size, typeId] = head;
      if (kind === 'PTR' && typeId !== undefined) ptrTo.set(Number(id), Number(typeId));
      if (kind === 'FUNC_PROTO') funcProtos.add(Number(id));
      if (kind === 'STRUCT' && name && wanted.includes(name) && !found.has(name) && size !== undefined) {
        current = { name, size: Number(size), members: new Map(), functionPointers: new Set() };
        found.set(name, current);
        memberTypes.set(current, new Map());
      }
      continue;
    }
    const member = current && /^\s+'([^']*)' type_id=(\d+) bits_offset=(\d+)/.exec(line);
    if (current && member?.[1] !== undefined) {
      const bits = Number(member[3]);
      if (bits % 8 === 0) {
        current.members.set(bits / 8, member[1]);
        memberTypes.get(current)?.set(bits / 8, Number(member[2]));
      }
    }
  }
  for (const [layout, types] of memberTypes) {
    for (const [offset, type] of types) {
      const target = ptrTo.get(type);
      if (target !== undefined && funcProtos.has(target)) layout.functionPointers.add(offset);
    }
  }
  return found;
}

/** The handler structs of a vmlinux (ELF with .BTF, or /sys/kernel/btf/vmlinux); none without BTF. */
export async function handlerStructs(vmlinux: string, signal: AbortSignal): Promise<Map<string, StructLayout>> {
  const r = await execa('bpftool', ['btf', 'dump', 'file', vmlinux, 'format', 'raw'], {
    reject: false,
    stdin: 'ignore',
    maxBuffer: 512 * 1024 * 1024,
    cancelSignal: signal,
  });
  signal.throwIfAborted();
  if (r.exitCode !== 0) return new Map();
  return parseBtfRaw(r.stdout, HANDLER_STRUCTS);
}
