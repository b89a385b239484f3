/**
 * The rules every request to a function follows, in one place for its two
 * entries: a request on the gateway's port (server.ts handle()) and one the
 * platform makes in process (local.ts LocalCall). Each entry keeps only
 * what differs: how it reads the request and how it writes the answer.
 *
 * After routing: the revision must exist, a declared body must fit, and a
 * failing revision with no pod answers its failure at once (all recorded in
 * the request metrics with no duration); the W3C traceparent is kept when
 * valid, else a new one is made (or the OpenTelemetry SERVER span's);
 * Knative's three timeouts are armed; a request that never reached its pod
 * goes to another one, up to MAX_ATTEMPTS; at the end the autoscaler's
 * stats, the request metrics and the span are closed, and one access log
 * line is written when the log is on.
 */
import type { Lease } from '../activator/throttler.js';
import type { Clock, TimerHandle } from '../core/clock.js';
import { ZenoError } from '../core/errors.js';
import type { RevisionId } from '../core/types.js';
import { SPAN_KIND, type Span, type Tracer } from './otel.js';
import type { AccessLogEntry, RevisionHandle } from './server.js';
import { newTraceparent, traceIdOf } from './trace.js';

/** Attempts for a request that never reached a pod (connection refused). */
export const MAX_ATTEMPTS = 3;
/** How long a pod that refused a connection stays out of the rotation. */
export const UNREACHABLE_PAUSE_MS = 1_000;

/**
 * Whether an upstream failure happened before the function could have seen
 * the request, so sending it to another pod cannot run it twice. Only a
 * refused connection proves that: a reset may come after the request was
 * written (the function crashed on it), and retrying would run it twice.
 */
export function neverReachedPod(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'ECONNREFUSED';
}

/**
 * Whether a failed attempt goes to another pod: attempts are left, the
 * request was not stopped (timeout, client gone), nothing of the answer
 * reached the caller, the body can be sent again, and the pod never ran it
 * (a refused connection, or an early pod, which fails requests it holds
 * only when it cannot load its handler).
 */
export function mayRetry(a: { attempt: number; err: unknown; stopped: boolean; answered: boolean; bodyRead: boolean; earlyPod: boolean }): boolean {
  return a.attempt < MAX_ATTEMPTS && !a.stopped && !a.answered && !a.bodyRead && (neverReachedPod(a.err) || a.earlyPod);
}

/**
 * After a failed attempt that may go again: the pod leaves the rotation for
 * a moment and its slot is freed. Returns the revision's failure when it
 * failed meanwhile with no pod left (the early pod could not load its
 * handler), which the caller answers instead of trying again.
 */
export function leavePod(rev: RevisionHandle, lease: Lease): ZenoError | undefined {
  rev.throttler.pause(lease.backend.id, UNREACHABLE_PAUSE_MS);
  lease.release();
  return rev.failure && !rev.throttler.hasBackends() ? rev.failure : undefined;
}

export function tooLargeError(max: number, declared?: string): ZenoError {
  return new ZenoError('ZENO_ERR_BODY_TOO_LARGE', `request body${declared ? ` of ${declared} bytes` : ''} is over the ${max}-byte limit`);
}

/**
 * The checks between routing and the request counting towards its revision.
 * `declared` is the body size the request announces (Content-Length, or the
 * in-process body's length), as text. A refusal is recorded in the revision's
 * request metrics with no duration.
 */
export function admit(rev: RevisionHandle | undefined, id: RevisionId, declared: string | undefined, maxBodyBytes: number): RevisionHandle | ZenoError {
  if (!rev) return new ZenoError('ZENO_ERR_NO_READY_REVISION', `revision ${id} is not available`);
  if (declared !== undefined && Number(declared) > maxBodyBytes) {
    const e = tooLargeError(maxBodyBytes, declared);
    rev.metrics?.record(e.statusCode, 0, e.code);
    return e;
  }
  if (rev.failure && !rev.throttler.hasBackends()) {
    rev.metrics?.record(rev.failure.statusCode, 0, rev.failure.code);
    return rev.failure;
  }
  return rev;
}

export interface RequestTrace {
  /** The traceparent to send the function instead of the client's; undefined keeps the client's. */
  traceparent: string | undefined;
  /** The trace id, when asked for (the access log) or a span was started. */
  traceId: string | undefined;
  span: Span | undefined;
}

/**
 * W3C trace context: a valid client traceparent goes on unchanged, else the
 * function gets a new one. With OpenTelemetry export the gateway is a
 * tracing participant: its SERVER span becomes the function's parent (a new
 * trace without a valid one). The trace id is only worked out when
 * `wantTraceId` (it costs a parse) or a span exists.
 */
