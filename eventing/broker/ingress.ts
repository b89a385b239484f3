/**
 * Broker ingress on the gateway port: `POST /brokers/{namespace}/{name}`.
 *
 * Knative's MT broker ingress listens on its own host
 * (`http://broker-ingress.knative-eventing.svc.cluster.local/{namespace}/{broker}`,
 * reference knative-eventing.md §1). Zeno serves brokers on the gateway
 * port beside the functions, so the same `/{namespace}/{broker}` tail sits
 * under a `/brokers` prefix that no function route uses (functions are
 * `/function/…` or by Host). The URL is in each Broker's `status.address.url`.
 *
 * Answers follow Knative's handler (pkg/broker/ingress/ingress_handler.go),
 * with Zeno's JSON error body `{statusCode, code, error, message}`:
 *
 * | request                                  | answer |
 * |------------------------------------------|--------|
 * | OPTIONS                                  | 200, `WebHook-Allowed-Origin: *`, `WebHook-Allowed-Rate: *` |
 * | any other method but POST                | 405 ZENO_ERR_METHOD_NOT_ALLOWED |
 * | `/brokers/`                              | 404 ZENO_ERR_BROKER_NOT_FOUND |
 * | not `/brokers/{ns}/{name}`               | 400 ZENO_ERR_BAD_REQUEST |
 * | no such Broker                           | 404 ZENO_ERR_BROKER_NOT_FOUND |
 * | body over PLATFORM_DEFAULTS.maxEventBytes| 413 ZENO_ERR_BODY_TOO_LARGE |
 * | not a valid CloudEvent 1.0, or batched   | 400 ZENO_ERR_INVALID_EVENT |
 * | knativebrokerttl reaches 0               | 400 ZENO_ERR_EVENT_TTL_EXPIRED |
 * | accepted                                 | 202, only once the event log has it on disk |
 *
 * Every answer carries `Allow: POST, OPTIONS`, as Knative's does. Zeno looks
 * the Broker up before reading the body (Knative parses the event first), so
 * a producer with a wrong URL learns it without sending the event.
 *
 * What ingress adds to an event, as Knative's does: `knativearrivaltime`
 * (when it arrived) and `knativebrokerttl` (see nextTtl). A W3C
 * `traceparent`/`tracestate` header is kept as the event's `traceparent`/
 * `tracestate` extension (the Distributed Tracing extension), so it is
 * stored with the event and reaches every subscriber.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CloudEvent } from 'cloudevents';
import type { Clock } from '../../core/clock.js';
import { ZenoError } from '../../core/errors.js';
import { refuseBody, sendError, tooLargeError } from '../../gateway/server.js';
import { eventFromHttp, isoTime, storedEventFromBinary, type StoredFromHttpResult, type TraceContext } from '../cloudevents/http.js';
import type { AttributeValue, EventLog, StoredEvent } from '../log/event-log.js';

export const BROKER_PATH_PREFIX = '/brokers/';
export const ALLOW = 'POST, OPTIONS';
/** Knative's MAX_TTL (cmd/broker/ingress/main.go): how many broker passes an event gets. */
export const DEFAULT_BROKER_TTL = 255;
export const TTL_ATTRIBUTE = 'knativebrokerttl';
export const ARRIVAL_ATTRIBUTE = 'knativearrivaltime';

