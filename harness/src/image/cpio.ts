// A newc ("070701") cpio writer and reader: the initramfs format the kernel unpacks.
// Entries are written in the order given with fixed inode numbers and mtime 0, so the same
// inputs give the same bytes.
import { InfraError } from '../util/errors.js';

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Buffer; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const pad4 = (n: number): number => (4 - (n % 4)) % 4;
const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

function header(fields: { ino: number; mode: number; nlink: number; size: number; rdevMajor: number; rdevMinor: number; nameSize: number }): string {
  return (
    '070701' + [fields.ino, fields.mode, 0, 0, fields.nlink, 0, fields.size, 0, 0, fields.rdevMajor, fields.rdevMinor, fields.nameSize, 0].map(hex8).join('')
  );
}

function record(name: string, mode: number, data: Buffer, ino: number, rdev: [number, number] = [0, 0]): Buffer {
  const nameBuf = Buffer.from(`${name}\0`);
  const head = Buffer.from(
    header({ ino, mode, nlink: (mode & 0o170000) === S_IFDIR ? 2 : 1, size: data.length, rdevMajor: rdev[0], rdevMinor: rdev[1], nameSize: nameBuf.length }),
  );
  const afterName = pad4(head.length + nameBuf.length);
  return Buffer.concat([head, nameBuf, Buffer.alloc(afterName), data, Buffer.alloc(pad4(data.length))]);
}

export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const path = entry.path.replace(/^\/+/, '');
    if (!path) throw new InfraError(`cpio entry ${JSON.stringify(entry.path)} has an empty path (a file to put at the image's root needs a name)`);
    switch (entry.kind) {
      case 'dir':
        parts.push(record(path, S_IFDIR | (entry.mode ?? 0o755), Buffer.alloc(0), ino++));
        break;
      case 'file':
        parts.push(record(path, S_IFREG | (entry.mode ?? 0o644), entry.data, ino++));
        break;
      case 'symlink':
        parts.push(record(path, S_IFLNK | 0o777, Buffer.from(entry.target), ino++));
        break;
      case 'chardev':
        parts.push(record(path, S_IFCHR | (entry.mode ?? 0o600), Buffer.alloc(0), ino++, [entry.major, entry.minor]));
        break;
    }
  }
  parts.push(record('TRAILER!!!', 0, Buffer.alloc(0), 0));
  return Buffer.concat(parts);
}

export interface CpioRecord {
  path: string;
  mode: number;
  data: Buffer;
  rdevMajor: number;
  rdevMinor: number;
}

/** Reads a newc archive back (used by tests and `sockvm image ls`). */
export function readCpio(archive: Buffer): CpioRecord[] {
  const out: CpioRecord[] = [];
  let off = 0;
  for (;;) {
    if (off + 110 > archive.length) throw new InfraError(`cpio: truncated header at offset ${off}: not a complete newc archive`);
    const magic = archive.toString('ascii', off, off + 6);
    if (magic !== '070701') throw new InfraError(`cpio: bad magic ${JSON.stringify(magic)} at offset ${off}: not a newc archive (gunzip it first?)`);
    const field = (i: number): number => parseInt(archive.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + 110;
    const path = archive.toString('utf8', nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(110 + nameSize);
    if (path === 'TRAILER!!!') return out;
    out.push({ path, mode, data: archive.subarray(dataStart, dataStart + size), rdevMajor: field(9), rdevMinor: field(10) });
    off = dataStart + size + pad4(size);
  }
}
