import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { waitFor } from '../../test/support/wait.js';
import { eventFromHttp } from '../cloudevents/http.js';
import type { DeliverySpec } from '../delivery/delivery.js';
import { compileFilters, type CompiledFilter } from '../filter/filters.js';
import type { EventLog, StoredEvent } from '../log/event-log.js';
import { openSqliteEventLog } from '../log/sqlite-log.js';
import { createDispatcher, type DeliveryOutcome, type EventDispatcher, type SubscriptionSpec } from './dispatcher.js';
import { storedFromCloudEvent } from './encoding.js';

const STREAM = 'default/default';

interface Received {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Handler = (req: Received, res: ServerResponse, n: number) => void;

/** A real loopback HTTP subscriber that records every request. */
async function subscriber(handler: Handler = (_r, res) => res.writeHead(202).end()) {
  const received: Received[] = [];
  let current = handler;
  let open = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    open++;
    res.on('close', () => open--);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      current(r, res, received.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    open: () => open,
    set(h: Handler) {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
type Subscriber = Awaited<ReturnType<typeof subscriber>>;

function ev(id: string, extra: Partial<StoredEvent['attributes']> = {}, data?: unknown): StoredEvent {
  const e: StoredEvent = { attributes: { specversion: '1.0', id, source: '/test', type: 'dev.zeno.test', time: '2026-01-01T00:00:00Z', ...extra } };
  if (data !== undefined) e.data = data;
  return e;
}

function received(r: Received): StoredEvent {
  const parsed = eventFromHttp(r.headers, r.body);
  if ('error' in parsed) throw new Error(parsed.error.message);
  return storedFromCloudEvent(parsed.event);
}

function filterOf(spec: Parameters<typeof compileFilters>[0]): CompiledFilter {
  const f = compileFilters(spec);
  if ('issues' in f) throw new Error(JSON.stringify(f.issues));
  return f;
}

interface Env {
  clock: FakeClock;
  log: EventLog;
  dispatcher: EventDispatcher;
  outcomes: (DeliveryOutcome & { id: string })[];
  lines: string[];
  file: string;
  servers: Subscriber[];
  spec(over: Partial<SubscriptionSpec> & { subscriber: () => string | undefined }): SubscriptionSpec;
  server(h?: Handler): Promise<Subscriber>;
  until(pred: (o: DeliveryOutcome & { id: string }) => boolean, count?: number): Promise<void>;
}

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'zeno-dispatch-'));
  const file = join(dir, 'events.db');
  const clock = new FakeClock();
  const log = openSqliteEventLog(file, { clock });
  const outcomes: (DeliveryOutcome & { id: string })[] = [];
  const lines: string[] = [];
  const dispatcher = createDispatcher({ log, clock, onOutcome: (id, o) => outcomes.push({ id, ...o }), logLine: (l) => lines.push(l) });
  const servers: Subscriber[] = [];
  cleanups.push(async () => {
    await dispatcher.close();
    for (const s of servers) await s.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    clock,
    log,
    dispatcher,
    outcomes,
    lines,
    file,
    servers,
    spec: (over) => ({ id: 'trigger:default/t', stream: STREAM, delivery: {}, maxInFlight: 10, leaseMs: 30_000, ...over }),
    async server(h) {
      const s = await subscriber(h);
      servers.push(s);
      return s;
    },
    until: (pred, count = 1) => waitFor(() => outcomes.filter(pred).length >= count, 5_000, { message: 'outcome' }),
  };
}

describe('dispatcher: delivery', () => {
  it('delivers every attribute and the data unchanged, binary mode, with Prefer: reply and the trace headers', async () => {
    const env = await setup();
    const sub = await env.server();
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url }));
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const events = [
      ev('json', { datacontenttype: 'application/json', subject: 'orders/1', myext: 'v1', traceparent, tracestate: 'congo=t61rcWkgMzE' }, { order: 1, items: ['a', 'b'], ok: true }),
      ev('text', { datacontenttype: 'text/plain; charset=utf-8', dataschema: 'https://example.com/s' }, 'Hello, 🌎!'),
      ev('bytes', { datacontenttype: 'application/octet-stream' }, new Uint8Array([0, 1, 2, 254, 255])),
      ev('nodata', { comexampleextension1: 'value' }),
    ];
    for (const e of events) await env.log.append(STREAM, e);
    await waitFor(() => sub.received.length === 4, 5_000);
    const byId = new Map(sub.received.map((r) => [r.headers['ce-id'], r]));
    for (const e of events) {
      const r = byId.get(String(e.attributes.id))!;
      expect(received(r)).toEqual(e);
      expect(r.headers.prefer).toBe('reply');
      expect(r.headers['content-type']).toBe(e.attributes.datacontenttype);
    }
    const json = byId.get('json')!;
    expect(json.headers.traceparent).toBe(traceparent);
    expect(json.headers.tracestate).toBe('congo=t61rcWkgMzE');
    expect([...byId.get('bytes')!.body]).toEqual([0, 1, 2, 254, 255]);
    await env.until((o) => o.kind === 'delivered', 4);
    expect(env.dispatcher.stats('trigger:default/t')).toMatchObject({ delivered: 4, failed: 0, inFlight: 0 });
    expect(await env.log.info('trigger:default/t')).toMatchObject({ outstanding: 0, backlog: 0 });
  });

