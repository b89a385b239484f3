import { describe, it, expect } from 'vitest';
import {
  BROKER_DEFAULT_DELIVERY, DEFAULT_BACKOFF_MAX_MS, KNATIVE_ERROR_DATA_MAX, deadLetterExtensions, effectiveDelivery,
  isRetryable, nextAttempt, parseRetryAfter, toPolicy, validateDelivery,
} from './delivery.js';
import type { DeliveryPolicy, DeliverySpec } from './delivery.js';

const policy = (over: Partial<DeliveryPolicy> = {}): DeliveryPolicy => ({
  retry: 5, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: undefined, deadLetterSink: undefined,
  backoffMaxMs: DEFAULT_BACKOFF_MAX_MS, ...over,
});
const NOW = Date.UTC(2026, 0, 1, 0, 0, 0);

describe('validateDelivery', () => {
  const cases: Array<{ label: string; input: DeliverySpec; want: string[] }> = [
    { label: 'default is valid', input: { ...BROKER_DEFAULT_DELIVERY }, want: [] },
    { label: 'empty is valid', input: {}, want: [] },
    { label: 'retry 0 is valid', input: { retry: 0 }, want: [] },
    { label: 'negative retry', input: { retry: -1 }, want: ['spec.delivery.retry'] },
    { label: 'fractional retry', input: { retry: 1.5 }, want: ['spec.delivery.retry'] },
    { label: 'unknown policy', input: { backoffPolicy: 'fibonacci' }, want: ['spec.delivery.backoffPolicy'] },
    { label: 'policy is case-sensitive', input: { backoffPolicy: 'Linear' }, want: ['spec.delivery.backoffPolicy'] },
    { label: 'linear ok', input: { backoffPolicy: 'linear', backoffDelay: 'PT1S' }, want: [] },
    { label: 'bad delay', input: { backoffDelay: '200ms' }, want: ['spec.delivery.backoffDelay'] },
    { label: 'negative delay', input: { backoffDelay: '-PT1S' }, want: ['spec.delivery.backoffDelay'] },
    { label: 'zero delay ok', input: { backoffDelay: 'PT0S' }, want: [] },
    { label: 'bad timeout', input: { timeout: '10s' }, want: ['spec.delivery.timeout'] },
    { label: 'zero timeout', input: { timeout: 'PT0S' }, want: ['spec.delivery.timeout'] },
    { label: 'negative timeout', input: { timeout: '-PT1S' }, want: ['spec.delivery.timeout'] },
    { label: 'timeout ok', input: { timeout: 'PT30S' }, want: [] },
    { label: 'dls uri ok', input: { deadLetterSink: { uri: 'http://dls.example/x' } }, want: [] },
    { label: 'dls ref ok', input: { deadLetterSink: { ref: { kind: 'Service', name: 'dls' } } }, want: [] },
    { label: 'dls ref + relative uri ok', input: { deadLetterSink: { ref: { kind: 'Service', name: 'dls' }, uri: '/dead' } }, want: [] },
    { label: 'dls empty', input: { deadLetterSink: {} }, want: ['spec.delivery.deadLetterSink'] },
    { label: 'dls relative bare uri', input: { deadLetterSink: { uri: '/dead' } }, want: ['spec.delivery.deadLetterSink.uri'] },
    { label: 'dls ref + absolute uri', input: { deadLetterSink: { ref: { kind: 'Service', name: 'd' }, uri: 'http://x/y' } }, want: ['spec.delivery.deadLetterSink.uri'] },
    { label: 'dls ref without name', input: { deadLetterSink: { ref: { kind: 'Service', name: '' } } }, want: ['spec.delivery.deadLetterSink.ref.name'] },
    { label: 'several at once', input: { retry: -2, backoffPolicy: 'x', timeout: 'nope' }, want: ['spec.delivery.retry', 'spec.delivery.backoffPolicy', 'spec.delivery.timeout'] },
  ];
  for (const c of cases) it(c.label, () => expect(validateDelivery(c.input).map((i) => i.path)).toEqual(c.want));

  it('uses the given path prefix', () => {
    expect(validateDelivery({ retry: -1 }, 'spec.steps[1].delivery').map((i) => i.path)).toEqual(['spec.steps[1].delivery.retry']);
  });
  it('undefined delivery is valid', () => expect(validateDelivery(undefined)).toEqual([]));
});

