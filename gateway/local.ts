/**
 * The gateway called in process: the platform's own requests to functions
 * (event deliveries to a Trigger's `ref` subscriber) take the same path as a
 * request on the gateway port — route (`/function/NAME.NS/…` or Host, tags,
 * traffic split) → the revision's throttler (scale from zero, the activator
 * queue, containerConcurrency) → a pod — without the loopback HTTP hop into
 * our own port. That hop cost the dispatcher an HTTP client request and the
 * gateway an HTTP server request per delivery, about a third of the
 * platform's CPU per event in bench/events.ts.
 *
 * What stays the same as a request on the port (gateway/server.ts handle()):
 * the route resolution, 404/503 when nothing is routable, the revision's
 * failure answer, the body limit (413), the W3C traceparent (kept when
 * valid, else a new one), autoscaler concurrency (stats.begin/end), the
 * request metrics and cold-start metric, the revision's timeoutSeconds,
 * responseStartTimeoutSeconds and idleTimeoutSeconds (504), Forwarded /
 * X-Forwarded-* headers (remote address 127.0.0.1), one more pod when a pod
 * refused the connection, the access log line, the OpenTelemetry SERVER
 * span and activator-wait span, and every error answered as
 * the same status with the same JSON body `{statusCode, code, error,
 * message}` (and Retry-After). The caller sees the function's response head,
 * body and end through undici's DispatchHandler, as it would over HTTP;
 * response headers are the function's (hop-by-hop ones included: the caller
 * reads no connection headers).
 *
 * Only requests that would reach a function go this way
 * (`routesToFunction`): platform endpoints on the gateway port (a Broker's
 * or Channel's ingress, /async-function/) keep going over HTTP.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Lease } from '../activator/throttler.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ZenoError, errorBody, isZenoError } from '../core/errors.js';
import type { RevisionId } from '../core/types.js';
import { SPAN_KIND, type Span, type Tracer } from './otel.js';
import { upstreamHeaders } from './proxy-headers.js';
import type { RouteTable } from './routes.js';
import { neverReachedPod, tooLargeError, type AccessLogEntry, type RevisionHandle } from './server.js';
import { newTraceparent, randomHex, traceIdOf } from './trace.js';

export interface LocalGatewayDeps {
  clock: Clock;
  routes: RouteTable;
  /** The gateway's own route resolution (server.ts), for a path and request headers. */
  resolve(path: string, headers: IncomingHttpHeaders): { rev: RevisionId; path: string } | ZenoError;
  revision(id: RevisionId): RevisionHandle | undefined;
  /** The gateway's pod connection pool. */
  agent: Dispatcher;
  maxBodyBytes: number;
  closing(): boolean;
  accessLog?: ((entry: AccessLogEntry) => void) | undefined;
  /** OpenTelemetry spans, as the gateway records them for a request on the port. */
  tracer?: Tracer | undefined;
}

/** One in-process request: like undici's DispatchOptions, with the whole body in memory. */
export interface LocalRequest {
  /** Path and query, e.g. `/function/hello.default/x?y=1`. */
  path: string;
  method: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body?: Buffer | null | undefined;
}

export interface LocalGateway {
  /** Whether the gateway routes this path and Host to a function (not to one of its own endpoints). */
  routesToFunction(path: string, host: string | undefined): boolean;
  /** Serves one request in process; the handler gets the answer as undici's dispatch API gives it. */
  dispatch(req: LocalRequest, handler: Dispatcher.DispatchHandler): void;
}

/** Attempts for a request that never reached a pod (as server.ts). */
const MAX_ATTEMPTS = 3;
/** How long a pod that refused a connection stays out of the rotation (as server.ts). */
const UNREACHABLE_PAUSE_MS = 1_000;

/** A caller-facing controller: abort, and backpressure passed on to the pod's connection. */
class LocalController implements Dispatcher.DispatchController {
  reason: Error | null = null;
  paused = false;
  upstream: Dispatcher.DispatchController | undefined;
  constructor(private readonly onAbort: (reason: Error) => void) {}
  get aborted(): boolean {
    return this.reason !== null;
  }
  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.onAbort(reason);
  }
  pause(): void {
    this.paused = true;
    this.upstream?.pause();
  }
  resume(): void {
    this.paused = false;
    this.upstream?.resume();
  }
}

