import { describe, expect, it } from 'vitest';
import { formatBytes, parseQuantity } from './quantity.js';

describe('parseQuantity (Kubernetes resource.Quantity)', () => {
  it.each([
    ['128Mi', 134_217_728], ['1Gi', 2 ** 30], ['0.5Gi', 2 ** 29], ['64Ki', 65_536], ['1G', 1e9], ['500M', 5e8], ['1k', 1000],
    ['129e6', 129e6], ['1E3', 1000], ['2E', 2e18], ['128974848', 128_974_848], ['100m', 0.1], ['.5', 0.5], [256, 256],
  ])('%s → %s', (text, want) => expect(parseQuantity(text)).toBeCloseTo(want as number));
  it.each(['', ' 1Mi', '1 Mi', 'Mi', '1MB', '1mi', 'abc', '1.2.3', '--1', '1Mi ', 'NaN', '1e400'])('%j is not a quantity', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('formatBytes', () => {
  it.each([[2 ** 27, '128Mi'], [1.5 * 2 ** 20, '1.5Mi']])('%s → %s', (b, want) => expect(formatBytes(b)).toBe(want));
});