describe('effectiveDelivery', () => {
  const broker: DeliverySpec = { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S', deadLetterSink: { uri: 'http://b-dls/' } };
  const trigger: DeliverySpec = { retry: 1 };
  const cases: Array<{ label: string; input: [DeliverySpec | undefined, DeliverySpec | undefined]; want: DeliverySpec }> = [
    { label: 'neither: config-br-defaults', input: [undefined, undefined], want: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' } },
    { label: 'broker only', input: [broker, undefined], want: broker },
    // Replaced, not merged: the trigger's spec has no DLS and no backoff, so none applies.
    { label: 'trigger replaces broker entirely', input: [broker, trigger], want: { retry: 1 } },
    { label: 'trigger without broker', input: [undefined, trigger], want: { retry: 1 } },
  ];
  for (const c of cases) it(c.label, () => expect(effectiveDelivery(c.input[0], c.input[1])).toEqual(c.want));
  it('an empty trigger delivery still replaces', () => expect(effectiveDelivery(broker, {})).toEqual({}));
  it('custom cluster default', () => expect(effectiveDelivery(undefined, undefined, { retry: 2 })).toEqual({ retry: 2 }));
});

describe('toPolicy', () => {
  it('parses the broker default', () => {
    expect(toPolicy(BROKER_DEFAULT_DELIVERY)).toEqual(policy({ retry: 10, backoffDelayMs: 200 }));
  });
  it('no retry field means no retries', () => expect(toPolicy({}).retry).toBe(0));
  it('policy without delay: zero-delay retries', () => {
    const p = toPolicy({ retry: 3, backoffPolicy: 'linear' });
    expect([p.backoffPolicy, p.backoffDelayMs]).toEqual([undefined, undefined]);
  });
  it('delay without policy: zero-delay retries', () => {
    expect(toPolicy({ retry: 3, backoffDelay: 'PT1S' }).backoffDelayMs).toBeUndefined();
  });
  it('timeout in ms and custom cap', () => {
    const p = toPolicy({ timeout: 'PT2.5S' }, 5000);
    expect([p.timeoutMs, p.backoffMaxMs]).toEqual([2500, 5000]);
  });
  it('throws on an invalid spec', () => expect(() => toPolicy({ retry: -1 })).toThrow());
});

describe('isRetryable (Knative table)', () => {
  const cases: Array<{ label: string; input: number | undefined; want: boolean }> = [
    { label: 'no response', input: undefined, want: true },
    { label: '500', input: 500, want: true },
    { label: '502', input: 502, want: true },
    { label: '503', input: 503, want: true },
    { label: '504', input: 504, want: true },
    { label: '599', input: 599, want: true },
    { label: '404', input: 404, want: true },
    { label: '408', input: 408, want: true },
    { label: '409', input: 409, want: true },
    { label: '429', input: 429, want: true },
    { label: '400', input: 400, want: false },
    { label: '401', input: 401, want: false },
    { label: '403', input: 403, want: false },
    { label: '410', input: 410, want: false },
    { label: '413', input: 413, want: false },
    { label: '422', input: 422, want: false },
    { label: '100', input: 100, want: false },
    { label: '301', input: 301, want: false },
    { label: '200', input: 200, want: false },
    { label: '202', input: 202, want: false },
    { label: 'outside the table (600)', input: 600, want: true },
  ];
  for (const c of cases) it(c.label, () => expect(isRetryable(c.input)).toBe(c.want));
});

describe('nextAttempt', () => {
  const cases: Array<{ label: string; input: { p: DeliveryPolicy; attempt: number; resp?: { status: number; retryAfter?: string } }; want: { retry: boolean; delayMs: number } }> = [
    // exponential: delay × 2^attempt with attempt 0 = the first try
    { label: 'exp after first try', input: { p: policy(), attempt: 0, resp: { status: 500 } }, want: { retry: true, delayMs: 200 } },
    { label: 'exp after first retry', input: { p: policy(), attempt: 1, resp: { status: 500 } }, want: { retry: true, delayMs: 400 } },
    { label: 'exp after 3rd retry', input: { p: policy(), attempt: 3, resp: { status: 500 } }, want: { retry: true, delayMs: 1600 } },
    // linear: delay × attempt, so Knative's first linear retry is immediate
    { label: 'linear after first try', input: { p: policy({ backoffPolicy: 'linear' }), attempt: 0 }, want: { retry: true, delayMs: 0 } },
    { label: 'linear after first retry', input: { p: policy({ backoffPolicy: 'linear' }), attempt: 1 }, want: { retry: true, delayMs: 200 } },
    { label: 'linear after 4th retry', input: { p: policy({ backoffPolicy: 'linear' }), attempt: 4 }, want: { retry: true, delayMs: 800 } },
    { label: 'no backoff configured: zero delay', input: { p: policy({ backoffPolicy: undefined, backoffDelayMs: undefined }), attempt: 2 }, want: { retry: true, delayMs: 0 } },
    // retry count: at most retry + 1 attempts
    { label: 'last allowed retry', input: { p: policy({ retry: 5 }), attempt: 4, resp: { status: 503 } }, want: { retry: true, delayMs: 3200 } },
    { label: 'retries exhausted', input: { p: policy({ retry: 5 }), attempt: 5, resp: { status: 503 } }, want: { retry: false, delayMs: 0 } },
    { label: 'retry 0: never retry', input: { p: policy({ retry: 0 }), attempt: 0 }, want: { retry: false, delayMs: 0 } },
    // response table
    { label: 'success: no retry', input: { p: policy(), attempt: 0, resp: { status: 202 } }, want: { retry: false, delayMs: 0 } },
    { label: '400: no retry', input: { p: policy(), attempt: 0, resp: { status: 400 } }, want: { retry: false, delayMs: 0 } },
    { label: '404: retry', input: { p: policy(), attempt: 0, resp: { status: 404 } }, want: { retry: true, delayMs: 200 } },
    { label: 'transport error: retry', input: { p: policy(), attempt: 1 }, want: { retry: true, delayMs: 400 } },
    // cap
    { label: 'exp capped at 60s', input: { p: policy({ retry: 20, backoffDelayMs: 1000 }), attempt: 10 }, want: { retry: true, delayMs: 60_000 } },
    { label: 'custom cap', input: { p: policy({ backoffMaxMs: 300 }), attempt: 2 }, want: { retry: true, delayMs: 300 } },
    { label: 'broker default 10th retry capped (102.4s)', input: { p: policy({ retry: 10 }), attempt: 9 }, want: { retry: true, delayMs: 60_000 } },
    // Retry-After
    { label: '429 Retry-After seconds', input: { p: policy(), attempt: 0, resp: { status: 429, retryAfter: '5' } }, want: { retry: true, delayMs: 5000 } },
    { label: '503 Retry-After HTTP-date', input: { p: policy(), attempt: 0, resp: { status: 503, retryAfter: 'Thu, 01 Jan 2026 00:00:07 GMT' } }, want: { retry: true, delayMs: 7000 } },
    { label: 'Retry-After capped', input: { p: policy(), attempt: 0, resp: { status: 429, retryAfter: '3600' } }, want: { retry: true, delayMs: 60_000 } },
    { label: 'Retry-After never shortens the backoff', input: { p: policy(), attempt: 3, resp: { status: 503, retryAfter: '1' } }, want: { retry: true, delayMs: 1600 } },
    { label: 'Retry-After in the past', input: { p: policy(), attempt: 0, resp: { status: 503, retryAfter: 'Wed, 31 Dec 2025 23:00:00 GMT' } }, want: { retry: true, delayMs: 200 } },
    { label: 'Retry-After ignored on 500', input: { p: policy(), attempt: 0, resp: { status: 500, retryAfter: '5' } }, want: { retry: true, delayMs: 200 } },
    { label: 'invalid Retry-After ignored', input: { p: policy(), attempt: 0, resp: { status: 429, retryAfter: 'soon' } }, want: { retry: true, delayMs: 200 } },
    { label: 'Retry-After does not extend retries', input: { p: policy({ retry: 1 }), attempt: 1, resp: { status: 429, retryAfter: '5' } }, want: { retry: false, delayMs: 0 } },
  ];
  for (const c of cases) it(c.label, () => expect(nextAttempt(c.input.p, c.input.attempt, c.input.resp, NOW)).toEqual(c.want));
});

describe('parseRetryAfter', () => {
  const cases: Array<{ label: string; input: string; want: number | undefined }> = [
    { label: 'seconds', input: '120', want: 120_000 },
    { label: 'zero', input: '0', want: 0 },
    { label: 'IMF-fixdate', input: 'Thu, 01 Jan 2026 00:01:00 GMT', want: 60_000 },
    { label: 'negative number', input: '-5', want: undefined },
    { label: 'fraction', input: '1.5', want: undefined },
    { label: 'garbage', input: 'later', want: undefined },
    { label: 'empty', input: '', want: undefined },
  ];
  for (const c of cases) it(c.label, () => expect(parseRetryAfter(c.input, NOW)).toBe(c.want));
});

describe('deadLetterExtensions', () => {
  it('dest, code and base64 data', () => {
    expect(deadLetterExtensions('http://sub.example/x', 422, 'bad event')).toEqual({
      knativeerrordest: 'http://sub.example/x', knativeerrorcode: 422, knativeerrordata: Buffer.from('bad event').toString('base64'),
    });
  });
  it('binary body is base64 of the bytes', () => {
    expect(deadLetterExtensions('http://x/', 500, new Uint8Array([0, 255, 1])).knativeerrordata).toBe('AP8B');
  });
  it('empty body: no data extension', () => {
    expect(deadLetterExtensions('http://x/', 503, '')).not.toHaveProperty('knativeerrordata');
    expect(deadLetterExtensions('http://x/', 503, undefined)).not.toHaveProperty('knativeerrordata');
  });
  const sizes: Array<{ label: string; input: number; want: number }> = [
    { label: '767 bytes: 1024 chars, untouched', input: 767, want: 1024 },
    { label: '768 bytes: exactly 1024 chars', input: 768, want: 1024 },
    { label: '2000 bytes: encoded text cut to 1024', input: 2000, want: 1024 },
    { label: '10 bytes: 16 chars', input: 10, want: 16 },
  ];
  for (const c of sizes) {
    it(c.label, () => {
      const body = Buffer.alloc(c.input, 'a');
      const data = deadLetterExtensions('http://x/', 500, body).knativeerrordata!;
      expect(data.length).toBe(c.want);
      expect(data).toBe(body.toString('base64').slice(0, KNATIVE_ERROR_DATA_MAX));
    });
  }
});