/** The ingress URL of a Broker: its `status.address.url`. */
export function brokerAddress(gatewayUrl: string, namespace: string, name: string): string {
  return `${gatewayUrl.replace(/\/+$/, '')}${BROKER_PATH_PREFIX}${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** The event log key of a Broker's events. */
export function brokerStream(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export type IngressRoute =
  | { action: 'options' }
  | { action: 'refuse'; error: ZenoError }
  | { action: 'receive'; namespace: string; name: string };

/** What a request to the ingress is, from its method and path alone (Knative's order of checks). */
export function classifyIngress(method: string | undefined, url: string): IngressRoute {
  if (method === 'OPTIONS') return { action: 'options' };
  if (method !== 'POST') return { action: 'refuse', error: new ZenoError('ZENO_ERR_METHOD_NOT_ALLOWED', `a broker accepts POST (and OPTIONS), not ${method ?? '?'}`) };
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rest = path.startsWith(BROKER_PATH_PREFIX) ? path.slice(BROKER_PATH_PREFIX.length) : '';
  if (rest === '' || rest === '/') return { action: 'refuse', error: new ZenoError('ZENO_ERR_BROKER_NOT_FOUND', `POST events to ${BROKER_PATH_PREFIX}NAMESPACE/NAME`) };
  const parts = rest.replace(/\/$/, '').split('/');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    return { action: 'refuse', error: new ZenoError('ZENO_ERR_BAD_REQUEST', `malformed broker path ${JSON.stringify(path)}: expected ${BROKER_PATH_PREFIX}NAMESPACE/NAME`) };
  }
  let namespace: string;
  let name: string;
  try {
    namespace = decodeURIComponent(parts[0]);
    name = decodeURIComponent(parts[1]);
  } catch {
    return { action: 'refuse', error: new ZenoError('ZENO_ERR_BAD_REQUEST', `malformed broker path ${JSON.stringify(path)}`) };
  }
  return { action: 'receive', namespace, name };
}

/**
 * Knative's TTLDefaulter (pkg/broker/ttl.go): no TTL, or one that is not an
 * integer → 255; otherwise one less, never below 0. Ingress then refuses an
 * event whose TTL is ≤ 0. A reply carries its trigger event's TTL back in,
 * so a reply loop ends after 255 passes.
 */
export function nextTtl(raw: AttributeValue | undefined): number {
  if (raw === undefined) return DEFAULT_BROKER_TTL;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^[+-]?\d+$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isInteger(n)) return DEFAULT_BROKER_TTL;
  return Math.max(0, n - 1);
}

/** The attributes (context and extensions) of an SDK event, without data. */
export function attributesOf(event: CloudEvent<unknown>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(event)) {
    if (k === 'data' || k === 'data_base64' || v === undefined || v === null) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

/**
 * Turns an accepted event into what the log stores, applying the ingress
 * rules above. Pure: `nowIso` is the arrival time.
 */
export function admitEvent(event: StoredEvent, trace: TraceContext | undefined, nowIso: string): { event: StoredEvent } | { error: ZenoError } {
  const attributes = { ...event.attributes };
  const ttl = nextTtl(attributes[TTL_ATTRIBUTE]);
  if (ttl <= 0) return { error: new ZenoError('ZENO_ERR_EVENT_TTL_EXPIRED', `event ${String(attributes.id)} has passed through brokers ${DEFAULT_BROKER_TTL} times (${TTL_ATTRIBUTE} reached 0): dropped as a loop`) };
  attributes[TTL_ATTRIBUTE] = ttl;
  attributes[ARRIVAL_ATTRIBUTE] = nowIso;
  // An extension the producer set itself wins over the transport header.
  if (trace !== undefined && attributes.traceparent === undefined) {
    attributes.traceparent = trace.traceparent;
    if (trace.tracestate !== undefined && attributes.tracestate === undefined) attributes.tracestate = trace.tracestate;
  }
  return { event: event.data === undefined ? { attributes } : { attributes, data: event.data } };
}

/** Converts an SDK event to the log's shape (Buffer data stays bytes). */
export function toStoredEvent(event: CloudEvent<unknown>): StoredEvent {
  const attributes = attributesOf(event);
  const data = event.data;
  if (data === undefined || data === null) return { attributes };
  return { attributes, data };
}

export interface IngressDeps {
  log: EventLog;
  clock: Clock;
  /** Whether a Broker of this namespace and name exists. */
  hasBroker(namespace: string, name: string): boolean;
  maxEventBytes: number;
  /** Called once a request to an existing path `/brokers/NS/NAME` is answered (metrics: Knative's broker event_count and latency). */
  onAnswered?(a: { namespace: string; broker: string; eventType: string; code: number; latencyMs: number }): void;
}

/**
 * Appends an event to a Broker's log with the ingress rules, resolving once
 * it is durable. Used by the HTTP ingress and for replies (which come back
 * in as Knative's filter posts them to ingress).
 */
export async function ingest(log: EventLog, nowIso: string, namespace: string, name: string, event: StoredEvent, trace?: TraceContext): Promise<StoredEvent> {
  const admitted = admitEvent(event, trace, nowIso);
  if ('error' in admitted) throw admitted.error;
  await log.append(brokerStream(namespace, name), admitted.event);
  return admitted.event;
}

/**
 * A request as the log's event: binary mode on the fast path
 * (storedEventFromBinary, the common case), anything else through the SDK.
 */
export function storedEventFromHttp(headers: IncomingMessage['headers'], body: Buffer): StoredFromHttpResult {
  const fast = storedEventFromBinary(headers, body);
  if (fast !== undefined) return fast;
  const r = eventFromHttp(headers, body);
  if ('error' in r) return r;
  const event = toStoredEvent(r.event);
  return r.trace === undefined ? { event } : { event, trace: r.trace };
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        over = true;
        req.off('data', onData);
        resolve('too-large');
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!over) resolve(Buffer.concat(chunks, size));
    });
    req.once('error', reject);
  });
}

/** The gateway mount handler for `/brokers/`. */
export function createBrokerIngress(deps: IngressDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    res.setHeader('allow', ALLOW);
    const route = classifyIngress(req.method, req.url ?? '/');
    if (route.action === 'options') {
      // The CloudEvents webhook handshake, answered as Knative does.
      res.writeHead(200, { 'webhook-allowed-origin': '*', 'webhook-allowed-rate': '*', 'content-length': 0 });
      res.end();
      return;
    }
    if (route.action === 'refuse') return refuseBody(req, res, deps.clock, deps.maxEventBytes, route.error);
    const { namespace, name } = route;
    if (!deps.hasBroker(namespace, name)) {
      return refuseBody(req, res, deps.clock, deps.maxEventBytes, new ZenoError('ZENO_ERR_BROKER_NOT_FOUND', `broker "${name}" not found in namespace "${namespace}"`));
    }
    // Metrics only for Brokers that exist: arbitrary paths must not become label values.
    const started = deps.clock.now();
    let eventType = '';
    if (deps.onAnswered) {
      const report = deps.onAnswered;
      res.once('finish', () => report({ namespace, broker: name, eventType, code: res.statusCode, latencyMs: deps.clock.now() - started }));
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > deps.maxEventBytes) {
      return refuseBody(req, res, deps.clock, deps.maxEventBytes, tooLargeError(deps.maxEventBytes, declared));
    }
    const body = await readBody(req, deps.maxEventBytes);
    if (body === 'too-large') return refuseBody(req, res, deps.clock, deps.maxEventBytes, tooLargeError(deps.maxEventBytes));
    const parsed = storedEventFromHttp(req.headers, body);
    if ('error' in parsed) return sendError(res, new ZenoError('ZENO_ERR_INVALID_EVENT', parsed.error.message));
    eventType = String(parsed.event.attributes.type);
    try {
      await ingest(deps.log, isoTime(deps.clock.now()), namespace, name, parsed.event, parsed.trace);
    } catch (e) {
      if (e instanceof ZenoError) return sendError(res, e);
      // Not stored, so not accepted: the producer may retry (Knative answers 500 when the channel fails).
      return sendError(res, new ZenoError('ZENO_ERR_INTERNAL', `the event was not stored: ${(e as Error).message}`));
    }
    // 202 only now: the log has fsynced the event (EventLog.append resolves when durable).
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  };
}
