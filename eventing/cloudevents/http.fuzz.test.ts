/**
 * Property-based fuzzing of the CloudEvents HTTP decoding and of the broker
 * ingress behind it: any headers and body give an event or a 400 with a
 * code; over HTTP, every answer is 202 or 4xx with a code — never a 500,
 * never a crash — and what was accepted is in the log. Runs are bounded
 * (numRuns) so the file takes a few seconds.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { createBrokerIngress, toStoredEvent } from '../broker/ingress.js';
import type { EventLog } from '../log/event-log.js';
import { openSqliteEventLog } from '../log/sqlite-log.js';
import { eventFromHttp, eventToHttp, storedEventFromBinary, type Headers, type StoredFromHttpResult } from './http.js';

const ATTR_NAMES = ['id', 'source', 'type', 'specversion', 'time', 'subject', 'dataschema', 'datacontenttype', 'data', 'data_base64', 'ext1', 'Ext', 'a-b', '', 'knativebrokerttl', 'traceparent', 'x'.repeat(30)];
const CONTENT_TYPES = [
  undefined, 'application/json', 'application/cloudevents+json', 'APPLICATION/CLOUDEVENTS+JSON; charset=utf-8', 'application/cloudevents-batch+json',
  'application/cloudevents+xml', 'text/plain', 'text/xml', 'application/octet-stream', 'application/x+json', ';', '', 'multipart/form-data; boundary=x',
];

/** Header values a real HTTP client may send (visible ASCII, spaces, tabs). */
const headerValue = fc.oneof(
  fc.constantFrom('1.0', '0.3', '', ' ', '/src', 'https://example.com/x', 'not a uri %%', '2026-01-01T00:00:00Z', '2026-02-30T00:00:00Z', 'true', '2147483648', '-1', '0'),
  fc.string({ maxLength: 40, unit: fc.constantFrom(...'abcXYZ019 \t-_/:.%{}"\\,;=?#[]@!$&\'()*+'.split('')) }),
);

const binaryHeaders = fc.dictionary(
  fc.oneof(fc.constantFrom(...ATTR_NAMES).map((n) => `ce-${n.toLowerCase()}`), fc.stringMatching(/^ce-[a-z0-9]{0,6}$/), fc.constantFrom('traceparent', 'tracestate', 'ce-', 'ce-data')),
  headerValue,
  { maxKeys: 8 },
);

/** Often starts from a valid event's headers, so that some requests are accepted. */
const VALID_BINARY = { 'ce-specversion': '1.0', 'ce-id': 'e1', 'ce-source': '/s', 'ce-type': 't' };
const mostlyValidHeaders = fc.tuple(fc.boolean(), binaryHeaders).map(([base, h]) => (base ? { ...VALID_BINARY, ...h } : h));

const structuredBody = fc.dictionary(fc.constantFrom(...ATTR_NAMES), fc.oneof(fc.jsonValue({ maxDepth: 3 }), headerValue), { maxKeys: 10 }).map((o) => JSON.stringify(o));
const body = fc.oneof(
  structuredBody,
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom('', '{', '[]', 'null', '{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"!!"}', '\uFEFF{}', '{"__proto__":{"polluted":1}}'),
);

/** A plausible CloudEvent (valid or nearly so), for the round trip. */
const validEvent = fc.record({
  id: fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom(...'abc123-_.'.split('')) }),
  source: fc.constantFrom('/s', 'https://example.com/src', 'urn:x:y'),
  type: fc.string({ minLength: 1, maxLength: 20, unit: fc.constantFrom(...'abc.XY-'.split('')) }),
  ext: fc.option(fc.oneof(fc.string({ maxLength: 10, unit: fc.constantFrom(...'abc 1'.split('')) }), fc.integer({ min: -1000, max: 1000 }), fc.boolean()), { nil: undefined }),
  data: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
});

function checkResult(r: ReturnType<typeof eventFromHttp>): void {
  if ('error' in r) {
    expect(r.error.code).toBe('ZENO_ERR_BAD_REQUEST');
    expect(r.error.message.length).toBeGreaterThan(0);
  } else {
    for (const a of ['id', 'source', 'type'] as const) expect(typeof r.event[a] === 'string' && r.event[a] !== '').toBe(true);
    expect(r.event.specversion).toBe('1.0');
  }
}

