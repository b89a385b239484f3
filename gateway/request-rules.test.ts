import { describe, expect, it } from 'vitest';
import { RevisionThrottler } from '../activator/throttler.js';
import { FakeClock } from '../core/clock.js';
import { ZenoError } from '../core/errors.js';
import { MAX_ATTEMPTS, RequestTimeouts, admit, describeTimeout, mayRetry, traceRequest, type TimeoutKind } from './request-rules.js';
import type { RevisionHandle } from './server.js';

const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

function revision(clock: FakeClock, over: Partial<RevisionHandle> = {}): RevisionHandle & { recorded: [number, string | undefined][] } {
  const recorded: [number, string | undefined][] = [];
  const throttler = new RevisionThrottler({ clock, containerConcurrency: 0, queueDepth: 10, retryAfterSeconds: 1, onQueued: () => undefined });
  return {
    throttler,
    stats: { begin() {}, end() {} },
    timeoutMs: 10_000,
    metrics: { record: (code: number, _ms: number, err?: string) => recorded.push([code, err]) } as unknown as RevisionHandle['metrics'],
    recorded,
    ...over,
  };
}

describe('mayRetry', () => {
  const base = { attempt: 1, err: refused as unknown, stopped: false, answered: false, bodyRead: false, earlyPod: false };
  const cases: [string, Partial<typeof base>, boolean][] = [
    ['a refused connection goes to another pod', {}, true],
    ['not after the last attempt', { attempt: MAX_ATTEMPTS }, false],
    ['not once stopped (timeout, client gone)', { stopped: true }, false],
    ['not once the caller has part of the answer', { answered: true }, false],
    ['not when the body was read and cannot be sent again', { bodyRead: true }, false],
    ['not after a reset: the pod may have run it', { err: reset }, false],
    ['an early pod that failed never ran it', { err: reset, earlyPod: true }, true],
  ];
  for (const [name, over, want] of cases) it(name, () => expect(mayRetry({ ...base, ...over })).toBe(want));
});

describe('admit', () => {
  it('refuses a missing revision, an oversized declared body and a failing revision with no pod; records the last two', () => {
    const clock = new FakeClock();
    expect(admit(undefined, 'default/x-00001' as never, undefined, 10)).toMatchObject({ code: 'ZENO_ERR_NO_READY_REVISION' });
    const rev = revision(clock);
    expect(admit(rev, 'r' as never, '11', 10)).toMatchObject({ code: 'ZENO_ERR_BODY_TOO_LARGE', statusCode: 413 });
    expect(admit(rev, 'r' as never, '10', 10)).toBe(rev);
    const failing = revision(clock, { failure: new ZenoError('ZENO_ERR_REVISION_FAILED', 'crashed') });
    expect(admit(failing, 'r' as never, undefined, 10)).toBe(failing.failure);
    failing.throttler.updateBackends([{ id: 'p', url: 'http://127.0.0.1:1' }]);
    expect(admit(failing, 'r' as never, undefined, 10)).toBe(failing);
    expect([...rev.recorded, ...failing.recorded]).toEqual([[413, 'ZENO_ERR_BODY_TOO_LARGE'], [failing.failure!.statusCode, 'ZENO_ERR_REVISION_FAILED']]);
  });
});

describe('traceRequest', () => {
  const valid = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const span = { rev: 'r' as never, method: 'GET', path: '/', host: 'h' };
  it('keeps a valid traceparent (no new header) and reports its trace id only when asked', () => {
    expect(traceRequest(undefined, valid, true, span)).toEqual({ traceparent: undefined, traceId: '0af7651916cd43dd8448eb211c80319c', span: undefined });
    expect(traceRequest(undefined, valid, false, span).traceId).toBeUndefined();
  });
  it('replaces a missing or invalid one', () => {
    for (const bad of [undefined, 'garbage', valid.toUpperCase()]) {
      const t = traceRequest(undefined, bad, true, span);
      expect(t.traceparent).toMatch(/^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/);
      expect(t.traceparent!.slice(3, 35)).toBe(t.traceId);
    }
  });
});

describe('RequestTimeouts', () => {
  it('fires timeoutSeconds; responseStartTimeoutSeconds only until started(); idleTimeoutSeconds starts over on wrote()', () => {
    const clock = new FakeClock();
    const fired: TimeoutKind[] = [];
    const rev = revision(clock, { timeoutMs: 10_000, responseStartTimeoutMs: 1_000, idleTimeoutMs: 3_000 });
    const t = new RequestTimeouts(clock, rev, (k) => fired.push(k));
    expect(t.watching).toBe(true);
    clock.advance(999);
    t.started();
    clock.advance(1_500);
    t.wrote();
    clock.advance(2_999);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['idle']);
    clock.advance(10_000);
    expect(fired).toEqual(['idle', 'total']);
  });
  it('arms no start timer that cannot fire first, and clear() stops all', () => {
    const clock = new FakeClock();
    const fired: TimeoutKind[] = [];
    const t = new RequestTimeouts(clock, revision(clock, { timeoutMs: 1_000, responseStartTimeoutMs: 1_000 }), (k) => fired.push(k));
    expect(t.watching).toBe(false);
    t.clear();
    clock.advance(5_000);
    expect(fired).toEqual([]);
  });
  it('describes each timeout by its Knative field', () => {
    const rev = revision(new FakeClock(), { timeoutMs: 30_000, responseStartTimeoutMs: 1_500, idleTimeoutMs: 2_000 });
    expect(['total', 'start', 'idle'].map((k) => describeTimeout(k as TimeoutKind, rev))).toEqual([
      'timeoutSeconds (30s)', 'responseStartTimeoutSeconds (1.5s)', 'idleTimeoutSeconds (2s)',
    ]);
  });
});
