/**
 * A data-plane replica (`zeno up --role gateway`): the gateway and the
 * activator (a RevisionThrottler per revision) and nothing else. No store,
 * no reconciler, no runtime, no autoscaler: it routes by the control
 * plane's feed, reports its stats there, and forwards what needs the
 * durable event log (broker and channel ingress, async calls) to the
 * control plane's own gateway, so a 202 still means durably written.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Agent, request } from 'undici';
import { RevisionThrottler } from '../activator/throttler.js';
import { RequestStats } from '../autoscaler/request-stats.js';
import { realClock, type Clock } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import type { FeedMessage, FeedRevision } from '../core/dataplane.js';
import { ZenoError } from '../core/errors.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../core/http-server.js';
import { createMetrics } from '../core/metrics.js';
import type { RevisionId } from '../core/types.js';
import { startFeedClient, startStatsReporter } from './dataplane-client.js';
import { createTracer, type OtelSettings } from './otel.js';
import { downstreamHeaders, upstreamHeaders } from './proxy-headers.js';
import { RouteTable } from './routes.js';
import { createGateway, sendError, jsonAccessLog, type MountHandler, type RevisionHandle } from './server.js';

/** Paths served by the control plane because they write to the durable event log. */
export const FORWARDED_PREFIXES = ['/brokers/', '/channels/', '/async-function/'] as const;

export interface ReplicaOptions {
  port: number;
  host: string;
  /** The control plane's admin URL. */
  controlUrl: string;
  /**
   * The admin API's bearer token, or where to get it now: asked for at each
   * feed connect and stats report, so a control plane restarted with a new
   * token (a fresh one in its data dir) is followed.
   */
  token: string | (() => string);
  log?: (line: string) => void;
  clock?: Clock;
  maxBodyBytes?: number;
  headersTimeoutMs?: number;
  /** The gateway's lean server (`zeno up --lean-server`; default PLATFORM_DEFAULTS.gatewayLeanServer). */
  leanServer?: boolean;
  accessLog?: (line: string) => void;
  otel?: OtelSettings;
  /** This replica's name in its stats (default: host name plus a random suffix). */
  replicaId?: string;
}

export interface GatewayReplica {
  gatewayUrl: string;
  replicaId: string;
  /** Whether the feed is connected now, a snapshot applied on this connection. */
  synced(): boolean;
  /** Whether a snapshot was ever applied: the replica's /readyz. */
  ready(): boolean;
  close(): Promise<void>;
}

interface ReplicaRevision extends RevisionHandle {
  stats: RequestStats;
  cc: number;
  early: Set<string>;
  /** Pods this replica may have requests on: the current ones, and old ones until their last request ends. */
  pods: Set<string>;
}

export function defaultReplicaId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 200) || 'replica';
  return `${host}-${randomBytes(4).toString('hex')}`;
}

