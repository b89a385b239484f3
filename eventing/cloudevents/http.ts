/**
 * CloudEvents 1.0 over HTTP, as thin helpers over the `cloudevents` SDK
 * (v10). The SDK maps headers and JSON members to attributes and back; this
 * file adds what the SDK leaves out or gets wrong, so that Zeno's ingress
 * validates like Knative and hands events on unchanged:
 *
 * - Validation before the SDK sees the message: the SDK's constructor
 *   invents an `id` when it is missing and turns an unparseable `time` into
 *   "now", so required attributes and `time` are checked on the raw input.
 * - Batched mode is refused with 400: Knative's ingress cannot convert
 *   `EncodingBatch` (sdk-go `binding.ToEvent`) and answers 400
 *   (knative-eventing.md §1, "Batched is not"); the HTTP binding also says
 *   batched "MUST NOT be used unless solicited" (§5).
 * - Mode is chosen by a case-insensitive Content-Type prefix, as the HTTP
 *   binding says (§5); the SDK compares case-sensitively and rejects
 *   `application/cloudevents+json; charset=utf-8`.
 * - Data stays byte-for-byte: the SDK turns `data_base64` into a
 *   Uint32Array and drops falsy structured `data` (0, false, ""), so data
 *   is taken from the raw input here (see `decodeBinaryData`).
 * - `time` keeps the producer's text (the SDK rewrites it as
 *   `toISOString()`, losing sub-millisecond digits and the offset).
 *
 * Known SDK behaviour kept: an event without `time` gets one stamped by the
 * SDK's constructor (Knative's sdk-go does not add it). Binary-mode header
 * values are not percent-decoded/encoded (the SDK does neither, §5).
 *
 * Trace context: `traceparent`/`tracestate` are W3C Trace Context HTTP
 * headers, not CloudEvents attributes (the broker passes them through as
 * Knative does with OpenTelemetry propagation; rekt checks "traceparent is
 * preserved", §6). `eventFromHttp` returns them beside the event, the log
 * stores them with it, and `eventToHttp` writes them back as headers. A
 * `ce-traceparent` header, by contrast, is the CloudEvents distributed-tracing
 * extension and stays an ordinary extension attribute.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import type { ErrorCode } from '../../core/errors.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { jsonDepthExceeds } from '../../core/json-depth.js';
import type { AttributeValue, StoredEvent } from '../log/event-log.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export type EventFromHttpResult =
  | { event: CloudEvent<unknown>; trace?: TraceContext }
  // ZENO_ERR_BAD_REQUEST (400) until core/errors.ts has a dedicated ZENO_ERR_INVALID_EVENT.
  | { error: { code: ErrorCode & 'ZENO_ERR_BAD_REQUEST'; message: string } };

export type ContentMode = 'binary' | 'structured';

export interface HttpMessage {
  headers: Record<string, string>;
  body: Buffer;
}

const CE_JSON = 'application/cloudevents+json';
/** Attribute and extension names: [a-z0-9], at least one character (spec.md "Attribute Naming Convention"). */
const NAME_RE = /^[a-z0-9]+$/;
const REQUIRED = ['id', 'source', 'type', 'specversion'] as const;
const CONTEXT_ATTRS = new Set(['id', 'source', 'type', 'specversion', 'datacontenttype', 'dataschema', 'subject', 'time']);
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** Refusal of JSON data nested past PLATFORM_DEFAULTS.maxJsonDepth (core/json-depth.ts). */
const tooDeep = `event data nests deeper than ${PLATFORM_DEFAULTS.maxJsonDepth} levels of objects and arrays`;

