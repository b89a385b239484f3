/**
 * OpenTelemetry trace export, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: spans for the gateway (one
 * SERVER span per routed request), the activator (the wait for a pod),
 * broker deliveries (one CLIENT span per attempt) and async calls (one
 * CONSUMER span per attempt), sent in batches as OTLP/HTTP JSON
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST
 * `ENDPOINT/v1/traces`, `Content-Type: application/json`, trace and span ids
 * as lowercase hex, enums as numbers, 64-bit integers as decimal strings.
 *
 * Only the JSON encoding is implemented (no protobuf); an
 * OTEL_EXPORTER_OTLP_PROTOCOL other than `http/json` is reported at start and
 * JSON is sent anyway. Sampling is ParentBased(AlwaysOn), the SDK's default: a
 * request whose traceparent says "not sampled" gets spans that propagate
 * but are not exported. Written for Zeno (no OpenTelemetry SDK dependency).
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { randomHex, traceIdOf } from './trace.js';

/** OTLP's Span.SpanKind. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
export type SpanKind = (typeof SPAN_KIND)[keyof typeof SPAN_KIND];

export type AttrValue = string | number | boolean;

export interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: SpanKind;
  /** ms since the epoch, fractions allowed. */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttrValue>;
  /** Set when the operation failed (OTLP status code ERROR). */
  error: string | undefined;
}

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** The header to send downstream: this span as the parent. */
  traceparent(): string;
  set(key: string, value: AttrValue | undefined): void;
  /** Ends the span (once); `error` marks it failed. */
  end(error?: string): void;
}

export interface Tracer {
  /** A span under `parent` (a traceparent header; invalid or missing starts a new trace). */
  start(name: string, kind: SpanKind, parent?: string, attributes?: Record<string, AttrValue>): Span;
  /** Sends what is queued and stops the timer. */
  close(): Promise<void>;
}

/** `ms` since the epoch as OTLP's fixed64 nanoseconds, a decimal string without float rounding. */
export function unixNano(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}

function attrValue(v: AttrValue): Record<string, unknown> {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: v };
}

function attrList(a: Record<string, AttrValue>): { key: string; value: Record<string, unknown> }[] {
  return Object.entries(a).map(([key, v]) => ({ key, value: attrValue(v) }));
}

/** The body of one export request (ExportTraceServiceRequest in OTLP/JSON). */
export function otlpTraceRequest(resource: Record<string, AttrValue>, scope: { name: string; version: string }, spans: FinishedSpan[]): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: attrList(resource) },
        scopeSpans: [
          {
            scope,
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: unixNano(s.startMs),
              endTimeUnixNano: unixNano(Math.max(s.endMs, s.startMs)),
              attributes: attrList(s.attributes),
              status: s.error === undefined ? { code: 0 } : { code: 2, message: s.error },
            })),
          },
        ],
      },
    ],
  };
}

function attrJson(a: Record<string, AttrValue>): string {
  let out = '';
  for (const key in a) {
    const v = a[key]!;
    const value =
      typeof v === 'boolean' ? `{"boolValue":${v}}` : typeof v === 'number' ? (Number.isInteger(v) ? `{"intValue":"${v}"}` : `{"doubleValue":${v}}`) : `{"stringValue":${JSON.stringify(v)}}`;
    out += `${out ? ',' : ''}{"key":${JSON.stringify(key)},"value":${value}}`;
  }
  return `[${out}]`;
}

/**
 * otlpTraceRequest() as a JSON string, built directly (no intermediate
 * objects): the export runs on the event loop that serves requests, and
 * building then stringifying objects was most of its cost.
 */
export function encodeOtlpTraceRequest(resource: Record<string, AttrValue>, scope: { name: string; version: string }, spans: FinishedSpan[]): string {
  let body = '';
  for (const s of spans) {
    const status = s.error === undefined ? '{"code":0}' : `{"code":2,"message":${JSON.stringify(s.error)}}`;
    body +=
      `${body ? ',' : ''}{"traceId":"${s.traceId}","spanId":"${s.spanId}",${s.parentSpanId ? `"parentSpanId":"${s.parentSpanId}",` : ''}` +
      `"name":${JSON.stringify(s.name)},"kind":${s.kind},"startTimeUnixNano":"${unixNano(s.startMs)}","endTimeUnixNano":"${unixNano(Math.max(s.endMs, s.startMs))}",` +
      `"attributes":${attrJson(s.attributes)},"status":${status}}`;
  }
  return `{"resourceSpans":[{"resource":{"attributes":${attrJson(resource)}},"scopeSpans":[{"scope":${JSON.stringify(scope)},"spans":[${body}]}]}]}`;
}

export interface OtelSettings {
  /** Full URL spans are POSTed to. */
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  resource: Record<string, AttrValue>;
  timeoutMs: number;
  /** Why a setting was not used as given (printed at start). */
  warnings: string[];
}

/**
 * The exporter's settings from the standard environment variables, or
 * undefined when tracing is off: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as
 * it is) or OTEL_EXPORTER_OTLP_ENDPOINT (+ `/v1/traces`), *_HEADERS
 * (`k=v,k2=v2`, values URL-decoded), *_TIMEOUT (ms), OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES; OTEL_SDK_DISABLED=true turns it off.
 */
