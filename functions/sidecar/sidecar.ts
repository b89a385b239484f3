/**
 * A small queue-proxy (knative/serving pkg/queue) for cluster pods. Several
 * gateways and activators share a revision's pods, so none of them alone can
 * hold a pod to its containerConcurrency; this sidecar does, in the pod:
 *
 * - serving port (8012): every request passes the breaker (breaker.ts: CC in
 *   flight, 10 × CC waiting, then 503 ZENO_ERR_QUEUE_FULL; a request that
 *   waits past the revision's timeout gets 503 ZENO_ERR_POD_QUEUE_TIMEOUT),
 *   then goes to the user container on 127.0.0.1:USER_PORT;
 * - readiness passthrough: a request with `K-Network-Probe: queue` runs the
 *   user container's readiness probe (the kubelet probes the sidecar, which
 *   probes the user container, as queue-proxy does) → 200 `queue` or 503;
 *   503 `shutting down` once draining;
 * - admin port (8022): `GET /wait-for-drain` starts the drain and answers when
 *   it is over; the user container's preStop hook calls it, so the user
 *   process gets its SIGTERM only after the in-flight requests finished;
 *   `GET /stats` gives `{active, queued, draining}`;
 * - drain (SIGTERM or /wait-for-drain): keep serving until quietMs passed
 *   with no new request and nothing is in flight, then close.
 *
 * Not done (queue-proxy does): h2c, websocket upgrades, request metrics on
 * :9090 (Zeno's autoscaler gets its stats from gateways and activators).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, type Dispatcher } from 'undici';
import { realClock, type Clock } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { errorBody, ZenoError, type ErrorCode } from '../../core/errors.js';
import type { Probe } from '../../core/types.js';
import { probeOnce, resolveProbe } from '../local/probe.js';
import { Breaker, drainWaitMs } from './breaker.js';

export interface SidecarOptions {
  /** Where the pod's traffic arrives. @default PLATFORM_DEFAULTS.sidecarServingPort (8012); 0 picks a free port */
  servingPort?: number;
  /** /wait-for-drain. @default PLATFORM_DEFAULTS.sidecarAdminPort (8022); 0 picks a free port */
  adminPort?: number;
  /** Address both servers listen on. @default '0.0.0.0' (every pod interface) */
  host?: string;
  /** The user container's port (its PORT, the revision's containerPort). */
  userPort: number;
  /** @default '127.0.0.1' (the containers of a pod share its network namespace) */
  userHost?: string;
  /** 0 = no breaker (queue-proxy: CC 0 means unlimited). */
  containerConcurrency: number;
  /** @default sidecarQueueDepthPerSlot × containerConcurrency */
  queueDepth?: number;
  /** How long a request may wait for a slot: the revision's timeoutSeconds. */
  timeoutMs: number;
  /** The user container's readinessProbe, as the revision declares it. */
  readinessProbe?: Probe;
  /** @default PLATFORM_DEFAULTS.sidecarDrainQuietMs (30 s) */
  drainQuietMs?: number;
  clock?: Clock;
  log?: (line: string) => void;
}

export interface Sidecar {
  readonly servingPort: number;
  readonly adminPort: number;
  /** Requests running in the user container and waiting in the breaker. */
  inFlight(): number;
  draining(): boolean;
  /** Starts draining (idempotent); resolves once drained. */
  drain(): Promise<void>;
  /** Stops both servers (after drain(), nothing is in flight). */
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'expect']);

