import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { downstreamHeaders, downstreamRawHeaders, requestHead, upstreamHeaders, upstreamRequestHead } from './proxy-headers.js';

/** A response head as undici reads it: name, value, … as Buffers. */
const raw = (...pairs: string[]): Buffer[] => pairs.map((s) => Buffer.from(s, 'latin1'));

describe('downstreamRawHeaders', () => {
  const cases: { name: string; head: string[]; want: string[] }[] = [
    { name: 'keeps end-to-end fields, lower-cases names', head: ['Content-Type', 'text/plain', 'X-A', '1'], want: ['content-type', 'text/plain', 'x-a', '1'] },
    { name: 'drops the hop-by-hop set', head: ['Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'content-length', '3'], want: ['content-length', '3'] },
    { name: 'drops fields the Connection header names', head: ['connection', 'x-hop, close', 'x-hop', 'secret', 'x-end', 'kept'], want: ['x-end', 'kept'] },
    { name: 'joins repeated Connection headers before reading tokens', head: ['connection', 'x-a', 'Connection', 'X-B', 'x-a', '1', 'x-b', '2', 'x-c', '3'], want: ['x-c', '3'] },
    { name: 'keeps a repeated field as separate lines', head: ['set-cookie', 'a=1', 'Set-Cookie', 'b=2'], want: ['set-cookie', 'a=1', 'set-cookie', 'b=2'] },
    { name: 'keeps latin1 bytes of values as they came', head: ['x-bytes', '\u00e9\u00ff'], want: ['x-bytes', '\u00e9\u00ff'] },
    { name: 'an empty head', head: [], want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(downstreamRawHeaders(raw(...c.head))).toEqual(c.want);
    });
  }

  it('agrees with downstreamHeaders on single-valued heads', () => {
    const head = ['Content-Type', 'a/b', 'Connection', 'keep-alive, X-Drop', 'x-drop', '1', 'Date', 'now', 'proxy-authenticate', 'x'];
    const flat = downstreamRawHeaders(raw(...head));
    const obj: Record<string, string> = {};
    for (let i = 0; i < head.length; i += 2) obj[head[i]!.toLowerCase()] = head[i + 1]!;
    expect(Object.fromEntries(flat.flatMap((v, i) => (i % 2 ? [] : [[v, flat[i + 1]]])))).toEqual(downstreamHeaders(obj));
  });
});

describe('upstreamRequestHead', () => {
  /** What the gateway sent before: the header object, the gateway's own fields set on it, then the head. */
  const reference = (h: IncomingHttpHeaders, addr: string | undefined, traceparent: string | undefined, requestId: string | undefined) => {
    const headers = upstreamHeaders(h, { remoteAddress: addr, proto: 'http' });
    if (traceparent) headers.traceparent = traceparent;
    if (requestId !== undefined && !h['x-request-id']) headers['x-request-id'] = requestId;
    return requestHead('GET', '/p?q=1', headers);
  };
  const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const cases: { name: string; h: IncomingHttpHeaders; addr?: string; tp?: string; rid?: string }[] = [
    { name: 'a bare request (what wrk sends)', h: { host: 'hello.default.localhost' }, addr: '127.0.0.1', tp: TP },
    { name: 'prior forwarding fields keep their place', h: { 'x-forwarded-for': '10.0.0.1', host: 'a.b', forwarded: 'for=10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'ext' }, addr: '::1' },
    { name: 'empty forwarding fields are overwritten in place', h: { 'x-forwarded-for': '', 'x-forwarded-proto': '', forwarded: '', host: 'h' }, addr: '127.0.0.1' },
    { name: 'an invalid client traceparent is replaced in place', h: { traceparent: 'nonsense', host: 'h', accept: '*/*' }, tp: TP },
    { name: 'a valid client traceparent goes on', h: { traceparent: TP, host: 'h' } },
    { name: 'a request id is added only when absent', h: { host: 'h' }, rid: 'abc' },
    { name: 'the client request id wins', h: { host: 'h', 'x-request-id': 'mine' }, rid: 'abc' },
    { name: 'an empty client request id is replaced in place', h: { 'x-request-id': '', host: 'h' }, rid: 'abc' },
    { name: 'hop-by-hop fields and the ones Connection names are dropped', h: { connection: 'keep-alive, x-forwarded-for, Forwarded, traceparent', 'x-forwarded-for': '1.2.3.4', forwarded: 'for=x', traceparent: 'bad', te: 'trailers', expect: '100-continue', host: 'h' }, tp: TP, rid: 'r' },
    { name: 'repeated fields stay one line per value; no address, no host', h: { 'set-cookie': ['a=1', 'b=2'], 'x-a': '1' } },
    { name: 'a host that must be quoted', h: { host: 'a b' }, addr: '127.0.0.1' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(upstreamRequestHead('GET', '/p?q=1', c.h, { remoteAddress: c.addr, proto: 'http' }, c.tp, c.rid)).toBe(reference(c.h, c.addr, c.tp, c.rid));
    });
  }
});
