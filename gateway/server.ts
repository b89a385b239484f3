import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, type Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { redactQuery } from '../core/redact.js';
import { ZenoError, errorBody, isZenoError } from '../core/errors.js';
import { DEFAULT_HTTP_LIMITS, absoluteTarget, answerOnSocket, clientErrorListener, serverOptions, type HttpLimits } from '../core/http-server.js';
import type { RevisionMetrics } from '../core/metrics.js';
import type { RevisionId } from '../core/types.js';
import type { Lease, RevisionThrottler } from '../activator/throttler.js';
import { RouteTable, parseFunctionPath, pickTarget, type Resolved } from './routes.js';
import { createLocalGateway, type LocalGateway } from './local.js';
import { LeanServer, type LeanRequest } from './lean.js';
import { Preconnector } from './preconnect.js';
import { downstreamFlatHeaders, downstreamRawHeaders, upstreamHeaders, upstreamRequestHead } from './proxy-headers.js';
import { UpstreamPool, type UpstreamCall, type UpstreamHandler } from './upstream.js';
import { SPAN_KIND, type Tracer } from './otel.js';
import { randomHex, traceIdOf } from './trace.js';
import {
  RequestTimeouts, accessLogEntry, admit, describeTimeout, finishRequest, leavePod, mayRetry, recordColdStart, tooLargeError, traceRequest, type TimeoutKind,
} from './request-rules.js';

/** Per-request concurrency accounting that feeds the autoscaler. */
export interface StatsSink {
  begin(nowMs: number): void;
  end(nowMs: number): void;
}

/** What the gateway needs to know about a routable revision. */
export interface RevisionHandle {
  throttler: RevisionThrottler;
  stats: StatsSink;
  /** The revision's timeoutSeconds, in ms: bounds queueing plus the whole response. */
  timeoutMs: number;
  /** responseStartTimeoutSeconds in ms: until the response head; 0 = only timeoutMs. */
  responseStartTimeoutMs?: number;
  /** idleTimeoutSeconds in ms: between response writes; 0 = none. */
  idleTimeoutMs?: number;
  /**
   * Set while the revision cannot start (its pods crash or fail to start):
   * with no ready pod, requests fail at once with this error instead of
   * waiting for a timeout. Cleared when a pod becomes ready.
   */
  failure?: ZenoError | undefined;
  /** A pod of this revision became ready since it last left zero. */
  startedOnce?: boolean;
  /** The revision's pre-bound request counters (core/metrics.ts). */
  metrics?: RevisionMetrics;
}

/** One line of the access log (`zeno up --access-log`), written when the response ends. */
export interface AccessLogEntry {
  time: string;
  /** The client's X-Request-Id, else a generated one (also sent to the function). */
  requestId: string;
  /** From the traceparent the function received (the client's, or a generated one). */
  traceId: string | undefined;
  method: string | undefined;
  host: string | undefined;
  path: string;
  status: number;
  durationMs: number;
  /** `namespace/revision` the request was routed to; undefined when unrouted. */
  revision: string | undefined;
  /** Set when the request waited for a pod to start (a cold start), in ms. */
  coldStartMs?: number;
  /** The ZENO_ERR_* code when the platform answered with an error. */
  error?: string;
}

/**
 * An access-log sink writing one JSON line per request, with query
 * parameters named like credentials hidden (core/redact.ts): what
 * `zeno up --access-log` gives every gateway, the control plane's and a
 * data-plane replica's.
 */
export function jsonAccessLog(write: (line: string) => void): (entry: AccessLogEntry) => void {
  return (entry) => write(JSON.stringify({ ...entry, path: redactQuery(entry.path) }));
}

/** Per-request facts collected for the access log; only allocated when it is on. */
interface RequestNotes {
  requestId: string;
  traceId: string | undefined;
  revision: string | undefined;
  coldStartMs: number | undefined;
  error: string | undefined;
}

