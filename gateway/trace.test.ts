import { describe, expect, it } from 'vitest';
import { newTraceparent, randomHex, traceIdOf } from './trace.js';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const P = '00f067aa0ba902b7';

describe('traceIdOf', () => {
  it.each([
    { name: 'the spec example', header: `00-${T}-${P}-01`, want: T },
    { name: 'not sampled', header: `00-${T}-${P}-00`, want: T },
    { name: 'a later version with more fields', header: `01-${T}-${P}-01-extra`, want: T },
    { name: 'missing', header: undefined, want: undefined },
    { name: 'repeated header', header: [`00-${T}-${P}-01`, `00-${T}-${P}-01`], want: undefined },
    { name: 'version ff', header: `ff-${T}-${P}-01`, want: undefined },
    { name: 'version 00 with more fields', header: `00-${T}-${P}-01-extra`, want: undefined },
    { name: 'uppercase hex', header: `00-${T.toUpperCase()}-${P}-01`, want: undefined },
    { name: 'all-zero trace id', header: `00-${'0'.repeat(32)}-${P}-01`, want: undefined },
    { name: 'all-zero parent id', header: `00-${T}-${'0'.repeat(16)}-01`, want: undefined },
    { name: 'short trace id', header: `00-${T.slice(1)}-${P}-01`, want: undefined },
    { name: 'not hex', header: `00-${T.slice(0, 31)}g-${P}-01`, want: undefined },
    { name: 'later version without a dash after flags', header: `01-${T}-${P}-01x`, want: undefined },
  ])('$name', ({ header, want }) => {
    expect(traceIdOf(header)).toBe(want);
  });
});

describe('newTraceparent', () => {
  it('makes valid, distinct traceparents', () => {
    const seen = new Set<string>();
    // More than one pool refill (4096 bytes / 24 bytes per traceparent).
    for (let i = 0; i < 500; i++) {
      const { header, traceId } = newTraceparent();
      expect(traceIdOf(header)).toBe(traceId);
      expect(header).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      seen.add(traceId);
    }
    expect(seen.size).toBe(500);
  });

  it('randomHex gives n bytes as hex', () => {
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
  });
});
