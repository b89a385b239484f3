import { describe, it, expect } from 'vitest';
import { CloudEvent } from 'cloudevents';
import { eventFromHttp, eventToHttp, isoTime, isRfc3339 } from './http.js';
import type { ContentMode, Headers } from './http.js';

const BIN: Headers = { 'ce-id': 'e1', 'ce-source': '/src', 'ce-type': 'com.example.t', 'ce-specversion': '1.0', 'ce-time': '2026-01-02T03:04:05.123456789+02:00' };
const STRUCT = { id: 'e1', source: '/src', type: 'com.example.t', specversion: '1.0', time: '2026-01-02T03:04:05.123456789+02:00' };
const sj = (o: unknown, ct = 'application/cloudevents+json'): [Headers, Buffer] => [{ 'content-type': ct }, Buffer.from(JSON.stringify(o))];

function parse(h: Headers, b: Buffer): CloudEvent<unknown> {
  const r = eventFromHttp(h, b);
  if ('error' in r) throw new Error(`unexpected error: ${r.error.message}`);
  return r.event;
}

/** Attributes and data as plain values; Buffers as hex so toEqual compares bytes. */
function view(e: CloudEvent<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (v === undefined || k === 'data_base64') continue;
    out[k] = Buffer.isBuffer(v) ? `hex:${v.toString('hex')}` : v;
  }
  return out;
}

