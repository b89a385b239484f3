import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../core/clock.js';
import { RouteTable } from './routes.js';
import { RevisionThrottler } from '../activator/throttler.js';
import type { RevisionMetrics } from '../core/metrics.js';
import { waitFor } from '../test/support/wait.js';
import { createGateway, type Gateway, type RevisionHandle } from './server.js';

describe('gateway mounts', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.close(0);
    gw = undefined;
  });

  async function start(routes = new RouteTable()): Promise<string> {
    gw = createGateway({ clock: realClock, routes, revision: () => undefined, maxBodyBytes: 1024 });
    const port = await gw.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${port}`;
  }

  it('serves a mounted prefix, the longest prefix first, and 404s the rest as before', async () => {
    const url = await start();
    gw!.mount('/a/', (_req, res) => void res.end('short'));
    gw!.mount('/a/b/', (_req, res) => void res.end('long'));
    expect(await (await fetch(`${url}/a/x`)).text()).toBe('short');
    expect(await (await fetch(`${url}/a/b/x`)).text()).toBe('long');
    const miss = await fetch(`${url}/b/x`);
    expect(miss.status).toBe(404);
    expect(((await miss.json()) as { code: string }).code).toBe('ZENO_ERR_FUNCTION_NOT_FOUND');
  });

  it('leaves a function host its own paths', async () => {
    const routes = new RouteTable();
    routes.set({ namespace: 'default', service: 'hello', targets: [{ revision: 'default/hello-00001', percent: 100 }] }, 'example.com', new Map());
    const url = await start(routes);
    gw!.mount('/metrics', (_req, res) => void res.end('metrics'));
    expect(await (await fetch(`${url}/metrics`)).text()).toBe('metrics');
    // On the function's host the request goes to the function (here: no revision handle → 503).
    // (fetch() cannot set Host; node:http can.)
    const fn = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http.get(`${url}/metrics`, { headers: { host: 'hello.default.example.com' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
    expect(fn.status).toBe(503);
    expect((JSON.parse(fn.body) as { code: string }).code).toBe('ZENO_ERR_NO_READY_REVISION');
  });

  it('refuses to shadow /function/ or a relative prefix', async () => {
    await start();
    expect(() => gw!.mount('/function/', () => undefined)).toThrow();
    expect(() => gw!.mount('metrics', () => undefined)).toThrow();
  });
});

describe('gateway cold starts on an early pod (listening, handler still loading)', () => {
  let gw: Gateway | undefined;
  let upstream: http.Server | undefined;
  afterEach(async () => {
    await gw?.close(0);
    gw = undefined;
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    upstream = undefined;
  });

  it('counts a request that waits in an early pod as a cold start until the pod answers', async () => {
    // The "pod": answers 200 ms after a request arrives, as one importing its handler would.
    upstream = http.createServer((_req, res) => void setTimeout(() => res.end('loaded'), 200));
    await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', () => r()));
    const podUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const routes = new RouteTable();
    routes.set({ namespace: 'default', service: 'fn', targets: [{ revision: 'default/fn-00001', percent: 100 }] }, 'example.com', new Map());
    const throttler = new RevisionThrottler({ clock: realClock, containerConcurrency: 0, queueDepth: 10, retryAfterSeconds: 1, onQueued: () => undefined });
    const waits: number[] = [];
    const metrics = { coldStart: (ms: number) => waits.push(ms), record: () => undefined } as unknown as RevisionMetrics;
    const handle: RevisionHandle = { throttler, stats: { begin: () => undefined, end: () => undefined }, timeoutMs: 10_000, metrics };
    gw = createGateway({ clock: realClock, routes, revision: () => handle, maxBodyBytes: 1024 });
    const port = await gw.listen(0, '127.0.0.1');
    const get = () => new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/', headers: { host: 'fn.default.example.com' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${body}`));
      }).on('error', reject);
    });
    // One request queued at zero, then the pod starts listening (early), then one more arrives.
    const first = get();
    await waitFor(() => throttler.queued() === 1, 5_000, { message: 'the request to queue' });
    throttler.updateBackends([], [{ id: 'p1', url: podUrl }]);
    const second = get();
    expect(await first).toBe('200 loaded');
    expect(await second).toBe('200 loaded');
    expect(waits).toHaveLength(2);
    // Their waits end with the pod's answer, not when the early pod was handed out.
    for (const w of waits) expect(w).toBeGreaterThanOrEqual(190);
    // Once the pod is ready, a request is no cold start.
    throttler.updateBackends([{ id: 'p1', url: podUrl }]);
    expect(await get()).toBe('200 loaded');
    expect(waits).toHaveLength(2);
  });
});
