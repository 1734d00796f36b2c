// A minimal ELF64 little-endian reader: sections, the symbol table and RELA relocations, all
// that the tracer needs to find a kernel module's function tables without any tool.
import { UsageError } from '../util/errors.js';

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

export interface ElfSymbol {
  name: string;
  /** STT_*: 0 notype, 1 object, 2 func, 3 section. */
  type: number;
  /** Section index (st_shndx). */
  section: number;
  value: number;
  size: number;
}

export interface ElfRela {
  offset: number;
  type: number;
  symbol: number;
  addend: number;
}

export const SHT_SYMTAB = 2;
export const SHT_RELA = 4;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const R_X86_64_64 = 1;

export class Elf {
  readonly sections: ElfSection[] = [];
  readonly symbols: ElfSymbol[] = [];

  constructor(
    private readonly buf: Buffer,
    where: string,
  ) {
    if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new UsageError(`${where}: not an ELF file`);
    if (buf[4] !== 2 || buf[5] !== 1) throw new UsageError(`${where}: not a 64-bit little-endian ELF file`);
    const shoff = Number(buf.readBigUInt64LE(0x28));
    const shentsize = buf.readUInt16LE(0x3a);
    const shnum = buf.readUInt16LE(0x3c);
    const shstrndx = buf.readUInt16LE(0x3e);
    if (shoff + shnum * shentsize > buf.length) throw new UsageError(`${where}: section headers past the end of the file (truncated?)`);
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const o = shoff + i * shentsize;
      raw.push({
        nameOff: buf.readUInt32LE(o),
        type: buf.readUInt32LE(o + 4),
        offset: Number(buf.readBigUInt64LE(o + 24)),
        size: Number(buf.readBigUInt64LE(o + 32)),
        link: buf.readUInt32LE(o + 40),
        info: buf.readUInt32LE(o + 44),
      });
    }
    const shstr = raw[shstrndx];
    for (const [index, s] of raw.entries()) {
      this.sections.push({
        index,
        name: shstr ? this.str(shstr.offset, s.nameOff) : '',
        type: s.type,
        offset: s.offset,
        size: s.size,
        link: s.link,
        info: s.info,
      });
    }
    const symtab = this.sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) throw new UsageError(`${where}: no symbol table (stripped?); the tracer needs the module's symbols`);
    const strtab = this.sections[symtab.link];
    for (let o = symtab.offset; o + 24 <= symtab.offset + symtab.size; o += 24) {
      this.symbols.push({
        name: strtab ? this.str(strtab.offset, buf.readUInt32LE(o)) : '',
        type: buf.readUInt8(o + 4) & 0xf,
        section: buf.readUInt16LE(o + 6),
        value: Number(buf.readBigUInt64LE(o + 8)),
        size: Number(buf.readBigUInt64LE(o + 16)),
      });
    }
  }

  private str(tableOffset: number, at: number): string {
    const start = tableOffset + at;
    const end = this.buf.indexOf(0, start);
    return this.buf.toString('latin1', start, end < 0 ? this.buf.length : end);
  }

  /** The RELA entries that apply to section `target`. */
  relocations(target: number): ElfRela[] {
    const out: ElfRela[] = [];
    for (const s of this.sections) {
      if (s.type !== SHT_RELA || s.info !== target) continue;
      for (let o = s.offset; o + 24 <= s.offset + s.size; o += 24) {
        const info = this.buf.readBigUInt64LE(o + 8);
        out.push({
          offset: Number(this.buf.readBigUInt64LE(o)),
          type: Number(info & 0xffffffffn),
          symbol: Number(info >> 32n),
          addend: Number(this.buf.readBigInt64LE(o + 16)),
        });
      }
    }
    return out;
  }
}
