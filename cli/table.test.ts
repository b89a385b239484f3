import { describe, expect, it } from 'vitest';
import { age, formatTable, humanDuration } from './table.js';

describe('formatTable', () => {
  it('pads columns to the widest cell, three spaces apart, without trailing blanks', () => {
    const got = formatTable(['NAME', 'URL', 'READY'], [
      ['hello', 'http://hello.default.localhost:8080', 'True'],
      ['a', undefined, 'Unknown'],
    ]);
    expect(got).toBe(
      [
        'NAME    URL                                   READY',
        'hello   http://hello.default.localhost:8080   True',
        'a                                             Unknown',
        '',
      ].join('\n'),
    );
  });

  it('drops trailing blanks when the last cells are empty', () => {
    expect(formatTable(['A', 'B'], [['x', undefined]])).toBe('A   B\nx\n');
  });

  it('keeps a multi-line cell on one line and honours indent and gap', () => {
    expect(formatTable(['T', 'M'], [['Ready', 'line one\n  line two']], { indent: '  ', gap: 1 })).toBe('  T     M\n  Ready line one line two\n');
  });

  it('counts characters, not UTF-16 units, when padding', () => {
    expect(formatTable(['A', 'B'], [['µs😀', 'x'], ['ab', 'y']])).toBe('A     B\nµs😀   x\nab    y\n');
  });
});

describe('humanDuration (kubectl HumanDuration)', () => {
  const S = 1000;
  const M = 60 * S;
  const H = 60 * M;
  const D = 24 * H;
  const cases: { label: string; input: number; want: string }[] = [
    { label: 'clock skew of a second is now', input: -1 * S, want: '0s' },
    { label: 'more skew is invalid', input: -5 * S, want: '<invalid>' },
    { label: 'zero', input: 0, want: '0s' },
    { label: 'seconds below two minutes', input: 119 * S, want: '119s' },
    { label: 'two minutes', input: 2 * M, want: '2m' },
    { label: 'minutes and seconds below 10m', input: 2 * M + 30 * S, want: '2m30s' },
    { label: 'whole minutes from 10m', input: 10 * M + 59 * S, want: '10m' },
    { label: 'minutes below 3h', input: 179 * M, want: '179m' },
    { label: 'hours and minutes below 8h', input: 3 * H + 20 * M, want: '3h20m' },
    { label: 'whole hour', input: 3 * H, want: '3h' },
    { label: 'hours below 2 days', input: 47 * H + 59 * M, want: '47h' },
    { label: 'days and hours below 8 days', input: 50 * H, want: '2d2h' },
    { label: 'days below 2 years', input: 400 * D, want: '400d' },
    { label: 'years and days below 8 years', input: (3 * 365 + 10) * D, want: '3y10d' },
    { label: 'years beyond', input: 9 * 365 * D, want: '9y' },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(humanDuration(input)).toBe(want);
  });
});

describe('age', () => {
  it('measures from an RFC 3339 timestamp, blank when missing or invalid', () => {
    const now = Date.parse('2026-01-01T00:05:00Z');
    expect(age('2026-01-01T00:00:00Z', now)).toBe('5m');
    expect(age(undefined, now)).toBe('');
    expect(age('yesterday', now)).toBe('');
  });
});