export function otelSettingsFromEnv(env: Record<string, string | undefined>): OtelSettings | undefined {
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return undefined;
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!tracesEndpoint && !base) return undefined;
  const url = tracesEndpoint || `${base!.replace(/\/+$/, '')}/v1/traces`;
  const warnings: string[] = [];
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL)?.trim();
  if (protocol && protocol !== 'http/json') warnings.push(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported; sending http/json`);
  const headers = parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? env.OTEL_EXPORTER_OTLP_HEADERS);
  const resource: Record<string, AttrValue> = parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES);
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || String(resource['service.name'] ?? 'zeno');
  resource['service.name'] = serviceName;
  const timeoutText = env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT;
  let timeoutMs: number = PLATFORM_DEFAULTS.otelExportTimeoutMs;
  if (timeoutText !== undefined) {
    if (/^\d+$/.test(timeoutText.trim()) && Number(timeoutText) > 0) timeoutMs = Number(timeoutText);
    else warnings.push(`OTEL_EXPORTER_OTLP_TIMEOUT=${timeoutText} is not a number of ms; using ${timeoutMs}`);
  }
  return { url, headers, serviceName, resource, timeoutMs, warnings };
}

/** `k=v,k2=v2` (W3C Baggage-like, as the OTel env vars use it), values percent-decoded. */
export function parseKeyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const key = part.slice(0, i).trim();
    let value = part.slice(i + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // keep it as written
    }
    if (key) out[key] = value;
  }
  return out;
}

export type SendFn = (url: string, init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ ok: boolean; status: number }>;

export interface TracerOptions {
  settings: OtelSettings;
  clock: Clock;
  /** Wall time in ms with sub-ms precision. @default performance.timeOrigin + performance.now() */
  now?: () => number;
  send?: SendFn;
  log?: (line: string) => void;
  version?: string;
  /** @default PLATFORM_DEFAULTS.otelFlushMs */
  flushMs?: number;
  /** @default PLATFORM_DEFAULTS.otelMaxQueue */
  maxQueue?: number;
}

const TRACEPARENT_SAMPLED = '01';

/** Parent of a span from a traceparent header: trace id, span id, sampled flag. */
export function parentOf(header: string | undefined): { traceId: string; spanId: string; sampled: boolean } | undefined {
  const traceId = traceIdOf(header);
  if (!traceId) return undefined;
  const flags = parseInt(header!.slice(53, 55), 16);
  return { traceId, spanId: header!.slice(36, 52), sampled: (flags & 1) === 1 };
}

export function createTracer(o: TracerOptions): Tracer {
  const { settings, clock } = o;
  const now = o.now ?? (() => performance.timeOrigin + performance.now());
  const send: SendFn = o.send ?? ((url, init) => fetch(url, init));
  const log = o.log ?? (() => undefined);
  const maxQueue = o.maxQueue ?? PLATFORM_DEFAULTS.otelMaxQueue;
  const scope = { name: 'zeno', version: o.version ?? '0.1.0' };
  let queue: FinishedSpan[] = [];
  let dropped = 0;
  let failing = false;
  let inFlight: Promise<void> = Promise.resolve();
  for (const w of settings.warnings) log(`otel: ${w}`);

  const flush = (): Promise<void> => {
    if (!queue.length) return inFlight;
    const batch = queue;
    queue = [];
    const body = encodeOtlpTraceRequest(settings.resource, scope, batch);
    inFlight = inFlight.then(async () => {
      try {
        const res = await send(settings.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...settings.headers },
          body,
          signal: AbortSignal.timeout(settings.timeoutMs),
        });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        if (failing) log(`otel: exporting to ${settings.url} works again`);
        failing = false;
      } catch (e) {
        // Spans are best effort: a collector that is down must not slow requests or fill memory.
        if (!failing) log(`otel: cannot export ${batch.length} spans to ${settings.url}: ${(e as Error).message}; dropping until it answers`);
        failing = true;
      }
    });
    return inFlight;
  };
  const timer: TimerHandle = clock.setInterval(() => void flush(), o.flushMs ?? PLATFORM_DEFAULTS.otelFlushMs);

  const record = (s: FinishedSpan): void => {
    if (queue.length >= maxQueue) {
      dropped++;
      if (dropped === 1 || dropped % 1000 === 0) log(`otel: export queue full (${maxQueue}); ${dropped} spans dropped`);
      return;
    }
    queue.push(s);
    // A full batch goes at once (the SDK's maxExportBatchSize), not at the next tick.
    if (queue.length >= 512) void flush();
  };

  return {
    start(name, kind, parent, attributes = {}) {
      const p = parentOf(parent);
      const traceId = p?.traceId ?? randomHex(16);
      const spanId = randomHex(8);
      const sampled = p ? p.sampled : true;
      const startMs = now();
      const attrs: Record<string, AttrValue> = { ...attributes };
      let ended = false;
      return {
        traceId,
        spanId,
        traceparent: () => `00-${traceId}-${spanId}-${sampled ? TRACEPARENT_SAMPLED : '00'}`,
        set(key, value) {
          if (value !== undefined) attrs[key] = value;
        },
        end(error) {
          if (ended) return;
          ended = true;
          if (!sampled) return;
          record({ traceId, spanId, parentSpanId: p?.spanId, name, kind, startMs, endMs: now(), attributes: attrs, error });
        },
      };
    },
    async close() {
      clock.clearInterval(timer);
      await flush();
    },
  };
}
