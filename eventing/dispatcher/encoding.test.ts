import { describe, expect, it } from 'vitest';
import { eventFromHttp } from '../cloudevents/http.js';
import type { StoredEvent } from '../log/event-log.js';
import { classifyResponse, encodeForDelivery, storedFromCloudEvent } from './encoding.js';

const base = { specversion: '1.0', id: 'e-1', source: '/apis/v1/namespaces/default/pingsources/p', type: 'dev.zeno.test', time: '2026-01-01T00:00:00.123456+02:00' };

function roundTrip(ev: StoredEvent): StoredEvent {
  const req = encodeForDelivery(ev);
  const parsed = eventFromHttp(req.headers, req.body);
  if ('error' in parsed) throw new Error(parsed.error.message);
  return storedFromCloudEvent(parsed.event);
}

describe('encodeForDelivery', () => {
  it('writes binary mode: ce- headers for every attribute, Content-Type from datacontenttype, Prefer: reply', () => {
    const req = encodeForDelivery(
      { attributes: { ...base, datacontenttype: 'application/json', subject: 's', myint: 42, mybool: true, mystr: 'x y' }, data: { a: [1, 2] } },
      { Host: 'hello.default.localhost' },
    );
    expect(req.headers).toEqual({
      host: 'hello.default.localhost',
      'ce-specversion': '1.0',
      'ce-id': 'e-1',
      'ce-source': base.source,
      'ce-type': 'dev.zeno.test',
      'ce-time': base.time,
      'ce-subject': 's',
      'ce-myint': '42',
      'ce-mybool': 'true',
      'ce-mystr': 'x y',
      'content-type': 'application/json',
      prefer: 'reply',
    });
    expect(JSON.parse(req.body.toString())).toEqual({ a: [1, 2] });
  });

  it.each<[string, StoredEvent, string | undefined, string]>([
    ['JSON object', { attributes: { ...base, datacontenttype: 'application/json' }, data: { k: 'v' } }, 'application/json', '{"k":"v"}'],
    ['JSON string under a JSON type stays JSON text', { attributes: { ...base, datacontenttype: 'application/json' }, data: 'hi' }, 'application/json', '"hi"'],
    ['+json type', { attributes: { ...base, datacontenttype: 'application/vnd.x+json' }, data: [1] }, 'application/vnd.x+json', '[1]'],
    ['text', { attributes: { ...base, datacontenttype: 'text/plain; charset=utf-8' }, data: 'Hello, 🌎!' }, 'text/plain; charset=utf-8', 'Hello, 🌎!'],
    ['bytes', { attributes: { ...base, datacontenttype: 'application/octet-stream' }, data: new Uint8Array([0, 255, 10]) }, 'application/octet-stream', '\u0000\uFFFD\n'],
    ['no data', { attributes: { ...base } }, undefined, ''],
    ['JSON value without datacontenttype says application/json', { attributes: { ...base }, data: { a: 1 } }, 'application/json', '{"a":1}'],
    ['string without datacontenttype: no Content-Type invented', { attributes: { ...base }, data: 'plain' }, undefined, 'plain'],
  ])('body and Content-Type: %s', (_label, ev, contentType, body) => {
    const req = encodeForDelivery(ev);
    expect(req.headers['content-type']).toBe(contentType);
    expect(req.headers['ce-datacontenttype']).toBeUndefined();
    expect(req.body.toString('utf8')).toBe(body);
  });

  it('sends bytes unchanged', () => {
    const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
    const req = encodeForDelivery({ attributes: { ...base, datacontenttype: 'application/octet-stream' }, data: bytes });
    expect([...req.body]).toEqual([...bytes]);
  });

  it('sends the distributed-tracing extension as an attribute and as W3C trace headers', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const req = encodeForDelivery({ attributes: { ...base, traceparent, tracestate: 'rojo=00f067aa0ba902b7' } });
    expect(req.headers.traceparent).toBe(traceparent);
    expect(req.headers['ce-traceparent']).toBe(traceparent);
    expect(req.headers.tracestate).toBe('rojo=00f067aa0ba902b7');
    expect(req.headers['ce-tracestate']).toBe('rojo=00f067aa0ba902b7');
  });

  it('falls back to structured mode when an attribute cannot be a header as it is', () => {
    const ev: StoredEvent = { attributes: { ...base, subject: 'café\nline', datacontenttype: 'text/plain' }, data: 'x' };
    const req = encodeForDelivery(ev);
    expect(req.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(req.headers['ce-id']).toBeUndefined();
    expect(req.headers.prefer).toBe('reply');
    expect(roundTrip(ev)).toEqual(ev);
  });

  it.each<[string, StoredEvent]>([
    ['JSON data and extensions', { attributes: { ...base, datacontenttype: 'application/json', ext1: 'v', num: 7, flag: false }, data: { nested: { a: [true, null, 1.5] } } }],
    ['text data', { attributes: { ...base, datacontenttype: 'text/plain' }, data: 'Hello, 🌎!' }],
    ['binary data', { attributes: { ...base, datacontenttype: 'image/png' }, data: new Uint8Array([137, 80, 78, 71, 0, 255]) }],
    ['no data', { attributes: { ...base, dataschema: 'https://example.com/schema', subject: 'sub' } }],
  ])('round-trips through the CloudEvents codec unchanged: %s', (_label, ev) => {
    // Binary mode carries every attribute as header text (the HTTP binding's
    // canonical string form), so an integer or boolean extension arrives as
    // its string: 7 → "7". Everything else comes back identical.
    const asText = Object.fromEntries(Object.entries(ev.attributes).map(([k, v]) => [k, String(v)]));
    expect(roundTrip(ev)).toEqual({ ...ev, attributes: asText });
  });
});