export function createLocalGateway(deps: LocalGatewayDeps): LocalGateway {
  const { clock, routes } = deps;

  return {
    routesToFunction(path, host) {
      return path.startsWith('/function/') || routes.lookupHost(host) !== undefined;
    },

    dispatch(req, handler) {
      void serve(req, handler);
    },
  };

  async function serve(req: LocalRequest, handler: Dispatcher.DispatchHandler): Promise<void> {
    const startedMs = clock.now();
    const headers = req.headers as IncomingHttpHeaders;
    const bodyBytes = req.body?.length ?? 0;
    let revision: string | undefined;
    let handleRev: RevisionHandle | undefined;
    let coldStartMs: number | undefined;
    let errorCode: string | undefined;
    let status = 0;
    let ended = false;
    /** The caller has the response head: a failure from now on is an error, not an answer. */
    let headSent = false;
    let lease: Lease | undefined;
    let stopped: Error | undefined;
    let cancelWait: AbortController | undefined;
    let timedOut: string | undefined;
    let span: Span | undefined;
    const timers: (TimerHandle | undefined)[] = [];

    const controller = new LocalController((reason) => stop(reason));
    const stop = (e: Error): void => {
      stopped ??= e;
      cancelWait?.abort(e);
      controller.upstream?.abort(e);
    };

    const finish = (): void => {
      if (ended) return;
      ended = true;
      for (const t of timers) clock.clearTimeout(t);
      lease?.release();
      lease = undefined;
      const endedMs = clock.now();
      if (handleRev) {
        handleRev.stats.end(endedMs);
        handleRev.metrics?.record(status, endedMs - startedMs, errorCode);
      }
      if (span) {
        span.set('http.response.status_code', status);
        span.end(status >= 500 || status === 0 ? (errorCode ?? `HTTP ${status}`) : undefined);
      }
      if (deps.accessLog) {
        const entry: AccessLogEntry = {
          time: new Date(endedMs).toISOString(),
          requestId: typeof headers['x-request-id'] === 'string' ? headers['x-request-id'] : (requestId ?? ''),
          traceId: traceId ?? traceIdOf(headers.traceparent),
          method: req.method,
          host: headers.host,
          path: req.path,
          status,
          durationMs: endedMs - startedMs,
          revision,
        };
        if (coldStartMs !== undefined) entry.coldStartMs = coldStartMs;
        if (errorCode !== undefined) entry.error = errorCode;
        deps.accessLog(entry);
      }
    };

    /** The platform's answer, shaped as sendError() writes it. */
    const answer = (err: ZenoError): void => {
      status = err.statusCode;
      errorCode = err.code;
      finish();
      if (controller.aborted) return handler.onResponseError?.(controller, controller.reason!);
      const body = Buffer.from(JSON.stringify(errorBody(err)), 'utf8');
      const h: IncomingHttpHeaders = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };
      if (err.retryAfter !== undefined) h['retry-after'] = String(err.retryAfter);
      handler.onResponseStart?.(controller, err.statusCode, h, '');
      if (!controller.aborted) handler.onResponseData?.(controller, body);
      if (!controller.aborted) handler.onResponseEnd?.(controller, {});
    };

    const requestId = deps.accessLog && typeof headers['x-request-id'] !== 'string' ? randomHex(16) : undefined;
    let traceId: string | undefined;
    handler.onRequestStart?.(controller, {});
    if (controller.aborted) return;
    if (deps.closing()) return answer(new ZenoError('ZENO_ERR_SHUTTING_DOWN', undefined, { retryAfter: 1 }));

    const target = deps.resolve(req.path, headers);
    if (target instanceof ZenoError) return answer(target);
    revision = target.rev;
    const rev = deps.revision(target.rev);
    if (!rev) return answer(new ZenoError('ZENO_ERR_NO_READY_REVISION', `revision ${target.rev} is not available`));
    // Refused before the request counts towards the revision: recorded with no duration, as server.ts does.
    if (bodyBytes > deps.maxBodyBytes) {
      const e = tooLargeError(deps.maxBodyBytes, String(bodyBytes));
      rev.metrics?.record(e.statusCode, 0, e.code);
      return answer(e);
    }
    if (rev.failure && !rev.throttler.hasBackends()) {
      rev.metrics?.record(rev.failure.statusCode, 0, rev.failure.code);
      return answer(rev.failure);
    }
    handleRev = rev;
    let traceparent: string | undefined;
    traceId = traceIdOf(headers.traceparent);
    if (deps.tracer) {
      span = deps.tracer.start(`gateway ${target.rev}`, SPAN_KIND.server, traceId ? (headers.traceparent as string) : undefined, {
        'http.request.method': req.method,
        'url.path': target.path,
        'server.address': headers.host ?? '',
        'zeno.revision': target.rev,
      });
      traceparent = span.traceparent();
      traceId = span.traceId;
    } else if (!traceId) {
      const t = newTraceparent();
      traceparent = t.header;
      traceId = t.traceId;
    }
    rev.stats.begin(startedMs);
    const expire = (what: string) => () => {
      timedOut = what;
      stop(new ZenoError('ZENO_ERR_REQUEST_TIMEOUT'));
    };
    timers.push(clock.setTimeout(expire(`timeoutSeconds (${rev.timeoutMs / 1000}s)`), rev.timeoutMs));
    const rs = rev.responseStartTimeoutMs ?? 0;
    const startTimer = rs > 0 && rs < rev.timeoutMs ? clock.setTimeout(expire(`responseStartTimeoutSeconds (${rs / 1000}s)`), rs) : undefined;
    timers.push(startTimer);
    const idle = rev.idleTimeoutMs ?? 0;
    let idleIndex = -1;
    if (idle > 0) {
      idleIndex = timers.length;
      timers.push(clock.setTimeout(expire(`idleTimeoutSeconds (${idle / 1000}s)`), idle));
    }

    const failed = (err: unknown): void => {
      if (ended) return;
      if (headSent) {
        // Mid-body: like a reset connection to an HTTP client.
        status = status || 502;
        finish();
        handler.onResponseError?.(controller, controller.reason ?? (err instanceof Error ? err : new Error(String(err))));
        return;
      }
      if (controller.aborted) {
        finish();
        handler.onResponseError?.(controller, controller.reason!);
        return;
      }
      if (timedOut || isZenoError(err)) {
        answer(timedOut ? new ZenoError('ZENO_ERR_REQUEST_TIMEOUT', `request timeout: ${timedOut} passed`) : (err as ZenoError));
        return;
      }
      const msg = err instanceof Error ? err.message : String(err);
      answer(new ZenoError('ZENO_ERR_UPSTREAM_FAILED', `error forwarding to the function: ${msg}`));
    };

    const up = upstreamHeaders(headers, { remoteAddress: '127.0.0.1', proto: 'http' });
    if (traceparent) up.traceparent = traceparent;
    if (requestId) up['x-request-id'] = requestId;

    for (let attempt = 1; ; attempt++) {
      try {
        const got = rev.throttler.tryAcquire();
        if (got) lease = got;
        else {
          cancelWait ??= new AbortController();
          const cold = !rev.throttler.hasBackends();
          const queuedMs = cold ? clock.now() : 0;
          const waitSpan = span ? deps.tracer!.start('activator wait', SPAN_KIND.internal, traceparent, { 'zeno.cold_start': cold }) : undefined;
          try {
            lease = await rev.throttler.acquire(rev.timeoutMs, cancelWait.signal);
          } finally {
            waitSpan?.end(lease ? undefined : 'no pod in time');
          }
          if (cold && !stopped) {
            coldStartMs = clock.now() - queuedMs;
            rev.metrics?.coldStart(coldStartMs);
            span?.set('zeno.cold_start_ms', coldStartMs);
          }
        }
        if (stopped) throw stopped;
      } catch (err) {
        return failed(err);
      }
      const backend = lease.backend;
      const outcome = await new Promise<'done' | Error>((settle) => {
        const upstream: Dispatcher.DispatchHandler = {
          onRequestStart(c) {
            controller.upstream = c;
            if (stopped) c.abort(stopped);
            else if (controller.paused) c.pause();
          },
          onResponseStart(_c, statusCode, h, statusMessage) {
            if (statusCode < 200) return;
            clock.clearTimeout(startTimer);
            status = statusCode;
            headSent = true;
            handler.onResponseStart?.(controller, statusCode, h, statusMessage);
          },
          onResponseData(_c, chunk) {
            if (idleIndex >= 0) {
              clock.clearTimeout(timers[idleIndex]);
              timers[idleIndex] = clock.setTimeout(expire(`idleTimeoutSeconds (${idle / 1000}s)`), idle);
            }
            handler.onResponseData?.(controller, chunk);
          },
          onResponseEnd(_c, trailers) {
            finish();
            handler.onResponseEnd?.(controller, trailers);
            settle('done');
          },
          onResponseError(_c, err) {
            settle(err);
          },
        };
        try {
          deps.agent.dispatch({ origin: backend.url, path: target.path, method: req.method as Dispatcher.HttpMethod, headers: up, body: req.body ?? null }, upstream);
        } catch (e) {
          settle(e as Error);
        }
      });
      controller.upstream = undefined;
      if (outcome === 'done') return;
      // Better than Knative's activator (502, no retry): a request that never
      // reached the pod goes to another one (the body is in memory).
      // An early pod (not ready yet, docs/functions.md) that failed before
      // answering never ran the request either.
      if (attempt < MAX_ATTEMPTS && !stopped && !headSent && (neverReachedPod(outcome) || lease.onEarlyPod())) {
        rev.throttler.pause(backend.id, UNREACHABLE_PAUSE_MS);
        lease.release();
        lease = undefined;
        // The revision failed meanwhile (the early pod could not load its handler): say why.
        if (rev.failure && !rev.throttler.hasBackends()) return failed(rev.failure);
        continue;
      }
      return failed(stopped ?? outcome);
    }
  }
}

