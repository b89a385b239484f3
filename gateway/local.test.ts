import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RevisionThrottler } from '../activator/throttler.js';
import { FakeClock, realClock, type Clock } from '../core/clock.js';
import type { RevisionMetrics } from '../core/metrics.js';
import { SPAN_KIND, type Span, type Tracer } from './otel.js';
import { viaLocalGateway, type DispatchClient, type LocalRequest } from './local.js';
import { RouteTable } from './routes.js';
import { createGateway, type Gateway, type RevisionHandle } from './server.js';
import { traceIdOf } from './trace.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Answer = { status: number; headers: Record<string, unknown>; body: string } | { error: Error };

/** A pod on loopback: /hang never answers; anything else answers 200 with what it saw. */
async function startPod(): Promise<{ url: string; seen: Seen[]; server: http.Server }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (req.url === '/hang') return;
      res.writeHead(200, { 'content-type': 'application/json', 'ce-id': 'reply-1' });
      res.end(JSON.stringify({ url: req.url, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

/** A port nothing listens on. */
async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/** Collects what a DispatchHandler is told; `abortWith` aborts once the request started. */
function collect(): { handler: Dispatcher.DispatchHandler; done: Promise<Answer>; abort(e: Error): void } {
  let controller: Dispatcher.DispatchController | undefined;
  let resolve!: (a: Answer) => void;
  const done = new Promise<Answer>((r) => (resolve = r));
  let status = 0;
  let headers: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart: (c) => (controller = c),
    onResponseStart: (_c, s, h) => {
      status = s;
      headers = h as Record<string, unknown>;
    },
    onResponseData: (_c, chunk) => void chunks.push(chunk),
    onResponseEnd: () => resolve({ status, headers, body: Buffer.concat(chunks).toString() }),
    onResponseError: (_c, error) => resolve({ error }),
  };
  return { handler, done, abort: (e) => controller!.abort(e) };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('gateway called in process', () => {
  let pod: Awaited<ReturnType<typeof startPod>>;
  let gw: Gateway;
  let throttler: RevisionThrottler;
  let handle: RevisionHandle;
  let counts: { begin: number; end: number; pokes: number; records: [number, string | undefined][]; coldStarts: number };
  let clock: Clock;

  const setup = (c: Clock, opts: { timeoutMs?: number; cc?: number; maxBodyBytes?: number; tracer?: Tracer; maxOwnConnections?: number } = {}) => {
    clock = c;
    counts = { begin: 0, end: 0, pokes: 0, records: [], coldStarts: 0 };
    throttler = new RevisionThrottler({ clock, containerConcurrency: opts.cc ?? 0, queueDepth: 10, retryAfterSeconds: 1, onQueued: () => counts.pokes++ });
    handle = {
      throttler,
      stats: { begin: () => void counts.begin++, end: () => void counts.end++ },
      timeoutMs: opts.timeoutMs ?? 30_000,
      metrics: { record: (code: number, _ms: number, err?: string) => void counts.records.push([code, err]), coldStart: () => void counts.coldStarts++ } as unknown as RevisionMetrics,
    };
    const routes = new RouteTable();
    routes.set({ namespace: 'default', service: 'hello', targets: [{ revision: 'default/hello-00001', percent: 100 }] }, 'example.com', new Map());
    routes.set({ namespace: 'default', service: 'ghost', targets: [{ revision: 'default/ghost-00001', percent: 100 }] }, 'example.com', new Map());
    gw = createGateway({ clock, routes, revision: (id) => (id === 'default/hello-00001' ? handle : undefined), maxBodyBytes: opts.maxBodyBytes ?? 1024, ...(opts.tracer ? { tracer: opts.tracer } : {}), ...(opts.maxOwnConnections === undefined ? {} : { maxOwnConnections: opts.maxOwnConnections }) });
  };

  const send = (req: Partial<LocalRequest> & { path: string }) => {
    const c = collect();
    gw.local.dispatch({ method: 'POST', headers: {}, body: Buffer.from('{"n":1}'), ...req }, c.handler);
    return c;
  };

  beforeEach(async () => {
    pod = await startPod();
  });
  afterEach(async () => {
    await gw.close(0);
    pod.server.closeAllConnections();
    await new Promise<void>((r) => pod.server.close(() => r()));
  });

  it('delivers like a request on the port: the function’s path, forwarding headers, a trace, the answer as it came', async () => {
    setup(realClock);
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const a = await send({ path: '/function/hello.default/x?y=1', headers: { 'ce-id': '1', 'content-type': 'application/json', host: '127.0.0.1:8080' } }).done;
    expect(a).toMatchObject({ status: 200, headers: { 'ce-id': 'reply-1' } });
    expect(JSON.parse((a as { body: string }).body)).toEqual({ url: '/x?y=1', body: '{"n":1}' });
    const s = pod.seen[0]!;
    expect(s).toMatchObject({ method: 'POST', url: '/x?y=1', headers: { 'ce-id': '1', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', host: '127.0.0.1:8080' } });
    expect(traceIdOf(s.headers.traceparent)).toBeDefined();
    // A valid traceparent goes on unchanged.
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await send({ path: '/function/hello.default', headers: { traceparent: tp } }).done;
    expect(pod.seen[1]!.headers.traceparent).toBe(tp);
    expect(counts).toMatchObject({ begin: 2, end: 2, records: [[200, undefined], [200, undefined]] });
    expect(throttler.inFlight()).toBe(0);
  });

  it('answers as the port does when the request cannot go to a pod', async () => {
    setup(realClock, { maxBodyBytes: 4 });
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const cases: { path: string; status: number; code: string }[] = [
      { path: '/function/nobody.default', status: 404, code: 'ZENO_ERR_FUNCTION_NOT_FOUND' },
      { path: '/function/ghost.default', status: 503, code: 'ZENO_ERR_NO_READY_REVISION' },
      { path: '/function/hello.default', status: 413, code: 'ZENO_ERR_BODY_TOO_LARGE' },
    ];
    for (const c of cases) {
      const a = await send({ path: c.path }).done;
      expect(a, c.path).toMatchObject({ status: c.status, headers: { 'content-type': 'application/json; charset=utf-8' } });
      expect(JSON.parse((a as { body: string }).body), c.path).toMatchObject({ statusCode: c.status, code: c.code });
    }
    expect(pod.seen).toEqual([]);
    expect(counts.records).toEqual([[413, 'ZENO_ERR_BODY_TOO_LARGE']]);
    expect(counts.begin).toBe(0);
  });

  it('waits for a pod when the revision is at zero, poking the autoscaler (scale from zero)', async () => {
    setup(realClock);
    const c = send({ path: '/function/hello.default' });
    await until(() => counts.pokes > 0, 'the autoscaler poke');
    expect(pod.seen).toEqual([]);
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    expect(await c.done).toMatchObject({ status: 200 });
    expect(counts.coldStarts).toBe(1);
    expect(counts).toMatchObject({ begin: 1, end: 1 });
  });

  it('answers 504 when the revision’s timeout passes, and frees the slot', async () => {
    const fake = new FakeClock();
    setup(fake, { timeoutMs: 5_000 });
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const c = send({ path: '/function/hello.default/hang' });
    await until(() => pod.seen.length === 1, 'the pod to get the request');
    fake.advance(4_999);
    expect(throttler.inFlight()).toBe(1);
    fake.advance(1);
    const a = await c.done;
    expect(a).toMatchObject({ status: 504 });
    expect(JSON.parse((a as { body: string }).body)).toMatchObject({ code: 'ZENO_ERR_REQUEST_TIMEOUT' });
    expect(throttler.inFlight()).toBe(0);
    expect(counts).toMatchObject({ begin: 1, end: 1, records: [[504, 'ZENO_ERR_REQUEST_TIMEOUT']] });
  });

  it('stops when the caller aborts, and frees the slot', async () => {
    setup(realClock);
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const c = send({ path: '/function/hello.default/hang' });
    await until(() => pod.seen.length === 1, 'the pod to get the request');
    const reason = new Error('delivery timed out');
    c.abort(reason);
    expect(await c.done).toEqual({ error: reason });
    expect(throttler.inFlight()).toBe(0);
    expect(counts).toMatchObject({ begin: 1, end: 1 });
  });

  it('records the gateway’s spans: a SERVER span whose traceparent the pod gets, and the activator wait', async () => {
    const spans: { name: string; kind: number; parent: string | undefined; attrs: Record<string, unknown>; ended?: string | undefined; n: number }[] = [];
    const tracer: Tracer = {
      start(name, kind, parent, attributes) {
        const rec: (typeof spans)[number] = { name, kind, parent, attrs: { ...attributes }, n: spans.length };
        spans.push(rec);
        const id = String(rec.n + 1).padStart(16, '0');
        const span: Span = {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: id,
          traceparent: () => `00-0af7651916cd43dd8448eb211c80319c-${id}-01`,
          set: (k, v) => void (rec.attrs[k] = v),
          end: (err) => void (rec.ended = err ?? 'ok'),
        };
        return span;
      },
      close: async () => undefined,
    };
    setup(realClock, { tracer });
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const c = send({ path: '/function/hello.default/x', headers: { traceparent: tp } });
    await until(() => counts.pokes > 0, 'the request to queue');
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    expect(await c.done).toMatchObject({ status: 200 });
    expect(spans).toMatchObject([
      { name: 'gateway default/hello-00001', kind: SPAN_KIND.server, parent: tp, attrs: { 'http.request.method': 'POST', 'url.path': '/x', 'http.response.status_code': 200 }, ended: 'ok' },
      { name: 'activator wait', kind: SPAN_KIND.internal, parent: '00-0af7651916cd43dd8448eb211c80319c-0000000000000001-01', ended: 'ok' },
    ]);
    expect(spans[0]!.attrs['zeno.cold_start_ms']).toBeGreaterThanOrEqual(0);
    expect(pod.seen[0]!.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-0000000000000001-01');
  });

  it('sends a request a pod refused to the next pod', async () => {
    setup(realClock, { cc: 1 });
    throttler.updateBackends([{ id: 'dead', url: await deadUrl() }, { id: 'live', url: pod.url }]);
    expect(await send({ path: '/function/hello.default' }).done).toMatchObject({ status: 200 });
    expect(pod.seen).toHaveLength(1);
  });

  it('never writes a header value that would split the request head; a bodiless POST says content-length 0', async () => {
    setup(realClock);
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const a = await send({ path: '/function/hello.default', headers: { 'ce-x': 'a\r\nx-injected: 1' } }).done;
    expect(a).toMatchObject({ status: 502 });
    expect(pod.seen.filter((s) => s.headers['x-injected'] !== undefined)).toHaveLength(0);
    const b = await send({ path: '/function/hello.default/empty', headers: { 'ce-id': 'é' }, body: null }).done;
    expect(b).toMatchObject({ status: 200 });
    const s = pod.seen.find((x) => x.url === '/empty')!;
    expect(s.headers['content-length']).toBe('0');
    expect(Buffer.from(s.headers['ce-id'] as string, 'latin1').toString('latin1')).toBe('é');
    expect(throttler.inFlight()).toBe(0);
  });

  it('reads no body after the head of an answer to a HEAD, even one sent with a body', async () => {
    setup(realClock);
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const a = await send({ path: '/function/hello.default/h', method: 'HEAD', body: Buffer.from('{"n":1}') }).done;
    expect(a).toMatchObject({ status: 200, body: '' });
    expect(throttler.inFlight()).toBe(0);
  });

  it('hands the pod’s response head over as undici would: repeated fields joined, Set-Cookie a list', async () => {
    setup(realClock);
    const server = http.createServer((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-two', ['p', 'q']);
      res.writeHead(202).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      throttler.updateBackends([{ id: 'p2', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }]);
      const a = await send({ path: '/function/hello.default' }).done;
      expect(a).toMatchObject({ status: 202, headers: { 'set-cookie': ['a=1', 'b=2'], 'x-two': 'p, q' } });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('keeps at most maxOwnConnections requests at a pod at once; the rest wait their turn, and one stopped while waiting leaves the line', async () => {
    setup(realClock, { maxOwnConnections: 2 });
    // Which client wrote a request shows in its head: undici puts Host first, the own client after the caller's fields.
    const firstField: string[] = [];
    const held: http.ServerResponse[] = [];
    let atPod = 0;
    let most = 0;
    const server = http.createServer((req, res) => {
      firstField.push(req.rawHeaders[0]!.toLowerCase());
      most = Math.max(most, ++atPod);
      res.on('finish', () => atPod--);
      req.resume();
      req.on('end', () => held.push(res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      throttler.updateBackends([{ id: 'p3', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }]);
      const calls = Array.from({ length: 5 }, () => send({ path: '/function/hello.default', headers: { 'x-first': '1' } }));
      await until(() => held.length === 2, 'two requests at the pod');
      // The fourth is stopped while it waits: answered at once, and never sent.
      calls[3]!.abort(new Error('caller gone'));
      expect(await calls[3]!.done).toMatchObject({ error: { message: 'caller gone' } });
      let answered = 0;
      while (answered < 4) {
        await until(() => held.length > 0, 'a request at the pod');
        held.shift()!.writeHead(202).end();
        answered++;
      }
      for (const k of [0, 1, 2, 4]) expect(await calls[k]!.done).toMatchObject({ status: 202 });
      expect(firstField).toEqual(['x-first', 'x-first', 'x-first', 'x-first']);
      expect(most).toBe(2);
      expect(throttler.inFlight()).toBe(0);
    } finally {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a request queued behind a hung one gets the connection when that one times out, and still ends at its own timeout', async () => {
    const fake = new FakeClock();
    setup(fake, { maxOwnConnections: 1, timeoutMs: 5_000 });
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const first = send({ path: '/function/hello.default/hang' });
    await until(() => pod.seen.length === 1, 'the first request at the pod');
    fake.advance(1_000);
    const second = send({ path: '/function/hello.default/x' });
    // The first one's timeout frees the connection; the second's, 1 s later, ends its wait.
    fake.advance(4_000);
    expect(await first.done).toMatchObject({ status: 504 });
    fake.advance(1_000);
    expect(await second.done).toMatchObject({ status: 504 });
    expect(pod.seen.map((s) => s.url)).toEqual(['/hang']);
    expect(throttler.inFlight()).toBe(0);
  });

  it('viaLocalGateway: only the gateway’s own function routes go in process', async () => {
    setup(realClock);
    throttler.updateBackends([{ id: 'p1', url: pod.url }]);
    const self = 'http://127.0.0.1:8080';
    const viaHttp: string[] = [];
    const fallback: DispatchClient = {
      dispatch: (opts, handler) => {
        viaHttp.push(`${String(opts.origin)}${opts.path}`);
        handler.onResponseStart?.({} as Dispatcher.DispatchController, 202, {}, '');
        handler.onResponseEnd?.({} as Dispatcher.DispatchController, {});
        return true;
      },
      close: async () => undefined,
    };
    const client = viaLocalGateway(gw.local, () => self, fallback);
    const cases: { origin: string; path: string; host?: string; local: boolean }[] = [
      { origin: self, path: '/function/hello.default/a', local: true },
      { origin: self, path: '/b', host: 'hello.default.example.com', local: true },
      { origin: self, path: '/brokers/default/default', local: false },
      { origin: 'http://127.0.0.1:9999', path: '/function/hello.default', local: false },
    ];
    for (const c of cases) {
      const r = collect();
      const headers: Record<string, string> = { 'CE-Id': 'x', ...(c.host ? { host: c.host } : {}) };
      client.dispatch({ origin: c.origin, path: c.path, method: 'POST', headers, body: Buffer.from('x') }, r.handler);
      expect(await r.done, c.path).toMatchObject({ status: c.local ? 200 : 202 });
    }
    expect(viaHttp).toEqual(['http://127.0.0.1:8080/brokers/default/default', 'http://127.0.0.1:9999/function/hello.default']);
    expect(pod.seen.map((s) => [s.url, s.headers.host, s.headers['ce-id']])).toEqual([
      ['/a', '127.0.0.1:8080', 'x'],
      ['/b', 'hello.default.example.com', 'x'],
    ]);
  });
});
