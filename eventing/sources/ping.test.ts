import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { eventToHttp } from '../cloudevents/http.js';
import { parseCron } from './cron.js';
import { PingScheduler, pingEvent, pingRetryable, pingRetryDelayMs, type PingJob, type PingOutcome } from './ping.js';

describe('pingEvent (makeEvent)', () => {
  const ID = '00000000-0000-4000-8000-000000000001';
  const T = '2026-01-01T00:00:00.000Z';
  const table: { label: string; spec: Parameters<typeof pingEvent>[2]; body: string | undefined; contentType: string | undefined }[] = [
    { label: 'no data', spec: {}, body: undefined, contentType: undefined },
    { label: 'text data', spec: { contentType: 'text/plain', data: 'some data' }, body: 'some data', contentType: 'text/plain' },
    { label: 'json data', spec: { contentType: 'application/json', data: '{"msg":"some data"}' }, body: '{"msg":"some data"}', contentType: 'application/json' },
    { label: 'xml data', spec: { contentType: 'application/xml', data: '<pre>Value</pre>' }, body: '<pre>Value</pre>', contentType: 'application/xml' },
    { label: 'dataBase64 is decoded', spec: { contentType: 'text/plain', dataBase64: 'c29tZSBkYXRh' }, body: 'some data', contentType: 'text/plain' },
    { label: 'json dataBase64', spec: { contentType: 'application/json', dataBase64: 'eyJtc2ciOiJzb21lIGRhdGEifQ==' }, body: '{"msg":"some data"}', contentType: 'application/json' },
  ];
  it.each(table)('$label', ({ spec, body, contentType }) => {
    const e = pingEvent('test-ns', 'test-name', { ...spec, ceOverrides: { extensions: { one: '1', two: '2' } } }, ID, T);
    expect(e.type).toBe('dev.knative.sources.ping');
    expect(e.source).toBe('/apis/v1/namespaces/test-ns/pingsources/test-name');
    expect(e.id).toBe(ID);
    expect(e.time).toBe(T);
    expect(e.datacontenttype).toBe(contentType);
    const msg = eventToHttp(e, 'binary');
    expect(msg.headers['ce-one']).toBe('1');
    expect(msg.headers['ce-two']).toBe('2');
    expect(msg.body.length ? msg.body.toString('utf8') : undefined).toBe(body);
  });
});

describe('retry policy (sdk-go ContextWithRetriesExponentialBackoff(50ms, 5))', () => {
  it('retries no response and sdk-go\'s statuses only', () => {
    for (const s of [undefined, 404, 413, 425, 429, 502, 503, 504]) expect(pingRetryable(s)).toBe(true);
    for (const s of [400, 401, 403, 409, 500, 501]) expect(pingRetryable(s)).toBe(false);
  });
  it('waits 100, 200, 400, 800, 1600 ms', () => {
    expect([1, 2, 3, 4, 5].map(pingRetryDelayMs)).toEqual([100, 200, 400, 800, 1600]);
  });
});

describe('PingScheduler', () => {
  let server: http.Server;
  let url: string;
  let received: { headers: http.IncomingHttpHeaders; body: string }[];
  /** Statuses answered in order; 202 once exhausted. */
  let script: number[];
  let clock: FakeClock;
  let outcomes: PingOutcome[];
  let sched: PingScheduler;

  beforeEach(async () => {
    received = [];
    script = [];
    outcomes = [];
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = script.shift() ?? 202;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    clock = new FakeClock(Date.parse('2026-01-01T00:00:00.300Z'));
    sched = new PingScheduler({ clock, random: () => 0, onOutcome: (o) => outcomes.push(o) });
  });
  afterEach(async () => {
    await sched.close();
    await new Promise((r) => server.close(r));
  });

  const job = (schedule: string, sink: () => string | undefined = () => url): PingJob => {
    const p = parseCron(schedule);
    if ('error' in p) throw new Error(p.error);
    return { namespace: 'default', name: 'beat', schedule: p.schedule, spec: { contentType: 'text/plain', data: 'tick' }, sink };
  };

  /** Advances fake time in steps, letting real sockets work between steps, until cond holds. */
  async function drive(cond: () => boolean, stepMs = 10, maxSteps = 2000): Promise<void> {
    for (let i = 0; i < maxSteps && !cond(); i++) {
      await clock.advanceAsync(stepMs);
      await new Promise((r) => setImmediate(r));
    }
    expect(cond()).toBe(true);
  }

  it('fires on the schedule, once per tick, with a new id each time', async () => {
    sched.upsert('default/beat', job('* * * * * *'));
    expect(new Date(sched.nextFireAt('default/beat')!).toISOString()).toBe('2026-01-01T00:00:01.000Z');
    await clock.advanceAsync(600); // to 00:00:00.900: nothing yet
    await new Promise((r) => setImmediate(r));
    expect(received).toHaveLength(0);
    await drive(() => outcomes.length >= 3);
    expect(received.length).toBe(outcomes.length);
    const ids = new Set(received.map((r) => r.headers['ce-id']));
    expect(ids.size).toBe(received.length);
    expect(received[0]!.headers).toMatchObject({ 'ce-type': 'dev.knative.sources.ping', 'ce-source': '/apis/v1/namespaces/default/pingsources/beat', 'ce-specversion': '1.0', 'content-type': 'text/plain' });
    expect(received[0]!.headers['ce-time']).toBe('2026-01-01T00:00:01.000Z');
    expect(received[1]!.headers['ce-time']).toBe('2026-01-01T00:00:02.000Z');
    expect(received[0]!.body).toBe('tick');
  });

  it('retries a 503 with backoff, then delivers', async () => {
    script = [503, 503];
    sched.upsert('k', job('* * * * * *'));
    await drive(() => outcomes.length >= 1, 10);
    expect(outcomes[0]).toMatchObject({ delivered: true, attempts: 3, status: 202 });
    // all three attempts carry the same event
    expect(new Set(received.slice(0, 3).map((r) => r.headers['ce-id'])).size).toBe(1);
  });

  it('drops after 5 retries, and does not retry a 500', async () => {
    script = [503, 503, 503, 503, 503, 503, 500];
    sched.upsert('k', job('*/10 * * * * *'));
    await drive(() => outcomes.length >= 1, 50);
    expect(outcomes[0]).toMatchObject({ delivered: false, attempts: 6, status: 503 });
    await drive(() => outcomes.length >= 2, 50);
    expect(outcomes[1]).toMatchObject({ delivered: false, attempts: 1, status: 500 });
  });

  it('drops a tick whose sink does not resolve, and stops on remove', async () => {
    let sink: string | undefined;
    sched.upsert('k', job('* * * * * *', () => sink));
    await drive(() => outcomes.length >= 1);
    expect(outcomes[0]).toMatchObject({ url: undefined, delivered: false, attempts: 0 });
    sink = url;
    await drive(() => outcomes.some((o) => o.delivered));
    sched.remove('k');
    const n = received.length;
    await clock.advanceAsync(5_000);
    await new Promise((r) => setImmediate(r));
    expect(received.length).toBe(n);
    expect(clock.pending()).toBe(0);
  });
});
