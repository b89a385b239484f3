import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from './json-depth.js';

const nest = (n: number): unknown => JSON.parse('['.repeat(n) + ']'.repeat(n));

describe('jsonDepthExceeds', () => {
  it.each([
    [1, 1, false], [2, 1, true], [256, 256, false], [257, 256, true], [1_000_000, 256, true],
  ])('%s levels against a limit of %s: %s', (n, max, want) => expect(jsonDepthExceeds(nest(n), max)).toBe(want));
  it.each([null, 1, 'x', true])('a scalar %j has no depth to exceed', (v) => expect(jsonDepthExceeds(v, 0)).toBe(false));
  it('counts objects and arrays alike and ignores byte buffers', () => {
    expect(jsonDepthExceeds({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(jsonDepthExceeds({ a: [{ b: {} }] }, 3)).toBe(true);
    expect(jsonDepthExceeds({ data: Buffer.alloc(1_000_000) }, 1)).toBe(false);
  });
});
