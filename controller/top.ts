/**
 * What `zeno top` shows per Service: replicas (the dashboard's view of the
 * runtime), requests per second and p50/p99 latency over a short window
 * (from the gateway's per-revision histograms in core/metrics.ts), and the
 * requests in flight and queued now (the /metrics serving snapshot). Served
 * at GET /apis/zeno.dev/v1/top on the admin API (docs/admin-api.md).
 */
import type { FastifyInstance } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { LATENCY_BUCKETS_MS, type ZenoMetrics } from '../core/metrics.js';
import type { KObject } from '../core/types.js';
import type { ResourceStore } from './store.js';

const SERVICE_LABEL = 'serving.knative.dev/service';

export interface TopRow {
  namespace: string;
  name: string;
  ready: boolean;
  readyReplicas: number;
  desiredReplicas: number;
  /** Requests that ended in the window, per second; null before the first sample. */
  rps: number | null;
  /** null when no request ended in the window. */
  p50Ms: number | null;
  p99Ms: number | null;
  inFlight: number;
  queued: number;
}

export interface TopList {
  apiVersion: 'zeno.dev/v1';
  kind: 'ServiceStatsList';
  /** The span the rates and percentiles cover (shorter just after the platform started). */
  windowSeconds: number;
  items: TopRow[];
}

/**
 * The q-quantile of a histogram, as Prometheus' histogram_quantile: find the
 * bucket holding rank q·total and interpolate linearly inside it (from 0 for
 * the first bucket); a rank in the +Inf bucket answers the highest finite
 * bound. `counts` are per bucket (not cumulative), the last one +Inf.
 * Undefined for an empty histogram.
 */
export function histogramQuantile(bounds: readonly number[], counts: ArrayLike<number>, q: number): number | undefined {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total <= 0) return undefined;
  const rank = q * total;
  let below = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b]!;
    if (below + c >= rank && c > 0) {
      if (b >= bounds.length) return bounds[bounds.length - 1];
      const lower = b === 0 ? 0 : bounds[b - 1]!;
      const upper = bounds[b]!;
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return bounds[bounds.length - 1];
}

/** A service's requests so far: total and latency buckets over all status classes. */
export interface Cumulative {
  t: number;
  total: number;
  buckets: Float64Array;
}

/** Per-bucket difference newer − older, never negative (a deleted revision's counts drop out). */
export function windowDelta(newer: Cumulative, older: Cumulative | undefined): { seconds: number; total: number; buckets: Float64Array } {
  const buckets = new Float64Array(newer.buckets.length);
  for (let i = 0; i < buckets.length; i++) buckets[i] = Math.max(0, newer.buckets[i]! - (older?.buckets[i] ?? 0));
  return { seconds: older ? Math.max(newer.t - older.t, 1) / 1000 : 0, total: Math.max(0, newer.total - (older?.total ?? 0)), buckets };
}

export interface ServiceReplicas {
  namespace: string;
  name: string;
  ready: boolean;
  readyReplicas: number;
  desiredReplicas: number;
}

export interface TopDeps {
  clock: Clock;
  store: ResourceStore;
  metrics: ZenoMetrics;
  /** The dashboard's per-service replica view (controller/dashboard.ts state().services). */
  replicas: () => ServiceReplicas[];
  /** @default PLATFORM_DEFAULTS.dashboardSampleMs */
  sampleMs?: number;
  /** @default PLATFORM_DEFAULTS.topWindowMs */
  windowMs?: number;
}

export interface ServiceStats {
  rows(namespace?: string): TopList;
  register(app: FastifyInstance): void;
  close(): void;
}

/**
 * Every revision, grouped by `namespace/service` (its service label), from
 * one read of the store. Reading the revisions once per service made each
 * sample O(services × revisions): with 1,000 Services the platform spent
 * its whole time re-reading them (test/load.test.ts).
 */
export function revisionsByService(store: Pick<ResourceStore, 'list'>): Map<string, KObject[]> {
  const out = new Map<string, KObject[]>();
  for (const r of store.list('revisions')) {
    const svc = r.metadata.labels?.[SERVICE_LABEL];
    if (svc === undefined) continue;
    const key = `${r.metadata.namespace ?? 'default'}/${svc}`;
    const list = out.get(key);
    if (list) list.push(r);
    else out.set(key, [r]);
  }
  return out;
}