export { neverReachedPod, tooLargeError } from './request-rules.js';

export interface GatewayDeps {
  clock: Clock;
  routes: RouteTable;
  revision(id: RevisionId): RevisionHandle | undefined;
  maxBodyBytes: number;
  random?: () => number;
  /** Receives one entry per request when set (opt-in: it costs an allocation per request). */
  accessLog?: (entry: AccessLogEntry) => void;
  /** Header size and connection timeouts (default core/http-server.ts DEFAULT_HTTP_LIMITS). */
  http?: HttpLimits;
  /** OpenTelemetry spans (gateway/otel.ts); absent unless OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracer?: Tracer;
  /** Connections the own client keeps busy to one pod for in-process requests (default PLATFORM_DEFAULTS.ownClientMaxConnectionsPerPod). */
  maxOwnConnections?: number;
  /** Serve the warm path's plain requests on the lean server (gateway/lean.ts; default PLATFORM_DEFAULTS.gatewayLeanServer). */
  leanServer?: boolean;
}

/**
 * What was decided for a request before it reached handle(): by the lean
 * server, its route, revision and pod slot (it is served lean); for a
 * request the lean server handed to Node's server after routing it, its
 * route alone, so that a traffic split is not drawn twice.
 */
interface Decided {
  target: { rev: RevisionId; path: string };
  rev?: RevisionHandle;
  lease?: Lease;
}

/** On a socket the lean server handed over: the route of its first request (see Decided). */
const kDecided = Symbol('zeno.gateway.decided');
type DecidedSocket = Socket & { [kDecided]?: Decided | undefined };

/**
 * A platform endpoint served on the gateway port beside the functions
 * (broker ingress, async calls, metrics). It sees the raw request; the
 * gateway has not read the body.
 */
export type MountHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface Gateway {
  server: http.Server;
  /**
   * Serves every path starting with `prefix` (e.g. "/async-function/") with
   * `handler`, unless the request's Host names a function: a function's own
   * paths always win on its host. The longest matching prefix wins.
   */
  mount(prefix: string, handler: MountHandler): void;
  listen(port: number, host: string): Promise<number>;
  /**
   * Opens a connection to a pod that listens but is not ready yet, for its
   * first request to use (gateway/preconnect.ts). Sends nothing. With
   * `untilTaken`, a warm process of the pool: kept until a request takes it.
   */
  preconnect(url: string, opts?: { untilTaken?: boolean }): void;
  /** Stops accepting, waits for in-flight requests (up to graceMs), then closes. */
  close(graceMs?: number): Promise<void>;
  /** The same routing to functions, called in process (gateway/local.ts): the platform's own deliveries. */
  local: LocalGateway;
  /** The lean server's counts (gateway/lean.ts); undefined when it is off. */
  leanStats(): { open: number; served: number; handedOver: number } | undefined;
}

export function sendError(res: ServerResponse, err: ZenoError): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = JSON.stringify(errorBody(err));
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  res.writeHead(err.statusCode, headers);
  res.end(body);
}

/** Counts request-body bytes and fails the stream past the limit (chunked uploads). */
function limitBody(src: IncomingMessage, max: number, onExceeded: () => void): Readable {
  let seen = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) {
        onExceeded();
        cb(new ZenoError('ZENO_ERR_BODY_TOO_LARGE'));
        return;
      }
      cb(null, chunk);
    },
  });
  src.on('error', (e) => t.destroy(e));
  return src.pipe(t);
}

