import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the de-facto ones Go's
 * httputil.ReverseProxy drops): they describe one connection, never the
 * request, so a proxy must not forward them.
 */
const HOP_BY_HOP = new Set([
  'connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/**
 * Not forwarded upstream: the hop-by-hop ones, and `Expect` (the gateway
 * answers `Expect: 100-continue` itself, see checkContinue).
 */
const NOT_UPSTREAM = new Set([...HOP_BY_HOP, 'expect']);

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  // What nearly every peer sends: both are hop-by-hop already, nothing more to drop.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Close') return undefined;
  const v = Array.isArray(value) ? value.join(',') : value;
  const out = new Set<string>();
  for (const t of v.split(',')) {
    const s = t.trim().toLowerCase();
    if (s) out.add(s);
  }
  return out.size ? out : undefined;
}

export interface ForwardInfo {
  remoteAddress: string | undefined;
  proto: 'http' | 'https';
}

/**
 * Headers to send upstream: the client's, minus hop-by-hop ones, plus
 * Forwarded / X-Forwarded-* (Knative's runtime contract says the request
 * carries them). Host is kept as the client sent it.
 */
export function upstreamHeaders(h: IncomingHttpHeaders, info: ForwardInfo): Record<string, string | string[]> {
  const drop = connectionTokens(h.connection);
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined || NOT_UPSTREAM.has(k) || drop?.has(k)) continue;
    out[k] = v;
  }
  const addr = info.remoteAddress ?? 'unknown';
  const prior = h['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${addr}` : addr;
  if (!h['x-forwarded-proto']) out['x-forwarded-proto'] = info.proto;
  if (h.host && !h['x-forwarded-host']) out['x-forwarded-host'] = h.host;
  const forNode = addr.includes(':') ? `"[${addr}]"` : addr;
  const elem = `for=${forNode};proto=${info.proto}${h.host ? `;host=${quoteIfNeeded(h.host)}` : ''}`;
  const fwd = h.forwarded;
  out.forwarded = fwd ? `${fwd}, ${elem}` : elem;
  return out;
}

const TOKEN = /^[A-Za-z0-9.\-_~!#$%&'*+^`|]+$/;
/** The last host quoted: nearly every request to a gateway names one of a few hosts. */
let lastHost = '';
let lastQuoted = '';

function quoteIfNeeded(v: string): string {
  if (v === lastHost) return lastQuoted;
  lastQuoted = TOKEN.test(v) ? v : `"${v.replace(/["\\]/g, '\\$&')}"`;
  lastHost = v;
  return lastQuoted;
}

/** Response headers to send back to the client: the function's, minus hop-by-hop ones. */
export function downstreamHeaders(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const drop = connectionTokens(h.connection);
  const out: Record<string, string | string[]> = {};
  for (const k in h) {
    const v = h[k];
    if (v === undefined || HOP_BY_HOP.has(k) || drop?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * downstreamHeaders for a response head as a flat [name, value, …] list with
 * lower-case names (as gateway/upstream.ts reads it), returned in the form
 * `res.writeHead` takes: no header object per response, and a repeated
 * field (Set-Cookie) stays one line per value.
 */
export function downstreamFlatHeaders(flat: readonly string[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i]!;
    const value = flat[i + 1]!;
    if (name === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
    if (HOP_BY_HOP.has(name)) continue;
    out.push(name, value);
  }
  // Fields the Connection header names are hop-by-hop too (RFC 9110 §7.6.1).
  const drop = connectionTokens(connection);
  if (!drop) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!drop.has(out[i]!)) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

/** The same for a response head as undici's dispatch reads it off the wire (name, value, … as Buffers). */
export function downstreamRawHeaders(raw: readonly Buffer[]): string[] {
  const flat: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) flat.push(raw[i]!.toString('latin1').toLowerCase(), raw[i + 1]!.toString('latin1'));
  return downstreamFlatHeaders(flat);
}

/**
 * requestHead(method, path, upstreamHeaders(h, info)) with `traceparent` and
 * `requestId` set on top as the gateway sets them (a traceparent replaces
 * the client's; a request id is added only when the client sent none), byte
 * for byte, written straight from the client's headers: the warm path
 * (gateway/upstream.ts) then builds no header object per request only to
 * walk it once more. As in requestHead, nothing is checked for CR, LF or
 * NUL: the client's fields passed Node's parser, the rest is the gateway's.
 */
export function upstreamRequestHead(
  method: string, path: string, h: IncomingHttpHeaders, info: ForwardInfo, traceparent: string | undefined, requestId: string | undefined,
): string {
  const drop = connectionTokens(h.connection);
  const addr = info.remoteAddress ?? 'unknown';
  const prior = h['x-forwarded-for'];
  const xff = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${addr}` : addr;
  const xfp = h['x-forwarded-proto'] ? undefined : info.proto;
  const xfh = h.host && !h['x-forwarded-host'] ? h.host : undefined;
  const forNode = addr.includes(':') ? `"[${addr}]"` : addr;
  const elem = `for=${forNode};proto=${info.proto}${h.host ? `;host=${quoteIfNeeded(h.host)}` : ''}`;
  const fwd = h.forwarded ? `${h.forwarded}, ${elem}` : elem;
  const rid = requestId !== undefined && !h['x-request-id'] ? requestId : undefined;
  // As in an object: a field set again keeps the place the client gave it, a new one goes last.
  let seen = 0;
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const k in h) {
    let v = h[k];
    if (v === undefined || NOT_UPSTREAM.has(k) || drop?.has(k)) continue;
    switch (k) {
      case 'x-forwarded-for': v = xff; seen |= 1; break;
      case 'x-forwarded-proto': if (xfp) v = xfp; seen |= 2; break;
      case 'x-forwarded-host': if (xfh) v = xfh; seen |= 4; break;
      case 'forwarded': v = fwd; seen |= 8; break;
      case 'traceparent': if (traceparent) v = traceparent; seen |= 16; break;
      case 'x-request-id': if (rid) v = rid; seen |= 32; break;
    }
    if (typeof v === 'string') head += `${k}: ${v}\r\n`;
    else for (const x of v) head += `${k}: ${x}\r\n`;
  }
  if (!(seen & 1)) head += `x-forwarded-for: ${xff}\r\n`;
  if (xfp && !(seen & 2)) head += `x-forwarded-proto: ${xfp}\r\n`;
  if (xfh && !(seen & 4)) head += `x-forwarded-host: ${xfh}\r\n`;
  if (!(seen & 8)) head += `forwarded: ${fwd}\r\n`;
  if (traceparent && !(seen & 16)) head += `traceparent: ${traceparent}\r\n`;
  if (rid && !(seen & 32)) head += `x-request-id: ${rid}\r\n`;
  return `${head}\r\n`;
}

/**
 * An HTTP/1.1 request head for `headers` (as upstreamHeaders makes them):
 * the plain form upstreamRequestHead must equal (its test compares them).
 * No field is checked for CR, LF or NUL here: every name and value comes
 * from Node's HTTP parser, which refuses them, or from the gateway itself.
 */
export function requestHead(method: string, path: string, headers: Record<string, string | string[]>): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const k in headers) {
    const v = headers[k]!;
    if (typeof v === 'string') head += `${k}: ${v}\r\n`;
    else for (const x of v) head += `${k}: ${x}\r\n`;
  }
  return `${head}\r\n`;
}
