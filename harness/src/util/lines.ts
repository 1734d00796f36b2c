// Splits a stream into lines in linear time with a cap per line, and keeps a bounded copy of
// a stream: whatever a guest prints, the harness neither slows quadratically nor runs out of
// string length (V8 strings stop at ~512 MiB).
import { StringDecoder } from 'node:string_decoder';

export const MAX_LINE = 1 << 20;

/** Feeds whole lines to `onLine`; a line longer than `maxLine` is cut there and marked. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private parts: string[] = [];
  private length = 0;
  private dropped = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = MAX_LINE,
  ) {}

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      this.add(text.slice(start, nl < 0 ? text.length : nl));
      if (nl < 0) return;
      this.emit();
      start = nl + 1;
    }
  }

  /** The line so far, before its newline came. */
  pending(): string {
    return this.parts.join('');
  }

  /** The last line, when the stream ended without a newline. */
  end(): void {
    this.add(this.decoder.end());
    if (this.length || this.dropped) this.emit();
  }

  private add(s: string): void {
    const room = this.maxLine - this.length;
    if (s.length > room) {
      this.dropped += s.length - room;
      s = s.slice(0, room);
    }
    if (!s) return;
    this.parts.push(s);
    this.length += s.length;
  }

  private emit(): void {
    let line = this.parts.join('');
    if (this.dropped) line += ` [sockvm: line cut at ${this.maxLine} characters, ${this.dropped} more dropped]`;
    this.parts = [];
    this.length = 0;
    this.dropped = 0;
    this.onLine(line);
  }
}

/** A stream's text kept up to `max` characters; what came after is counted, not kept. */
export class BoundedText {
  private parts: string[] = [];
  private length = 0;
  private dropped = 0;
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly max: number) {}

  push(chunk: Buffer): void {
    const s = this.decoder.write(chunk);
    const room = this.max - this.length;
    if (s.length > room) this.dropped += s.length - room;
    const kept = s.length > room ? s.slice(0, room) : s;
    if (kept) {
      this.parts.push(kept);
      this.length += kept.length;
    }
  }

  text(): string {
    const s = this.parts.join('') + this.decoder.end();
    return this.dropped ? `${s}\n[sockvm: output cut at ${this.max} characters, ${this.dropped} more dropped]\n` : s;
  }
}
