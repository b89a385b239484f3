import { StringDecoder } from 'node:string_decoder';

/** A fixed-size ring of the most recent items, oldest first on read. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(Math.max(0, capacity));
  }

  push(item: T): void {
    if (this.capacity <= 0) return;
    if (this.size < this.capacity) {
      this.items[(this.start + this.size) % this.capacity] = item;
      this.size++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The last `n` items (all if n is undefined), oldest first. */
  tail(n?: number): T[] {
    const count = n === undefined ? this.size : Math.max(0, Math.min(n, this.size));
    const out: T[] = [];
    for (let i = this.size - count; i < this.size; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }

  get length(): number {
    return this.size;
  }
}

/**
 * Longest line kept whole; a process that writes megabytes without a newline
 * is cut into pieces of this size instead of growing one string forever.
 */
export const MAX_LINE_CHARS = 16 * 1024;

/** Turns a byte stream into lines (utf-8 safe across chunks, `\r\n` or `\n`). */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer): void {
    this.take(this.decoder.write(chunk));
  }

  /** Emits what is left without a trailing newline (the stream ended). */
  end(): void {
    this.take(this.decoder.end());
    if (this.partial) this.onLine(this.partial);
    this.partial = '';
  }

  private take(text: string): void {
    const parts = (this.partial + text).split('\n');
    let rest = parts.pop() ?? '';
    for (const p of parts) this.emit(p.endsWith('\r') ? p.slice(0, -1) : p);
    while (rest.length >= MAX_LINE_CHARS) {
      this.onLine(rest.slice(0, MAX_LINE_CHARS));
      rest = rest.slice(MAX_LINE_CHARS);
    }
    this.partial = rest;
  }

  private emit(line: string): void {
    if (line.length <= MAX_LINE_CHARS) return this.onLine(line);
    for (let i = 0; i < line.length; i += MAX_LINE_CHARS) this.onLine(line.slice(i, i + MAX_LINE_CHARS));
  }
}
