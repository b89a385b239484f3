import { describe, expect, it } from 'vitest';
import { Breaker, drainWaitMs, type Admission } from './breaker.js';
import { sidecarOptionsFromEnv } from './env.js';

/** Steps: `+name` admits a request, `-` releases a running one, `xname` cancels a waiter. */
type Step = string;

function run(capacity: number, queueDepth: number, steps: Step[]): { log: string[]; active: number; queued: number } {
  const b = new Breaker<string>(capacity, queueDepth);
  const log: string[] = [];
  for (const s of steps) {
    if (s.startsWith('+')) log.push(`${s.slice(1)}:${b.admit(s.slice(1)) satisfies Admission}`);
    else if (s === '-') log.push(`next:${b.release() ?? '-'}`);
    else if (s.startsWith('x')) log.push(`cancel ${s.slice(1)}:${b.cancel(s.slice(1))}`);
  }
  return { log, active: b.active, queued: b.queued };
}

describe('Breaker (queue-proxy: CC in flight, 10 × CC waiting, then refuse)', () => {
  it.each<{ label: string; cc: number; depth: number; steps: Step[]; want: string[]; active: number; queued: number }>([
    { label: 'runs up to capacity', cc: 2, depth: 20, steps: ['+a', '+b'], want: ['a:run', 'b:run'], active: 2, queued: 0 },
    { label: 'queues beyond capacity', cc: 1, depth: 10, steps: ['+a', '+b', '+c'], want: ['a:run', 'b:queued', 'c:queued'], active: 1, queued: 2 },
    {
      label: 'refuses once CC + 10 × CC are in (CC=1: the 12th)',
      cc: 1, depth: 10,
      steps: ['+a', ...'bcdefghijk'.split('').map((x) => `+${x}`), '+l'],
      want: ['a:run', ...'bcdefghijk'.split('').map((x) => `${x}:queued`), 'l:rejected'],
      active: 1, queued: 10,
    },
    { label: 'a release hands the slot to the oldest waiter', cc: 1, depth: 10, steps: ['+a', '+b', '+c', '-', '-'], want: ['a:run', 'b:queued', 'c:queued', 'next:b', 'next:c'], active: 1, queued: 0 },
    { label: 'release with no waiter frees the slot', cc: 1, depth: 10, steps: ['+a', '-', '+b'], want: ['a:run', 'next:-', 'b:run'], active: 1, queued: 0 },
    { label: 'a cancelled waiter leaves the queue and is never started', cc: 1, depth: 10, steps: ['+a', '+b', '+c', 'xb', '-'], want: ['a:run', 'b:queued', 'c:queued', 'cancel b:true', 'next:c'], active: 1, queued: 0 },
    { label: 'cancelling a running request does nothing', cc: 1, depth: 10, steps: ['+a', 'xa'], want: ['a:run', 'cancel a:false'], active: 1, queued: 0 },
    { label: 'a freed queue place admits again', cc: 1, depth: 1, steps: ['+a', '+b', '+c', '-', '+c'], want: ['a:run', 'b:queued', 'c:rejected', 'next:b', 'c:queued'], active: 1, queued: 1 },
    { label: 'queue depth 0: refuse as soon as the slots are taken', cc: 2, depth: 0, steps: ['+a', '+b', '+c'], want: ['a:run', 'b:run', 'c:rejected'], active: 2, queued: 0 },
    { label: 'no overtaking: a newcomer waits behind waiters', cc: 2, depth: 5, steps: ['+a', '+b', '+c', '-', '+d', '-'], want: ['a:run', 'b:run', 'c:queued', 'next:c', 'd:queued', 'next:d'], active: 2, queued: 0 },
  ])('$label', ({ cc, depth, steps, want, active, queued }) => {
    const got = run(cc, depth, steps);
    expect(got.log).toEqual(want);
    expect([got.active, got.queued]).toEqual([active, queued]);
  });

  it('refuses bad sizes and an unbalanced release', () => {
    expect(() => new Breaker(0, 0)).toThrow(RangeError);
    expect(() => new Breaker(1, -1)).toThrow(RangeError);
    expect(() => new Breaker(1, 0).release()).toThrow(/release without/);
  });
});

describe('drainWaitMs (queue-proxy drain: quiet period since the last request, nothing in flight)', () => {
  it.each([
    { label: 'just started, no requests: the whole quiet period', s: { nowMs: 1000, drainStartedMs: 1000, lastRequestMs: undefined, quietMs: 30_000, inFlight: 0 }, want: 30_000 },
    { label: 'a request before the drain does not extend it', s: { nowMs: 1000, drainStartedMs: 1000, lastRequestMs: 500, quietMs: 30_000, inFlight: 0 }, want: 30_000 },
    { label: 'a request during the drain resets the timer', s: { nowMs: 20_000, drainStartedMs: 1000, lastRequestMs: 15_000, quietMs: 30_000, inFlight: 0 }, want: 25_000 },
    { label: 'quiet long enough, nothing in flight: drained', s: { nowMs: 31_000, drainStartedMs: 1000, lastRequestMs: undefined, quietMs: 30_000, inFlight: 0 }, want: 0 },
    { label: 'quiet long enough but a request still runs: look again soon', s: { nowMs: 31_000, drainStartedMs: 1000, lastRequestMs: undefined, quietMs: 30_000, inFlight: 1 }, want: 100 },
    { label: 'quiet period 0: drained when idle', s: { nowMs: 5, drainStartedMs: 5, lastRequestMs: undefined, quietMs: 0, inFlight: 0 }, want: 0 },
    { label: 'quiet period 0 with a request running', s: { nowMs: 5, drainStartedMs: 5, lastRequestMs: 5, quietMs: 0, inFlight: 2 }, want: 100 },
  ])('$label', ({ s, want }) => {
    expect(drainWaitMs(s)).toBe(want);
  });
});

describe('sidecarOptionsFromEnv', () => {
  it('reads queue-proxy-named settings with defaults', () => {
    expect(sidecarOptionsFromEnv({ USER_PORT: '8080', CONTAINER_CONCURRENCY: '4', REVISION_TIMEOUT_SECONDS: '10', SERVING_READINESS_PROBE: '{"httpGet":{"path":"/ready"}}' })).toEqual({
      ok: true,
      options: { servingPort: 8012, adminPort: 8022, userPort: 8080, containerConcurrency: 4, timeoutMs: 10_000, drainQuietMs: 10_000, readinessProbe: { httpGet: { path: '/ready' } } },
    });
  });
  it.each([
    ['USER_PORT missing', {}, /USER_PORT is required/],
    ['CONTAINER_CONCURRENCY over 1000', { USER_PORT: '8080', CONTAINER_CONCURRENCY: '1001' }, /CONTAINER_CONCURRENCY must be an integer in \[0, 1000\]/],
    ['a port that is not a number', { USER_PORT: 'http' }, /USER_PORT must be an integer/],
    ['a probe that is not JSON', { USER_PORT: '8080', SERVING_READINESS_PROBE: '{' }, /SERVING_READINESS_PROBE must be a JSON probe object/],
    ['the user port on the serving port', { USER_PORT: '8012' }, /must differ/],
  ])('refuses %s', (_l, env, want) => {
    const r = sidecarOptionsFromEnv(env as Record<string, string>);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(want);
  });
});
