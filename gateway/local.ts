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
 * What stays the same as a request on the port (gateway/server.ts handle();
 * the rules both follow live in gateway/request-rules.ts):
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
import type { Clock } from '../core/clock.js';
import { ZenoError, errorBody, isZenoError } from '../core/errors.js';
import type { RevisionId } from '../core/types.js';
import { SPAN_KIND, type Span, type Tracer } from './otel.js';
import { upstreamHeaders } from './proxy-headers.js';
import {
  RequestTimeouts, accessLogEntry, admit, describeTimeout, finishRequest, leavePod, mayRetry, recordColdStart, traceRequest, type TimeoutKind,
} from './request-rules.js';
import type { RouteTable } from './routes.js';
import type { AccessLogEntry, RevisionHandle } from './server.js';
import { randomHex, traceIdOf } from './trace.js';
import type { UpstreamCall, UpstreamHandler, UpstreamPool } from './upstream.js';

export interface LocalGatewayDeps {
  clock: Clock;
  routes: RouteTable;
  /** The gateway's own route resolution (server.ts), for a path and request headers. */
  resolve(path: string, headers: IncomingHttpHeaders): { rev: RevisionId; path: string } | ZenoError;
  revision(id: RevisionId): RevisionHandle | undefined;
  /** The gateway's pod connection pool (undici): early pods, and requests the own client cannot write. */
  agent: Dispatcher;
  /**
   * The gateway's own client (gateway/upstream.ts), for requests to ready
   * pods: a delivery is the hot path of every event, and undici's layers
   * cost more CPU per request than the rest of the in-process call.
   */
  pool?: UpstreamPool | undefined;
  /** Most connections `pool` keeps busy to one pod (PLATFORM_DEFAULTS.ownClientMaxConnectionsPerPod). */
  maxOwnConnections: number;
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

export function createLocalGateway(deps: LocalGatewayDeps): LocalGateway {
  const { routes } = deps;
  return {
    routesToFunction(path, host) {
      return path.startsWith('/function/') || routes.lookupHost(host) !== undefined;
    },
    dispatch(req, handler) {
      new LocalCall(deps, req, handler).start();
    },
  };
}

/**
 * One in-process request. A single object per request plays every part —
 * the caller's controller (abort, backpressure), the handler of the pod's
 * response, the timers' target — so a delivery allocates little beyond
 * what undici needs (the hot path of every event).
 */
class LocalCall implements Dispatcher.DispatchController, Dispatcher.DispatchHandler, UpstreamHandler {
  private readonly startedMs: number;
  private readonly headers: IncomingHttpHeaders;
  private readonly requestId: string | undefined;
  private revision: string | undefined;
  private rev: RevisionHandle | undefined;
  /** Set once the request counts towards the revision (stats.begin ran). */
  private metered = false;
  private targetPath = '';
  private up: Record<string, string | string[]> | undefined;
  private coldStartMs: number | undefined;
  /** Set when a cold request got an early pod: the cold start ends with its response head. */
  private coldSince: number | undefined;
  private coldDone = false;
  private errorCode: string | undefined;
  private status = 0;
  private ended = false;
  /** The caller has the response head: a failure from now on is an error, not an answer. */
  private headSent = false;
  private lease: Lease | undefined;
  private attempt = 0;
  private stopped: Error | undefined;
  private cancelWait: AbortController | undefined;
  private timedOut: TimeoutKind | undefined;
  private span: Span | undefined;
  private traceId: string | undefined;
  private timeouts: RequestTimeouts | undefined;
  /** The call to the pod: undici's controller, or the own client's call. */
  private upstream: Pick<Dispatcher.DispatchController, 'abort' | 'pause' | 'resume'> | UpstreamCall | undefined;
  /** The request head for the own client, once built. */
  private ownHead: string | undefined;
  /** Set while the request waits in the pod's queue of the own client (UpstreamPool.queueIfBusy). */
  private queuedStart: (() => void) | undefined;
  // The caller-facing controller.
  reason: Error | null = null;
  paused = false;

  constructor(
    private readonly deps: LocalGatewayDeps,
    private readonly req: LocalRequest,
    private readonly handler: Dispatcher.DispatchHandler,
  ) {
    this.startedMs = deps.clock.now();
    this.headers = req.headers as IncomingHttpHeaders;
    this.requestId = deps.accessLog && typeof this.headers['x-request-id'] !== 'string' ? randomHex(16) : undefined;
  }

  // ---- the caller's controller ----

  get aborted(): boolean {
    return this.reason !== null;
  }

  abort(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    this.stop(reason);
  }

