import { describe, it, expect } from 'vitest';
import { parseIsoDuration } from './iso-duration.js';

describe('parseIsoDuration', () => {
  const ok: Array<{ label: string; input: string; want: number }> = [
    { label: 'fractional seconds (Knative default)', input: 'PT0.2S', want: 200 },
    { label: 'comma decimal', input: 'PT0,5S', want: 500 },
    { label: 'whole seconds', input: 'PT1S', want: 1000 },
    { label: 'minutes and seconds', input: 'PT1M30S', want: 90_000 },
    { label: 'hours', input: 'PT2H', want: 7_200_000 },
    { label: 'days', input: 'P1D', want: 86_400_000 },
    { label: 'weeks', input: 'P1W', want: 604_800_000 },
    { label: 'days and time', input: 'P1DT1H', want: 90_000_000 },
    { label: 'zero', input: 'PT0S', want: 0 },
    { label: 'negative', input: '-PT1S', want: -1000 },
    { label: 'negative zero is zero', input: '-PT0S', want: 0 },
    { label: 'surrounding space', input: ' PT1S ', want: 1000 },
    { label: 'fractional minutes', input: 'PT0.5M', want: 30_000 },
  ];
  for (const c of ok) it(c.label, () => expect(parseIsoDuration(c.input)).toEqual({ ms: c.want }));

  const bad: Array<{ label: string; input: string }> = [
    { label: 'empty', input: '' },
    { label: 'bare P', input: 'P' },
    { label: 'bare PT', input: 'PT' },
    { label: 'T without components', input: 'P1DT' },
    { label: 'Go duration', input: '200ms' },
    { label: 'missing P', input: 'T1S' },
    { label: 'seconds without T', input: 'P1S' },
    { label: 'lower case', input: 'pt1s' },
    { label: 'wrong order', input: 'PT1S1M' },
    { label: 'years', input: 'P1Y' },
    { label: 'months', input: 'P1M' },
    { label: 'number', input: '5' },
  ];
  for (const c of bad) it(`rejects ${c.label}`, () => expect(parseIsoDuration(c.input)).toHaveProperty('error'));
});
