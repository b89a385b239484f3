import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { ZenoError } from '../core/errors.js';
import { RevisionThrottler, type Lease } from './throttler.js';

function make(cc: number, queueDepth = 10, random?: () => number) {
  const clock = new FakeClock();
  let pokes = 0;
  const t = new RevisionThrottler({ clock, containerConcurrency: cc, queueDepth, retryAfterSeconds: 1, onQueued: () => pokes++, ...(random ? { random } : {}) });
  return { clock, t, pokes: () => pokes };
}

const pod = (id: string) => ({ id, url: `http://127.0.0.1/${id}` });

describe('RevisionThrottler', () => {
  it('queues while no pod is ready, pokes, and dispatches in order once one is', async () => {
    const { t, pokes } = make(1);
    const order: string[] = [];
    const a = (t.acquire(1000) as Promise<Lease>).then((l) => (order.push('a'), l));
    const b = (t.acquire(1000) as Promise<Lease>).then((l) => (order.push('b'), l));
    expect(t.queued()).toBe(2);
    expect(pokes()).toBe(2);
    t.updateBackends([pod('p1')]);
    const la = await a;
    expect(order).toEqual(['a']);
    expect(t.queued()).toBe(1);
    la.release();
    const lb = await b;
    expect(order).toEqual(['a', 'b']);
    expect(lb.backend.id).toBe('p1');
  });

  it('containerConcurrency is a hard per-pod limit', () => {
    const { t } = make(2);
    t.updateBackends([pod('p1')]);
    const l1 = t.acquire(1000) as Lease;
    const l2 = t.acquire(1000) as Lease;
    expect(l1.backend.id).toBe('p1');
    expect(l2.backend.id).toBe('p1');
    const third = t.acquire(1000);
    expect(third).toBeInstanceOf(Promise);
    expect(t.podInFlight('p1')).toBe(2);
    l1.release();
    l1.release(); // double release is ignored
    expect(t.podInFlight('p1')).toBe(1 + 1); // the queued one took the slot
  });

  it('CC=0 admits without limit and balances by in-flight count', () => {
    const seq = [0, 0, 0.9, 0.9];
    let i = 0;
    const { t } = make(0, 10, () => seq[i++ % seq.length]!);
    t.updateBackends([pod('p1'), pod('p2')]);
    const a = t.acquire(1000) as Lease; // picks p1 vs p2 (both 0) → p1
    const b = t.acquire(1000) as Lease; // p1 has 1 in flight → p2 wins
    expect(a.backend.id).toBe('p1');
    expect(b.backend.id).toBe('p2');
  });

  it('load balancing: CC 1–3 packs the first pod with room, CC > 3 goes round robin', () => {
    const packed = make(3).t;
    packed.updateBackends([pod('p1'), pod('p2')]);
    expect([1, 2, 3, 4].map(() => (packed.acquire(1000) as Lease).backend.id)).toEqual(['p1', 'p1', 'p1', 'p2']);
    const rr = make(4).t;
    rr.updateBackends([pod('p1'), pod('p2'), pod('p3')]);
    expect([1, 2, 3, 4, 5].map(() => (rr.acquire(1000) as Lease).backend.id)).toEqual(['p1', 'p2', 'p3', 'p1', 'p2']);
  });

  it('rejects with 503 QUEUE_FULL past the queue depth, with Retry-After', () => {
    const { t } = make(1, 2);
    void (t.acquire(1000) as Promise<Lease>).catch(() => undefined);
    void (t.acquire(1000) as Promise<Lease>).catch(() => undefined);
    try {
      t.acquire(1000);
      expect.unreachable();
    } catch (e) {
      expect((e as ZenoError).code).toBe('ZENO_ERR_QUEUE_FULL');
      expect((e as ZenoError).retryAfter).toBe(1);
    }
  });

  it('a request still queued at its timeout gets 504, and leaves the queue', async () => {
    const { t, clock } = make(1);
    const p = t.acquire(500) as Promise<Lease>;
    clock.advance(499);
    expect(t.queued()).toBe(1);
    clock.advance(1);
    await expect(p).rejects.toMatchObject({ code: 'ZENO_ERR_REQUEST_TIMEOUT' });
    expect(t.queued()).toBe(0);
  });

  it('a removed pod finishes its requests; waitForDrain resolves when it has none', async () => {
    const { t } = make(0);
    t.updateBackends([pod('p1')]);
    const l = t.acquire(1000) as Lease;
    t.updateBackends([]);
    let drained = false;
    const w = t.waitForDrain('p1').then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    expect(t.acquire(1000)).toBeInstanceOf(Promise); // not routable any more
    l.release();
    await w;
    expect(drained).toBe(true);
  });

  it('an aborted waiter leaves the queue at once and never takes a slot', async () => {
    const { t } = make(1, 1);
    const ac = new AbortController();
    const p = t.acquire(1000, ac.signal) as Promise<Lease>;
    expect(t.queued()).toBe(1);
    ac.abort(new Error('client gone'));
    await expect(p).rejects.toThrow('client gone');
    expect(t.queued()).toBe(0);
    // The place is free again: a new request can queue (depth 1).
    const q = t.acquire(1000) as Promise<Lease>;
    t.updateBackends([pod('p1')]);
    expect((await q).backend.id).toBe('p1');
    expect(t.podInFlight('p1')).toBe(1);
  });

  it('pause takes a pod out of the rotation for a while, then back', () => {
    const { t, clock } = make(0);
    t.updateBackends([pod('p1'), pod('p2')]);
    t.pause('p1', 1000);
    expect(t.hasBackends()).toBe(true);
    for (let i = 0; i < 10; i++) (t.acquire(1000) as Lease).release();
    expect((t.acquire(1000) as Lease).backend.id).toBe('p2');
    t.pause('p2', 1000);
    expect(t.hasBackends()).toBe(false);
    const waiting = t.acquire(1000);
    expect(waiting).toBeInstanceOf(Promise);
    clock.advance(1000);
    expect(t.hasBackends()).toBe(true);
    expect(t.queued()).toBe(0); // the waiter got a pod once they came back
  });

  it('failAll rejects queued requests with the given error', async () => {
    const { t } = make(1);
    const p = t.acquire(1000) as Promise<Lease>;
    t.failAll(new ZenoError('ZENO_ERR_SHUTTING_DOWN'));
    await expect(p).rejects.toMatchObject({ code: 'ZENO_ERR_SHUTTING_DOWN' });
  });
});