  pause(): void {
    this.paused = true;
    this.upstream?.pause();
  }

  resume(): void {
    this.paused = false;
    this.upstream?.resume();
  }

  // ---- the request ----

  start(): void {
    const { deps, handler, headers } = this;
    handler.onRequestStart?.(this, {});
    if (this.aborted) return;
    if (deps.closing()) return this.answer(new ZenoError('ZENO_ERR_SHUTTING_DOWN', undefined, { retryAfter: 1 }));
    const target = deps.resolve(this.req.path, headers);
    if (target instanceof ZenoError) return this.answer(target);
    this.revision = target.rev;
    this.targetPath = target.path;
    const bodyBytes = this.req.body?.length ?? 0;
    const rev = admit(deps.revision(target.rev), target.rev, bodyBytes > 0 ? String(bodyBytes) : undefined, deps.maxBodyBytes);
    if (rev instanceof ZenoError) return this.answer(rev);
    this.rev = rev;
    const trace = traceRequest(deps.tracer, headers.traceparent, deps.accessLog !== undefined, {
      rev: target.rev, method: this.req.method, path: target.path, host: headers.host ?? '',
    });
    const traceparent = trace.traceparent;
    this.traceId = trace.traceId;
    this.span = trace.span;
    this.metered = true;
    rev.stats.begin(this.startedMs);
    this.timeouts = new RequestTimeouts(deps.clock, rev, (kind) => this.expire(kind));

    const up = upstreamHeaders(headers, { remoteAddress: '127.0.0.1', proto: 'http' });
    if (traceparent) up.traceparent = traceparent;
    if (this.requestId) up['x-request-id'] = this.requestId;
    this.up = up;
    this.next();
  }

  /** Takes a pod slot (waiting for one at zero scale) and sends the request. */
  private next(): void {
    const rev = this.rev!;
    this.attempt++;
    const got = rev.throttler.tryAcquire();
    if (got) {
      // A cold request that got an early pod (docs/functions.md) waits in that
      // pod for its handler: its cold start ends with the response head.
      if (!this.coldDone && got.onEarlyPod()) this.coldSince ??= this.startedMs;
      return this.send(got);
    }
    this.cancelWait ??= new AbortController();
    const cold = !rev.throttler.hasBackends();
    const queuedMs = cold ? this.deps.clock.now() : 0;
    const waitSpan = this.span ? this.deps.tracer!.start('activator wait', SPAN_KIND.internal, this.up!.traceparent as string, { 'zeno.cold_start': cold }) : undefined;
    let waiting: Lease | Promise<Lease>;
    try {
      waiting = rev.throttler.acquire(rev.timeoutMs, this.cancelWait.signal);
    } catch (err) {
      waitSpan?.end('no pod in time');
      return this.failed(err);
    }
    Promise.resolve(waiting).then(
      (lease) => {
        waitSpan?.end();
        if (cold && !this.stopped && !this.coldDone) {
          const since = this.coldSince ?? queuedMs;
          if (lease.onEarlyPod()) this.coldSince = since;
          else this.recordCold(since);
        }
        this.send(lease);
      },
      (err: unknown) => {
        waitSpan?.end('no pod in time');
        this.failed(err);
      },
    );
  }

  private send(lease: Lease): void {
    this.lease = lease;
    if (this.stopped) return this.failed(this.stopped);
    const pool = this.deps.pool;
    if (pool !== undefined && !lease.onEarlyPod()) {
      const head = ownClientHead(this.req.method, this.targetPath, this.up!, this.req.body, lease.backend.url);
      if (head !== undefined) {
        this.ownHead = head;
        // Past the cap the request waits for one of the pod's connections, not for a new one.
        this.queuedStart = () => this.sendOwn();
        if (pool.queueIfBusy(lease.backend.url, this.deps.maxOwnConnections, this.queuedStart)) return;
        this.queuedStart = undefined;
        return this.sendOwn();
      }
    }
    try {
      this.deps.agent.dispatch(
        { origin: lease.backend.url, path: this.targetPath, method: this.req.method as Dispatcher.HttpMethod, headers: this.up!, body: this.req.body ?? null },
        this,
      );
    } catch (e) {
      this.onResponseError(undefined, e as Error);
    }
  }

