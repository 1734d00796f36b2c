// Boot-time shortcut: a distro bzImage is xz-compressed, and decompressing it under TCG costs
// seconds at every boot. QEMU can boot the inner ELF vmlinux directly through its PVH entry
// point, so we extract it once (like scripts/extract-vmlinux) and cache it by the image's hash.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkElf } from '../util/cache-check.js';
import { cachedDir, exists } from '../util/fs.js';

const FORMATS: { magic: number[]; cmd: [string, ...string[]] }[] = [
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], cmd: ['xz', '-dc'] },
  { magic: [0x1f, 0x8b, 0x08], cmd: ['gzip', '-dc'] },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], cmd: ['zstd', '-dc'] },
  { magic: [0x02, 0x21, 0x4c, 0x18], cmd: ['lz4', '-dc'] },
];

const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** True when an ELF64 image carries the Xen PVH entry note QEMU needs to boot it directly. */
export function hasPvhNote(elf: Buffer): boolean {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(32));
  const phentsize = elf.readUInt16LE(54);
  const phnum = elf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (elf.readUInt32LE(ph) !== 4 /* PT_NOTE */) continue;
    let off = Number(elf.readBigUInt64LE(ph + 8));
    const end = off + Number(elf.readBigUInt64LE(ph + 32));
    while (off + 12 <= end) {
      const namesz = elf.readUInt32LE(off);
      const descsz = elf.readUInt32LE(off + 4);
      const type = elf.readUInt32LE(off + 8);
      const name = elf.toString('ascii', off + 12, off + 12 + namesz).replace(/\0+$/, '');
      if (name === 'Xen' && type === XEN_ELFNOTE_PHYS32_ENTRY) return true;
      off += 12 + Math.ceil(namesz / 4) * 4 + Math.ceil(descsz / 4) * 4;
    }
  }
  return false;
}

function* offsetsOf(buf: Buffer, magic: number[]): Generator<number> {
  let from = 0;
  for (;;) {
    const at = buf.indexOf(Buffer.from(magic), from);
    if (at < 0) return;
    yield at;
    from = at + 1;
  }
}

/** Decompresses `input` with `cmd` straight into `outPath` (buffering 60+ MB in node is slow). */
async function decompressTo([file, ...args]: [string, ...string[]], input: Buffer, outPath: string, signal: AbortSignal | undefined): Promise<void> {
  const out = await open(outPath, 'w');
  try {
    await new Promise<void>((resolve) => {
      const child = spawn(file, args, { stdio: ['pipe', out.fd, 'ignore'], ...(signal ? { signal } : {}) });
      child.on('error', () => resolve());
      child.on('close', () => resolve());
      // Trailing data after the stream makes the decompressor complain; the output is still whole.
      child.stdin?.on('error', () => {});
      child.stdin?.end(input);
    });
  } finally {
    await out.close();
  }
}

async function extract(bzImage: Buffer, outPath: string, signal: AbortSignal | undefined): Promise<Buffer | undefined> {
  for (const format of FORMATS) {
    for (const offset of offsetsOf(bzImage, format.magic)) {
      await decompressTo(format.cmd, bzImage.subarray(offset), outPath, signal);
      signal?.throwIfAborted();
      const elf = await readFile(outPath);
      if (elf.length > 64 && elf.readUInt32BE(0) === 0x7f454c46) return elf;
    }
  }
  return undefined;
}

/**
 * The image QEMU should boot: a cached PVH-capable vmlinux when the bzImage holds one,
 * else the bzImage itself.
 */
export async function bootableKernel(
  bzImagePath: string,
  cacheDir: string,
  o: { signal?: AbortSignal; onReplaced?: (note: string) => void } = {},
): Promise<{ path: string; pvh: boolean }> {
  const bzImage = await readFile(bzImagePath);
  if (bzImage.readUInt32BE(0) === 0x7f454c46) return { path: bzImagePath, pvh: hasPvhNote(bzImage) };
  const key = createHash('sha256').update(bzImage).digest('hex').slice(0, 24);
  const entry = await cachedDir(join(cacheDir, 'vmlinux', key), async (tmp) => {
    const elf = await extract(bzImage, join(tmp, 'vmlinux'), o.signal);
    if (!elf || !hasPvhNote(elf)) {
      await rm(join(tmp, 'vmlinux'), { force: true });
      await writeFile(join(tmp, 'no-pvh'), '');
    }
  }, async (dir) => ((await exists(join(dir, 'no-pvh'))) ? undefined : checkElf(join(dir, 'vmlinux'), 1 << 20)));
  if (entry.replaced) o.onReplaced?.(`vmlinux cache entry ${entry.dir} was bad (${entry.replaced}): extracted again`);
  const vmlinux = join(entry.dir, 'vmlinux');
  try {
    await readFile(join(entry.dir, 'no-pvh'));
    return { path: bzImagePath, pvh: false };
  } catch {
    return { path: vmlinux, pvh: true };
  }
}