  it('gives each subscription its own headers and omitted attributes when they share an event', async () => {
    const env = await setup();
    const sub = await env.server();
    await env.dispatcher.upsert(env.spec({ id: 'a', subscriber: () => sub.url, omitAttributes: ['knativebrokerttl'] }));
    await env.dispatcher.upsert(env.spec({ id: 'b', subscriber: () => sub.url, omitAttributes: ['knativebrokerttl'] }));
    await env.dispatcher.upsert(env.spec({ id: 'c', subscriber: () => sub.url, subscriberHeaders: { 'X-Lane': 'c' } }));
    await env.log.append(STREAM, ev('shared', { knativebrokerttl: 254 }));
    await waitFor(() => sub.received.length === 3, 5_000);
    const seen = sub.received.map((r) => `${r.headers['ce-knativebrokerttl'] ?? '-'} ${r.headers['x-lane'] ?? '-'}`);
    expect(seen.sort()).toEqual(['- -', '- -', '254 c']);
  });

  it('acks events the filter rejects without delivering them, and delivers the rest', async () => {
    const env = await setup();
    const sub = await env.server();
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, filter: filterOf({ filter: { attributes: { type: 'dev.zeno.wanted' } } }) }));
    await env.log.append(STREAM, ev('a', { type: 'dev.zeno.other' }));
    await env.log.append(STREAM, ev('b', { type: 'dev.zeno.wanted' }));
    await env.log.append(STREAM, ev('c', { type: 'dev.zeno.other' }));
    await env.until((o) => o.kind === 'filtered', 2);
    await env.until((o) => o.kind === 'delivered');
    expect(sub.received.map((r) => r.headers['ce-id'])).toEqual(['b']);
    expect(env.dispatcher.stats('trigger:default/t')).toMatchObject({ delivered: 1, filtered: 2 });
    expect(await env.log.info('trigger:default/t')).toMatchObject({ outstanding: 0, backlog: 0 });
  });

  it("delivers everything when the filter says 'nofilter' (filter: {})", async () => {
    const env = await setup();
    const sub = await env.server();
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, filter: filterOf({ filter: {} }) }));
    await env.log.append(STREAM, ev('a', { type: 'x' }));
    await env.log.append(STREAM, ev('b', { type: 'y' }));
    await env.until((o) => o.kind === 'delivered', 2);
    expect(env.dispatcher.stats('trigger:default/t')).toMatchObject({ delivered: 2, filtered: 0 });
  });

  it('strips omitAttributes for the subscriber, and hands the reply with the original (TTL and all) to reply()', async () => {
    const env = await setup();
    const sub = await env.server((_r, res) =>
      res.writeHead(200, { 'ce-specversion': '1.0', 'ce-id': 'r1', 'ce-source': '/fn', 'ce-type': 'dev.zeno.reply', 'content-type': 'application/json' }).end('{"answer":42}'),
    );
    const replies: [StoredEvent, StoredEvent][] = [];
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, omitAttributes: ['knativebrokerttl'], reply: async (r, o) => void replies.push([r, o]) }));
    const original = ev('e1', { knativebrokerttl: 254 });
    await env.log.append(STREAM, original);
    await env.until((o) => o.kind === 'delivered' && o.replied === true);
    expect(sub.received[0]!.headers['ce-knativebrokerttl']).toBeUndefined();
    expect(replies).toHaveLength(1);
    expect(replies[0]![0]).toMatchObject({ attributes: { id: 'r1', source: '/fn', type: 'dev.zeno.reply' }, data: { answer: 42 } });
    expect(replies[0]![1]).toEqual(original);
    expect(env.dispatcher.stats('trigger:default/t')).toMatchObject({ delivered: 1, replied: 1 });
  });

  it('treats 202 and an empty 200 as delivered with no reply', async () => {
    const env = await setup();
    const body = JSON.stringify({ specversion: '1.0', id: 'r', source: '/fn', type: 't' });
    const sub = await env.server((_r, res, n) =>
      n === 1 ? res.writeHead(202, { 'content-type': 'application/cloudevents+json' }).end(body) : res.writeHead(200).end(),
    );
    let replies = 0;
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, maxInFlight: 1, reply: async () => void replies++ }));
    await env.log.append(STREAM, ev('a'));
    await env.log.append(STREAM, ev('b'));
    await env.until((o) => o.kind === 'delivered', 2);
    expect(replies).toBe(0);
    expect(env.outcomes.filter((o) => o.kind === 'delivered').map((o) => [o.status, o.replied])).toEqual([
      [202, false],
      [200, false],
    ]);
  });

  it('counts a 200 whose body is not a CloudEvent as a failed delivery (502) and dead-letters it', async () => {
    const env = await setup();
    const sub = await env.server((_r, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('just text'));
    const dls = await env.server();
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, deadLetter: () => dls.url, delivery: { retry: 0 } }));
    await env.log.append(STREAM, ev('e1'));
    await env.until((o) => o.kind === 'deadlettered');
    expect(dls.received[0]!.headers['ce-knativeerrorcode']).toBe('502');
    expect(Buffer.from(String(dls.received[0]!.headers['ce-knativeerrordata']), 'base64').toString()).toBe('just text');
  });
});

