// --gdb: the gdb command line for a guest booted with QEMU's gdbstub and nokaslr. The kernel's
// symbols come from a vmlinux when one exists (a source kernel's build tree; Debian's -dbg
// package), the module's from newtcp.ko loaded at the addresses the guest's sysfs gives.
import { join } from 'node:path';
import type { Guest } from '../guest/ssh.js';
import type { GdbInfo } from '../results/model.js';
import { InfraError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { commandLine } from '../vm/boot.js';

/** The sections gdb's add-symbol-file takes besides .text (which is its address argument). */
const SECTIONS = ['.text', '.data', '.bss', '.rodata'];

/**
 * newtcp.ko's section addresses in the guest. Guest output is data: only lines of a known
 * section name and a hex address are taken, so nothing else can reach the printed command line.
 */
export function parseSections(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\.[a-z]+) (0x[0-9a-f]{1,16})$/.exec(line.trim());
    if (m?.[1] && m[2] && SECTIONS.includes(m[1])) out[m[1]] = m[2];
  }
  return out;
}

export async function moduleSections(guest: Guest): Promise<Record<string, string>> {
  const text = await guest.run(`cd /sys/module/newtcp/sections && for s in ${SECTIONS.join(' ')}; do [ -r "$s" ] && echo "$s $(cat "$s")"; done; true`);
  const sections = parseSections(text);
  if (!sections['.text']) throw new InfraError(`--gdb: /sys/module/newtcp/sections gave no .text address (read: ${JSON.stringify(text.slice(0, 200))})`);
  return sections;
}

/** A vmlinux with symbols for this kernel, or why there is none. */
export async function findVmlinux(release: string, buildDir: string): Promise<{ path: string } | { missing: string }> {
  for (const path of [join(buildDir, 'vmlinux'), `/usr/lib/debug/boot/vmlinux-${release}`, `/usr/lib/debug/lib/modules/${release}/vmlinux`]) {
    if (await exists(path)) return { path };
  }
  return {
    missing: `no vmlinux with symbols for ${release}: Debian ships it in linux-image-${release}-dbg (install it for the kernel's symbols); the module's symbols load without it`,
  };
}

/** The gdb command line: attach to the stub, then newtcp.ko's symbols where the module sits. */
export function gdbCommand(port: number, ko: string, sections: Record<string, string>, vmlinux?: string): string {
  const text = sections['.text'] ?? '0';
  const extra = Object.entries(sections)
    .filter(([name]) => name !== '.text')
    .flatMap(([name, addr]) => ['-s', name, addr]);
  const addSymbols = ['add-symbol-file', ko, text, ...extra].join(' ');
  return commandLine(['gdb', '-q', ...(vmlinux ? [vmlinux] : []), '-ex', `target remote 127.0.0.1:${port}`, '-ex', addSymbols]);
}

export async function gdbInfo(guest: Guest, port: number, ko: string, kernel: { release: string; buildDir: string }): Promise<GdbInfo> {
  const sections = await moduleSections(guest);
  const vm = await findVmlinux(kernel.release, kernel.buildDir);
  const vmlinux = 'path' in vm ? vm.path : undefined;
  const info: GdbInfo = { port, ko, command: gdbCommand(port, ko, sections, vmlinux), sections };
  if (vmlinux) info.vmlinux = vmlinux;
  else if ('missing' in vm) info.vmlinuxMissing = vm.missing;
  return info;
}
