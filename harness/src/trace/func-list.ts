// The function list sockvm-trace reads in the guest (/etc/sockvm/trace.funcs): "<kind> <name>"
// per line. The module's functions come from its ELF; the socket layer, inner TCP and e1000
// entry points are fixed names (a name a kernel lacks is reported by the tool, not fatal).
import type { ModuleFunctions } from './ko-tables.js';

export const SOCKET_LAYER = ['__sock_create', '__sys_connect', 'sock_sendmsg', 'sock_recvmsg', '__sock_release'];
export const INNER_TCP = ['tcp_v4_connect', 'tcp_sendmsg', 'tcp_recvmsg', 'tcp_set_state'];
/** e1000's transmit, NAPI poll and receive (the last is often inlined into the poll). */
export const E1000 = ['e1000_xmit_frame', 'e1000_clean', 'e1000_clean_rx_irq'];

/** Where the harness puts the list and the tool in the guest image. */
export const GUEST_FUNCS = '/etc/sockvm/trace.funcs';
export const GUEST_TRACER = '/sbin/sockvm-trace';

const SAFE_NAME = /^[A-Za-z_][\w.]*$/;

/**
 * One line per function: "<kind> <name> [<type>.<member>]..." (kind module, module-helper,
 * socket, tcp or e1000), the roles being the table slots
 * (from the kernel's BTF) the function fills; the dispatch suite finds the module's create,
 * connect and sendmsg by them. The tool itself reads the first two words.
 */
export function functionList(mod: ModuleFunctions): string {
  const roles = new Map<string, Set<string>>();
  for (const t of mod.tables) {
    if (!t.type) continue;
    for (const s of t.slots) {
      if (!s.member) continue;
      let set = roles.get(s.function);
      if (!set) roles.set(s.function, (set = new Set()));
      set.add(`${t.type}.${s.member}`);
    }
  }
  const lines = ['# sockvm-trace function list: <kind> <name> [<struct>.<member> it fills]...'];
  // A function in no table is a helper: counted and placed in chains, but watched at entry
  // only (a kretprobe per call of the hottest helpers doubled the cost of tracing).
  const inTable = new Set(mod.tables.flatMap((t) => t.slots.map((s) => s.function)));
  for (const name of mod.functions) {
    if (SAFE_NAME.test(name)) lines.push([inTable.has(name) ? 'module' : 'module-helper', name, ...[...(roles.get(name) ?? [])].sort()].join(' '));
  }
  for (const name of SOCKET_LAYER) lines.push(`socket ${name}`);
  for (const name of INNER_TCP) lines.push(`tcp ${name}`);
  for (const name of E1000) lines.push(`e1000 ${name}`);
  return `${lines.join('\n')}\n`;
}
