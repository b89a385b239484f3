import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { startFakeKube, type FakeKubeServer } from '../../test/support/fake-kube/server.js';
import { waitFor } from '../../test/support/wait.js';
import { LeaderElector, microTime, nextLease, type LeaseDecisionInput } from './leader.js';

const T0 = Date.UTC(2026, 0, 1);

describe('nextLease (pure)', () => {
  const base: LeaseDecisionInput = { current: undefined, identity: 'a', nowMs: T0, observedAtMs: T0, leaseDurationMs: 15_000 };
  it.each<[string, Partial<LeaseDecisionInput>, ReturnType<typeof nextLease>]>([
    ['no lease: create it', {}, { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 0 }],
    ['held by b, seen 14.999 s ago: wait', { current: { holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 2 }, observedAtMs: T0 - 14_999 }, undefined],
    [
      'held by b, seen 15 s ago: take it, one more transition',
      { current: { holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 2 }, observedAtMs: T0 - 15_000 },
      { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 3 },
    ],
    ['the holder’s own duration counts', { current: { holderIdentity: 'b', leaseDurationSeconds: 60 }, observedAtMs: T0 - 30_000 }, undefined],
    [
      'released (empty holder): take it at once, no transition counted',
      { current: { holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 4 }, observedAtMs: T0 },
      { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(T0), renewTime: microTime(T0), leaseTransitions: 4 },
    ],
    [
      'held by me: renew, keep acquireTime',
      { current: { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: 'then', renewTime: 'then', leaseTransitions: 1 } },
      { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: 'then', renewTime: microTime(T0), leaseTransitions: 1 },
    ],
  ])('%s', (_l, over, want) => expect(nextLease({ ...base, ...over })).toEqual(want));

  it('formats MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2026, 0, 1, 12, 0, 0, 7))).toBe('2026-01-01T12:00:00.007000Z');
  });
});

describe('LeaderElector against the fake API server', () => {
  let kube: FakeKubeServer;
  const electors: LeaderElector[] = [];
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop({ release: false });
    await kube?.close();
  });

  function candidate(identity: string, clock: FakeClock, extra: { started?: string[] } = {}): LeaderElector {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const e = new LeaderElector({
      kubeConfig: kc,
      namespace: 'zeno-system',
      name: 'zeno-controller',
      identity,
      clock,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      onStartedLeading: () => extra.started?.push(`${identity} started`),
      onStoppedLeading: () => extra.started?.push(`${identity} stopped`),
    });
    electors.push(e);
    return e;
  }

  it('two candidates racing for a missing Lease: exactly one wins, the other gets 409 and waits', async () => {
    kube = await startFakeKube();
    const clock = new FakeClock(T0);
    const [a, b] = [candidate('a', clock), candidate('b', clock)];
    const results = await Promise.all([a.tryAcquireOrRenew(), b.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results[0] ? 'a' : 'b';
    const lease = kube.get('leases', 'zeno-system', 'zeno-controller')!;
    expect(lease.spec).toMatchObject({ holderIdentity: winner, leaseDurationSeconds: 15, leaseTransitions: 0, renewTime: microTime(T0) });
    // The loser tries again: the Lease is held and fresh.
    expect(await (winner === 'a' ? b : a).tryAcquireOrRenew()).toBe(false);
  });

  it('racing updates of an expired Lease: the stale resourceVersion loses with 409', async () => {
    kube = await startFakeKube();
    const clock = new FakeClock(T0);
    const [a, b, c] = [candidate('a', clock), candidate('b', clock), candidate('c', clock)];
    expect(await a.tryAcquireOrRenew()).toBe(true);
    expect(await b.tryAcquireOrRenew()).toBe(false);
    expect(await c.tryAcquireOrRenew()).toBe(false);
    clock.advance(15_000);
    const before = kube.requests.length;
    const results = await Promise.all([b.tryAcquireOrRenew(), c.tryAcquireOrRenew()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(kube.requests.slice(before).filter((r) => r.method === 'PUT')).toHaveLength(2);
    expect(kube.get('leases', 'zeno-system', 'zeno-controller')!.spec.leaseTransitions).toBe(1);
  });

  it('the holder stops renewing: the other takes over only once the lease duration has passed', async () => {
    kube = await startFakeKube();
    const clock = new FakeClock(T0);
    const log: string[] = [];
    const a = candidate('a', clock, { started: log });
    const b = candidate('b', clock, { started: log });
    await a.step();
    await b.step();
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    // a renews for a while; b keeps seeing fresh renewals.
    for (let i = 0; i < 5; i++) {
      clock.advance(2_000);
      await a.step();
      await b.step();
    }
    expect(b.isLeader()).toBe(false);
    // a dies without releasing. b last saw a change now; it waits a full lease duration.
    for (let waited = 2_000; waited < 15_000; waited += 2_000) {
      clock.advance(2_000);
      await b.step();
      expect(b.isLeader()).toBe(false);
    }
    clock.advance(1_000); // 15 s after b last saw a renewal
    await b.step();
    expect(b.isLeader()).toBe(true);
    expect(kube.get('leases', 'zeno-system', 'zeno-controller')!.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    // a comes back: its renewal fails, and past its renew deadline it steps down.
    await a.step();
    expect(a.isLeader()).toBe(false);
    expect(log).toEqual(['a started', 'b started', 'a stopped']);
  });

  it('a leader that cannot renew keeps leading until its renew deadline, then steps down', async () => {
    kube = await startFakeKube();
    const clock = new FakeClock(T0);
    const log: string[] = [];
    const a = candidate('a', clock, { started: log });
    await a.step();
    await kube.close(); // the API server is gone
    clock.advance(9_999);
    await a.step();
    expect(a.isLeader()).toBe(true);
    clock.advance(1);
    await a.step();
    expect(a.isLeader()).toBe(false);
    expect(log).toEqual(['a started', 'a stopped']);
  });

  it('runs on its own with start(), and a released Lease is taken at once', async () => {
    kube = await startFakeKube();
    const clock = new FakeClock(T0);
    const a = candidate('a', clock);
    const b = candidate('b', clock);
    a.start();
    await waitFor(() => a.isLeader(), 5_000, { message: 'a leads' });
    b.start();
    await waitFor(() => b.attempts === 1, 5_000);
    expect(b.isLeader()).toBe(false);
    await a.stop(); // releases: empty holder
    expect(kube.get('leases', 'zeno-system', 'zeno-controller')!.spec.holderIdentity).toBe('');
    await clock.advanceAsync(2_000);
    await waitFor(() => b.isLeader(), 5_000, { message: 'b leads after the release, without waiting 15 s' });
  });
});
