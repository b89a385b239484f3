import { describe, expect, it } from 'vitest';
import { percentile, summarize } from './report.js';

const thirty = Array.from({ length: 30 }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  it.each([
    { label: 'p50 of 30 is the 15th', input: { values: thirty, p: 50 }, want: 15 },
    { label: 'p99 of 30 is the slowest', input: { values: thirty, p: 99 }, want: 30 },
    { label: 'p99 of 1000 is the 990th', input: { values: Array.from({ length: 1000 }, (_, i) => i + 1), p: 99 }, want: 990 },
    { label: 'p0 is the smallest', input: { values: thirty, p: 0 }, want: 1 },
    { label: 'one value', input: { values: [7], p: 50 }, want: 7 },
    { label: 'no values', input: { values: [], p: 50 }, want: NaN },
  ])('$label', ({ input, want }) => {
    expect(percentile(input.values, input.p)).toEqual(want);
  });

  it('summarize sorts before ranking', () => {
    expect(summarize([5, 1, 4, 2, 3])).toEqual({ n: 5, p50: 3, p99: 5, min: 1, max: 5 });
  });
});
