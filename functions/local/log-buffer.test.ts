import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_CHARS, RingBuffer } from './log-buffer.js';

describe('RingBuffer', () => {
  it.each([
    { label: 'under capacity keeps all', input: { cap: 3, push: [1, 2], tail: undefined }, want: [1, 2] },
    { label: 'over capacity keeps the newest, oldest first', input: { cap: 3, push: [1, 2, 3, 4, 5], tail: undefined }, want: [3, 4, 5] },
    { label: 'tail n', input: { cap: 3, push: [1, 2, 3, 4, 5], tail: 2 }, want: [4, 5] },
    { label: 'tail larger than size', input: { cap: 10, push: [1, 2], tail: 5 }, want: [1, 2] },
    { label: 'tail 0', input: { cap: 3, push: [1, 2], tail: 0 }, want: [] },
    { label: 'capacity 0 keeps nothing', input: { cap: 0, push: [1], tail: undefined }, want: [] },
  ])('$label', ({ input, want }) => {
    const r = new RingBuffer<number>(input.cap);
    for (const x of input.push) r.push(x);
    expect(r.tail(input.tail)).toEqual(want);
  });
});

describe('LineSplitter', () => {
  it.each([
    { label: 'one chunk, two lines', input: ['a\nb\n'], want: ['a', 'b'] },
    { label: 'line split across chunks', input: ['hel', 'lo\nwor', 'ld\n'], want: ['hello', 'world'] },
    { label: 'CRLF', input: ['a\r\nb\r\n'], want: ['a', 'b'] },
    { label: 'partial flushed at end', input: ['a\nno newline'], want: ['a', 'no newline'] },
    { label: 'empty lines kept', input: ['\n\nx\n'], want: ['', '', 'x'] },
  ])('$label', ({ input, want }) => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    for (const c of input) s.write(Buffer.from(c));
    s.end();
    expect(got).toEqual(want);
  });

  it('does not split a multi-byte character across chunks', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const bytes = Buffer.from('é€\n');
    for (const b of bytes) s.write(Buffer.from([b]));
    s.end();
    expect(got).toEqual(['é€']);
  });

  it('cuts a line without newline at MAX_LINE_CHARS', () => {
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    s.write(Buffer.from('x'.repeat(MAX_LINE_CHARS * 2 + 5)));
    expect(got.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS]);
    s.end();
    expect(got.at(-1)).toBe('xxxxx');
  });
});
