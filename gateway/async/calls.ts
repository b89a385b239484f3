/**
 * Asynchronous calls, the pure parts: paths, the call record kept in the
 * event log, and the headers of the callback. Behaviour follows OpenFaaS's
 * gateway and queue-worker (reference peers.md §1, "Async: queue-worker").
 */
import type { IncomingHttpHeaders } from 'node:http';
import { ZenoError } from '../../core/errors.js';
import type { StoredEvent } from '../../eventing/log/event-log.js';
import { downstreamHeaders } from '../proxy-headers.js';
import { parseFunctionPath } from '../routes.js';

export const ASYNC_PREFIX = '/async-function/';

/** One stream key (and one consumer of the same name) per function. */
export function streamKey(namespace: string, name: string): string {
  return `async:${namespace}/${name}`;
}

/** `POST /async-function/NAME[.NAMESPACE][/path][?query]`. */
export interface AsyncTarget {
  name: string;
  namespace: string;
  /** The function as the caller named it (`NAME` or `NAME.NAMESPACE`): sent back as X-Function-Name, as OpenFaaS does. */
  label: string;
  /** The path after the function, always starting with "/". */
  path: string;
  /** The query string with its "?", or "". */
  query: string;
}

export function parseAsyncPath(url: string): AsyncTarget | undefined {
  const fp = parseFunctionPath(url, ASYNC_PREFIX);
  if (!fp) return undefined;
  const rest = url.slice(ASYNC_PREFIX.length);
  const end = rest.search(/[/?]/);
  const label = end < 0 ? rest : rest.slice(0, end);
  const q = fp.path.indexOf('?');
  return { name: fp.name, namespace: fp.namespace, label, path: q < 0 ? fp.path : fp.path.slice(0, q), query: q < 0 ? '' : fp.path.slice(q) };
}

/**
 * `DELETE /async-function/CALL-ID`, or OpenFaaS Pro's
 * `DELETE /async-function/NAME[.NAMESPACE]/CALL-ID`.
 */
export function parseCancelPath(url: string): { callId: string; fn?: { name: string; namespace: string } } | undefined {
  if (!url.startsWith(ASYNC_PREFIX)) return undefined;
  const q = url.indexOf('?');
  const parts = url.slice(ASYNC_PREFIX.length, q < 0 ? undefined : q).split('/');
  if (parts.length === 2 && parts[1] === '') parts.pop();
  if (parts.some((p) => p === '') || parts.length > 2) return undefined;
  if (parts.length === 1) return { callId: parts[0]! };
  const fp = parseFunctionPath(`/${parts[0]}`, '/');
  if (!fp) return undefined;
  return { callId: parts[1]!, fn: { name: fp.name, namespace: fp.namespace } };
}

/**
 * X-Callback-Url must be one absolute http(s) URL with a host; the gateway
 * answers 400 otherwise (OpenFaaS: `url.Parse` fails → 400).
 */
export function parseCallbackUrl(value: string | string[] | undefined): string | undefined | ZenoError {
  if (value === undefined) return undefined;
  const bad = (why: string) => new ZenoError('ZENO_ERR_INVALID_CALLBACK_URL', `X-Callback-Url ${JSON.stringify(value)} ${why}`);
  if (Array.isArray(value)) return bad('is given more than once');
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    return bad('is not an absolute URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return bad('must use http or https');
  if (u.hostname === '') return bad('has no host');
  if (u.username || u.password) return bad('must not carry credentials');
  return u.href;
}

/** A call id is ours (a UUID), but DELETE takes anything that can name one. */
export function isCallId(s: string): boolean {
  return /^[A-Za-z0-9._-]{1,128}$/.test(s);
}

/** A recorded call: everything the worker needs to make the request again. */
export interface AsyncCall {
  id: string;
  name: string;
  namespace: string;
  label: string;
  method: string;
  path: string;
  query: string;
  /** Request headers in order, names lower-case, hop-by-hop ones dropped. */
  headers: [string, string][];
  body: Uint8Array;
  callbackUrl?: string;
  /** ms since the epoch. */
  acceptedAt: number;
}

/** Headers that describe the incoming message, not the call: the worker's own request sets them again. */
const NOT_RECORDED = new Set(['host', 'content-length', 'expect']);

/**
 * The request headers kept with a call: the caller's, minus hop-by-hop ones
 * (the same rule as the proxy) and the ones the worker's request sets
 * itself; X-Call-Id is the call's id (the function sees it, as in OpenFaaS).
 */
export function recordedHeaders(h: IncomingHttpHeaders, callId: string): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(downstreamHeaders(h as Record<string, string | string[] | undefined>))) {
    if (NOT_RECORDED.has(k) || k === 'x-call-id') continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one]);
  }
  out.push(['x-call-id', callId]);
  return out;
}

