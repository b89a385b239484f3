/**
 * The queue-proxy-style sidecar as a real process (dist/functions/sidecar/
 * main.js, `npm run build`) in front of a real user server on loopback:
 * breaker limits, queue timeout, readiness passthrough, drain on SIGTERM.
 * Every wait polls with a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../functions/local/free-port.js';
import { waitFor } from './support/wait.js';

const MAIN = fileURLToPath(new URL('../dist/functions/sidecar/main.js', import.meta.url));

interface User {
  port: number;
  /** Requests parked on /hold, oldest first. */
  held: ServerResponse[];
  seen: string[];
  ready: boolean;
  close(): Promise<void>;
}

async function startUser(): Promise<User> {
  const u: Partial<User> = { held: [], seen: [], ready: true };
  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      u.seen!.push(`${req.method} ${req.url}`);
      if (req.url === '/ready') {
        res.writeHead(u.ready ? 200 : 503).end();
        return;
      }
      if (req.url?.startsWith('/hold')) {
        u.held!.push(res);
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json', 'x-user': 'yes' });
      res.end(JSON.stringify({ path: req.url, body: Buffer.concat(chunks).toString(), header: req.headers['x-in'] ?? null }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  u.port = (server.address() as AddressInfo).port;
  u.close = () =>
    new Promise<void>((r) => {
      for (const res of u.held!) res.destroy();
      server.closeAllConnections();
      server.close(() => r());
    });
  return u as User;
}

interface Proc {
  child: ChildProcess;
  serving: string;
  admin: string;
  out: () => string;
  exit: Promise<number | null>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startSidecar(env: Record<string, string>): Promise<Proc> {
  const servingPort = await findFreePort('127.0.0.1');
  const adminPort = await findFreePort('127.0.0.1');
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', ZENO_SIDECAR_HOST: '127.0.0.1', QUEUE_SERVING_PORT: String(servingPort), QUEUE_ADMIN_PORT: String(adminPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await waitFor(() => out.includes('sidecar: serving on'), 10_000, { message: `sidecar start (${out})` });
  return { child, serving: `http://127.0.0.1:${servingPort}`, admin: `http://127.0.0.1:${adminPort}`, out: () => out, exit };
}

async function get(url: string, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url, { headers, ...init });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

describe('sidecar (real process)', () => {
  it('proxies method, path, body and headers both ways', async () => {
    const user = await startUser();
    cleanups.push(() => user.close());
    const sc = await startSidecar({ USER_PORT: String(user.port), CONTAINER_CONCURRENCY: '0' });
    const r = await get(`${sc.serving}/echo?q=1`, { 'x-in': 'hello' }, { method: 'POST', body: 'payload' });
    expect(r.status).toBe(201);
    expect(r.headers.get('x-user')).toBe('yes');
    expect(JSON.parse(r.text)).toEqual({ path: '/echo?q=1', body: 'payload', header: 'hello' });
  });

  it('holds a pod to containerConcurrency: CC run, 10 × CC wait, the next gets 503 ZENO_ERR_QUEUE_FULL', async () => {
    const user = await startUser();
    cleanups.push(() => user.close());
    const sc = await startSidecar({ USER_PORT: String(user.port), CONTAINER_CONCURRENCY: '2', REVISION_TIMEOUT_SECONDS: '30' });
    const pending = Array.from({ length: 22 }, (_, i) => get(`${sc.serving}/hold/${i}`));
    await waitFor(() => user.held.length === 2, 10_000, { message: 'two requests at the user container' });
    await waitFor(async () => JSON.parse((await get(`${sc.admin}/stats`)).text).queued === 20, 10_000, { message: '20 waiting in the breaker' });
    // 2 running + 20 waiting: the 23rd is refused at once.
    const refused = await get(`${sc.serving}/hold/extra`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.text).code).toBe('ZENO_ERR_QUEUE_FULL');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(user.held.length).toBe(2);
    // Each release lets exactly one waiter through, never more than CC at the user container.
    let served = 0;
    while (served < 22) {
      await waitFor(() => user.held.length > 0, 10_000, { message: 'a held request' });
      expect(user.held.length).toBeLessThanOrEqual(2);
      user.held.shift()!.writeHead(200).end('ok');
      served++;
    }
    const results = await Promise.all(pending);
    expect(results.map((r) => r.status)).toEqual(Array(22).fill(200));
  });

  it('a request that waits past the revision timeout gets 503 ZENO_ERR_POD_QUEUE_TIMEOUT', async () => {
    const user = await startUser();
    cleanups.push(() => user.close());
    const sc = await startSidecar({ USER_PORT: String(user.port), CONTAINER_CONCURRENCY: '1', REVISION_TIMEOUT_SECONDS: '1' });
    const first = get(`${sc.serving}/hold/a`);
    await waitFor(() => user.held.length === 1, 10_000);
    const second = await get(`${sc.serving}/hold/b`);
    expect(second.status).toBe(503);
    expect(JSON.parse(second.text).code).toBe('ZENO_ERR_POD_QUEUE_TIMEOUT');
    expect(user.seen).toEqual(['GET /hold/a']);
    user.held.shift()!.writeHead(200).end('ok');
    expect((await first).status).toBe(200);
  });

  it("answers the kubelet's probe with the user container's readiness (HTTP probe passthrough)", async () => {
    const user = await startUser();
    cleanups.push(() => user.close());
    const sc = await startSidecar({ USER_PORT: String(user.port), SERVING_READINESS_PROBE: JSON.stringify({ httpGet: { path: '/ready' }, periodSeconds: 1 }) });
    const probe = () => get(sc.serving, { 'K-Network-Probe': 'queue' });
    expect(await probe()).toMatchObject({ status: 200, text: 'queue' });
    user.ready = false;
    expect((await probe()).status).toBe(503);
    user.ready = true;
    expect((await probe()).status).toBe(200);
    // A probe is never forwarded as a request.
    expect(user.seen.filter((s) => s !== 'GET /ready')).toEqual([]);
  });

  it('before first ready, one probe keeps retrying (queue-proxy aggressive probing): ready as soon as the container listens', async () => {
    const userPort = await findFreePort('127.0.0.1');
    const sc = await startSidecar({ USER_PORT: String(userPort) });
    // Nothing listens: the probe retries for its budget (900 ms), then says not ready.
    const t0 = performance.now();
    expect((await get(sc.serving, { 'K-Network-Probe': 'queue' })).status).toBe(503);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(800);
    // A probe in flight while the container comes up answers 200 in the same request.
    const probe = get(sc.serving, { 'K-Network-Probe': 'queue' });
    const server = http.createServer((_q, r) => r.end('up'));
    await new Promise<void>((r) => server.listen(userPort, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    expect(await probe).toMatchObject({ status: 200, text: 'queue' });
  });

  it('TCP passthrough: not ready once the user container stops listening', async () => {
    const user = await startUser();
    const sc = await startSidecar({ USER_PORT: String(user.port) });
    expect((await get(sc.serving, { 'K-Network-Probe': 'queue' })).status).toBe(200);
    await user.close();
    expect((await get(sc.serving, { 'K-Network-Probe': 'queue' })).status).toBe(503);
  });

  it('drains on SIGTERM: probes fail, in-flight work finishes, /wait-for-drain answers, then it exits 0', async () => {
    const user = await startUser();
    cleanups.push(() => user.close());
    const sc = await startSidecar({ USER_PORT: String(user.port), CONTAINER_CONCURRENCY: '2', ZENO_DRAIN_QUIET_SECONDS: '1' });
    const inflight = get(`${sc.serving}/hold/x`);
    await waitFor(() => user.held.length === 1, 10_000);
    // The user container's preStop hook: blocks until the drain is over.
    let preStopDone = false;
    const preStop = get(`${sc.admin}/wait-for-drain`).then((r) => {
      preStopDone = true;
      return r;
    });
    sc.child.kill("SIGTERM");
    await waitFor(async () => (await get(sc.serving, { 'K-Network-Probe': 'queue' })).text === 'shutting down', 10_000, { message: 'probe says shutting down' });
    // Requests still arriving during the drain are served.
    const late = await get(`${sc.serving}/late`);
    expect(late.status).toBe(201);
    expect(preStopDone).toBe(false);
    user.held.shift()!.writeHead(200).end('done');
    expect(await inflight).toMatchObject({ status: 200, text: 'done' });
    expect(await preStop).toMatchObject({ status: 200, text: 'drained' });
    expect(await sc.exit).toBe(0);
    expect(sc.out()).toContain('sidecar: drained');
  });
});
