import { describe, it, expect } from 'vitest';
import { BucketWindow } from './window.js';

const T0 = 1_000_000_000_000; // a whole second, like FakeClock's epoch
const s = (sec: number) => T0 + sec * 1000;

describe('BucketWindow', () => {
  const cases: {
    label: string;
    input: { windowMs: number; writes: [sec: number, v: number][]; at: number };
    want: number;
  }[] = [
    { label: 'nothing written', input: { windowMs: 60_000, writes: [], at: 0 }, want: 0 },
    { label: 'one write', input: { windowMs: 60_000, writes: [[0, 5]], at: 0 }, want: 5 },
    { label: 'same second is summed', input: { windowMs: 60_000, writes: [[0, 2], [0.4, 3], [0.99, 1]], at: 0.5 }, want: 6 },
    { label: 'partial window: divide by buckets since first write', input: { windowMs: 60_000, writes: [[0, 10], [1, 0], [2, 0], [3, 2]], at: 3 }, want: 3 },
    {
      label: 'full window drops the oldest bucket',
      input: { windowMs: 6000, writes: [[0, 60], [1, 6], [2, 6], [3, 6], [4, 6], [5, 6], [6, 6]], at: 6 },
      want: 6,
    },
    {
      label: 'full window, sliding',
      input: { windowMs: 6000, writes: Array.from({ length: 20 }, (_, i) => [i, i] as [number, number]), at: 19 },
      want: (14 + 15 + 16 + 17 + 18 + 19) / 6,
    },
    // Knative: silence shorter than a window drops the buckets that fell out
    // and shrinks the divisor; the silent seconds are not counted as zeros.
    { label: 'silence within window (partial)', input: { windowMs: 60_000, writes: Array.from({ length: 10 }, (_, i) => [i, 1] as [number, number]), at: 15 }, want: 1 },
    {
      label: 'silence within a full window drops stale buckets',
      input: { windowMs: 6000, writes: Array.from({ length: 6 }, (_, i) => [i, i + 1] as [number, number]), at: 8 },
      // buckets for t=3..5 (4+5+6) remain; divisor min(6, 6-3) = 3
      want: 5,
    },
    { label: 'silent for exactly a window', input: { windowMs: 6000, writes: [[0, 9]], at: 6 }, want: 0 },
    { label: 'silent for more than a window', input: { windowMs: 60_000, writes: [[0, 9]], at: 100 }, want: 0 },
    {
      label: 'write after long silence starts afresh',
      input: { windowMs: 6000, writes: [[0, 100], [1, 100], [20, 3]], at: 20 },
      want: 3,
    },
    {
      label: 'skipped seconds are cleared, not left with old values',
      input: { windowMs: 6000, writes: [[0, 100], [1, 1], [2, 1], [3, 1], [4, 1], [5, 1], [9, 1]], at: 9 },
      // live indices 4..9: 1 (t=4) + 1 (t=5) + 0 (6..8 cleared) + 1 (t=9); divisor 6
      want: 3 / 6,
    },
    { label: 'late write inside the window counts', input: { windowMs: 6000, writes: [[2, 4], [1, 2]], at: 2 }, want: 3 },
    { label: 'late write older than the window is dropped', input: { windowMs: 6000, writes: [[10, 4], [1, 100]], at: 10 }, want: 4 },
    { label: 'sub-second timestamps land in their second', input: { windowMs: 6000, writes: [[0.999, 1], [1.0, 3]], at: 1.5 }, want: 2 },
    { label: 'zeros after history average to exactly 0', input: { windowMs: 6000, writes: [[0, 0.1], [1, 0.2], [2, 0.3], ...Array.from({ length: 6 }, (_, i) => [3 + i, 0] as [number, number])], at: 8 }, want: 0 },
  ];

  it.each(cases)('$label', ({ input, want }) => {
    const w = new BucketWindow(input.windowMs);
    for (const [sec, v] of input.writes) w.record(s(sec), v);
    expect(w.average(s(input.at))).toBeCloseTo(want, 12);
  });

  it('zeros after fractional history give exactly 0, not float residue', () => {
    const w = new BucketWindow(6000);
    [0.1, 0.2, 0.3, 0.7].forEach((v, i) => w.record(s(i), v));
    for (let i = 4; i < 12; i++) w.record(s(i), 0);
    expect(w.average(s(11))).toBe(0);
  });

  it('isEmpty follows Knative: empty only after more than a window of silence', () => {
    const w = new BucketWindow(6000);
    expect(w.isEmpty(s(0))).toBe(true);
    w.record(s(0), 1);
    expect(w.isEmpty(s(6))).toBe(false);
    expect(w.isEmpty(s(7))).toBe(true);
  });

  it('resize keeps the most recent buckets', () => {
    const w = new BucketWindow(10_000);
    for (let i = 0; i < 10; i++) w.record(s(i), i);
    w.resize(4000);
    expect(w.lengthMs).toBe(4000);
    expect(w.average(s(9))).toBeCloseTo((6 + 7 + 8 + 9) / 4, 12);
    w.resize(60_000);
    // grows without diluting: only the 4 kept buckets count
    expect(w.average(s(9))).toBeCloseTo((6 + 7 + 8 + 9) / 4, 12);
    w.record(s(10), 10);
    expect(w.average(s(10))).toBeCloseTo((6 + 7 + 8 + 9 + 10) / 5, 12);
  });
});