export function createServiceStats(d: TopDeps): ServiceStats {
  const sampleMs = d.sampleMs ?? PLATFORM_DEFAULTS.dashboardSampleMs;
  const windowMs = d.windowMs ?? PLATFORM_DEFAULTS.topWindowMs;
  // One more sample than the window holds periods, so the oldest is a whole window back.
  const keep = Math.max(1, Math.ceil(windowMs / sampleMs)) + 1;
  const width = LATENCY_BUCKETS_MS.length + 1;
  const rings = new Map<string, Cumulative[]>();

  const cumulative = (ns: string, revisions: readonly KObject[]): Cumulative => {
    const buckets = new Float64Array(width);
    let total = 0;
    for (const r of revisions) {
      const m = d.metrics.revisionMetrics(ns, r.metadata.name);
      if (!m) continue;
      for (const c of m.counts) total += c;
      // Latency of every request, whatever its status class.
      for (let i = 0; i < m.buckets.length; i++) buckets[i % width]! += m.buckets[i]!;
    }
    return { t: d.clock.now(), total, buckets };
  };

  const sample = (): void => {
    const seen = new Set<string>();
    const byService = revisionsByService(d.store);
    for (const svc of d.store.list('services')) {
      const ns = svc.metadata.namespace ?? 'default';
      const key = `${ns}/${svc.metadata.name}`;
      seen.add(key);
      const ring = rings.get(key) ?? [];
      ring.push(cumulative(ns, byService.get(key) ?? []));
      if (ring.length > keep) ring.splice(0, ring.length - keep);
      rings.set(key, ring);
    }
    for (const key of rings.keys()) if (!seen.has(key)) rings.delete(key);
  };
  const timer: TimerHandle = d.clock.setInterval(sample, sampleMs);
  sample();

  const rows = (namespace?: string): TopList => {
    const live = new Map<string, { inFlight: number; queued: number }>();
    for (const s of d.metrics.servingSnapshot()) {
      const key = `${s.labels.namespace}/${s.labels.service}`;
      const v = live.get(key) ?? { inFlight: 0, queued: 0 };
      v.inFlight += s.inFlight;
      v.queued += s.queueDepth;
      live.set(key, v);
    }
    let windowSeconds = 0;
    const byService = revisionsByService(d.store);
    const items = d
      .replicas()
      .filter((s) => namespace === undefined || s.namespace === namespace)
      .map((s): TopRow => {
        const key = `${s.namespace}/${s.name}`;
        const oldest = rings.get(key)?.[0];
        const w = windowDelta(cumulative(s.namespace, byService.get(key) ?? []), oldest);
        windowSeconds = Math.max(windowSeconds, w.seconds);
        const q = (p: number) => (w.total > 0 ? round(histogramQuantile(LATENCY_BUCKETS_MS, w.buckets, p)) : null);
        return {
          namespace: s.namespace,
          name: s.name,
          ready: s.ready,
          readyReplicas: s.readyReplicas,
          desiredReplicas: s.desiredReplicas,
          rps: w.seconds > 0 ? Math.round((w.total / w.seconds) * 100) / 100 : null,
          p50Ms: q(0.5),
          p99Ms: q(0.99),
          inFlight: live.get(key)?.inFlight ?? 0,
          queued: live.get(key)?.queued ?? 0,
        };
      })
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    return { apiVersion: 'zeno.dev/v1', kind: 'ServiceStatsList', windowSeconds: Math.round(windowSeconds * 10) / 10, items };
  };

  return {
    rows,
    register(app) {
      app.get<{ Querystring: { namespace?: string } }>('/apis/zeno.dev/v1/top', async (req, reply) => {
        void reply.header('cache-control', 'no-store');
        return rows(req.query.namespace || undefined);
      });
    },
    close() {
      d.clock.clearInterval(timer);
    },
  };
}

function round(v: number | undefined): number | null {
  return v === undefined ? null : Math.round(v * 10) / 10;
}