/**
 * The data-plane entry: Host or /function/ routing, traffic split, admission
 * through the revision's throttler (which is the activator when no pod has
 * room) and a streaming proxy on undici.
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const { clock, routes, tracer } = deps;
  const random = deps.random ?? Math.random;
  // One keep-alive pool per pod origin; pods come and go, idle pools are reaped.
  const pre = new Preconnector(clock);
  const agent = new Agent({
    connect: pre.connector,
    keepAliveTimeout: 30_000,
    connections: 256,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  // The warm path's own client (gateway/upstream.ts): bodiless GET and HEAD
  // proxied to ready pods, and the platform's in-process requests (local.ts).
  const pool = new UpstreamPool(clock, (host, port) => pre.take(host, port));

  const resolve = (req: IncomingMessage): { rev: RevisionId; path: string } | ZenoError => {
    const url = req.url ?? '/';
    let resolved: Resolved | undefined;
    let path = url;
    if (url.startsWith('/function/')) {
      const fp = parseFunctionPath(url);
      const entry = fp && routes.lookupName(fp.namespace, fp.name);
      if (!fp || !entry) return new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', `function ${fp ? `${fp.name}.${fp.namespace}` : url} not found`);
      resolved = { entry };
      path = fp.path;
    } else {
      resolved = routes.lookupHost(req.headers.host);
      if (!resolved) return new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', `no function is routed at host ${JSON.stringify(req.headers.host ?? '')}`);
    }
    const tag = req.headers['knative-serving-tag'];
    const rev =
      resolved.revision ??
      RouteTable.tagged(resolved.entry, typeof tag === 'string' ? tag : undefined) ??
      pickTarget(resolved.entry.targets, random());
    if (!rev) return new ZenoError('ZENO_ERR_NO_READY_REVISION', `service ${resolved.entry.service} has no ready revision yet`);
    return { rev, path };
  };

  const mounts: { prefix: string; handler: MountHandler }[] = [];
  const mountFor = (url: string): MountHandler | undefined => mounts.find((m) => url.startsWith(m.prefix))?.handler;

  let inFlight = 0;
  let closing = false;
  let idleWaiter: (() => void) | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse, notes: RequestNotes | undefined, decided: Decided | undefined): Promise<void> => {
    let target: { rev: RevisionId; path: string };
    let handleRev: RevisionHandle;
    let firstLease: Lease | undefined;
    if (decided?.rev !== undefined) {
      // Served lean: the checks below passed in leanRoute().
      target = decided.target;
      handleRev = decided.rev;
      firstLease = decided.lease;
      if (notes) notes.revision = target.rev;
    } else {
      // Only origin-form targets route: an absolute-form one is read as its
      // path plus its authority as Host (RFC 9112 §3.2.2), so it reaches
      // nothing but the routes a Host could (the gateway is no forward proxy).
      if (req.url?.charCodeAt(0) !== 47) {
        const t = absoluteTarget(req.url ?? '');
        if (!t) return refuseBody(req, res, clock, deps.maxBodyBytes, new ZenoError('ZENO_ERR_BAD_REQUEST', `request target ${JSON.stringify((req.url ?? '').slice(0, 100))} is neither a path nor an absolute http URL`), notes);
        req.url = t.path;
        req.headers.host = t.host;
      } else if (req.headers.host === undefined && req.httpVersionMinor === 1) {
        // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without Host.
        return refuseBody(req, res, clock, deps.maxBodyBytes, new ZenoError('ZENO_ERR_BAD_REQUEST', 'an HTTP/1.1 request needs a Host header'), notes);
      }
      const url = req.url ?? '/';
      // The platform's own /healthz, unless the Host names a function: a
      // function's /healthz must stay reachable through its own host.
      if (url === '/healthz' && !routes.lookupHost(req.headers.host)) {
        res.writeHead(closing ? 503 : 200, { 'content-type': 'text/plain' });
        res.end(closing ? 'shutting down' : 'ok');
        return;
      }
      if (closing) return sendError(res, new ZenoError('ZENO_ERR_SHUTTING_DOWN', undefined, { retryAfter: 1 }));

      const mounted = mounts.length ? mountFor(url) : undefined;
      if (mounted && !routes.lookupHost(req.headers.host)) return mounted(req, res);

      const resolved = decided?.target ?? resolve(req);
      if (resolved instanceof ZenoError) return refuseBody(req, res, clock, deps.maxBodyBytes, resolved, notes);
      target = resolved;
      if (notes) notes.revision = target.rev;
      const admitted = admit(deps.revision(target.rev), target.rev, req.headers['content-length'], deps.maxBodyBytes);
      if (admitted instanceof ZenoError) return refuseBody(req, res, clock, deps.maxBodyBytes, admitted, notes);
      handleRev = admitted;
    }
    const cl = req.headers['content-length'];
    const { traceparent, traceId, span } = traceRequest(tracer, req.headers.traceparent, notes !== undefined, {
      rev: target.rev, method: req.method ?? '', path: target.path, host: req.headers.host ?? '',
    });
    if (notes) notes.traceId = traceId;
    /** The status the request ends with when the platform answers it after a failure. */
    let failedStatus = 0;
    let failedCode: string | undefined;
    /** Which of the revision's timeouts passed (described only if one does). */
    let timedOut: TimeoutKind | undefined;
    let tooLarge = false;
    let lease: Lease | undefined;
    /** Whether the body went upstream; before that, errors drain it first. */
    let bodyUsed = false;
    /** Set once the request must stop (timeout or client gone). */
    let stopped: Error | undefined;
    let cancelWait: AbortController | undefined;
    let upstream: Forwarding | undefined;
    const stop = (e: Error) => {
      stopped ??= e;
      cancelWait?.abort(e);
      upstream?.abort(e);
    };
    const expire = (kind: TimeoutKind) => {
      timedOut = kind;
      stop(new ZenoError('ZENO_ERR_REQUEST_TIMEOUT'));
    };
    const startedMs = clock.now();
    handleRev.stats.begin(startedMs);
    const timeouts = new RequestTimeouts(clock, handleRev, expire);
    const hooks: ForwardHooks | undefined = timeouts.watching ? timeouts : undefined;
    // The client going away cancels the upstream call and frees the slot.
    const onClose = () => {
      if (!res.writableFinished) stop(new Error('client closed the connection'));
    };
    res.on('close', onClose);
    try {
      const hasBody = cl !== undefined ? Number(cl) > 0 : req.headers['transfer-encoding'] !== undefined;
      // Built lazily and once: a retry reuses the same (still unread) body
      // stream instead of piping the request into a second one.
      let body: Readable | null | undefined;
      // A cold request that got an early pod (docs/functions.md) waits in that
      // pod for its handler: its cold start ends with the response head.
      let coldSince: number | undefined;
      let coldDone = false;
      const recordCold = (since: number) => {
        coldDone = true;
        const waited = clock.now() - since;
        recordColdStart(handleRev, waited, span);
        if (notes) notes.coldStartMs = waited;
      };
      let headHooks: ForwardHooks | undefined;
      for (let attempt = 1; ; attempt++) {
        // Fast path (serve mode): a slot at once, no allocation for cancelling a wait.
        lease = firstLease ?? handleRev.throttler.tryAcquire();
        firstLease = undefined;
        if (lease) {
          if (!coldDone && lease.onEarlyPod()) coldSince ??= startedMs;
        } else {
          cancelWait ??= new AbortController();
          // A cold start, as the caller feels it: no pod at all was routable,
          // so the request waits until one passes readiness (docs/metrics.md).
          const cold = !handleRev.throttler.hasBackends();
          const queuedMs = cold ? clock.now() : 0;
          const waitSpan = span ? tracer!.start('activator wait', SPAN_KIND.internal, traceparent, { 'zeno.cold_start': cold }) : undefined;
          try {
            lease = await handleRev.throttler.acquire(handleRev.timeoutMs, cancelWait.signal);
          } finally {
            waitSpan?.end(lease ? undefined : 'no pod in time');
          }
          if (cold && !stopped && !coldDone) {
            const since = coldSince ?? queuedMs;
            if (lease.onEarlyPod()) coldSince = since;
            else recordCold(since);
          }
        }
        if (stopped) throw stopped;

        bodyUsed = true;
        body ??= !hasBody
          ? null
          : cl !== undefined
            ? req
            : limitBody(req, deps.maxBodyBytes, () => {
                tooLarge = true;
              });
        const callHooks = coldSince !== undefined && !coldDone ? (headHooks ??= {
          started: () => {
            timeouts.started();
            if (!coldDone && coldSince !== undefined) recordCold(coldSince);
          },
          wrote: () => timeouts.wrote(),
        }) : hooks;
        const method = req.method;
        const fwd = { remoteAddress: req.socket.remoteAddress, proto: 'http' } as const;
        if (body === null && (method === 'GET' || method === 'HEAD') && !lease.onEarlyPod()) {
          const head = upstreamRequestHead(method, target.path, req.headers, fwd, traceparent, notes?.requestId);
          upstream = new FastCall(pool, lease.backend.url, method, head, res, callHooks);
        } else {
          const headers = upstreamHeaders(req.headers, fwd);
          if (traceparent) headers.traceparent = traceparent;
          if (notes && !req.headers['x-request-id']) headers['x-request-id'] = notes.requestId;
          upstream = forward(agent, { origin: lease.backend.url, path: target.path, method: method as 'GET', headers, body }, res, callHooks);
        }
        try {
          await upstream.done;
          break;
        } catch (err) {
          // Better than Knative's activator (502, no retry): a request that
          // never reached the pod goes to another one.
          // An early pod (not ready, holding requests until its handler is
          // loaded) that failed the request before answering never ran it:
          // such a pod that cannot load its handler exits without serving.
          if (!mayRetry({ attempt, err, stopped: stopped !== undefined, answered: res.headersSent, bodyRead: req.readableDidRead, earlyPod: lease.onEarlyPod() })) throw err;
          const failure = leavePod(handleRev, lease);
          lease = undefined;
          if (failure) throw failure;
        }
      }
    } catch (err) {
      if (tooLarge) {
        const e = tooLargeError(deps.maxBodyBytes);
        failedStatus = e.statusCode;
        failedCode = e.code;
        refuseBody(req, res, clock, deps.maxBodyBytes, e, notes);
      } else if (timedOut || isZenoError(err)) {
        const e = timedOut ? new ZenoError('ZENO_ERR_REQUEST_TIMEOUT', `request timeout: ${describeTimeout(timedOut, handleRev)} passed`) : (err as ZenoError);
        failedStatus = e.statusCode;
        failedCode = e.code;
        if (notes) notes.error = e.code;
        if (bodyUsed) sendError(res, e);
        else refuseBody(req, res, clock, deps.maxBodyBytes, e, notes);
      } else if (!res.destroyed && !stopped) {
        const msg = err instanceof Error ? err.message : String(err);
        failedCode = 'ZENO_ERR_UPSTREAM_FAILED';
        if (notes) notes.error = failedCode;
        sendError(res, new ZenoError('ZENO_ERR_UPSTREAM_FAILED', `error forwarding to the function: ${msg}`));
      } else {
        res.destroy();
      }
    } finally {
      timeouts.clear();
      res.off('close', onClose);
      lease?.release();
      // A client that hung up before the head has no status: Knative counts that as 5xx.
      finishRequest(handleRev, startedMs, clock.now(), res.headersSent ? res.statusCode : failedStatus, failedCode, span);
    }
  };

  const done = () => {
    inFlight--;
    if (inFlight === 0) idleWaiter?.();
  };
  const accessLog = deps.accessLog;
  const logRequest = (req: IncomingMessage, res: ServerResponse, notes: RequestNotes, startedMs: number): void => {
    const now = clock.now();
    accessLog!(accessLogEntry({
      endedMs: now,
      requestId: notes.requestId,
      traceId: notes.traceId ?? traceIdOf(req.headers.traceparent),
      method: req.method,
      host: req.headers.host,
      path: req.url ?? '/',
      status: res.headersSent ? res.statusCode : 0,
      durationMs: now - startedMs,
      revision: notes.revision,
      coldStartMs: notes.coldStartMs,
      error: notes.error,
    }));
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse, decided: Decided | undefined): void => {
    inFlight++;
    let notes: RequestNotes | undefined;
    if (accessLog) {
      const rid = req.headers['x-request-id'];
      notes = { requestId: typeof rid === 'string' && rid ? rid : randomHex(16), traceId: undefined, revision: undefined, coldStartMs: undefined, error: undefined };
      const startedMs = clock.now();
      const n = notes;
      res.once('close', () => logRequest(req, res, n, startedMs));
    }
    handle(req, res, notes, decided).then(done, (err: unknown) => {
      try {
        sendError(res, isZenoError(err) ? err : new ZenoError('ZENO_ERR_INTERNAL', String(err)));
      } finally {
        done();
      }
    });
  };
  const limits = deps.http ?? DEFAULT_HTTP_LIMITS;
  const server = http.createServer(serverOptions(limits), (req, res) => {
    const socket = req.socket as DecidedSocket;
    const decided = socket[kDecided];
    if (decided !== undefined) socket[kDecided] = undefined;
    onRequest(req, res, decided);
  });
  // Expect: 100-continue: refuse an oversized upload before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const cl = req.headers['content-length'];
    if (cl !== undefined && Number(cl) > deps.maxBodyBytes) {
      res.setHeader('connection', 'close');
      return sendError(res, tooLargeError(deps.maxBodyBytes, cl));
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  // Any other expectation is ignored (RFC 9110 §10.1.1 lets a server answer
  // 417 or not): the request is served as if it had none, instead of Node's bodiless 417.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    server.emit('request', req, res);
  });
  // Malformed framing (bad chunks, Content-Length with Transfer-Encoding),
  // oversized heads and slow clients: a JSON error, then the connection closes.
  server.on('clientError', clientErrorListener(clock));
  // CONNECT asks for a tunnel: the gateway only serves its own routes.
  server.on('connect', (_req: IncomingMessage, socket: import('node:stream').Duplex) => {
    socket.on('error', () => socket.destroy());
    answerOnSocket(socket, clock, 405, 'Method Not Allowed', new ZenoError('ZENO_ERR_METHOD_NOT_ALLOWED', 'the gateway is not a forward proxy: CONNECT is not served'));
  });

  /**
   * Whether the lean server serves this request (gateway/lean.ts): it must
   * reach a function, whose revision has a ready pod free now that the own
   * client would be sent to (a request that waits, or goes to an early
   * pod, is Node's server's). Has no effect on a request it declines, except
   * that a route once drawn goes with it (kDecided).
   */
  const leanRoute = (req: LeanRequest): Decided | undefined => {
    if (closing) return undefined;
    const url = req.url;
    if ((url === '/healthz' || (mounts.length && mountFor(url))) && !routes.lookupHost(req.headers.host)) return undefined;
    const target = resolve(req as unknown as IncomingMessage);
    if (target instanceof ZenoError) return undefined;
    const decline = (): undefined => {
      (req.socket as DecidedSocket)[kDecided] = { target };
      return undefined;
    };
    const rev = deps.revision(target.rev);
    // As admit(), without recording a refusal (Node's server will).
    if (!rev || (rev.failure && !rev.throttler.hasBackends())) return decline();
    const lease = rev.throttler.tryAcquire();
    if (!lease) return decline();
    if (lease.onEarlyPod()) {
      lease.release();
      return decline();
    }
    return { target, rev, lease };
  };
  let lean: LeanServer<Decided> | undefined;
  if (deps.leanServer ?? PLATFORM_DEFAULTS.gatewayLeanServer) {
    // The listening socket's connections start lean; Node's own listener gets those handed over.
    const nodeConnection = server.listeners('connection')[0] as (socket: Socket) => void;
    server.removeListener('connection', nodeConnection);
    lean = new LeanServer<Decided>(server, {
      route: leanRoute,
      serve: (req, res, decided) => onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse, decided),
    }, clock, limits, nodeConnection);
    server.on('connection', lean.accept);
  }

  const local = createLocalGateway({
    clock,
    routes,
    resolve: (path, headers) => resolve({ url: path, headers } as IncomingMessage),
    revision: deps.revision,
    agent,
    pool,
    maxOwnConnections: deps.maxOwnConnections ?? PLATFORM_DEFAULTS.ownClientMaxConnectionsPerPod,
    maxBodyBytes: deps.maxBodyBytes,
    closing: () => closing,
    accessLog: deps.accessLog,
    tracer,
  });

  return {
    server,
    local,
    leanStats: () => (lean ? { open: lean.size, served: lean.served, handedOver: lean.handedOver } : undefined),
    preconnect(url, opts) {
      if (!closing) pre.open(url, opts);
    },
    mount(prefix, handler) {
      if (!prefix.startsWith('/') || prefix.startsWith('/function/')) throw new Error(`cannot mount ${JSON.stringify(prefix)} on the gateway`);
      mounts.push({ prefix, handler });
      mounts.sort((a, b) => b.prefix.length - a.prefix.length);
    },
    listen(port, host) {
      return new Promise((resolveListen, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const addr = server.address();
          resolveListen(typeof addr === 'object' && addr ? addr.port : port);
        });
      });
    },
    async close(graceMs = 10_000) {
      closing = true;
      server.close();
      server.closeIdleConnections();
      lean?.stop();
      if (inFlight > 0) {
        await new Promise<void>((r) => {
          idleWaiter = r;
          const t = setTimeout(r, graceMs);
          t.unref();
        });
      }
      server.closeAllConnections();
      lean?.closeAll();
      pre.close();
      pool.close();
      await agent.close().catch(() => undefined);
    },
  };
}