/** undici's dispatch API, as much of it as a delivery needs (an Agent has it). */
export interface DispatchClient {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
}

/**
 * A client for the platform's own deliveries: a request to the gateway's
 * own origin that the gateway would route to a function is served in
 * process (`local`); anything else — another host, a Broker's or Channel's
 * ingress on the gateway port, a streamed body — goes over HTTP through
 * `fallback`. `selfOrigin` is read per request (the port is known only once
 * the gateway listens). Handlers must use undici's current handler API
 * (onRequestStart, onResponseStart, …), as the eventing dispatcher does.
 */
export function viaLocalGateway(local: LocalGateway, selfOrigin: () => string, fallback: DispatchClient): DispatchClient {
  let lastOrigin = '';
  let lastHost = '';
  const hostOf = (origin: string): string => {
    if (origin !== lastOrigin) {
      lastHost = new URL(origin).host;
      lastOrigin = origin;
    }
    return lastHost;
  };
  return {
    dispatch(opts, handler) {
      const origin = typeof opts.origin === 'string' ? opts.origin : opts.origin?.origin;
      const body = opts.body;
      const plain = opts.headers !== null && typeof opts.headers === 'object' && !Array.isArray(opts.headers) && !(Symbol.iterator in opts.headers);
      if (origin === undefined || origin !== selfOrigin() || !plain || !(body === undefined || body === null || body instanceof Uint8Array || typeof body === 'string')) {
        return fallback.dispatch(opts, handler);
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers as Record<string, string | string[] | undefined>)) {
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      }
      // What an HTTP client would have sent.
      headers.host ??= hostOf(origin);
      if (!local.routesToFunction(opts.path, headers.host)) return fallback.dispatch(opts, handler);
      const buf = body === undefined || body === null ? null : typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      local.dispatch({ path: opts.path, method: opts.method, headers, body: buf }, handler);
      return true;
    },
    close: () => fallback.close(),
  };
}