/**
 * A call as a CloudEvent in the log: context attributes carry the request
 * line and headers, `data` the body bytes exactly as received.
 */
export function callToEvent(c: AsyncCall): StoredEvent {
  const attributes: StoredEvent['attributes'] = {
    specversion: '1.0',
    id: c.id,
    source: `${ASYNC_PREFIX}${c.name}.${c.namespace}`,
    type: 'dev.zeno.async.call',
    fnname: c.name,
    fnnamespace: c.namespace,
    fnlabel: c.label,
    method: c.method,
    path: c.path,
    query: c.query,
    headers: JSON.stringify(c.headers),
    acceptedat: c.acceptedAt,
  };
  if (c.callbackUrl !== undefined) attributes.callbackurl = c.callbackUrl;
  return { attributes, data: c.body };
}

export function eventToCall(e: StoredEvent): AsyncCall {
  const a = e.attributes;
  const s = (k: string): string => {
    const v = a[k];
    if (typeof v !== 'string') throw new Error(`async call record: attribute ${k} missing`);
    return v;
  };
  const headers = JSON.parse(s('headers')) as [string, string][];
  const call: AsyncCall = {
    id: s('id'),
    name: s('fnname'),
    namespace: s('fnnamespace'),
    label: s('fnlabel'),
    method: s('method'),
    path: s('path'),
    query: s('query'),
    headers,
    body: e.data instanceof Uint8Array ? e.data : new Uint8Array(0),
    acceptedAt: typeof a.acceptedat === 'number' ? a.acceptedat : 0,
  };
  if (typeof a.callbackurl === 'string') call.callbackUrl = a.callbackurl;
  return call;
}

/** A cancellation, kept in its own stream until the call it names is settled. */
export interface CancelRecord {
  callId: string;
  stream: string;
  seq: number;
}

export function cancelToEvent(c: CancelRecord): StoredEvent {
  return { attributes: { specversion: '1.0', id: `cancel-${c.callId}`, source: ASYNC_PREFIX, type: 'dev.zeno.async.cancel', callid: c.callId, stream: c.stream, callseq: c.seq } };
}

export function eventToCancel(e: StoredEvent): CancelRecord | undefined {
  const { callid, stream, callseq } = e.attributes;
  if (typeof callid !== 'string' || typeof stream !== 'string' || typeof callseq !== 'number') return undefined;
  return { callId: callid, stream, seq: callseq };
}

/** The outcome of the call's last attempt, as the callback reports it. */
export interface CallResult {
  /** The function's status; UNREACHABLE_STATUS (503) when there was no response at all. */
  status: number;
  /** The response headers; none when there was no response. */
  headers: Record<string, string | string[]>;
  body: Uint8Array;
  /** How long the last attempt took, ms. */
  durationMs: number;
}

/** Response headers the callback request sets itself. */
const NOT_COPIED = new Set(['content-length', 'transfer-encoding', 'host']);

/**
 * The callback's headers, as OpenFaaS's queue-worker builds them: the
 * function's response headers (hop-by-hop ones dropped), then
 * X-Duration-Seconds (unless the function set it; seconds with 6 decimals,
 * Go's %f), X-Function-Status, X-Function-Name and X-Call-Id.
 */
export function callbackHeaders(call: Pick<AsyncCall, 'id' | 'label'>, r: CallResult): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(downstreamHeaders(r.headers))) {
    if (!NOT_COPIED.has(k.toLowerCase())) out[k.toLowerCase()] = v;
  }
  if (out['x-duration-seconds'] === undefined) out['x-duration-seconds'] = (r.durationMs / 1000).toFixed(6);
  out['x-function-status'] = String(r.status);
  out['x-function-name'] = call.label;
  out['x-call-id'] = call.id;
  return out;
}
