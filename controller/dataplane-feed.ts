/**
 * The control plane's side of data-plane replicas (`zeno up --role
 * gateway`, core/dataplane.ts): it keeps what the replicas need to route
 * and admit requests (routes, per revision its settings and ready pods),
 * streams it to them, and takes their stats for the autoscaler.
 *
 * The platform feeds it from the same calls that program its own gateway
 * (the reconciler's DataPlanePort and the runtime's pod events), so both
 * see one order of changes.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { FEED_PATH, REPLICAS_PATH, STATS_PATH, parseStatsMessage, type FeedBackend, type FeedMessage, type FeedRevision, type FeedRoute } from '../core/dataplane.js';
import { ZenoError } from '../core/errors.js';
import type { RevisionId } from '../core/types.js';
import type { StatsAggregator } from '../autoscaler/stats-aggregator.js';

type Listener = (m: FeedMessage) => void;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export class DataPlaneFeed {
  private readonly routes = new Map<string, FeedRoute>();
  private readonly revisions = new Map<RevisionId, FeedRevision>();
  private readonly listeners = new Set<Listener>();
  private lastSeq = 0;

  constructor(private readonly gatewayPort: () => number) {}

  /** The seq of the last change sent (0 before any). */
  seq(): number {
    return this.lastSeq;
  }

  private emit(m: DistributiveOmit<Exclude<FeedMessage, { type: 'snapshot' | 'heartbeat' }>, 'seq'>): void {
    const line = { ...m, seq: ++this.lastSeq } as FeedMessage;
    for (const l of this.listeners) l(line);
  }

  setRoute(route: FeedRoute): void {
    this.routes.set(`${route.namespace}/${route.service}`, route);
    this.emit({ type: 'route', route });
  }

  deleteRoute(namespace: string, service: string): void {
    if (this.routes.delete(`${namespace}/${service}`)) this.emit({ type: 'route-deleted', namespace, service });
  }

  /** Adds a revision, or changes some of its fields; sends the whole revision when something changed. */
  upsertRevision(id: RevisionId, init: Omit<FeedRevision, 'id' | 'backends' | 'early'>): void {
    const prev = this.revisions.get(id);
    const next: FeedRevision = { id, ...init, backends: prev?.backends ?? [], early: prev?.early ?? [] };
    if (prev?.failure !== undefined && next.failure === undefined) next.failure = prev.failure;
    this.put(prev, next);
  }

  /** The revision's ready and early pods, and its failure (undefined clears it). */
  setPods(id: RevisionId, backends: FeedBackend[], early: FeedBackend[], failure: string | undefined): void {
    const prev = this.revisions.get(id);
    if (!prev) return;
    const next: FeedRevision = { ...prev, backends, early };
    if (failure === undefined) delete next.failure;
    else next.failure = failure;
    this.put(prev, next);
  }

  private put(prev: FeedRevision | undefined, next: FeedRevision): void {
    // Pod events repeat (pod-unready after pod-exited, …): send only real changes.
    if (prev && JSON.stringify(prev) === JSON.stringify(next)) return;
    this.revisions.set(next.id, next);
    this.emit({ type: 'revision', revision: next });
  }

  removeRevision(id: RevisionId): void {
    if (this.revisions.delete(id)) this.emit({ type: 'revision-deleted', id });
  }

  snapshot(): FeedMessage {
    return { type: 'snapshot', seq: this.lastSeq, routes: [...this.routes.values()], revisions: [...this.revisions.values()], gatewayPort: this.gatewayPort() };
  }

  /** Calls `l` with every change from now on; returns the unsubscribe. */
  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

export interface DataPlaneEndpointsDeps {
  feed: DataPlaneFeed;
  stats: StatsAggregator;
  clock: Clock;
  /** A replica's requests wait for a revision at zero (the multiscaler's poke). */
  poke: (rev: RevisionId) => void;
  log: (line: string) => void;
  /** @default PLATFORM_DEFAULTS.dataPlaneHeartbeatMs */
  heartbeatMs?: number;
}

/**
 * Mounts the feed and the stats endpoint on the admin API (behind its
 * bearer token). Returns close(), which ends every open feed (the admin
 * API's close would otherwise wait for them).
 */
export function registerDataPlaneEndpoints(app: FastifyInstance, d: DataPlaneEndpointsDeps): { close(): void; replicas(): string[] } {
  const open = new Set<ServerResponse>();
  const heartbeatMs = d.heartbeatMs ?? PLATFORM_DEFAULTS.dataPlaneHeartbeatMs;
  let closed = false;

  app.get(FEED_PATH, async (req, reply) => {
    // A control plane on its way out hands out no new snapshot: its pods stop after the
    // feeds close, and a replica that synced now would route to them. It retries elsewhere or later.
    if (closed) throw new ZenoError('ZENO_ERR_SHUTTING_DOWN', 'the control plane is stopping', { retryAfter: 1 });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    // Each line leaves at once: a backend turning ready is on a cold request's path.
    res.socket?.setNoDelay(true);
    open.add(res);
    let heartbeat: TimerHandle | undefined;
    let unsubscribe: (() => void) | undefined;
    const end = () => {
      open.delete(res);
      unsubscribe?.();
      d.clock.clearInterval(heartbeat);
    };
    const send = (m: FeedMessage) => {
      if (res.destroyed) return;
      // A replica that does not read is cut off rather than buffered without
      // bound; it reconnects and starts again from a snapshot.
      if (res.writableLength > PLATFORM_DEFAULTS.dataPlaneFeedMaxBufferedBytes) {
        d.log(`dataplane: a replica's feed is ${res.writableLength} bytes behind; closing it (it resyncs)`);
        res.destroy();
        return;
      }
      res.write(`${JSON.stringify(m)}\n`);
    };
    req.raw.on('close', end);
    res.on('close', end);
    send(d.feed.snapshot());
    unsubscribe = d.feed.subscribe(send);
    heartbeat = d.clock.setInterval(() => send({ type: 'heartbeat' }), heartbeatMs);
  });

  app.post(STATS_PATH, async (req, reply) => {
    const m = parseStatsMessage(req.body);
    if (typeof m === 'string') throw new ZenoError('ZENO_ERR_BAD_REQUEST', `dataplane stats: ${m}`);
    const now = d.clock.now();
    if (m.stats) d.stats.record({ replica: m.replica, stats: m.stats, ...(m.feedSeq !== undefined ? { feedSeq: m.feedSeq } : {}), ...(m.pods ? { pods: m.pods } : {}) }, now);
    if (m.poke) {
      d.stats.poke(m.replica, m.poke.revision, m.poke.inFlight, now);
      d.poke(m.poke.revision);
    }
    return reply.status(204).send();
  });

  app.get(REPLICAS_PATH, async () => ({ items: d.stats.live(d.clock.now()).map((name) => ({ name })) }));

  return {
    close() {
      closed = true;
      for (const res of open) res.end();
      open.clear();
    },
    replicas: () => d.stats.live(d.clock.now()),
  };
}