  /** Sends on the own client (its head is ready); also called when the request's turn in the pod's queue comes. */
  private sendOwn(): void {
    this.queuedStart = undefined;
    const lease = this.lease!;
    if (this.stopped) return this.failed(this.stopped);
    const body = this.req.body;
    const m = this.req.method;
    try {
      this.upstream = (m === 'GET' || m === 'HEAD') && (body === null || body === undefined)
        ? this.deps.pool!.request(lease.backend.url, m, this.ownHead!, this)
        : this.deps.pool!.requestWithBody(lease.backend.url, this.ownHead!, body ?? EMPTY, this, m === 'HEAD');
    } catch (e) {
      return this.onResponseError(undefined, e as Error);
    }
    if (this.paused) this.upstream.pause();
  }

  /** The cold start as the caller feels it: from `since` to now (docs/metrics.md). */
  private recordCold(since: number): void {
    this.coldDone = true;
    this.coldStartMs = this.deps.clock.now() - since;
    recordColdStart(this.rev!, this.coldStartMs, this.span);
  }

  private stop(e: Error): void {
    this.stopped ??= e;
    this.cancelWait?.abort(e);
    this.upstream?.abort(e);
    // Waiting for a connection to the pod: out of the line, and answered now.
    const start = this.queuedStart;
    if (start !== undefined && this.deps.pool!.dequeue(this.lease!.backend.url, start)) {
      this.queuedStart = undefined;
      this.failed(this.stopped);
    }
  }

  private expire(kind: TimeoutKind): void {
    this.timedOut = kind;
    this.stop(new ZenoError('ZENO_ERR_REQUEST_TIMEOUT'));
  }

  // ---- the pod's response (undici handler) ----

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.upstream = c;
    if (this.stopped) c.abort(this.stopped);
    else if (this.paused) c.pause();
  }

  onResponseStart(_c: Dispatcher.DispatchController | undefined, statusCode: number, h: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return;
    this.timeouts?.started();
    this.status = statusCode;
    this.headSent = true;
    if (!this.coldDone && this.coldSince !== undefined) this.recordCold(this.coldSince);
    this.handler.onResponseStart?.(this, statusCode, h, statusMessage);
  }

  onResponseData(_c: Dispatcher.DispatchController | undefined, chunk: Buffer): void {
    this.timeouts?.wrote();
    this.handler.onResponseData?.(this, chunk);
  }

  onResponseEnd(_c: Dispatcher.DispatchController | undefined, trailers: IncomingHttpHeaders): void {
    this.upstream = undefined;
    this.finish();
    this.handler.onResponseEnd?.(this, trailers);
  }

  // ---- the pod's response (the own client: gateway/upstream.ts) ----

  onHead(statusCode: number, flat: string[]): void {
    this.onResponseStart(undefined, statusCode, headerObject(flat), '');
  }

  onData(chunk: Buffer): boolean {
    this.onResponseData(undefined, chunk);
    return !this.paused;
  }

  onEnd(): void {
    this.onResponseEnd(undefined, {});
  }

  onError(err: Error): void {
    this.onResponseError(undefined, err);
  }

  onResponseError(_c: Dispatcher.DispatchController | undefined, err: Error): void {
    this.upstream = undefined;
    const lease = this.lease;
    // Better than Knative's activator (502, no retry): a request that never
    // reached the pod goes to another one (the body is in memory).
    // An early pod (not ready yet, docs/functions.md) that failed before
    // answering never ran the request either.
    // The body is in memory: it can always go again.
    if (lease && mayRetry({ attempt: this.attempt, err, stopped: this.stopped !== undefined, answered: this.headSent, bodyRead: false, earlyPod: lease.onEarlyPod() })) {
      const failure = leavePod(this.rev!, lease);
      this.lease = undefined;
      if (failure) return this.failed(failure);
      return this.next();
    }
    this.failed(this.stopped ?? err);
  }

  // ---- endings ----

  private failed(err: unknown): void {
    if (this.ended) return;
    const { handler } = this;
    if (this.headSent) {
      // Mid-body: like a reset connection to an HTTP client.
      this.status ||= 502;
      this.finish();
      handler.onResponseError?.(this, this.reason ?? (err instanceof Error ? err : new Error(String(err))));
      return;
    }
    if (this.aborted) {
      this.finish();
      handler.onResponseError?.(this, this.reason!);
      return;
    }
    if (this.timedOut || isZenoError(err)) {
      this.answer(this.timedOut ? new ZenoError('ZENO_ERR_REQUEST_TIMEOUT', `request timeout: ${describeTimeout(this.timedOut, this.rev!)} passed`) : (err as ZenoError));
      return;
    }
    const msg = err instanceof Error ? err.message : String(err);
    this.answer(new ZenoError('ZENO_ERR_UPSTREAM_FAILED', `error forwarding to the function: ${msg}`));
  }