interface ForwardHooks {
  /** The response head arrived. */
  started?: (() => void) | undefined;
  /** A piece of the response was written. */
  wrote?: (() => void) | undefined;
}

interface Forwarding {
  /** Settles when the response has been written to the client, or failed. */
  done: Promise<void>;
  abort(reason: Error): void;
}

abstract class ResponseRelay implements Forwarding {
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (e: Error) => void;

  constructor(
    protected readonly res: ServerResponse,
    private readonly hooks: ForwardHooks | undefined,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  abstract abort(reason: Error): void;
  /** Reads on from the pod after backpressure. */
  protected abstract resumeUpstream(): void;

  protected head(statusCode: number, headers: string[]): void {
    this.hooks?.started?.();
    const res = this.res;
    // Not sent yet: Node sends the head with the first body write, corks the
    // socket until the next tick on that write, and flushes on end(), so head,
    // body and end of a response read at once leave in one writev (strace:
    // one writev and one write per proxied request). Corking here too only
    // added a nextTick per request. A FastCall whose body came whole with
    // its head skips that cork: end(last) writes head and body in one call.
    res.writeHead(statusCode, headers);
  }

  /** A piece of the body; false when the client is slow (resumeUpstream follows on drain). */
  protected data(chunk: Buffer): boolean {
    this.hooks?.wrote?.();
    if (this.res.write(chunk)) return true;
    this.res.once('drain', () => this.resumeUpstream());
    return false;
  }

  /** The response is complete; `last`, its final piece, goes out with the end (no separate write). */
  protected end(last?: Buffer): void {
    if (last) {
      this.hooks?.wrote?.();
      this.res.end(last);
    } else {
      this.res.end();
    }
    this.resolve();
  }

  protected fail(err: Error): void {
    this.reject(err);
  }
}

/**
 * One upstream call on undici's dispatch API. Cheaper than request() + a
 * body stream + an AbortController per request, which the bench showed
 * costs about a third of the gateway's throughput.
 *
 * It implements undici's older handler methods (onConnect, onHeaders, onData,
 * onComplete, onError), which undici 7 still calls natively: a handler with
 * the newer ones (onRequestStart, onResponseStart, …) is wrapped per request
 * in an adapter and a controller, and its response head is parsed into an
 * object that we only turn back into a list for writeHead.
 */
class ForwardCall extends ResponseRelay implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err?: Error) => void) | undefined;
  private resume: (() => void) | undefined;
  private early: Error | undefined;

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.early) abort(this.early);
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void): boolean {
    // 1xx interim answers are not forwarded; the gateway answered Expect itself.
    if (statusCode < 200) return true;
    this.resume = resume;
    this.head(statusCode, downstreamRawHeaders(raw));
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.data(chunk);
  }

  onComplete(): void {
    this.end();
  }

  onError(err: Error): void {
    this.fail(err);
  }

  protected resumeUpstream(): void {
    this.resume?.();
  }

  abort(reason: Error): void {
    if (this.abortUpstream) this.abortUpstream(reason);
    else this.early = reason;
  }
}

