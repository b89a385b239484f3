import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import type { EventLog } from '../log/event-log.js';
import { openSqliteEventLog } from '../log/sqlite-log.js';
import { admitEvent, brokerAddress, classifyIngress, createBrokerIngress, nextTtl, type IngressRoute } from './ingress.js';

describe('classifyIngress', () => {
  const cases: { name: string; method: string; url: string; want: Partial<IngressRoute> & { code?: string } }[] = [
    { name: 'OPTIONS anywhere', method: 'OPTIONS', url: '/brokers/x', want: { action: 'options' } },
    { name: 'GET', method: 'GET', url: '/brokers/default/b', want: { action: 'refuse', code: 'ZENO_ERR_METHOD_NOT_ALLOWED' } },
    { name: 'PUT', method: 'PUT', url: '/brokers/default/b', want: { action: 'refuse', code: 'ZENO_ERR_METHOD_NOT_ALLOWED' } },
    { name: 'root', method: 'POST', url: '/brokers/', want: { action: 'refuse', code: 'ZENO_ERR_BROKER_NOT_FOUND' } },
    { name: 'one segment', method: 'POST', url: '/brokers/default', want: { action: 'refuse', code: 'ZENO_ERR_BAD_REQUEST' } },
    { name: 'three segments', method: 'POST', url: '/brokers/a/b/c', want: { action: 'refuse', code: 'ZENO_ERR_BAD_REQUEST' } },
    { name: 'empty namespace', method: 'POST', url: '/brokers//b', want: { action: 'refuse', code: 'ZENO_ERR_BAD_REQUEST' } },
    { name: 'ns/name', method: 'POST', url: '/brokers/team/orders', want: { action: 'receive', namespace: 'team', name: 'orders' } },
    { name: 'trailing slash and query', method: 'POST', url: '/brokers/team/orders/?x=1', want: { action: 'receive', namespace: 'team', name: 'orders' } },
  ];
  it.each(cases)('$name', ({ method, url, want }) => {
    const got = classifyIngress(method, url);
    const { code, ...rest } = want;
    expect(got).toMatchObject(rest);
    if (code) expect(got.action === 'refuse' && got.error.code).toBe(code);
  });
});

describe('knativebrokerttl (Knative TTLDefaulter)', () => {
  it.each([
    [undefined, 255], [255, 254], [1, 0], [0, 0], [-3, 0], ['10', 9], ['x', 255], [true, 255],
  ] as const)('%s → %s', (raw, want) => expect(nextTtl(raw)).toBe(want));

  const base = { attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' }, data: { a: 1 } };
  it('stamps ttl, arrival time and trace context; keeps data', () => {
    const got = admitEvent(base, { traceparent: '00-aa-bb-01', tracestate: 'k=v' }, '2026-01-01T00:00:00.000Z');
    expect(got).toEqual({ event: { attributes: { ...base.attributes, knativebrokerttl: 255, knativearrivaltime: '2026-01-01T00:00:00.000Z', traceparent: '00-aa-bb-01', tracestate: 'k=v' }, data: { a: 1 } } });
  });
  it('an extension traceparent wins over the header', () => {
    const got = admitEvent({ attributes: { ...base.attributes, traceparent: 'ext' } }, { traceparent: 'hdr' }, 'now');
    expect('event' in got && got.event.attributes.traceparent).toBe('ext');
  });
  it('refuses an event whose TTL runs out', () => {
    const got = admitEvent({ attributes: { ...base.attributes, knativebrokerttl: 1 } }, undefined, 'now');
    expect('error' in got && got.error.code).toBe('ZENO_ERR_EVENT_TTL_EXPIRED');
  });
});

describe('broker ingress over HTTP (real server, real SQLite log)', () => {
  let dir: string;
  let log: EventLog;
  let server: http.Server;
  let base: string;
  const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zeno-ingress-'));
    log = openSqliteEventLog(join(dir, 'events.db'), { clock });
    await log.addConsumer('default/b', 'reader', { maxInFlight: 100, leaseMs: 60_000 });
    const handler = createBrokerIngress({ log, clock, hasBroker: (ns, n) => ns === 'default' && n === 'b', maxEventBytes: 4096 });
    server = http.createServer((req, res) => void handler(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = brokerAddress(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'default', 'b');
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const binary = { 'ce-specversion': '1.0', 'ce-id': 'e1', 'ce-source': '/test', 'ce-type': 'com.example.t', 'content-type': 'application/json' };

  it('answers 202 after the event is in the log, with attributes and data unchanged', async () => {
    const res = await fetch(base, { method: 'POST', headers: { ...binary, 'ce-myext': 'v', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }, body: '{"n":1}' });
    expect(res.status).toBe(202);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
    const [leased] = await log.fetch('reader', 10);
    expect(leased?.event).toEqual({
      attributes: expect.objectContaining({ id: 'e1', source: '/test', type: 'com.example.t', specversion: '1.0', datacontenttype: 'application/json', myext: 'v', knativebrokerttl: 255, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
      data: { n: 1 },
    });
    await log.ack('reader', leased!.seq);
  });

  it('accepts structured mode with binary data', async () => {
    const body = JSON.stringify({ specversion: '1.0', id: 'e2', source: '/test', type: 't', data_base64: Buffer.from([0, 1, 2]).toString('base64') });
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' }, body });
    expect(res.status).toBe(202);
    const [leased] = await log.fetch('reader', 10);
    expect(Buffer.from(leased!.event.data as Uint8Array)).toEqual(Buffer.from([0, 1, 2]));
    await log.ack('reader', leased!.seq);
  });

  const refusals: { name: string; init: RequestInit; url?: string; status: number; code?: string }[] = [
    { name: 'GET', init: { method: 'GET' }, status: 405, code: 'ZENO_ERR_METHOD_NOT_ALLOWED' },
    { name: 'missing id', init: { method: 'POST', headers: { ...binary, 'ce-id': '' }, body: '{}' }, status: 400, code: 'ZENO_ERR_INVALID_EVENT' },
    { name: 'not a CloudEvent', init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' }, status: 400, code: 'ZENO_ERR_INVALID_EVENT' },
    { name: 'batched', init: { method: 'POST', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: '[]' }, status: 400, code: 'ZENO_ERR_INVALID_EVENT' },
    { name: 'unknown broker', url: 'nope', init: { method: 'POST', headers: binary, body: '{}' }, status: 404, code: 'ZENO_ERR_BROKER_NOT_FOUND' },
    { name: 'too large', init: { method: 'POST', headers: binary, body: `"${'x'.repeat(5000)}"` }, status: 413, code: 'ZENO_ERR_BODY_TOO_LARGE' },
    { name: 'ttl spent', init: { method: 'POST', headers: { ...binary, 'ce-knativebrokerttl': '1' }, body: '{}' }, status: 400, code: 'ZENO_ERR_EVENT_TTL_EXPIRED' },
  ];
  it.each(refusals)('refuses $name with $status and stores nothing', async ({ init, url, status, code }) => {
    const res = await fetch(url ? base.replace(/\/b$/, `/${url}`) : base, init);
    expect(res.status).toBe(status);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
    if (code) expect((await res.json()).code).toBe(code);
    expect(await log.fetch('reader', 10)).toEqual([]);
  });

  it('answers OPTIONS like Knative (CloudEvents webhook handshake)', async () => {
    const res = await fetch(base, { method: 'OPTIONS' });
    expect(res.status).toBe(200);
    expect(res.headers.get('webhook-allowed-origin')).toBe('*');
    expect(res.headers.get('webhook-allowed-rate')).toBe('*');
  });
});