describe('dispatcher: retries and dead letters', () => {
  // Knative's table (reference §2): transport error, 5xx, 404, 408, 409, 429 retry; 1xx, 3xx, other 4xx do not.
  it.each([
    [500, true],
    [502, true],
    [503, true],
    [404, true],
    [408, true],
    [409, true],
    [429, true],
    [400, false],
    [401, false],
    [403, false],
    [422, false],
    [301, false],
  ])('status %i: retried = %s', async (status, retried) => {
    const env = await setup();
    const sub = await env.server((_r, res) => res.writeHead(status, status === 301 ? { location: '/x' } : {}).end());
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, delivery: { retry: 1 } }));
    await env.log.append(STREAM, ev('e1'));
    await env.until((o) => o.kind === 'retry' || o.kind === 'failed');
    expect(env.outcomes[0]).toMatchObject({ kind: retried ? 'retry' : 'failed', status, attempt: 1 });
    if (retried) {
      // retry: 1 and no backoff: the one retry is due at once, then it is over.
      await env.until((o) => o.kind === 'failed');
      expect(env.outcomes.map((o) => [o.kind, o.attempt])).toEqual([
        ['retry', 1],
        ['failed', 2],
      ]);
      expect(sub.received).toHaveLength(2);
    } else {
      expect(sub.received).toHaveLength(1);
    }
    expect(env.lines.some((l) => l.includes('dropped'))).toBe(true);
    expect(await env.log.info('trigger:default/t')).toMatchObject({ outstanding: 0 });
  });

  it('retries a subscriber that does not answer within delivery.timeout', async () => {
    const env = await setup();
    const sub = await env.server(() => undefined); // never answers
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, delivery: { retry: 1, timeout: 'PT2S', backoffPolicy: 'linear', backoffDelay: 'PT1S' } }));
    await env.log.append(STREAM, ev('e1'));
    await waitFor(() => sub.received.length === 1, 5_000);
    await env.clock.advanceAsync(1_999);
    expect(env.outcomes).toEqual([]);
    await env.clock.advanceAsync(1);
    await env.until((o) => o.kind === 'retry');
    expect(env.outcomes[0]).toMatchObject({ kind: 'retry', attempt: 1 });
    expect(env.outcomes[0]!.status).toBeUndefined();
    expect(env.outcomes[0]!.reason).toMatch(/no answer within 2000 ms/);
    await waitFor(() => sub.received.length === 2, 5_000); // linear: the first retry is immediate
    await env.clock.advanceAsync(2_000);
    await env.until((o) => o.kind === 'failed');
  });

  const T0 = Date.UTC(2026, 0, 1);
  it.each<[string, DeliverySpec, number, Record<string, string>, number[]]>([
    // Knative's effective waits (reference §2 "(code)"): linear 0, d, 2d; exponential d, 2d, 4d.
    ['linear PT1S', { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' }, 500, {}, [0, 1_000, 2_000]],
    ['exponential PT1S', { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT1S' }, 500, {}, [1_000, 2_000, 4_000]],
    ['exponential PT40S, capped at 60 s', { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT40S' }, 500, {}, [40_000, 60_000, 60_000]],
    ['no backoff set: zero delay', { retry: 2 }, 500, {}, [0, 0]],
    ['429 Retry-After: 5 over linear PT1S', { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' }, 429, { 'retry-after': '5' }, [5_000, 5_000, 5_000]],
    ['503 Retry-After: 1 never shortens exponential PT2S', { retry: 2, backoffPolicy: 'exponential', backoffDelay: 'PT2S' }, 503, { 'retry-after': '1' }, [2_000, 4_000]],
    ['Retry-After ignored on 500', { retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT1S' }, 500, { 'retry-after': '30' }, [0, 1_000]],
  ])('backoff: %s', async (_label, delivery, status, headers, waits) => {
    const env = await setup();
    const sub = await env.server((_r, res) => res.writeHead(status, headers).end());
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, delivery }));
    await env.log.append(STREAM, ev('e1'));
    const seen: number[] = [];
    for (let i = 0; i < waits.length; i++) {
      await env.until((o) => o.kind === 'retry', i + 1);
      const o = env.outcomes.filter((x) => x.kind === 'retry')[i]!;
      expect(o.attempt).toBe(i + 1);
      const wait = o.retryAt! - env.clock.now();
      seen.push(wait);
      // Not a moment early: one ms before the retry is due, the event is not handed out.
      if (wait > 0) {
        await env.clock.advanceAsync(wait - 1);
        // Had the event been nacked due any sooner, either the dispatcher
        // holds it again (in flight, or already re-sent) or this fetch gets it.
        expect(await env.log.fetch('trigger:default/t', 10)).toEqual([]);
        expect(env.dispatcher.stats('trigger:default/t')!.inFlight).toBe(0);
        expect(sub.received).toHaveLength(i + 1);
        await env.clock.advanceAsync(1);
      }
      await waitFor(() => sub.received.length >= i + 2, 5_000, { message: `attempt ${i + 2}` });
    }
    expect(seen).toEqual(waits);
    await env.until((o) => o.kind === 'failed');
    expect(env.outcomes.at(-1)).toMatchObject({ kind: 'failed', attempt: waits.length + 1 });
    expect(env.clock.now() - T0).toBe(waits.reduce((a, b) => a + b, 0));
  });

  it('dead-letters the original event with knativeerrordest, knativeerrorcode and knativeerrordata', async () => {
    const env = await setup();
    const sub = await env.server((_r, res) => res.writeHead(422).end('{"error":"bad order"}'));
    const dls = await env.server();
    await env.dispatcher.upsert(env.spec({ subscriber: () => `${sub.url}orders`, deadLetter: () => dls.url, delivery: { retry: 5 } }));
    const original = ev('e1', { datacontenttype: 'application/json', myext: 'x' }, { order: 7 });
    await env.log.append(STREAM, original);
    await env.until((o) => o.kind === 'deadlettered');
    expect(sub.received).toHaveLength(1); // 422 is not retried
    expect(received(dls.received[0]!)).toEqual({
      ...original,
      attributes: {
        ...original.attributes,
        knativeerrordest: `${sub.url}orders`,
        knativeerrorcode: '422',
        knativeerrordata: Buffer.from('{"error":"bad order"}').toString('base64'),
      },
    });
    expect(env.dispatcher.stats('trigger:default/t')).toMatchObject({ deadLettered: 1, failed: 0 });
    expect(await env.log.info('trigger:default/t')).toMatchObject({ outstanding: 0 });
  });

  it('dead-letters after the retries run out, and retries a failing dead-letter sink with the same backoff', async () => {
    const env = await setup();
    const sub = await env.server((_r, res) => res.writeHead(503).end('down'));
    const dls = await env.server((_r, res, n) => res.writeHead(n === 1 ? 500 : 202).end());
    await env.dispatcher.upsert(
      env.spec({ subscriber: () => sub.url, deadLetter: () => dls.url, delivery: { retry: 1, backoffPolicy: 'exponential', backoffDelay: 'PT1S' } }),
    );
    await env.log.append(STREAM, ev('e1'));
    await env.until((o) => o.kind === 'retry');
    await env.clock.advanceAsync(1_000);
    await env.until((o) => o.kind === 'retry' && o.deadLetter === true);
    expect(sub.received).toHaveLength(2);
    expect(dls.received).toHaveLength(1);
    await env.clock.advanceAsync(1_000);
    await env.until((o) => o.kind === 'deadlettered');
    expect(sub.received).toHaveLength(2); // the subscriber is not called again
    expect(dls.received).toHaveLength(2);
    expect(dls.received[1]!.headers['ce-knativeerrorcode']).toBe('503');
    expect(env.outcomes.map((o) => o.kind)).toEqual(['retry', 'retry', 'deadlettered']);
  });

  it('drops an event waiting to be dead-lettered when an upsert takes the sink away', async () => {
    const env = await setup();
    const sub = await env.server((_r, res) => res.writeHead(400).end());
    const dls = await env.server((_r, res) => res.writeHead(500).end());
    const delivery: DeliverySpec = { retry: 1, backoffPolicy: 'exponential', backoffDelay: 'PT1S' };
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, deadLetter: () => dls.url, delivery }));
    await env.log.append(STREAM, ev('e1'));
    await env.until((o) => o.kind === 'retry' && o.deadLetter === true);
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, delivery }));
    await env.clock.advanceAsync(1_000);
    await env.until((o) => o.kind === 'failed');
    expect(dls.received).toHaveLength(1);
    expect(sub.received).toHaveLength(1);
    expect(await env.log.info('trigger:default/t')).toMatchObject({ outstanding: 0 });
  });

  it('redelivers the original when the reply cannot be published', async () => {
    const env = await setup();
    const sub = await env.server((r, res) =>
      res.writeHead(200, { 'ce-specversion': '1.0', 'ce-id': `reply-of-${String(r.headers['ce-id'])}`, 'ce-source': '/fn', 'ce-type': 'dev.zeno.reply' }).end(),
    );
    let calls = 0;
    const published: StoredEvent[] = [];
    const reply = async (e: StoredEvent) => {
      if (++calls === 1) throw new Error('broker is full');
      published.push(e);
    };
    await env.dispatcher.upsert(env.spec({ subscriber: () => sub.url, reply, delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' } }));
    await env.log.append(STREAM, ev('e1'));
    await env.until((o) => o.kind === 'delivered');
    expect(sub.received.map((r) => r.headers['ce-id'])).toEqual(['e1', 'e1']);
    expect(env.outcomes[0]).toMatchObject({ kind: 'retry', status: 502 });
    expect(env.outcomes[0]!.reason).toMatch(/broker is full/);
    expect(published.map((e) => e.attributes.id)).toEqual(['reply-of-e1']);
    expect(env.dispatcher.stats('trigger:default/t')).toMatchObject({ delivered: 1, replied: 1, retried: 1 });
  });
});

describe('dispatcher: loop', () => {
  it('holds events while the subscriber cannot be resolved, then delivers each once', async () => {
    const env = await setup();
    const sub = await env.server();
    let url: string | undefined;
    await env.dispatcher.upsert(env.spec({ subscriber: () => url }));
    await env.log.append(STREAM, ev('a'));
    await env.log.append(STREAM, ev('b'));
    await waitFor(() => env.dispatcher.stats('trigger:default/t')!.held, 5_000);
    expect(await env.log.info('trigger:default/t')).toMatchObject({ backlog: 2, outstanding: 0 });
    url = sub.url;
    await env.clock.advanceAsync(PLATFORM_DEFAULTS.eventHoldRecheckMs);
    await env.until((o) => o.kind === 'delivered', 2);
    expect(sub.received.map((r) => r.headers['ce-id']).sort()).toEqual(['a', 'b']);
    expect(env.dispatcher.stats('trigger:default/t')!.held).toBe(false);
  });

  it('isolates a hanging subscriber: bounded in flight, the other subscription keeps flowing', async () => {
    const env = await setup();
    const hang = await env.server(() => undefined);
    const ok = await env.server();
    await env.dispatcher.upsert(env.spec({ id: 'slow', subscriber: () => hang.url, maxInFlight: 4 }));
    await env.dispatcher.upsert(env.spec({ id: 'fast', subscriber: () => ok.url, maxInFlight: 4 }));
    for (let i = 0; i < 50; i++) await env.log.append(STREAM, ev(`e${i}`));
    await waitFor(() => ok.received.length === 50, 10_000, { message: 'fast subscription got everything' });
    // Received is not yet settled: the last answers may still be on their way back.
    await env.until((o) => o.id === 'fast' && o.kind === 'delivered', 50);
    // The hanging one has exactly maxInFlight requests open (delivered in
    // parallel), and the log holds the rest: nothing more is leased or kept.
    await waitFor(() => hang.open() === 4, 5_000);
    expect(hang.received).toHaveLength(4);
    expect(env.dispatcher.stats('slow')).toMatchObject({ inFlight: 4, delivered: 0 });
    expect(await env.log.info('slow')).toMatchObject({ outstanding: 4, backlog: 46 });
    expect(await env.log.info('fast')).toMatchObject({ outstanding: 0, backlog: 0 });
  });

  it('applies an upsert to the next attempt: a new subscriber and a new delivery spec', async () => {
    const env = await setup();
    const broken = await env.server((_r, res) => res.writeHead(500).end());
    const fixed = await env.server();
    const id = 'trigger:default/t';
    await env.dispatcher.upsert(env.spec({ subscriber: () => broken.url, delivery: { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT10S' } }));
    await env.log.append(STREAM, ev('e1'));
    await env.until((o) => o.kind === 'retry');
    await env.dispatcher.upsert(env.spec({ subscriber: () => fixed.url, delivery: { retry: 0 } }));
    await env.clock.advanceAsync(10_000);
    await env.until((o) => o.kind === 'delivered');
    expect(fixed.received.map((r) => r.headers['ce-id'])).toEqual(['e1']);
    // retry: 0 now: the next failure is final.
    fixed.set((_r, res) => res.writeHead(500).end());
    await env.log.append(STREAM, ev('e2'));
    await env.until((o) => o.kind === 'failed');
    expect(env.outcomes.filter((o) => o.id === id).map((o) => o.kind)).toEqual(['retry', 'delivered', 'failed']);
  });

  it('remove stops deliveries in flight and deletes the consumer', async () => {
    const env = await setup();
    const hang = await env.server(() => undefined);
    await env.dispatcher.upsert(env.spec({ subscriber: () => hang.url, maxInFlight: 2 }));
    await env.log.append(STREAM, ev('a'));
    await env.log.append(STREAM, ev('b'));
    await waitFor(() => hang.open() === 2, 5_000);
    await env.dispatcher.remove('trigger:default/t');
    await waitFor(() => hang.open() === 0, 5_000, { message: 'requests aborted' });
    expect(env.dispatcher.stats('trigger:default/t')).toBeUndefined();
    expect(await env.log.info('trigger:default/t')).toBeUndefined();
    expect(env.outcomes).toEqual([]);
  });

  it('survives a restart: an event leased by a killed dispatcher is delivered by the next one', async () => {
    const env = await setup();
    const hang = await env.server(() => undefined);
    await env.dispatcher.upsert(env.spec({ subscriber: () => hang.url }));
    await env.log.append(STREAM, ev('e1'));
    await waitFor(() => hang.received.length === 1, 5_000);
    // A second process opening the file stands in for a restart after SIGKILL:
    // the first never settled the event (sqlite-log releases its lease on open).
    const log2 = openSqliteEventLog(env.file, { clock: env.clock });
    const ok = await env.server();
    const outcomes: DeliveryOutcome[] = [];
    const redelivered: [string, { seq: number; attempt: number }][] = [];
    const d2 = createDispatcher({ log: log2, clock: env.clock, onOutcome: (_id, o) => outcomes.push(o), onRedelivery: (id, e) => redelivered.push([id, e]) });
    cleanups.push(async () => {
      await d2.close();
      await log2.close();
    });
    await d2.upsert(env.spec({ subscriber: () => ok.url }));
    await waitFor(() => outcomes.some((o) => o.kind === 'delivered'), 5_000);
    expect(outcomes).toEqual([{ kind: 'delivered', seq: 1, attempt: 2, status: 202, replied: false }]);
    expect(received(ok.received[0]!)).toEqual(ev('e1'));
    // The killed one may have reached its subscriber: a possible duplicate.
    expect(redelivered).toEqual([['trigger:default/t', { seq: 1, attempt: 2 }]]);
  });

  it('does not count its own retries as redeliveries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-dispatch-'));
    const clock = new FakeClock();
    const log = openSqliteEventLog(join(dir, 'events.db'), { clock });
    const outcomes: DeliveryOutcome[] = [];
    const redelivered: number[] = [];
    const d = createDispatcher({ log, clock, onOutcome: (_id, o) => outcomes.push(o), onRedelivery: (_id, e) => redelivered.push(e.seq) });
    const sub = await subscriber((_r, res, n) => res.writeHead(n < 3 ? 500 : 202).end());
    cleanups.push(async () => {
      await d.close();
      await sub.close();
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await d.upsert({ id: 'trigger:default/t', stream: STREAM, delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' }, maxInFlight: 10, leaseMs: 30_000, subscriber: () => sub.url });
    await log.append(STREAM, ev('e1'));
    await waitFor(() => outcomes.length === 2, 5_000); // linear: the first retry is immediate
    await clock.advanceAsync(1_000);
    await waitFor(() => outcomes.some((o) => o.kind === 'delivered'), 5_000);
    expect(outcomes.map((o) => [o.kind, o.attempt])).toEqual([['retry', 1], ['retry', 2], ['delivered', 3]]);
    expect(redelivered).toEqual([]);
  });

  it('asks the log for a lease that outlives an attempt and a dead-letter post', async () => {
    const env = await setup();
    const hang = await env.server(() => undefined);
    await env.dispatcher.upsert(env.spec({ subscriber: () => hang.url, leaseMs: 1_000, delivery: { timeout: 'PT20S' } }));
    await env.log.append(STREAM, ev('e1'));
    await waitFor(() => hang.received.length === 1, 5_000);
    // Past the requested 1 s lease, but inside 2 × 20 s + slack: not handed out again.
    await env.clock.advanceAsync(19_999);
    expect(await env.log.fetch('trigger:default/t', 10)).toEqual([]);
    expect(hang.received).toHaveLength(1);
  });

  it('rejects an invalid subscription with a stable code and changes nothing', async () => {
    const env = await setup();
    await expect(env.dispatcher.upsert(env.spec({ subscriber: () => undefined, maxInFlight: 0 }))).rejects.toMatchObject({ code: 'ZENO_ERR_INVALID_RESOURCE' });
    await expect(env.dispatcher.upsert(env.spec({ subscriber: () => undefined, delivery: { backoffPolicy: 'fibonacci' } }))).rejects.toMatchObject({
      code: 'ZENO_ERR_INVALID_RESOURCE',
    });
    expect(await env.log.info('trigger:default/t')).toBeUndefined();
  });
});