function forwardHeaders(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

function sendError(res: ServerResponse, code: ErrorCode, message?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const err = new ZenoError(code, message);
  const body = JSON.stringify(errorBody(err));
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (err.statusCode === 503) headers['retry-after'] = String(PLATFORM_DEFAULTS.retryAfterSeconds);
  res.writeHead(err.statusCode, headers);
  res.end(body);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

interface Waiter {
  start(): void;
}

export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? (() => undefined);
  const host = opts.host ?? '0.0.0.0';
  const userHost = opts.userHost ?? '127.0.0.1';
  const cc = Math.max(0, Math.floor(opts.containerConcurrency));
  const breaker = cc > 0 ? new Breaker<Waiter>(cc, opts.queueDepth ?? PLATFORM_DEFAULTS.sidecarQueueDepthPerSlot * cc) : undefined;
  const quietMs = opts.drainQuietMs ?? PLATFORM_DEFAULTS.sidecarDrainQuietMs;
  const probePlan = resolveProbe(opts.readinessProbe, opts.userPort);
  // undici: the project's hot-path upstream client (docs/ARCHITECTURE.md, about twice node:http's rate).
  const upstream = new Pool(`http://${userHost.includes(':') ? `[${userHost}]` : userHost}:${opts.userPort}`);
  let unlimitedInFlight = 0;
  let lastRequestMs: number | undefined;
  let drainStartedMs: number | undefined;
  let drained: Promise<void> | undefined;
  let recheck: (() => void) | undefined;

  const inFlight = () => (breaker ? breaker.inFlight : unlimitedInFlight);

  let everReady = false;
  /**
   * One kubelet probe. Until the user container was first ready, a probe
   * without a period (Knative's default) is aggressive, as queue-proxy's
   * (pkg/queue/readiness/probe.go): it retries every startPeriodMs within
   * PLATFORM_DEFAULTS.sidecarProbeBudgetMs (inside the kubelet's 1 s probe
   * timeout), so the pod turns ready as soon as the container listens, not
   * at the kubelet's next period. Afterwards, one attempt per probe.
   */
  async function probeUser(): Promise<boolean> {
    const port = probePlan.port === 'pod' ? opts.userPort : probePlan.port;
    const target = { host: probePlan.host ?? userHost, port };
    const aggressive = !everReady && probePlan.startPeriodMs < probePlan.readyPeriodMs;
    if (!aggressive) {
      const ok = await probeOnce(probePlan, target, probePlan.readyTimeoutMs, clock);
      if (ok) everReady = true;
      return ok;
    }
    const deadline = clock.now() + PLATFORM_DEFAULTS.sidecarProbeBudgetMs;
    for (;;) {
      if (await probeOnce(probePlan, target, probePlan.startTimeoutMs, clock)) {
        everReady = true;
        return true;
      }
      if (drainStartedMs !== undefined || clock.now() + probePlan.startPeriodMs >= deadline) return false;
      await clock.sleep(probePlan.startPeriodMs);
    }
  }

  function proxy(req: IncomingMessage, res: ServerResponse, done: () => void): void {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      done();
    };
    const ac = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
      finish();
    });
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    upstream
      .request({ path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: forwardHeaders(req.headers) as Record<string, string | string[]>, body: hasBody ? req : null, signal: ac.signal })
      .then(({ statusCode, headers, body }) => {
        res.writeHead(statusCode, forwardHeaders(headers as http.IncomingHttpHeaders));
        body.on('error', () => res.destroy());
        body.pipe(res);
      })
      .catch((e: unknown) => {
        if (!res.headersSent && !res.writableEnded) sendError(res, 'ZENO_ERR_UPSTREAM_FAILED', `the user container failed the request: ${(e as Error).message}`);
        else res.destroy();
        finish();
      });
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    // While draining, connections are not kept alive: clients reconnect elsewhere.
    if (drainStartedMs !== undefined) res.shouldKeepAlive = false;
    if (req.headers[PLATFORM_DEFAULTS.sidecarProbeHeader] === 'queue') {
      req.resume();
      if (drainStartedMs !== undefined) return sendText(res, 503, 'shutting down');
      void probeUser().then((ok) => (ok ? sendText(res, 200, 'queue') : sendText(res, 503, 'not ready')));
      return;
    }
    lastRequestMs = clock.now();
    if (!breaker) {
      unlimitedInFlight++;
      proxy(req, res, () => {
        unlimitedInFlight--;
        recheck?.();
      });
      return;
    }
    const release = () => {
      const next = breaker.release();
      next?.start();
      recheck?.();
    };
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const waiter: Waiter = {
      start() {
        clock.clearTimeout(timer);
        proxy(req, res, release);
      },
    };
    const admission = breaker.admit(waiter);
    if (admission === 'rejected') {
      req.resume();
      return sendError(res, 'ZENO_ERR_QUEUE_FULL', `the pod runs ${breaker.capacity} requests (containerConcurrency) and holds ${breaker.queueDepth} waiting`);
    }
    if (admission === 'run') return waiter.start();
    timer = clock.setTimeout(() => {
      if (!breaker.cancel(waiter)) return;
      req.resume();
      sendError(res, 'ZENO_ERR_POD_QUEUE_TIMEOUT', `no free slot in the pod within ${opts.timeoutMs} ms`);
      recheck?.();
    }, opts.timeoutMs);
    // A client that leaves while waiting frees its place in the queue.
    res.on('close', () => {
      if (breaker.cancel(waiter)) {
        clock.clearTimeout(timer);
        recheck?.();
      }
    });
  }

  function drain(): Promise<void> {
    if (drained) return drained;
    drainStartedMs = clock.now();
    log(`sidecar: draining (quiet period ${quietMs} ms, ${inFlight()} in flight)`);
    drained = new Promise<void>((resolve) => {
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      const check = () => {
        clock.clearTimeout(timer);
        const wait = drainWaitMs({ nowMs: clock.now(), drainStartedMs: drainStartedMs!, lastRequestMs, quietMs, inFlight: inFlight() });
        if (wait === 0) {
          recheck = undefined;
          log('sidecar: drained');
          resolve();
          return;
        }
        timer = clock.setTimeout(check, wait);
      };
      // A request ending may complete the drain before the next timer.
      recheck = () => {
        if (inFlight() === 0) check();
      };
      check();
    });
    return drained;
  }

  function onAdmin(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    res.shouldKeepAlive = false;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/wait-for-drain') {
      void drain().then(() => sendText(res, 200, 'drained'));
      return;
    }
    if (path === '/stats') {
      const body = JSON.stringify({ active: breaker ? breaker.active : unlimitedInFlight, queued: breaker?.queued ?? 0, draining: drainStartedMs !== undefined });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (path === '/healthz') return sendText(res, drainStartedMs === undefined ? 200 : 503, drainStartedMs === undefined ? 'ok' : 'shutting down');
    sendText(res, 404, 'not found');
  }

  const serving = http.createServer(onRequest);
  const admin = http.createServer(onAdmin);
  const listen = (s: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve((s.address() as AddressInfo).port));
    });
  const servingPort = await listen(serving, opts.servingPort ?? PLATFORM_DEFAULTS.sidecarServingPort);
  const adminPort = await listen(admin, opts.adminPort ?? PLATFORM_DEFAULTS.sidecarAdminPort).catch(async (e: unknown) => {
    serving.close();
    throw e;
  });
  log(`sidecar: serving on ${host}:${servingPort}, admin on ${host}:${adminPort}, user container on ${userHost}:${opts.userPort}, containerConcurrency ${cc}`);

  return {
    servingPort,
    adminPort,
    inFlight,
    draining: () => drainStartedMs !== undefined,
    drain,
    async close() {
      const closing = [serving, admin].map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
      serving.closeIdleConnections();
      admin.closeIdleConnections();
      void upstream.destroy();
      // Responses written just before close() (e.g. /wait-for-drain) get a moment to flush.
      const force = clock.setTimeout(() => {
        serving.closeAllConnections();
        admin.closeAllConnections();
      }, 1_000);
      await Promise.all(closing);
      clock.clearTimeout(force);
    },
  };
}
