import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createMetrics, LATENCY_BUCKETS_MS } from '../core/metrics.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import { createServiceStats, histogramQuantile, revisionsByService, windowDelta } from './top.js';

describe('histogramQuantile (Prometheus histogram_quantile)', () => {
  const bounds = [10, 20, 50];
  it.each([
    { label: 'empty', counts: [0, 0, 0, 0], q: 0.5, want: undefined },
    { label: 'all in the first bucket interpolates from 0', counts: [4, 0, 0, 0], q: 0.5, want: 5 },
    { label: 'middle bucket', counts: [2, 2, 0, 0], q: 0.75, want: 15 },
    { label: 'rank at a bucket edge', counts: [2, 2, 0, 0], q: 0.5, want: 10 },
    { label: 'skips empty buckets', counts: [0, 0, 10, 0], q: 0.99, want: 20 + 30 * 0.99 },
    { label: '+Inf bucket answers the highest bound', counts: [1, 0, 0, 99], q: 0.99, want: 50 },
  ])('$label', ({ counts, q, want }) => {
    const got = histogramQuantile(bounds, counts, q);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(want, 9);
  });
});

describe('windowDelta', () => {
  it('subtracts per bucket, never below zero, and measures the span', () => {
    const newer = { t: 12_000, total: 10, buckets: Float64Array.from([5, 5, 0]) };
    const older = { t: 2_000, total: 4, buckets: Float64Array.from([1, 6, 0]) };
    const d = windowDelta(newer, older);
    expect([...d.buckets]).toEqual([4, 0, 0]);
    expect(d.total).toBe(6);
    expect(d.seconds).toBe(10);
    expect(windowDelta(newer, undefined).seconds).toBe(0);
  });
});

describe('createServiceStats', () => {
  let dir: string;
  let store: ResourceStore;
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports replicas, RPS and p50/p99 over the window, and in-flight requests, per service', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-top-'));
    store = openSqliteStore(path.join(dir, 'zeno.db'));
    store.put('services', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default' }, spec: {} });
    store.put('revisions', { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001', namespace: 'default', labels: { 'serving.knative.dev/service': 'hello' } }, spec: {} });
    const clock = new FakeClock();
    const metrics = createMetrics();
    const labels = { namespace: 'default', service: 'hello', configuration: 'hello', revision: 'hello-00001' };
    const rev = metrics.revision(labels);
    metrics.setServingSource(() => [{ labels, queueDepth: 1, inFlight: 3, readyPods: 2, requestedPods: 2 }]);
    // Old traffic, before the window: must not count.
    for (let i = 0; i < 100; i++) rev.record(200, 4000);
    const stats = createServiceStats({
      clock, store, metrics, sampleMs: 1000, windowMs: 10_000,
      replicas: () => [{ namespace: 'default', name: 'hello', ready: true, readyReplicas: 2, desiredReplicas: 3 }],
    });
    clock.advance(1000);
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 20; i++) rev.record(i < 19 ? 200 : 500, i < 19 ? 7 : 400);
      clock.advance(1000);
    }
    const top = stats.rows();
    expect(top.windowSeconds).toBe(10);
    expect(top.items).toHaveLength(1);
    const row = top.items[0]!;
    expect(row).toMatchObject({ namespace: 'default', name: 'hello', ready: true, readyReplicas: 2, desiredReplicas: 3, inFlight: 3, queued: 1 });
    // 10 periods of 20 requests in 10 s.
    expect(row.rps).toBe(20);
    // 95 % of requests took 7 ms (bucket 5..10), 5 % took 400 ms (bucket 250..500).
    expect(row.p50Ms).toBeGreaterThan(5);
    expect(row.p50Ms).toBeLessThanOrEqual(10);
    expect(row.p99Ms).toBeGreaterThan(250);
    expect(row.p99Ms).toBeLessThanOrEqual(500);
    expect(stats.rows('other').items).toEqual([]);
    expect(LATENCY_BUCKETS_MS).toContain(10);

    // Quiet for a whole window: no rate, no percentiles.
    clock.advance(20_000);
    const quiet = stats.rows().items[0]!;
    expect(quiet.rps).toBe(0);
    expect(quiet.p50Ms).toBeNull();
    stats.close();
  });
});

describe('revisionsByService', () => {
  const rev = (ns: string, name: string, svc?: string) => ({ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { namespace: ns, name, ...(svc ? { labels: { 'serving.knative.dev/service': svc } } : {}) } });
  it('groups every revision by namespace/service from one read of the store', () => {
    let reads = 0;
    const revs = [rev('default', 'a-00001', 'a'), rev('default', 'a-00002', 'a'), rev('other', 'a-00001', 'a'), rev('default', 'b-00001', 'b'), rev('default', 'loose')];
    const store = { list: (kind: string) => { reads++; expect(kind).toBe('revisions'); return revs; } };
    const idx = revisionsByService(store as never);
    expect(reads).toBe(1);
    expect([...idx.keys()].sort()).toEqual(['default/a', 'default/b', 'other/a']);
    expect(idx.get('default/a')!.map((r) => r.metadata.name)).toEqual(['a-00001', 'a-00002']);
    expect(idx.get('other/a')!.map((r) => r.metadata.name)).toEqual(['a-00001']);
  });
});