describe('eventFromHttp under fuzzing', { timeout: 60_000 }, () => {
  it('binary mode: arbitrary ce-* headers and body never throw', () => {
    fc.assert(
      fc.property(binaryHeaders, fc.constantFrom(...CONTENT_TYPES), body, (h, ct, b) => {
        const headers: Headers = { ...h };
        if (ct !== undefined) headers['content-type'] = ct;
        checkResult(eventFromHttp(headers, Buffer.from(b, 'latin1')));
      }),
      { numRuns: 500 },
    );
  }, 30_000);

  it('structured mode: arbitrary JSON members never throw', () => {
    fc.assert(
      fc.property(structuredBody, fc.constantFrom('application/cloudevents+json', 'application/cloudevents+json; charset=utf-8'), (b, ct) => {
        checkResult(eventFromHttp({ 'content-type': ct }, Buffer.from(b)));
      }),
      { numRuns: 500 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 30_000);

  it('a valid event survives encoding and decoding in both modes', () => {
    fc.assert(
      fc.property(validEvent, fc.constantFrom('binary' as const, 'structured' as const), (e, mode) => {
        const json = JSON.stringify({ specversion: '1.0', id: e.id, source: e.source, type: e.type, ...(e.ext !== undefined ? { myext: e.ext } : {}), ...(e.data !== undefined ? { datacontenttype: 'application/json', data: e.data } : {}) });
        const first = eventFromHttp({ 'content-type': 'application/cloudevents+json' }, Buffer.from(json));
        if ('error' in first) throw new Error(`valid event refused: ${first.error.message}`);
        const msg = eventToHttp(first.event, mode);
        const again = eventFromHttp(msg.headers, msg.body);
        if ('error' in again) throw new Error(`re-encoded event refused: ${again.error.message}`);
        expect([again.event.id, again.event.source, again.event.type]).toEqual([e.id, e.source, e.type]);
        // Binary mode carries extension values as header text (the HTTP binding).
        if (e.ext !== undefined) expect(String(again.event.myext)).toBe(String(e.ext));
        // Compared as JSON text: JSON has no -0, so -0 arrives as 0 (as in every JSON codec).
        if (e.data !== undefined && e.data !== null) expect(JSON.stringify(again.event.data)).toBe(JSON.stringify(e.data));
      }),
      { numRuns: 300 },
    );
  }, 30_000);
});

/** The SDK path as the ingress used it before the fast path: the reference for storedEventFromBinary. */
function viaSdk(h: Headers, b: Buffer): StoredFromHttpResult {
  const r = eventFromHttp(h, b);
  if ('error' in r) return r;
  const event = toStoredEvent(r.event);
  return r.trace === undefined ? { event } : { event, trace: r.trace };
}

/** Names the SDK treats specially, and header names not in lower case: the fast path must hand these back. */
const TRICKY_NAMES = ['schemaurl', 'datacontentencoding', 'validate', 'emit', 'constructor', 'subject', 'dataschema'];
const SOURCES = ['/s', 'https://example.com/x', 'urn:a:b', '//a:b', 'a b', '%zz', '1-555-123', 'http://[::1]:80/x', ''];
const rarely = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.oneof({ arbitrary: fc.constant(undefined), weight: 6 }, { arbitrary: a, weight: 1 });
const fastPathHeaders = fc
  .tuple(
    mostlyValidHeaders,
    fc.dictionary(fc.constantFrom(...TRICKY_NAMES).map((n) => `ce-${n}`), fc.constantFrom('', 'x', 'https://example.com/schema', 'not a uri'), { maxKeys: 2 }),
    rarely(fc.constantFrom(...SOURCES)),
    rarely(fc.constantFrom('CE-ID', 'Ce-Source', 'Content-Type', 'ce-Ext')),
  )
  .map(([h, tricky, source, upper]) => {
    const out: Headers = { ...h };
    // Sometimes, so most runs keep the fast path's common case.
    if (Object.keys(tricky).length > 0 && h['ce-id'] === 'e1') Object.assign(out, tricky);
    if (source !== undefined) out['ce-source'] = source;
    if (upper !== undefined) out[upper] = 'x';
    return out;
  });

describe('storedEventFromBinary: the ingress fast path agrees with the SDK path', { timeout: 60_000 }, () => {
  it('same event (attributes in the same order, same data, same trace) or the same 400 message', () => {
    let compared = 0;
    let accepted = 0;
    let handedBack = 0;
    fc.assert(
      fc.property(fastPathHeaders, fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.constant('application/json')), body, (h, ct, b) => {
        const headers: Headers = { ...h };
        if (ct !== undefined) headers['content-type'] = ct;
        const bytes = Buffer.from(b, 'latin1');
        const fast = storedEventFromBinary(headers, bytes);
        if (fast === undefined) {
          handedBack++;
          return;
        }
        compared++;
        const ref = viaSdk(headers, bytes);
        if ('error' in ref || 'error' in fast) {
          expect(fast).toEqual(ref);
          return;
        }
        accepted++;
        // Both stamp "now" when the producer sent no time: compare its shape, then the rest.
        if (headers['ce-time'] === undefined) {
          expect(Math.abs(Date.parse(String(fast.event.attributes.time)) - Date.parse(String(ref.event.attributes.time)))).toBeLessThan(5_000);
          fast.event.attributes.time = ref.event.attributes.time!;
        }
        expect(Object.keys(fast.event.attributes)).toEqual(Object.keys(ref.event.attributes));
        expect(fast).toEqual(ref);
      }),
      { numRuns: 3000 },
    );
    // Not vacuous: most requests take the fast path, and many of those are accepted events.
    expect(compared).toBeGreaterThan(handedBack);
    expect(accepted).toBeGreaterThan(50);
  }, 60_000);

  it('hands structured and batched mode back to eventFromHttp', () => {
    const json = Buffer.from(JSON.stringify({ specversion: '1.0', id: '1', source: '/s', type: 't' }));
    expect(storedEventFromBinary({ 'content-type': 'application/cloudevents+json' }, json)).toBeUndefined();
    expect(storedEventFromBinary({ 'content-type': 'Application/CloudEvents-Batch+JSON' }, Buffer.from('[]'))).toBeUndefined();
  });
});

describe('deeply nested event data', { timeout: 60_000 }, () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  it.each([300, 100_000])('%s levels: 400 in both modes, never a stack overflow later', (n) => {
    const bin = eventFromHttp({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' }, Buffer.from(deep(n)));
    expect('error' in bin && bin.error.message).toMatch(/deeper than 256/);
    const st = eventFromHttp({ 'content-type': 'application/cloudevents+json' }, Buffer.from(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":${deep(n)}}`));
    expect('error' in st && st.error.message).toMatch(/deeper than 256/);
  });
  it('200 levels are fine', () => {
    const ok = eventFromHttp({ 'ce-specversion': '1.0', 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' }, Buffer.from(deep(200)));
    expect('event' in ok).toBe(true);
  });
});

describe('broker ingress over HTTP under fuzzing (real server, real SQLite log)', { timeout: 60_000 }, () => {
  let dir: string;
  let log: EventLog;
  let server: http.Server;
  let port: number;
  let internalErrors = 0;
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zeno-ingress-fuzz-'));
    log = openSqliteEventLog(join(dir, 'events.db'), { clock });
    await log.addConsumer('default/b', 'reader', { maxInFlight: 10_000, leaseMs: 60_000 });
    const handler = createBrokerIngress({ log, clock, hasBroker: (ns, n) => ns === 'default' && n === 'b', maxEventBytes: 2048 });
    // As the gateway mounts it: a throw would become a 500.
    server = http.createServer((req, res) => {
      handler(req, res).catch(() => {
        internalErrors++;
        res.writeHead(500).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function send(method: string, path: string, headers: Record<string, string>, payload: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'content-length': String(payload.length) }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  it('any method, path, headers and body: 200 (OPTIONS), 202, or 4xx with a code; never 500', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'OPTIONS', 'DELETE', 'PATCH'),
        fc.constantFrom('/brokers/default/b', '/brokers/default/b', '/brokers/default/b', '/brokers/default/b/', '/brokers/default/b?x=1', '/brokers/default/nope', '/brokers/', '/brokers/a/b/c', '/brokers/%E0%A4%A/b', '/brokers/..%2F..%2Fadmin/b', '/brokers/default/%00'),
        mostlyValidHeaders,
        fc.constantFrom(...CONTENT_TYPES),
        fc.oneof(body, fc.constant('x'.repeat(3000))),
        async (method, path, h, ct, b) => {
          const headers: Record<string, string> = { ...(h as Record<string, string>) };
          if (ct !== undefined) headers['content-type'] = ct;
          const r = await send(method, path, headers, Buffer.from(b, 'latin1'));
          expect(r.status).not.toBe(500);
          expect([200, 202, 400, 404, 405, 413]).toContain(r.status);
          if (r.status >= 400) expect((JSON.parse(r.body) as { code: string }).code).toMatch(/^ZENO_ERR_/);
          if (r.status === 202) accepted++;
        },
      ),
      { numRuns: 250 },
    );
    // One known-good event too, so the count below is never trivially 0 = 0.
    const ok = await send('POST', '/brokers/default/b', { ...VALID_BINARY, 'content-type': 'application/json' }, Buffer.from('{"n":1}'));
    expect(ok.status).toBe(202);
    accepted++;
    expect(internalErrors).toBe(0);
    // Every 202 is in the log: nothing accepted is lost.
    const stored = await log.fetch('reader', 10_000);
    expect(stored.length).toBe(accepted);
  }, 30_000);
});