describe('eventFromHttp: accepted', () => {
  const cases: Array<{ label: string; input: [Headers, Buffer]; want: Record<string, unknown> }> = [
    {
      label: 'binary, JSON object data, extensions',
      input: [{ ...BIN, 'content-type': 'application/json', 'ce-myext': 'v1', 'ce-subject': 'sub' }, Buffer.from('{"a":1}')],
      want: { ...STRUCT, datacontenttype: 'application/json', myext: 'v1', subject: 'sub', data: { a: 1 } },
    },
    {
      label: 'binary, header names in any case',
      input: [{ 'CE-ID': 'e1', 'Ce-Source': '/src', 'ce-type': 'com.example.t', 'CE-SPECVERSION': '1.0', 'ce-time': STRUCT.time, 'Content-Type': 'text/plain' }, Buffer.from('hi')],
      want: { ...STRUCT, datacontenttype: 'text/plain', data: 'hi' },
    },
    {
      label: 'binary, text/plain utf-8 with charset (conformance 0002)',
      input: [{ ...BIN, 'content-type': 'text/plain; charset=utf-8' }, Buffer.from('Hello, 🌎!')],
      want: { ...STRUCT, datacontenttype: 'text/plain; charset=utf-8', data: 'Hello, 🌎!' },
    },
    {
      label: 'binary, JSON string data (conformance 0003)',
      input: [{ ...BIN, 'content-type': 'application/json' }, Buffer.from('"Hello"')],
      want: { ...STRUCT, datacontenttype: 'application/json', data: 'Hello' },
    },
    {
      label: 'binary, JSON array data with charset',
      input: [{ ...BIN, 'content-type': 'application/json; charset=utf-8' }, Buffer.from('[1,2]')],
      want: { ...STRUCT, datacontenttype: 'application/json; charset=utf-8', data: [1, 2] },
    },
    {
      label: 'binary, +json type is JSON',
      input: [{ ...BIN, 'content-type': 'application/vnd.x+json' }, Buffer.from('0')],
      want: { ...STRUCT, datacontenttype: 'application/vnd.x+json', data: 0 },
    },
    {
      label: 'binary, invalid JSON body kept as bytes (Knative does not parse binary data)',
      input: [{ ...BIN, 'content-type': 'application/json' }, Buffer.from('{oops')],
      want: { ...STRUCT, datacontenttype: 'application/json', data: `hex:${Buffer.from('{oops').toString('hex')}` },
    },
    {
      label: 'binary, octet-stream bytes',
      input: [{ ...BIN, 'content-type': 'application/octet-stream' }, Buffer.from([0, 255, 1, 128])],
      want: { ...STRUCT, datacontenttype: 'application/octet-stream', data: 'hex:00ff0180' },
    },
    {
      label: 'binary, text that is not UTF-8 stays bytes',
      input: [{ ...BIN, 'content-type': 'text/plain; charset=latin1' }, Buffer.from([0x63, 0x61, 0x66, 0xe9])],
      want: { ...STRUCT, datacontenttype: 'text/plain; charset=latin1', data: 'hex:636166e9' },
    },
    { label: 'binary, empty body: no data', input: [{ ...BIN }, Buffer.alloc(0)], want: { ...STRUCT } },
    {
      label: 'binary, extension name of 21 characters (SHOULD, not MUST)',
      input: [{ ...BIN, 'ce-abcdefghijklmnopqrstu': 'x' }, Buffer.alloc(0)],
      want: { ...STRUCT, abcdefghijklmnopqrstu: 'x' },
    },
    {
      label: 'structured, JSON data and typed extensions',
      input: sj({ ...STRUCT, datacontenttype: 'application/json', data: { a: [1, 'x'] }, myint: 42, mybool: true, mystr: 's' }),
      want: { ...STRUCT, datacontenttype: 'application/json', data: { a: [1, 'x'] }, myint: 42, mybool: true, mystr: 's' },
    },
    {
      label: 'structured, Content-Type upper case with charset',
      input: sj({ ...STRUCT, data: 'x' }, 'Application/CloudEvents+JSON; charset=UTF-8'),
      want: { ...STRUCT, data: 'x' },
    },
    { label: 'structured, data 0 kept', input: sj({ ...STRUCT, data: 0 }), want: { ...STRUCT, data: 0 } },
    { label: 'structured, data false kept', input: sj({ ...STRUCT, data: false }), want: { ...STRUCT, data: false } },
    { label: 'structured, data "" kept', input: sj({ ...STRUCT, data: '' }), want: { ...STRUCT, data: '' } },
    {
      label: 'structured, data_base64 becomes the bytes',
      input: sj({ ...STRUCT, datacontenttype: 'application/octet-stream', data_base64: 'AP8BgA==' }),
      want: { ...STRUCT, datacontenttype: 'application/octet-stream', data: 'hex:00ff0180' },
    },
    {
      label: 'structured, XML data as a string (conformance 0006)',
      input: sj({ ...STRUCT, datacontenttype: 'application/xml', data: '<much wow="xml"/>' }),
      want: { ...STRUCT, datacontenttype: 'application/xml', data: '<much wow="xml"/>' },
    },
    {
      label: 'structured, dataschema absolute URI',
      input: sj({ ...STRUCT, dataschema: 'https://example.com/schema.json' }),
      want: { ...STRUCT, dataschema: 'https://example.com/schema.json' },
    },
  ];
  for (const c of cases) it(c.label, () => expect(view(parse(...c.input))).toEqual(c.want));

  it('time keeps the producer text (offset, nanoseconds)', () => {
    expect(parse({ ...BIN }, Buffer.alloc(0)).time).toBe('2026-01-02T03:04:05.123456789+02:00');
  });
  it('traceparent and tracestate are returned beside the event', () => {
    const r = eventFromHttp({ ...BIN, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'a=b' }, Buffer.alloc(0));
    expect('trace' in r && r.trace).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'a=b' });
    expect('event' in r && Object.keys(r.event)).not.toContain('traceparent');
  });
  it('no traceparent: no trace', () => {
    expect(eventFromHttp({ ...BIN }, Buffer.alloc(0))).not.toHaveProperty('trace');
  });
  it('a body that is not UTF-8 leaves nothing behind for the next one (the decoders are shared)', () => {
    const bad = Buffer.from([0x7b, 0xe2, 0x82]); // "{" and a cut-off three-byte sequence
    for (const ct of ['application/json', 'text/plain']) {
      expect(Buffer.isBuffer(parse({ ...BIN, 'content-type': ct }, bad).data)).toBe(true);
      expect(parse({ ...BIN, 'content-type': ct }, Buffer.from('"é"')).data).toBe(ct === 'text/plain' ? '"é"' : 'é');
    }
  });
});