describe('RevisionThrottler early pods (listening, handler still loading)', () => {
  it('a queued request goes to an early pod at once, and a ready pod is preferred from then on', async () => {
    const { t } = make(0);
    const queued = t.acquire(1000) as Promise<Lease>;
    expect(t.queued()).toBe(1);
    t.updateBackends([], [pod('e1')]);
    const l = await queued;
    expect(l.backend.id).toBe('e1');
    expect(l.onEarlyPod()).toBe(true);
    // Early pods do not count as routable: a cold start is still a cold start.
    expect(t.hasBackends()).toBe(false);
    t.updateBackends([pod('r1')], [pod('e1')]);
    expect(t.hasBackends()).toBe(true);
    for (let i = 0; i < 5; i++) expect((t.acquire(1000) as Lease).backend.id).toBe('r1');
    // The early pod's in-flight request is still counted.
    expect(t.podInFlight('e1')).toBe(1);
  });

  it('an early pod that becomes ready keeps its slot and in-flight count; its leases say so', () => {
    const { t } = make(1);
    t.updateBackends([], [pod('p1')]);
    const l = t.acquire(1000) as Lease;
    expect(l.onEarlyPod()).toBe(true);
    // CC 1 holds for early pods too.
    expect(t.tryAcquire()).toBeUndefined();
    t.updateBackends([pod('p1')], [pod('p1')]);
    expect(l.onEarlyPod()).toBe(false);
    expect(t.podInFlight('p1')).toBe(1);
    expect(t.tryAcquire()).toBeUndefined();
    l.release();
    expect((t.tryAcquire() as Lease).onEarlyPod()).toBe(false);
  });

  it('an early pod that leaves (exits) is forgotten once idle; paused early pods take no requests', async () => {
    const { t, clock } = make(0);
    t.updateBackends([], [pod('e1')]);
    const l = t.acquire(1000) as Lease;
    t.pause('e1', 100);
    expect(t.tryAcquire()).toBeUndefined();
    t.updateBackends([], []);
    expect(t.podInFlight('e1')).toBe(1);
    l.release();
    expect(t.podInFlight('e1')).toBe(0);
    clock.advance(100);
    expect(t.tryAcquire()).toBeUndefined();
  });
});
