/**
 * The dispatcher's pure half: how a stored event becomes an outgoing HTTP
 * request, and what a subscriber's answer means. No I/O, no clock; tested
 * with tables in encoding.test.ts. Facts cited from
 * /work/shared/reference/knative-eventing.md (§ numbers below).
 */
import type { CloudEvent } from 'cloudevents';
import { eventFromHttp, isJsonType, type Headers } from '../cloudevents/http.js';
import { isSuccess } from '../delivery/delivery.js';
import type { AttributeValue, StoredEvent } from '../log/event-log.js';
import { encodeEvent } from '../log/sqlite-log.js';

export interface OutgoingRequest {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The CloudEvents distributed-tracing extension (cloudevents/spec
 * extensions/distributed-tracing.md): attributes `traceparent` and
 * `tracestate`, W3C Trace Context values. Zeno's ingress stores the
 * producer's HTTP `traceparent`/`tracestate` headers as these extension
 * attributes when the event does not already carry them (as Knative's
 * channel receiver did with tracing.AddTraceparentAttributeFromContext); for
 * a multi-hop transmission the extension carries the starting trace, as that
 * spec requires. The dispatcher sends them back out twice: as ordinary
 * attributes (`ce-traceparent`, unchanged like every attribute) and as the
 * W3C HTTP headers, with equal values, which is what the extension asks of a
 * single hop. rekt's data-plane conformance checks "traceparent is
 * preserved" (§6).
 */
export const TRACE_ATTRIBUTES = ['traceparent', 'tracestate'] as const;

/**
 * A header value we can send verbatim: visible ASCII and space. The HTTP
 * binding (§5) wants anything else percent-encoded, but the JavaScript SDK
 * (and so Zeno's own codec, eventing/cloudevents/http.ts) neither encodes nor
 * decodes, so a percent-encoded value would reach a JS subscriber altered.
 * An event with such a value goes out in structured mode instead, where
 * every attribute travels as JSON text, unchanged.
 */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

function text(v: AttributeValue): string {
  return typeof v === 'string' ? v : String(v);
}

/** True when every attribute can be a `ce-` header value as it is. */
export function binaryModeSafe(event: StoredEvent): boolean {
  const a = event.attributes;
  for (const k in a) if (!HEADER_SAFE.test(text(a[k]!))) return false;
  return true;
}

/**
 * Binary-mode body (§5: body = data, Content-Type = datacontenttype). JSON
 * data (a JSON-typed event, or any non-string value) is JSON text; bytes are
 * sent as they are; a string under a non-JSON type is its UTF-8 text. The
 * ingress parsed JSON bodies into values, so this is the inverse of
 * eventFromHttp's decodeBinaryData.
 */
function binaryBody(event: StoredEvent): { body: Buffer; contentType: string | undefined } {
  const { data } = event;
  const dct = event.attributes.datacontenttype;
  const declared = dct === undefined ? undefined : text(dct);
  if (data === undefined) return { body: Buffer.alloc(0), contentType: declared };
  if (data instanceof Uint8Array) return { body: Buffer.from(data.buffer, data.byteOffset, data.byteLength), contentType: declared };
  if (data === null && !isJsonType(declared)) return { body: Buffer.alloc(0), contentType: declared };
  if (typeof data === 'string' && !isJsonType(declared)) return { body: Buffer.from(data, 'utf8'), contentType: declared };
  // A JSON value with no datacontenttype: structured mode implies
  // application/json (json-format.md), binary mode must say it.
  return { body: Buffer.from(JSON.stringify(data), 'utf8'), contentType: declared ?? 'application/json' };
}

/**
 * Encodes a stored event for delivery. Binary content mode (the MT broker's
 * dispatcher sends binary): every attribute but `datacontenttype` as a
 * `ce-<name>` header, data as the body. Structured mode only when an
 * attribute value cannot be a header as it is (see HEADER_SAFE). Adds the
 * W3C trace headers from the distributed-tracing extension, `Prefer: reply`
 * (the data-plane spec: brokers MUST send it, §1 "Replies") and `extra`
 * (e.g. a Host header for delivery through the gateway).
 */
export function encodeForDelivery(event: StoredEvent, extra: Record<string, string> = {}): OutgoingRequest {
  const headers: Record<string, string> = {};
  for (const k in extra) headers[k.toLowerCase()] = extra[k]!;
  let body: Buffer;
  if (binaryModeSafe(event)) {
    const a = event.attributes;
    for (const name in a) {
      if (name === 'datacontenttype') continue;
      headers[`ce-${name}`] = text(a[name]!);
    }
    const b = binaryBody(event);
    body = b.body;
    if (b.contentType !== undefined) headers['content-type'] = b.contentType;
  } else {
    headers['content-type'] = 'application/cloudevents+json; charset=utf-8';
    body = Buffer.from(encodeEvent(event), 'utf8');
  }
  for (const name of TRACE_ATTRIBUTES) {
    const v = event.attributes[name];
    if (typeof v === 'string' && HEADER_SAFE.test(v)) headers[name] = v;
  }
  headers.prefer = 'reply';
  return { headers, body };
}

/** A CloudEvent from the SDK as the log keeps it: attributes plus data (bytes stay bytes). */
export function storedFromCloudEvent(ce: CloudEvent<unknown>): StoredEvent {
  const attributes: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(ce)) {
    if (k === 'data' || k === 'data_base64' || v === undefined || v === null) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
    else attributes[k] = String(v);
  }
  const event: StoredEvent = { attributes };
  const data = ce.data;
  if (data instanceof Uint8Array) event.data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else if (data !== undefined) event.data = data;
  return event;
}