export function traceRequest(
  tracer: Tracer | undefined,
  incoming: string | string[] | undefined,
  wantTraceId: boolean,
  span: { rev: RevisionId; method: string; path: string; host: string },
): RequestTrace {
  if (tracer) {
    const s = tracer.start(`gateway ${span.rev}`, SPAN_KIND.server, traceIdOf(incoming) ? (incoming as string) : undefined, {
      'http.request.method': span.method,
      'url.path': span.path,
      'server.address': span.host,
      'zeno.revision': span.rev,
    });
    return { traceparent: s.traceparent(), traceId: s.traceId, span: s };
  }
  const traceId = traceIdOf(incoming);
  if (traceId) return { traceparent: undefined, traceId: wantTraceId ? traceId : undefined, span: undefined };
  const t = newTraceparent();
  return { traceparent: t.header, traceId: wantTraceId ? t.traceId : undefined, span: undefined };
}

/** Knative's three request timeouts: timeoutSeconds, responseStartTimeoutSeconds, idleTimeoutSeconds. */
export type TimeoutKind = 'total' | 'start' | 'idle';

/** What the 504's message says passed. */
export function describeTimeout(kind: TimeoutKind, h: RevisionHandle): string {
  if (kind === 'start') return `responseStartTimeoutSeconds (${(h.responseStartTimeoutMs ?? 0) / 1000}s)`;
  if (kind === 'idle') return `idleTimeoutSeconds (${(h.idleTimeoutMs ?? 0) / 1000}s)`;
  return `timeoutSeconds (${h.timeoutMs / 1000}s)`;
}

/**
 * A request's timers: timeoutSeconds always; responseStartTimeoutSeconds
 * only when it can fire first, until the response head; idleTimeoutSeconds
 * between writes. `expired` is called at most once per timer.
 */
export class RequestTimeouts {
  private total: TimerHandle;
  private start: TimerHandle | undefined;
  private idle: TimerHandle | undefined;
  private readonly onIdle: (() => void) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly rev: RevisionHandle,
    expired: (kind: TimeoutKind) => void,
  ) {
    this.total = clock.setTimeout(() => expired('total'), rev.timeoutMs);
    const rs = rev.responseStartTimeoutMs ?? 0;
    if (rs > 0 && rs < rev.timeoutMs) this.start = clock.setTimeout(() => expired('start'), rs);
    const idle = rev.idleTimeoutMs ?? 0;
    if (idle > 0) {
      this.onIdle = () => expired('idle');
      this.idle = clock.setTimeout(this.onIdle, idle);
    }
  }

  /** Whether started() or wrote() have anything to do (callers skip the hooks otherwise). */
  get watching(): boolean {
    return this.start !== undefined || this.idle !== undefined;
  }

  /** The response head arrived. */
  started(): void {
    if (this.start === undefined) return;
    this.clock.clearTimeout(this.start);
    this.start = undefined;
  }

  /** A piece of the response was written: the idle timeout starts over. */
  wrote(): void {
    if (!this.onIdle) return;
    this.clock.clearTimeout(this.idle);
    this.idle = this.clock.setTimeout(this.onIdle, this.rev.idleTimeoutMs!);
  }

  clear(): void {
    this.clock.clearTimeout(this.total);
    this.clock.clearTimeout(this.start);
    this.clock.clearTimeout(this.idle);
    this.start = undefined;
    this.idle = undefined;
  }
}

/** A cold request's wait for a pod, as the caller felt it (docs/metrics.md "cold start"). */
export function recordColdStart(rev: RevisionHandle, waitedMs: number, span: Span | undefined): void {
  rev.metrics?.coldStart(waitedMs);
  span?.set('zeno.cold_start_ms', waitedMs);
}

/**
 * The end of a request that counted towards its revision: the autoscaler's
 * concurrency, the request metrics (status 0 when nothing was answered,
 * which Knative counts as 5xx) and the span.
 */
export function finishRequest(rev: RevisionHandle, startedMs: number, endedMs: number, status: number, failedCode: string | undefined, span: Span | undefined): void {
  rev.stats.end(endedMs);
  rev.metrics?.record(status, endedMs - startedMs, failedCode);
  if (span) {
    span.set('http.response.status_code', status);
    span.end(status >= 500 || status === 0 ? (failedCode ?? `HTTP ${status}`) : undefined);
  }
}

/** One access log line; optional facts only when known. */
export function accessLogEntry(e: Omit<AccessLogEntry, 'time' | 'coldStartMs' | 'error'> & { endedMs: number; coldStartMs: number | undefined; error: string | undefined }): AccessLogEntry {
  const entry: AccessLogEntry = {
    time: new Date(e.endedMs).toISOString(),
    requestId: e.requestId,
    traceId: e.traceId,
    method: e.method,
    host: e.host,
    path: e.path,
    status: e.status,
    durationMs: e.durationMs,
    revision: e.revision,
  };
  if (e.coldStartMs !== undefined) entry.coldStartMs = e.coldStartMs;
  if (e.error !== undefined) entry.error = e.error;
  return entry;
}
