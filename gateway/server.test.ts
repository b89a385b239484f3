import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../core/clock.js';
import { RouteTable } from './routes.js';
import { createGateway, type Gateway } from './server.js';

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