/**
 * Knative's response when the subscriber answered with something that is
 * not a CloudEvent: the broker filter turns a non-empty body that does not
 * parse into 502 (filter_handler.go, §1 "Replies"), and the channel's
 * delivery then retries and dead-letters it like any 502.
 */
export const NOT_A_CLOUDEVENT_STATUS = 502;

export type AttemptOutcome =
  | { ok: true; reply?: StoredEvent }
  | {
      ok: false;
      /** The status the retry table sees; undefined = no response (transport error, timeout). */
      status: number | undefined;
      /** What goes into knativeerrordata. */
      body: Buffer;
      retryAfter?: string;
      reason: string;
    };

function headerOf(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Classifies a subscriber's answer (§1 "Replies", §2 retry table):
 * - not 2xx → failure with that status (the retry table decides);
 * - 202 and 204 → success, no reply: a 202 body MUST NOT be a reply;
 * - 2xx with an empty body and no CloudEvent headers → success, no reply;
 * - other 2xx carrying a valid CloudEvent, binary or structured → success
 *   with a reply (the data-plane spec names 200; Zeno reads 201/203 alike);
 * - other 2xx with a body that is not a valid CloudEvent → failure, 502
 *   (rekt: "malformed replies count as a failed delivery").
 * Response headers must have lower-case names (node and undici give them so).
 */
export function classifyResponse(status: number, headers: Headers, body: Buffer, original?: StoredEvent): AttemptOutcome {
  if (!isSuccess(status)) {
    const retryAfter = headerOf(headers, 'retry-after');
    return { ok: false, status, body, ...(retryAfter === undefined ? {} : { retryAfter }), reason: `subscriber answered ${status}` };
  }
  if (status === 202 || status === 204) return { ok: true };
  const ct = (headerOf(headers, 'content-type') ?? '').toLowerCase();
  const looksLikeEvent = body.length > 0 || headerOf(headers, 'ce-id') !== undefined || ct.startsWith('application/cloudevents');
  if (!looksLikeEvent) return { ok: true };
  const parsed = eventFromHttp(headers, body);
  if ('error' in parsed) {
    return { ok: false, status: NOT_A_CLOUDEVENT_STATUS, body, reason: `subscriber answered ${status} with a body that is not a valid CloudEvent: ${parsed.error.message}` };
  }
  const reply = storedFromCloudEvent(parsed.event);
  // The reply continues the trace: its own distributed-tracing extension if
  // it has one, else the W3C headers of the response, else the original's.
  if (reply.attributes.traceparent === undefined) {
    if (parsed.trace !== undefined) {
      reply.attributes.traceparent = parsed.trace.traceparent;
      if (parsed.trace.tracestate !== undefined) reply.attributes.tracestate = parsed.trace.tracestate;
    } else if (original?.attributes.traceparent !== undefined) {
      reply.attributes.traceparent = original.attributes.traceparent;
      if (original.attributes.tracestate !== undefined) reply.attributes.tracestate = original.attributes.tracestate;
    }
  }
  return { ok: true, reply };
}