function bad(message: string): EventFromHttpResult {
  return { error: { code: 'ZENO_ERR_BAD_REQUEST', message } };
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function lowerKeys(headers: Headers): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

/** The media type without parameters, lower-cased: `Application/JSON; charset=x` → `application/json`. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** `application/json`, `*\/json` and `*+json` carry JSON data (formats/json-format.md). */
export function isJsonType(contentType: string | undefined): boolean {
  const m = mediaType(contentType);
  return m.endsWith('/json') || m.endsWith('+json');
}

function isTextType(contentType: string | undefined): boolean {
  const m = mediaType(contentType);
  return m.startsWith('text/') || m.endsWith('/xml') || m.endsWith('+xml');
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** RFC 3339 `date-time` with field ranges checked (Date.parse alone accepts Feb 30). */
export function isRfc3339(text: string): boolean {
  const m = RFC3339.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth || h > 23 || mi > 59 || s > 60) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

/**
 * Binary-mode data from the body bytes. JSON types are parsed so that a
 * later structured encoding carries `data` as JSON; a JSON-typed body that
 * does not parse is kept as bytes (Knative's sdk-go does not parse binary
 * data either, so it accepts it). Text and XML become strings when they are
 * valid UTF-8. Everything else stays a Buffer (structured: `data_base64`).
 */
// Made once: a decode() without { stream: true } keeps no state between calls.
const UTF8_JSON = new TextDecoder('utf-8', { fatal: true });
const UTF8_TEXT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBinaryData(body: Buffer, contentType: string | undefined): unknown {
  if (body.length === 0) return undefined;
  if (isJsonType(contentType)) {
    try {
      return JSON.parse(UTF8_JSON.decode(body)) as unknown;
    } catch {
      return Buffer.from(body);
    }
  }
  if (isTextType(contentType)) {
    try {
      return UTF8_TEXT.decode(body);
    } catch {
      return Buffer.from(body);
    }
  }
  return Buffer.from(body);
}

function checkRequired(get: (name: string) => unknown): string | undefined {
  for (const name of REQUIRED) {
    const v = get(name);
    if (typeof v !== 'string' || v === '') return `required attribute "${name}" is missing or empty`;
  }
  if (get('specversion') !== '1.0') return `specversion "${String(get('specversion'))}" is not supported; only 1.0`;
  const time = get('time');
  if (time !== undefined && (typeof time !== 'string' || !isRfc3339(time))) return `time "${String(time)}" is not an RFC 3339 timestamp`;
  return undefined;
}

/**
 * Note on name length: the spec says names SHOULD NOT exceed 20 characters
 * (a producer guideline); neither the SDKs nor Knative reject longer names,
 * so Zeno accepts them rather than drop events Knative would deliver.
 */
function checkName(name: string): string | undefined {
  if (!NAME_RE.test(name)) return `attribute name "${name}" must be lower-case letters a-z and digits 0-9`;
  if (name === 'data') return 'attribute name "data" is reserved';
  return undefined;
}

function traceOf(headers: Headers): TraceContext | undefined {
  const traceparent = header(headers, 'traceparent');
  if (traceparent === undefined) return undefined;
  const tracestate = header(headers, 'tracestate');
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

/** Parses and validates an incoming HTTP request as a CloudEvents 1.0 event (binary or structured mode). */
export function eventFromHttp(rawHeaders: Headers, body: Buffer): EventFromHttpResult {
  const headers = lowerKeys(rawHeaders);
  const contentType = header(headers, 'content-type');
  const media = mediaType(contentType);
  const withTrace = (event: CloudEvent<unknown>): EventFromHttpResult => {
    const trace = traceOf(headers);
    return trace === undefined ? { event } : { event, trace };
  };

  if (media.startsWith('application/cloudevents-batch')) {
    return bad('batched content mode (application/cloudevents-batch+json) is not accepted; send one event per request');
  }

  if (media.startsWith('application/cloudevents')) {
    if (media !== CE_JSON) return bad(`structured event format "${media}" is not supported; use ${CE_JSON}`);
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch {
      return bad('structured event body is not valid JSON');
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('structured event body must be a JSON object');
    if (jsonDepthExceeds(raw, PLATFORM_DEFAULTS.maxJsonDepth)) return bad(tooDeep);
    const obj = raw as Record<string, unknown>;
    const problem = checkRequired((n) => obj[n]);
    if (problem) return bad(problem);
    if ('data' in obj && 'data_base64' in obj) return bad('data and data_base64 are mutually exclusive');
    if ('data_base64' in obj && (typeof obj.data_base64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(obj.data_base64))) {
      return bad('data_base64 must be a base64 string');
    }
    for (const [name, value] of Object.entries(obj)) {
      if (name === 'data' || name === 'data_base64') continue;
      const nameProblem = checkName(name);
      if (nameProblem) return bad(nameProblem);
      if (!CONTEXT_ATTRS.has(name) && !isExtensionValue(value)) return bad(`extension "${name}" must be a string, boolean or 32-bit integer`);
    }
    let event: CloudEvent<unknown>;
    try {
      event = HTTP.toEvent({ headers: { 'content-type': CE_JSON }, body: body.toString('utf8') }) as CloudEvent<unknown>;
    } catch (e) {
      return bad(`invalid CloudEvent: ${(e as Error).message}`);
    }
    const fix: Record<string, unknown> = {};
    if ('data' in obj) fix.data = obj.data;
    if (typeof obj.data_base64 === 'string') Object.assign(fix, { data: Buffer.from(obj.data_base64, 'base64'), data_base64: undefined });
    if (typeof obj.time === 'string') fix.time = obj.time;
    return validated(event.cloneWith(fix, false), withTrace);
  }

  // Binary mode: attributes in ce-* headers, data in the body.
  const ce = (name: string): string | undefined => header(headers, `ce-${name}`);
  const problem = checkRequired((n) => ce(n));
  if (problem) return bad(problem);
  if (ce('datacontenttype') !== undefined) return bad('ce-datacontenttype must not be sent in binary mode; use Content-Type');
  for (const key of Object.keys(headers)) {
    if (!key.startsWith('ce-')) continue;
    const nameProblem = checkName(key.slice(3));
    if (nameProblem) return bad(nameProblem);
  }
  const ceHeaders: Headers = {};
  for (const [k, v] of Object.entries(headers)) if (k.startsWith('ce-')) ceHeaders[k] = v;
  if (contentType !== undefined) ceHeaders['content-type'] = contentType;
  let event: CloudEvent<unknown>;
  try {
    event = HTTP.toEvent({ headers: ceHeaders, body: undefined }) as CloudEvent<unknown>;
  } catch (e) {
    return bad(`invalid CloudEvent: ${(e as Error).message}`);
  }
  const data = decodeBinaryData(body, contentType);
  if (jsonDepthExceeds(data, PLATFORM_DEFAULTS.maxJsonDepth)) return bad(tooDeep);
  const fix: Record<string, unknown> = { data, data_base64: undefined };
  const time = ce('time');
  if (time !== undefined) fix.time = time;
  return validated(event.cloneWith(fix, false), withTrace);
}

function isExtensionValue(v: unknown): boolean {
  if (typeof v === 'string' || typeof v === 'boolean') return true;
  return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

/** What the SDK's validate() threw, as Zeno's 400 message. */
function schemaMessage(e: unknown): string {
  const errors = (e as { errors?: unknown[] }).errors;
  const detail = Array.isArray(errors) && errors.length > 0 ? `: ${JSON.stringify(errors[0])}` : '';
  return `invalid CloudEvent: ${(e as Error).message}${detail}`;
}

/** Runs the SDK's JSON-schema check (URI-reference source, absolute dataschema, non-empty strings). */
function validated(event: CloudEvent<unknown>, ok: (e: CloudEvent<unknown>) => EventFromHttpResult): EventFromHttpResult {
  try {
    event.validate();
  } catch (e) {
    return bad(schemaMessage(e));
  }
  return ok(event);
}

let lastIsoMs = NaN;
let lastIso = '';

/**
 * `new Date(ms).toISOString()`, remembering the last one: at thousands of
 * events a second most events arrive in the same millisecond as the one
 * before, and the ingress writes two such times per event.
 */
export function isoTime(ms: number): string {
  if (ms !== lastIsoMs) {
    lastIso = new Date(ms).toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

export type StoredFromHttpResult =
  | { event: StoredEvent; trace?: TraceContext }
  | { error: { code: ErrorCode & 'ZENO_ERR_BAD_REQUEST'; message: string } };

/**
 * Extension names the SDK's CloudEvent does not keep as plain extensions:
 * fields its constructor handles itself (`schemaurl` is refused on 1.0,
 * `datacontentencoding` is a v0.3 field) and names of its own members
 * (`validate`, `emit`, …), which an extension would overwrite. A request
 * carrying one goes through the SDK, so it gets exactly the SDK's answer.
 */
function sdkSpecialName(name: string): boolean {
  return name === 'schemaurl' || name === 'datacontentencoding' || name in CloudEvent.prototype;
}

const validateAttributes = CloudEvent.prototype.validate as (this: object) => boolean;

/**
 * The broker ingress's hot path: a binary-mode request straight to the
 * log's shape, without building SDK CloudEvents (the SDK path constructs
 * two, copies the headers three times and was about a quarter of the
 * platform's CPU per event). It gives what `eventFromHttp` followed by the
 * ingress's conversion gives — the same attributes in the same order, the
 * same data, the same 400 messages, `time` stamped when absent as the SDK
 * does — and runs the SDK's own schema check on the attributes. The
 * equivalence is a property test against `eventFromHttp` (http.fuzz.test.ts).
 *
 * Returns undefined for what it leaves to `eventFromHttp`: structured and
 * batched mode, header names not in lower case, repeated headers given as
 * arrays, an empty `ce-subject` or `ce-dataschema` (the SDK turns those
 * into extensions of the same name) and the names of sdkSpecialName.
 */
export function storedEventFromBinary(headers: Headers, body: Buffer): StoredFromHttpResult | undefined {
  let id: string | undefined;
  let source: string | undefined;
  let type: string | undefined;
  let specversion: string | undefined;
  let time: string | undefined;
  let subject: string | undefined;
  let dataschema: string | undefined;
  let contentType: string | undefined;
  let traceparent: string | undefined;
  let tracestate: string | undefined;
  let dctHeader = false;
  let badName: string | undefined;
  let extensions: string[] | undefined;
  for (const key in headers) {
    const v = headers[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || key !== key.toLowerCase()) return undefined;
    if (key.charCodeAt(0) === 99 /* c */ && key.startsWith('ce-')) {
      const name = key.slice(3);
      switch (name) {
        case 'id': id = v; break;
        case 'source': source = v; break;
        case 'type': type = v; break;
        case 'specversion': specversion = v; break;
        case 'time': time = v; break;
        case 'subject': if (v === '') return undefined; subject = v; break;
        case 'dataschema': if (v === '') return undefined; dataschema = v; break;
        case 'datacontenttype': dctHeader = true; break;
        default:
          if (badName === undefined) badName = checkName(name);
          if (badName === undefined && sdkSpecialName(name)) return undefined;
          (extensions ??= []).push(name, v);
      }
    } else if (key === 'content-type') contentType = v;
    else if (key === 'traceparent') traceparent = v;
    else if (key === 'tracestate') tracestate = v;
  }
  const media = mediaType(contentType);
  if (media.startsWith('application/cloudevents')) return undefined;
  const problem = checkRequired((n) => (n === 'id' ? id : n === 'source' ? source : n === 'type' ? type : n === 'specversion' ? specversion : time));
  if (problem) return bad(problem) as StoredFromHttpResult;
  if (dctHeader) return bad('ce-datacontenttype must not be sent in binary mode; use Content-Type') as StoredFromHttpResult;
  // The first invalid ce-* name in header order, as eventFromHttp reports it (required ones are valid names).
  if (badName !== undefined) return bad(badName) as StoredFromHttpResult;
  const data = decodeBinaryData(body, contentType);
  if (jsonDepthExceeds(data, PLATFORM_DEFAULTS.maxJsonDepth)) return bad(tooDeep) as StoredFromHttpResult;
  // The SDK's attribute order (its constructor's), then extensions in header order.
  const attributes: Record<string, AttributeValue> = { id: id!, time: time ?? isoTime(Date.now()), type: type!, source: source!, specversion: specversion! };
  // An empty Content-Type is no datacontenttype (the SDK skips empty headers).
  if (contentType) attributes.datacontenttype = contentType;
  if (subject !== undefined) attributes.subject = subject;
  if (dataschema !== undefined) attributes.dataschema = dataschema;
  if (extensions) for (let i = 0; i < extensions.length; i += 2) attributes[extensions[i]!] = extensions[i + 1]!;
  try {
    validateAttributes.call(attributes);
  } catch (e) {
    return bad(schemaMessage(e)) as StoredFromHttpResult;
  }
  const event: StoredEvent = data === undefined || data === null ? { attributes } : { attributes, data };
  if (traceparent === undefined) return { event };
  return { event, trace: tracestate === undefined ? { traceparent } : { traceparent, tracestate } };
}

/**
 * Encodes an event for an outgoing HTTP request. Attributes, extensions and
 * data are carried unchanged (binary mode can only carry extension values as
 * header text, as the binding defines). Trace context, if given, is written
 * as `traceparent`/`tracestate` headers.
 */
export function eventToHttp(event: CloudEvent<unknown>, mode: ContentMode, trace?: TraceContext): HttpMessage {
  const headers: Record<string, string> = {};
  let body: Buffer;
  if (mode === 'structured') {
    const msg = HTTP.structured(event);
    for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = String(v);
    const obj = JSON.parse(String(msg.body)) as Record<string, unknown>;
    obj.time = event.time; // the producer's text, not the SDK's toISOString()
    body = Buffer.from(JSON.stringify(obj), 'utf8');
  } else {
    const msg = HTTP.binary(event);
    for (const [k, v] of Object.entries(msg.headers)) if (v !== undefined) headers[k] = String(v);
    if (event.time !== undefined) headers['ce-time'] = event.time;
    const data = event.data;
    if (data === undefined || data === null) body = Buffer.alloc(0);
    else if (Buffer.isBuffer(data)) body = data;
    else if (data instanceof Uint8Array) body = Buffer.from(data);
    // The SDK sends a string as-is even under a JSON type; JSON data must be JSON text.
    else if (isJsonType(event.datacontenttype) || typeof data !== 'string') body = Buffer.from(JSON.stringify(data), 'utf8');
    else body = Buffer.from(data, 'utf8');
    if (event.datacontenttype === undefined) {
      // No Content-Type for no data, text or bytes, so no attribute is invented. A JSON value
      // without datacontenttype (structured mode implies application/json, json-format.md) must
      // say so in binary mode or the receiver sees bytes: it arrives as `application/json`,
      // the implied value made explicit (the SDK would add `; charset=utf-8`).
      if (data === undefined || data === null || typeof data === 'string' || data instanceof Uint8Array) delete headers['content-type'];
      else headers['content-type'] = 'application/json';
    }
  }
  if (trace !== undefined) {
    headers.traceparent = trace.traceparent;
    if (trace.tracestate !== undefined) headers.tracestate = trace.tracestate;
  }
  return { headers, body };
}