  /** The platform's answer, shaped as sendError() writes it. */
  private answer(err: ZenoError): void {
    this.status = err.statusCode;
    this.errorCode = err.code;
    this.finish();
    const { handler } = this;
    if (this.aborted) return handler.onResponseError?.(this, this.reason!);
    const body = Buffer.from(JSON.stringify(errorBody(err)), 'utf8');
    const h: IncomingHttpHeaders = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) };
    if (err.retryAfter !== undefined) h['retry-after'] = String(err.retryAfter);
    handler.onResponseStart?.(this, err.statusCode, h, '');
    if (!this.aborted) handler.onResponseData?.(this, body);
    if (!this.aborted) handler.onResponseEnd?.(this, {});
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    const { deps, rev, headers } = this;
    this.timeouts?.clear();
    this.lease?.release();
    this.lease = undefined;
    const endedMs = deps.clock.now();
    if (rev && this.metered) finishRequest(rev, this.startedMs, endedMs, this.status, this.errorCode, this.span);
    if (deps.accessLog) {
      deps.accessLog(accessLogEntry({
        endedMs,
        requestId: typeof headers['x-request-id'] === 'string' ? headers['x-request-id'] : (this.requestId ?? ''),
        traceId: this.traceId ?? traceIdOf(headers.traceparent),
        method: this.req.method,
        host: headers.host,
        path: this.req.path,
        status: this.status,
        durationMs: endedMs - this.startedMs,
        revision: this.revision,
        coldStartMs: this.coldStartMs,
        error: this.errorCode,
      }));
    }
  }
}

const EMPTY = Buffer.alloc(0);
/** RFC 9110 §5.6.2 token: a method or field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field names already checked against TOKEN. */
const GOOD_NAMES = new Set<string>();
/** What undici lets through in a field value (it refuses the rest, CR, LF and NUL among them). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The request head for the own client, with the body's Content-Length; or
 * undefined when a method, name or value could not be written as it is
 * (then undici sends it, or refuses it as it always did). The names and
 * values come from the platform's callers (a delivery's `ce-` attributes),
 * not from Node's parser, so unlike server.ts they are checked here: a CR
 * or LF in a value would split the head.
 */
function ownClientHead(method: string, path: string, headers: Record<string, string | string[]>, body: Buffer | null | undefined, origin: string): string | undefined {
  if (!TOKEN.test(method) || method === 'CONNECT' || path.length === 0 || BAD_VALUE.test(path) || path.includes(' ')) return undefined;
  if (!origin.startsWith('http://')) return undefined;
  let host = false;
  // Checked and written in one pass; the pieces stay a rope until the socket write flattens them once.
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const k in headers) {
    if (k === 'host') host = true;
    if (!GOOD_NAMES.has(k)) {
      if (!TOKEN.test(k)) return undefined;
      // A few dozen names recur (ce-id, ce-type, …): each is checked once. Bounded.
      if (GOOD_NAMES.size >= 1024) GOOD_NAMES.clear();
      GOOD_NAMES.add(k);
    }
    // Framing is the client's: the length of the body it sends; a caller's Upgrade is not served.
    if (k === 'content-length' || k === 'upgrade') return undefined;
    const v = headers[k]!;
    if (typeof v === 'string') {
      if (BAD_VALUE.test(v)) return undefined;
      head += `${k}: ${v}\r\n`;
    } else {
      for (const x of v) {
        if (BAD_VALUE.test(x)) return undefined;
        head += `${k}: ${x}\r\n`;
      }
    }
  }
  const hasBody = body !== null && body !== undefined;
  // As undici sends it: the pod's host when the caller named none (HTTP/1.1 requires one),
  // a length for any body, and for a bodiless request of a method that usually has one.
  if (!host) head += `host: ${origin.slice(7)}\r\n`;
  if (hasBody || !(method === 'GET' || method === 'HEAD')) head += `content-length: ${hasBody ? body.length : 0}\r\n`;
  return `${head}\r\n`;
}

/** A response head as undici hands it to a handler: lower-case names, repeated fields joined (Set-Cookie kept a list). */
function headerObject(flat: readonly string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i]!;
    const v = flat[i + 1]!;
    const prev = out[k];
    if (prev === undefined) out[k] = k === 'set-cookie' ? [v] : v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = `${prev}, ${v}`;
  }
  return out as IncomingHttpHeaders;
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
      const given = opts.headers as Record<string, string | string[] | undefined>;
      for (const k in given) {
        const v = given[k];
        if (v !== undefined) headers[k.toLowerCase()] = typeof v === 'string' ? v : v.join(', ');
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
