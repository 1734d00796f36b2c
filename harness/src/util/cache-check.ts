// What a good cache entry holds, checked on every hit and by `sockvm cache verify`: a truncated
// index, a missing .ko or a 0-byte kernel is named and rebuilt, never booted.
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A problem with the file at @path, or undefined when it is at least @minBytes. */
async function sized(path: string, minBytes: number): Promise<string | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return `${path} is missing`;
  if (!st.isFile()) return `${path} is not a file`;
  if (st.size < minBytes) return `${path} has ${st.size} bytes (a good one has at least ${minBytes})`;
  return undefined;
}

async function head(path: string, bytes: number, at = 0): Promise<Buffer> {
  const f = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await f.read(buf, 0, bytes, at);
    return buf.subarray(0, bytesRead);
  } finally {
    await f.close();
  }
}

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** An ELF file (a vmlinux, a .ko) of at least @minBytes. */
export async function checkElf(path: string, minBytes: number): Promise<string | undefined> {
  const bad = await sized(path, minBytes);
  if (bad) return bad;
  return (await head(path, 4)).equals(ELF) ? undefined : `${path} is not an ELF file`;
}

/** A bootable kernel image: a bzImage ("HdrS" at 0x202) or an ELF vmlinux, 1 MiB or more. */
export async function checkKernelImage(path: string): Promise<string | undefined> {
  const bad = await sized(path, 1 << 20);
  if (bad) return bad;
  if ((await head(path, 4)).equals(ELF)) return undefined;
  return (await head(path, 4, 0x202)).toString('latin1') === 'HdrS' ? undefined : `${path} is neither a bzImage nor an ELF vmlinux`;
}

/** A modules directory depmod has indexed. */
export async function checkModulesDir(dir: string): Promise<string | undefined> {
  return sized(join(dir, 'modules.dep'), 0);
}

/** A JSON index that parses, and what it says. */
export async function readIndex<T>(path: string): Promise<{ value?: T; problem?: string }> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return { problem: `${path} is missing` };
  try {
    return { value: JSON.parse(text) as T };
  } catch {
    return { problem: `${path} is not valid JSON (truncated?)` };
  }
}

/** The first problem of several checks, or undefined. */
export async function firstProblem(...checks: (() => Promise<string | undefined>)[]): Promise<string | undefined> {
  for (const c of checks) {
    const p = await c();
    if (p) return p;
  }
  return undefined;
}