/** The warm path's call, on the gateway's own client (gateway/upstream.ts). */
class FastCall extends ResponseRelay implements UpstreamHandler {
  private readonly call: UpstreamCall;
  /** A body read whole leaves with res.end(body): no separate write, and no cork until the next tick. */
  readonly lastWithEnd = true;

  constructor(pool: UpstreamPool, origin: string, method: 'GET' | 'HEAD', head: string, res: ServerResponse, hooks: ForwardHooks | undefined) {
    super(res, hooks);
    this.call = pool.request(origin, method, head, this);
  }

  onHead(statusCode: number, headers: string[]): void {
    this.head(statusCode, downstreamFlatHeaders(headers));
  }

  onData(chunk: Buffer): boolean {
    return this.data(chunk);
  }

  onEnd(last?: Buffer): void {
    this.end(last);
  }

  onError(err: Error): void {
    this.fail(err);
  }

  protected resumeUpstream(): void {
    this.call.resume();
  }

  abort(reason: Error): void {
    this.call.abort(reason);
  }
}

function forward(agent: Dispatcher, opts: Dispatcher.DispatchOptions, res: ServerResponse, hooks?: ForwardHooks): Forwarding {
  const call = new ForwardCall(res, hooks);
  try {
    agent.dispatch(opts, call);
  } catch (e) {
    call.onError(e as Error);
  }
  return call;
}

/** How long a refused upload may keep sending before we hang up. */
const REFUSED_BODY_GRACE_MS = 10_000;

/**
 * Answers an error for a request whose body we will not forward, after
 * reading and dropping the rest of that body: most clients read the response
 * only once they have sent everything, and would see EPIPE instead of our
 * 413. A client that sends more than twice `cap`, or for longer than
 * REFUSED_BODY_GRACE_MS, loses the connection instead.
 */
export function refuseBody(req: IncomingMessage, res: ServerResponse, clock: Clock, cap: number, err: ZenoError, notes?: RequestNotes): void {
  if (notes) notes.error = err.code;
  if (req.complete) return sendError(res, err);
  let dropped = 0;
  const timer = clock.setTimeout(() => req.socket.destroy(), REFUSED_BODY_GRACE_MS);
  req.unpipe();
  req.removeAllListeners('data');
  req.on('data', (c: Buffer) => {
    dropped += c.length;
    if (dropped > 2 * cap) req.socket.destroy();
  });
  req.once('end', () => {
    clock.clearTimeout(timer);
    sendError(res, err);
  });
  req.once('close', () => clock.clearTimeout(timer));
  req.resume();
}