describe('eventFromHttp: rejected with ZENO_ERR_BAD_REQUEST', () => {
  const without = (h: Headers, k: string): Headers => Object.fromEntries(Object.entries(h).filter(([n]) => n !== k));
  const omit = (k: string): Record<string, unknown> => Object.fromEntries(Object.entries(STRUCT).filter(([n]) => n !== k));
  const cases: Array<{ label: string; input: [Headers, Buffer] }> = [
    { label: 'plain POST, no CloudEvent', input: [{ 'content-type': 'application/json' }, Buffer.from('{}')] },
    { label: 'binary, missing id', input: [without(BIN, 'ce-id'), Buffer.alloc(0)] },
    { label: 'binary, missing source', input: [without(BIN, 'ce-source'), Buffer.alloc(0)] },
    { label: 'binary, missing type', input: [without(BIN, 'ce-type'), Buffer.alloc(0)] },
    { label: 'binary, missing specversion', input: [without(BIN, 'ce-specversion'), Buffer.alloc(0)] },
    { label: 'binary, empty id', input: [{ ...BIN, 'ce-id': '' }, Buffer.alloc(0)] },
    { label: 'binary, specversion 0.3', input: [{ ...BIN, 'ce-specversion': '0.3' }, Buffer.alloc(0)] },
    { label: 'binary, time not RFC 3339', input: [{ ...BIN, 'ce-time': 'yesterday' }, Buffer.alloc(0)] },
    { label: 'binary, time without zone', input: [{ ...BIN, 'ce-time': '2026-01-02T03:04:05' }, Buffer.alloc(0)] },
    { label: 'binary, extension name with a dash', input: [{ ...BIN, 'ce-my-ext': 'x' }, Buffer.alloc(0)] },
    { label: 'binary, extension name with underscore', input: [{ ...BIN, 'ce-my_ext': 'x' }, Buffer.alloc(0)] },
    { label: 'binary, empty extension name', input: [{ ...BIN, 'ce-': 'x' }, Buffer.alloc(0)] },
    { label: 'binary, ce-data', input: [{ ...BIN, 'ce-data': 'x' }, Buffer.alloc(0)] },
    { label: 'binary, ce-datacontenttype', input: [{ ...BIN, 'ce-datacontenttype': 'text/plain' }, Buffer.alloc(0)] },
    { label: 'batched mode', input: [{ 'content-type': 'application/cloudevents-batch+json' }, Buffer.from(JSON.stringify([STRUCT]))] },
    { label: 'batched mode, upper case', input: [{ 'content-type': 'Application/CloudEvents-Batch+JSON' }, Buffer.from(JSON.stringify([STRUCT]))] },
    { label: 'structured, unsupported format', input: [{ 'content-type': 'application/cloudevents+xml' }, Buffer.from('<x/>')] },
    { label: 'structured, invalid JSON', input: [{ 'content-type': 'application/cloudevents+json' }, Buffer.from('{')] },
    { label: 'structured, array body', input: sj([STRUCT]) },
    { label: 'structured, missing id', input: sj(omit('id')) },
    { label: 'structured, missing source', input: sj(omit('source')) },
    { label: 'structured, missing type', input: sj(omit('type')) },
    { label: 'structured, missing specversion', input: sj(omit('specversion')) },
    { label: 'structured, id not a string', input: sj({ ...STRUCT, id: 5 }) },
    { label: 'structured, empty type', input: sj({ ...STRUCT, type: '' }) },
    { label: 'structured, specversion 1', input: sj({ ...STRUCT, specversion: '1' }) },
    { label: 'structured, bad time', input: sj({ ...STRUCT, time: 'not a time' }) },
    { label: 'structured, February 30', input: sj({ ...STRUCT, time: '2026-02-30T00:00:00Z' }) },
    { label: 'structured, hour 24', input: sj({ ...STRUCT, time: '2026-01-01T24:00:00Z' }) },
    { label: 'structured, upper-case extension name', input: sj({ ...STRUCT, myExt: 'x' }) },
    { label: 'structured, extension object value', input: sj({ ...STRUCT, myext: { a: 1 } }) },
    { label: 'structured, extension float value', input: sj({ ...STRUCT, myext: 1.5 }) },
    { label: 'structured, extension beyond int32', input: sj({ ...STRUCT, myext: 2 ** 31 }) },
    { label: 'structured, data and data_base64', input: sj({ ...STRUCT, data: 'x', data_base64: 'eA==' }) },
    { label: 'structured, data_base64 not base64', input: sj({ ...STRUCT, data_base64: '!!' }) },
    { label: 'structured, dataschema not a URI', input: sj({ ...STRUCT, dataschema: 'not a uri' }) },
  ];
  for (const c of cases) {
    it(c.label, () => {
      const r = eventFromHttp(...c.input);
      expect(r).toHaveProperty('error.code', 'ZENO_ERR_BAD_REQUEST');
    });
  }
});