describe('classifyResponse', () => {
  const ce = { 'ce-specversion': '1.0', 'ce-id': 'r-1', 'ce-source': '/reply', 'ce-type': 'dev.zeno.reply', 'ce-time': '2026-01-01T00:00:00Z' };
  const structured = Buffer.from(JSON.stringify({ specversion: '1.0', id: 'r-2', source: '/reply', type: 'dev.zeno.reply', time: '2026-01-01T00:00:00Z', data: { ok: 1 } }));
  const kinds = (status: number, headers: Record<string, string>, body: string | Buffer) => {
    const out = classifyResponse(status, headers, typeof body === 'string' ? Buffer.from(body) : body);
    if (!out.ok) return { ok: false, status: out.status };
    return { ok: true, reply: out.reply?.attributes.id };
  };

  it.each<[string, number, Record<string, string>, string | Buffer, { ok: boolean; reply?: string; status?: number }]>([
    ['200 empty body: delivered, no reply', 200, {}, '', { ok: true, reply: undefined }],
    ['200 binary CloudEvent: a reply', 200, { ...ce, 'content-type': 'application/json' }, '{"x":1}', { ok: true, reply: 'r-1' }],
    ['200 binary CloudEvent without data: a reply', 200, ce, '', { ok: true, reply: 'r-1' }],
    ['200 structured CloudEvent: a reply', 200, { 'content-type': 'application/cloudevents+json' }, structured, { ok: true, reply: 'r-2' }],
    ['201 CloudEvent: a reply too', 201, { 'content-type': 'application/cloudevents+json' }, structured, { ok: true, reply: 'r-2' }],
    ['202 with a CloudEvent body: never a reply', 202, { 'content-type': 'application/cloudevents+json' }, structured, { ok: true, reply: undefined }],
    ['204: no reply', 204, {}, '', { ok: true, reply: undefined }],
    ['200 with a body that is not a CloudEvent: failed, as 502', 200, { 'content-type': 'text/plain' }, 'hello', { ok: false, status: 502 }],
    ['200 with a malformed structured event: failed, as 502', 200, { 'content-type': 'application/cloudevents+json' }, '{"specversion":"1.0","source":"/x","type":"t"}', { ok: false, status: 502 }],
    ['200 with a batch: failed, as 502', 200, { 'content-type': 'application/cloudevents-batch+json' }, `[${structured.toString()}]`, { ok: false, status: 502 }],
    ['500', 500, {}, 'boom', { ok: false, status: 500 }],
    ['404', 404, {}, '', { ok: false, status: 404 }],
    ['302', 302, { location: '/x' }, '', { ok: false, status: 302 }],
  ])('%s', (_label, status, headers, body, want) => {
    expect(kinds(status, headers, body)).toEqual(want);
  });

  it('keeps Retry-After and the body of a failure', () => {
    const out = classifyResponse(429, { 'retry-after': '5' }, Buffer.from('slow down'));
    expect(out).toMatchObject({ ok: false, status: 429, retryAfter: '5' });
    expect(!out.ok && out.body.toString()).toBe('slow down');
  });

  it('continues the trace on a reply: its own extension, else the response headers, else the original', () => {
    const original: StoredEvent = { attributes: { ...base, traceparent: '00-11111111111111111111111111111111-1111111111111111-01' } };
    const own = classifyResponse(200, { ...ce, 'ce-traceparent': '00-22222222222222222222222222222222-2222222222222222-01' }, Buffer.alloc(0), original);
    expect(own.ok && own.reply?.attributes.traceparent).toBe('00-22222222222222222222222222222222-2222222222222222-01');
    const hdr = classifyResponse(200, { ...ce, traceparent: '00-33333333333333333333333333333333-3333333333333333-01', tracestate: 'a=b' }, Buffer.alloc(0), original);
    expect(hdr.ok && [hdr.reply?.attributes.traceparent, hdr.reply?.attributes.tracestate]).toEqual(['00-33333333333333333333333333333333-3333333333333333-01', 'a=b']);
    const inherited = classifyResponse(200, ce, Buffer.alloc(0), original);
    expect(inherited.ok && inherited.reply?.attributes.traceparent).toBe(original.attributes.traceparent);
  });
});