export async function startGatewayReplica(o: ReplicaOptions): Promise<GatewayReplica> {
  const log = o.log ?? (() => undefined);
  const clock = o.clock ?? realClock;
  const replicaId = o.replicaId ?? defaultReplicaId();
  const controlUrl = o.controlUrl.replace(/\/+$/, '');
  const token = typeof o.token === 'string' ? ((t: string) => () => t)(o.token) : o.token;
  const maxBodyBytes = o.maxBodyBytes ?? PLATFORM_DEFAULTS.maxBodyBytes;
  const httpLimits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, headersTimeoutMs: o.headersTimeoutMs ?? DEFAULT_HTTP_LIMITS.headersTimeoutMs };
  const routes = new RouteTable();
  const handles = new Map<RevisionId, ReplicaRevision>();
  const metrics = createMetrics();
  const tracer = o.otel ? createTracer({ settings: o.otel, clock, log }) : undefined;
  // The control plane's own gateway, for the forwarded paths: the control URL's host, the port from the snapshot.
  let forwardBase: string | undefined;
  const control = new Agent({ keepAliveTimeout: 30_000, connections: 64 });

  const gateway = createGateway({
    clock,
    routes,
    ...(tracer ? { tracer } : {}),
    http: httpLimits,
    ...(o.leanServer === undefined ? {} : { leanServer: o.leanServer }),
    revision: (id) => handles.get(id),
    maxBodyBytes,
    ...(o.accessLog ? { accessLog: jsonAccessLog(o.accessLog) } : {}),
  });

  /** The seq of the last feed line applied. */
  let appliedSeq = -1;
  let everSynced = false;
  const reporter = startStatsReporter({
    controlUrl, token, clock, replica: replicaId, log, dispatcher: control,
    revisions: function* () {
      for (const [id, h] of handles) yield [id, h.stats];
    },
    // The control plane's scale-down drain waits until every replica saw the pod leave and has nothing left on it.
    extra: () => {
      const pods: { id: string; inFlight: number }[] = [];
      for (const h of handles.values()) {
        for (const id of h.pods) {
          const inFlight = h.throttler.podInFlight(id);
          if (inFlight > 0) pods.push({ id, inFlight });
        }
      }
      return { feedSeq: appliedSeq, pods };
    },
  });

  const failureOf = (r: FeedRevision): ZenoError | undefined => (r.failure === undefined ? undefined : new ZenoError('ZENO_ERR_REVISION_FAILED', r.failure, { retryAfter: 1 }));

  const upsertRevision = (r: FeedRevision): void => {
    let h = handles.get(r.id);
    if (!h) {
      const stats = new RequestStats(clock.now());
      const created: ReplicaRevision = {
        throttler: new RevisionThrottler({
          clock,
          containerConcurrency: r.containerConcurrency,
          queueDepth: PLATFORM_DEFAULTS.activatorQueueDepth,
          retryAfterSeconds: PLATFORM_DEFAULTS.retryAfterSeconds,
          // The scale-from-zero poke: requests wait here and no pod is ready.
          onQueued: () => {
            if (!created.throttler.hasBackends()) reporter.poke(r.id, stats.inFlight());
          },
        }),
        stats,
        metrics: metrics.revision(r.labels),
        timeoutMs: r.timeoutMs,
        cc: r.containerConcurrency,
        early: new Set(),
        pods: new Set(),
      };
      h = created;
      handles.set(r.id, h);
    }
    if (h.cc !== r.containerConcurrency) {
      h.cc = r.containerConcurrency;
      h.throttler.setContainerConcurrency(r.containerConcurrency);
    }
    h.timeoutMs = r.timeoutMs;
    h.responseStartTimeoutMs = r.responseStartTimeoutMs;
    h.idleTimeoutMs = r.idleTimeoutMs;
    h.failure = failureOf(r);
    // A pod still loading its handler takes its first connection early (as on the control plane).
    for (const p of r.early) if (!h.early.has(p.id)) gateway.preconnect(p.url);
    h.early = new Set(r.early.map((p) => p.id));
    h.throttler.updateBackends(r.backends, r.failure === undefined ? r.early : []);
    const current = new Set([...r.backends, ...r.early].map((p) => p.id));
    for (const id of h.pods) if (!current.has(id) && h.throttler.podInFlight(id) === 0) h.pods.delete(id);
    for (const id of current) h.pods.add(id);
    if (h.failure && !h.throttler.hasBackends()) h.throttler.failAll(h.failure);
  };

  const removeRevision = (id: RevisionId): void => {
    const h = handles.get(id);
    if (!h) return;
    h.throttler.failAll(new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', `revision ${id} was deleted`));
    if (h.metrics) metrics.forget(h.metrics.labels);
    handles.delete(id);
  };

  const apply = (m: FeedMessage): void => {
    if (m.type !== 'heartbeat') appliedSeq = m.seq;
    switch (m.type) {
      case 'snapshot': {
        // A resync: what the snapshot lacks went away while the feed was down.
        const routeKeys = new Set(m.routes.map((r) => `${r.namespace}/${r.service}`));
        for (const key of knownRoutes) {
          if (routeKeys.has(key)) continue;
          const [ns, name] = key.split('/') as [string, string];
          routes.delete(ns, name);
          knownRoutes.delete(key);
        }
        for (const r of m.revisions) upsertRevision(r);
        const revIds = new Set(m.revisions.map((r) => r.id));
        for (const id of [...handles.keys()]) if (!revIds.has(id)) removeRevision(id);
        for (const r of m.routes) setRoute(r);
        const u = new URL(controlUrl);
        u.port = String(m.gatewayPort);
        forwardBase = `${u.protocol}//${u.host}`;
        everSynced = true;
        break;
      }
      case 'route':
        setRoute(m.route);
        break;
      case 'route-deleted':
        routes.delete(m.namespace, m.service);
        knownRoutes.delete(`${m.namespace}/${m.service}`);
        break;
      case 'revision':
        upsertRevision(m.revision);
        break;
      case 'revision-deleted':
        removeRevision(m.id);
        break;
      case 'heartbeat':
        break;
    }
  };
  const knownRoutes = new Set<string>();
  const setRoute = (r: Extract<FeedMessage, { type: 'route' }>['route']): void => {
    routes.set({ namespace: r.namespace, service: r.service, targets: r.targets }, r.domain, new Map(r.tags));
    knownRoutes.add(`${r.namespace}/${r.service}`);
  };

  // Prometheus scrapes each replica for its own request metrics.
  gateway.mount('/metrics', async (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') return sendError(res, new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', 'no function is routed at this path'));
    const body = await metrics.render();
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
    res.end(body);
  });
  // Ready once it routes by a first snapshot: a Kubernetes readinessProbe keeps a replica
  // that never synced out of its Service. It stays ready while its feed reconnects, serving
  // by what it last knew: otherwise a control-plane restart would take every replica out at once.
  gateway.mount('/readyz', (req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/readyz') return sendError(res, new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', 'no function is routed at this path'));
    const ok = everSynced;
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ok ? 'ok' : 'not synced with the control plane');
  });
  const forward = forwarder(() => forwardBase, control);
  for (const prefix of FORWARDED_PREFIXES) gateway.mount(prefix, forward);

  const feed = startFeedClient({ controlUrl, token, clock, onMessage: apply, log, dispatcher: control });
  const port = await gateway.listen(o.port, o.host).catch(async (e: unknown) => {
    await feed.close();
    await reporter.close();
    await control.close();
    throw e;
  });
  const urlHost = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  const gatewayUrl = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`;
  log(`zeno: gateway replica ${replicaId} on ${gatewayUrl}, control plane ${controlUrl}`);

  let closed: Promise<void> | undefined;
  return {
    gatewayUrl,
    replicaId,
    synced: () => feed.connected(),
    ready: () => everSynced,
    close() {
      closed ??= (async () => {
        await gateway.close(10_000);
        await feed.close();
        await reporter.close();
        await tracer?.close();
        for (const h of handles.values()) h.throttler.failAll(new ZenoError('ZENO_ERR_SHUTTING_DOWN', undefined, { retryAfter: 1 }));
        await control.close().catch(() => undefined);
      })();
      return closed;
    },
  };
}

/**
 * A mount that hands the request to the control plane's gateway and streams
 * its answer back unchanged (status, headers, body): the broker ingress
 * there answers 202 only once the event is in the log.
 */
function forwarder(base: () => string | undefined, dispatcher: Agent): MountHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const b = base();
    if (!b) return sendError(res, new ZenoError('ZENO_ERR_PLATFORM_UNREACHABLE', 'this gateway replica has not reached its control plane yet', { retryAfter: 1 }));
    const hasBody = req.headers['content-length'] !== undefined ? Number(req.headers['content-length']) > 0 : req.headers['transfer-encoding'] !== undefined;
    try {
      const up = await request(`${b}${req.url ?? '/'}`, {
        method: (req.method ?? 'GET') as 'GET',
        headers: upstreamHeaders(req.headers, { remoteAddress: req.socket.remoteAddress, proto: 'http' }),
        ...(hasBody ? { body: req } : {}),
        dispatcher,
        headersTimeout: PLATFORM_DEFAULTS.dataPlaneForwardTimeoutMs,
        bodyTimeout: PLATFORM_DEFAULTS.dataPlaneForwardTimeoutMs,
      });
      res.writeHead(up.statusCode, downstreamHeaders(up.headers));
      await pipeline(up.body, res);
    } catch (e) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, new ZenoError('ZENO_ERR_PLATFORM_UNREACHABLE', `cannot forward to the control plane: ${(e as Error).message}`, { retryAfter: 1 }));
    }
  };
}