describe('isRfc3339', () => {
  const cases: Array<{ label: string; input: string; want: boolean }> = [
    { label: 'UTC', input: '2026-01-01T00:00:00Z', want: true },
    { label: 'fraction and offset', input: '2026-01-01T00:00:00.5-05:30', want: true },
    { label: 'lower-case t and z', input: '2026-01-01t00:00:00z', want: true },
    { label: 'leap second', input: '2016-12-31T23:59:60Z', want: true },
    { label: 'Feb 29 in a leap year', input: '2024-02-29T00:00:00Z', want: true },
    { label: 'Feb 29 otherwise', input: '2026-02-29T00:00:00Z', want: false },
    { label: 'month 13', input: '2026-13-01T00:00:00Z', want: false },
    { label: 'date only', input: '2026-01-01', want: false },
    { label: 'space separator', input: '2026-01-01 00:00:00Z', want: false },
    { label: 'offset minutes 60', input: '2026-01-01T00:00:00+01:60', want: false },
  ];
  for (const c of cases) it(c.label, () => expect(isRfc3339(c.input)).toBe(c.want));
});

describe('eventToHttp', () => {
  const ev = parse({ ...BIN, 'content-type': 'application/json', 'ce-myext': 'v' }, Buffer.from('{"a":1}'));

  it('binary: attributes as ce- headers, datacontenttype as Content-Type, data as body', () => {
    const m = eventToHttp(ev, 'binary');
    expect(m.headers).toMatchObject({
      'ce-id': 'e1', 'ce-source': '/src', 'ce-type': 'com.example.t', 'ce-specversion': '1.0',
      'ce-time': '2026-01-02T03:04:05.123456789+02:00', 'ce-myext': 'v', 'content-type': 'application/json',
    });
    expect(m.headers).not.toHaveProperty('ce-datacontenttype');
    expect(JSON.parse(m.body.toString())).toEqual({ a: 1 });
  });
  it('structured: one JSON document with extensions at the top level', () => {
    const m = eventToHttp(ev, 'structured');
    expect(m.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(JSON.parse(m.body.toString())).toEqual({ ...STRUCT, datacontenttype: 'application/json', myext: 'v', data: { a: 1 } });
  });
  it('structured: bytes become data_base64', () => {
    const bin = parse({ ...BIN, 'content-type': 'application/octet-stream' }, Buffer.from([0, 255]));
    const obj = JSON.parse(eventToHttp(bin, 'structured').body.toString()) as Record<string, unknown>;
    expect([obj.data_base64, 'data' in obj]).toEqual(['AP8=', false]);
  });
  it('binary: JSON string data is sent as JSON text', () => {
    const s = parse(...sj({ ...STRUCT, datacontenttype: 'application/json', data: 'Hello' }));
    expect(eventToHttp(s, 'binary').body.toString()).toBe('"Hello"');
  });
  it('binary: bytes without datacontenttype get no Content-Type', () => {
    const b = parse(...sj({ ...STRUCT, data_base64: 'AP8=' }));
    const m = eventToHttp(b, 'binary');
    expect([m.headers['content-type'], m.body.toString('hex')]).toEqual([undefined, '00ff']);
  });
  it('binary: typed extensions become header text', () => {
    const t = parse(...sj({ ...STRUCT, myint: 7, mybool: false }));
    expect(eventToHttp(t, 'binary').headers).toMatchObject({ 'ce-myint': '7', 'ce-mybool': 'false' });
  });
  for (const mode of ['binary', 'structured'] as const) {
    it(`${mode}: traceparent passes through as headers`, () => {
      const m = eventToHttp(ev, mode, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'k=v' });
      expect([m.headers.traceparent, m.headers.tracestate]).toEqual(['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'k=v']);
    });
  }
  it('no trace: no traceparent header', () => expect(eventToHttp(ev, 'binary').headers).not.toHaveProperty('traceparent'));
});

describe('round trips', () => {
  const inputs: Array<{ label: string; input: [Headers, Buffer] }> = [
    { label: 'JSON object', input: [{ ...BIN, 'content-type': 'application/json', 'ce-myext': 'v' }, Buffer.from('{"a":{"b":[1,2,null]}}')] },
    { label: 'JSON string', input: [{ ...BIN, 'content-type': 'application/json' }, Buffer.from('"Hello"')] },
    { label: 'JSON number 0', input: sj({ ...STRUCT, datacontenttype: 'application/json', data: 0 }) },
    { label: 'text utf-8', input: [{ ...BIN, 'content-type': 'text/plain; charset=utf-8' }, Buffer.from('Hello, 🌎!')] },
    { label: 'binary bytes', input: [{ ...BIN, 'content-type': 'application/octet-stream' }, Buffer.from([0, 1, 2, 253, 254, 255])] },
    { label: 'no data', input: [{ ...BIN, 'ce-subject': 's', 'ce-dataschema': 'https://x.example/s' }, Buffer.alloc(0)] },
    { label: 'structured, typed extensions', input: sj({ ...STRUCT, data: { k: 'v' }, myint: 3, mybool: true }) },
    { label: 'structured, data_base64', input: sj({ ...STRUCT, datacontenttype: 'image/png', data_base64: 'iVBORw0KGgo=' }) },
  ];
  const modes: ContentMode[] = ['binary', 'structured'];
  for (const c of inputs) {
    for (const mode of modes) {
      it(`${c.label} via ${mode}`, () => {
        const first = parse(...c.input);
        const m = eventToHttp(first, mode);
        const again = parse(m.headers, m.body);
        const want = view(first);
        // Binary mode carries extension values as text (HTTP binding §3.1.3.1).
        if (mode === 'binary') for (const k of ['myint', 'mybool']) if (k in want) want[k] = String(want[k]);
        // ...and JSON data without datacontenttype arrives with the implied application/json.
        if (mode === 'binary' && want.datacontenttype === undefined && typeof want.data === 'object') want.datacontenttype = 'application/json';
        expect(view(again)).toEqual(want);
      });
    }
  }
  it('binary in, binary out: identical ce- headers and body bytes', () => {
    const h: Headers = { ...BIN, 'content-type': 'application/octet-stream', 'ce-myext': 'v' };
    const body = Buffer.from([9, 8, 7]);
    const m = eventToHttp(parse(h, body), 'binary');
    expect(m.body.equals(body)).toBe(true);
    expect(Object.fromEntries(Object.entries(m.headers).filter(([k]) => k.startsWith('ce-') || k === 'content-type'))).toEqual(h);
  });
});

describe('isoTime', () => {
  it('is toISOString of each time asked, repeated or not', () => {
    const times = [0, 0, 1_767_225_600_123, 1_767_225_600_123, 1_767_225_600_124, 0, -1, 8.64e15];
    expect(times.map(isoTime)).toEqual(times.map((ms) => new Date(ms).toISOString()));
  });
});
