import { describe, expect, it } from 'vitest';
import { DEFAULT_ASYNC_SETTINGS } from '../../core/config/async.js';
import { cappedBackoff, decideCallbackRetry, decideRetry } from './retry.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const s = { ...DEFAULT_ASYNC_SETTINGS, attempts: 5, minWaitMs: 1_000, maxWaitMs: 10_000 };

describe('decideRetry', () => {
  const cases: { label: string; attempt: number; status: number; retryAfter?: string; random?: number; want: ReturnType<typeof decideRetry> }[] = [
    { label: '200 is final', attempt: 1, status: 200, want: { retry: false } },
    { label: '400 is not retried', attempt: 1, status: 400, want: { retry: false } },
    { label: '404 is not retried (unlike Knative delivery)', attempt: 1, status: 404, want: { retry: false } },
    { label: '501 is not in the default codes', attempt: 1, status: 501, want: { retry: false } },
    { label: '500 after attempt 1: half of minWait fixed, no jitter drawn', attempt: 1, status: 500, random: 0, want: { retry: true, delayMs: 500 } },
    { label: '500 after attempt 1, jitter at its top', attempt: 1, status: 500, random: 0.999999, want: { retry: true, delayMs: 1_000 } },
    { label: '502 after attempt 2 doubles', attempt: 2, status: 502, random: 0.5, want: { retry: true, delayMs: 1_500 } },
    { label: '503 after attempt 3', attempt: 3, status: 503, random: 0, want: { retry: true, delayMs: 2_000 } },
    { label: '504 after attempt 4', attempt: 4, status: 504, random: 0, want: { retry: true, delayMs: 4_000 } },
    { label: 'the last attempt is final', attempt: 5, status: 504, want: { retry: false } },
    { label: '408 is retried', attempt: 1, status: 408, random: 0, want: { retry: true, delayMs: 500 } },
    { label: '429 without Retry-After uses the backoff', attempt: 1, status: 429, random: 0, want: { retry: true, delayMs: 500 } },
    { label: 'Retry-After seconds lengthens the wait', attempt: 1, status: 429, retryAfter: '3', random: 0, want: { retry: true, delayMs: 3_000 } },
    { label: 'Retry-After never shortens the backoff', attempt: 4, status: 503, retryAfter: '1', random: 0, want: { retry: true, delayMs: 4_000 } },
    { label: 'Retry-After is capped at maxWait', attempt: 1, status: 503, retryAfter: '3600', random: 0, want: { retry: true, delayMs: 10_000 } },
    { label: 'Retry-After as an HTTP date', attempt: 1, status: 429, retryAfter: new Date(NOW + 7_000).toUTCString(), random: 0, want: { retry: true, delayMs: 7_000 } },
    { label: 'Retry-After unparseable is ignored', attempt: 1, status: 429, retryAfter: 'soon', random: 0, want: { retry: true, delayMs: 500 } },
    { label: 'Retry-After on a 500 is ignored', attempt: 1, status: 500, retryAfter: '5', random: 0, want: { retry: true, delayMs: 500 } },
  ];
  it.each(cases)('$label', ({ attempt, status, retryAfter, random, want }) => {
    const draws: number[] = [];
    const r = () => {
      draws.push(random ?? 0);
      return random ?? 0;
    };
    expect(decideRetry(s, attempt, status, retryAfter, NOW, r)).toEqual(want);
    if (!want.retry) expect(draws).toEqual([]);
  });

  it('caps the backoff at maxWait for late attempts', () => {
    const many = { ...s, attempts: 50 };
    expect(decideRetry(many, 30, 500, undefined, NOW, () => 0.999999)).toEqual({ retry: true, delayMs: 10_000 });
    expect(decideRetry(many, 30, 500, undefined, NOW, () => 0)).toEqual({ retry: true, delayMs: 5_000 });
  });

  it('follows custom retry codes', () => {
    const only429 = { ...s, retryCodes: new Set([429]) };
    expect(decideRetry(only429, 1, 503, undefined, NOW, () => 0).retry).toBe(false);
    expect(decideRetry(only429, 1, 429, undefined, NOW, () => 0).retry).toBe(true);
  });

  it('attempts 1 never retries', () => {
    expect(decideRetry({ ...s, attempts: 1 }, 1, 503, undefined, NOW, () => 0)).toEqual({ retry: false });
  });
});

describe('cappedBackoff', () => {
  it.each([
    [0, 100], [1, 200], [2, 400], [5, 3_200], [6, 5_000], [60, 5_000],
  ])('index %i → %i ms', (index, want) => {
    expect(cappedBackoff(100, 5_000, index)).toBe(want);
  });
});

describe('decideCallbackRetry', () => {
  const cases: { label: string; attempt: number; status: number | undefined; want: ReturnType<typeof decideCallbackRetry> }[] = [
    { label: 'no answer is retried', attempt: 1, status: undefined, want: { retry: true, delayMs: 500 } },
    { label: '500 is retried, doubling', attempt: 2, status: 500, want: { retry: true, delayMs: 1_000 } },
    { label: '429 is retried', attempt: 1, status: 429, want: { retry: true, delayMs: 500 } },
    { label: '408 is retried', attempt: 1, status: 408, want: { retry: true, delayMs: 500 } },
    { label: '404 is final', attempt: 1, status: 404, want: { retry: false } },
    { label: '2xx is final', attempt: 1, status: 204, want: { retry: false } },
    { label: 'gives up after the last attempt', attempt: 3, status: 503, want: { retry: false } },
  ];
  it.each(cases)('$label', ({ attempt, status, want }) => {
    expect(decideCallbackRetry(3, 500, attempt, status)).toEqual(want);
  });
});
