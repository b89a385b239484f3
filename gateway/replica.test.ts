/**
 * A data-plane replica (gateway/replica.ts) against a real admin API with
 * the data-plane endpoints, on loopback, with a plain HTTP server as the
 * function's pod and another as the control plane's gateway (where broker
 * calls are forwarded). Its clock is a FakeClock: reconnect backoff and
 * stats periods run when the test advances it.
 */
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatsAggregator } from '../autoscaler/stats-aggregator.js';
import { FakeClock } from '../core/clock.js';
import { createAdminApi } from '../controller/admin-api.js';
import { DataPlaneFeed, registerDataPlaneEndpoints } from '../controller/dataplane-feed.js';
import { EventRecorder } from '../controller/events.js';
import { configFromConfigMaps } from '../controller/platform-config.js';
import { openSqliteStore, type ResourceStore } from '../controller/store.js';
import { inertRuntime } from '../test/support/inert-runtime.js';
import { waitFor } from '../test/support/wait.js';
import { startGatewayReplica, type GatewayReplica } from './replica.js';

const TOKEN = 'test-token-0123456789';
const REV = 'default/hello-00001';
const SETTINGS = { containerConcurrency: 1, timeoutMs: 30_000, responseStartTimeoutMs: 0, idleTimeoutMs: 0, labels: { namespace: 'default', revision: 'hello-00001', service: 'hello', configuration: 'hello' } };
const route = (service: string, revision: string, tags: [string, string][] = []) => ({ namespace: 'default', service, domain: 'example.com', targets: [{ revision, percent: 100 }], tags });

/** A loopback HTTP server answering with `answer`; its URL once listening. */
async function serve(answer: http.RequestListener): Promise<{ url: string; port: number; server: http.Server }> {
  const server = http.createServer(answer);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, port, server };
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a data-plane replica', () => {
  let dir: string;
  let store: ResourceStore;
  let clock: FakeClock;
  let app: FastifyInstance;
  let feed: DataPlaneFeed;
  let stats: StatsAggregator;
  let endpoints: ReturnType<typeof registerDataPlaneEndpoints>;
  let pod: Awaited<ReturnType<typeof serve>>;
  let ingress: Awaited<ReturnType<typeof serve>>;
  let replica: GatewayReplica;
  const pokes: string[] = [];
  const ingressSeen: http.IncomingHttpHeaders[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-replica-'));
    store = openSqliteStore(path.join(dir, 'zeno.db'));
    clock = new FakeClock();
    app = createAdminApi({ store, events: new EventRecorder(clock), runtime: inertRuntime(), token: TOKEN, config: () => configFromConfigMaps(store.list('configmaps')), info: () => ({}), maxBodyBytes: 65536 });
    pod = await serve((req, res) => res.end(`pod says ${req.url}`));
    ingressSeen.length = 0;
    ingress = await serve((req, res) => {
      ingressSeen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(202, { 'x-from': 'control' });
        res.end('accepted');
      });
    });
    feed = new DataPlaneFeed(() => ingress.port);
    stats = new StatsAggregator({ staleAfterMs: 3000 });
    pokes.length = 0;
    endpoints = registerDataPlaneEndpoints(app, { feed, stats, clock, poke: (rev) => pokes.push(rev), log: () => undefined });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const controlUrl = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
    feed.upsertRevision(REV, SETTINGS);
    feed.setPods(REV, [{ id: 'p1', url: pod.url }], [], undefined);
    feed.setRoute(route('hello', REV, [['blue', REV]]));
    replica = await startGatewayReplica({ port: 0, host: '127.0.0.1', controlUrl, token: TOKEN, clock, replicaId: 'gw-test' });
    await waitFor(async () => (await get(`${replica.gatewayUrl}/readyz`)).status === 200, 5000, { message: 'the replica synced' });
  });

  afterEach(async () => {
    await replica.close();
    endpoints.close();
    await app.close();
    pod.server.closeAllConnections();
    pod.server.close();
    ingress.server.closeAllConnections();
    ingress.server.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('routes by the snapshot: /function/ paths, hosts and tag hosts', async () => {
    expect(await get(`${replica.gatewayUrl}/function/hello/x?y=1`)).toMatchObject({ status: 200, body: 'pod says /x?y=1' });
    expect(await get(`${replica.gatewayUrl}/a`, { host: 'hello.default.example.com' })).toMatchObject({ status: 200, body: 'pod says /a' });
    expect(await get(`${replica.gatewayUrl}/b`, { host: 'blue-hello.default.example.com' })).toMatchObject({ status: 200, body: 'pod says /b' });
    const nope = await get(`${replica.gatewayUrl}/function/nope`);
    expect(nope.status).toBe(404);
    expect(JSON.parse(nope.body).code).toBe('ZENO_ERR_FUNCTION_NOT_FOUND');
  });

  it('a request for a revision with no ready pod pokes the control plane and is served once the feed says a pod is ready', async () => {
    feed.setPods(REV, [], [], undefined);
    await replicaAt(feed.seq());
    const pending = get(`${replica.gatewayUrl}/function/hello/cold`);
    await waitFor(() => pokes.length > 0, 5000, { message: 'the poke' });
    expect(pokes[0]).toBe(REV);
    expect(stats.inFlight(REV, clock.now())).toBe(1);
    feed.setPods(REV, [{ id: 'p1', url: pod.url }], [], undefined);
    expect(await pending).toMatchObject({ status: 200, body: 'pod says /cold' });
  });

  /** Advances the replica's clock a period at a time until its reports say it applied feed line `seq`. */
  async function replicaAt(seq: number): Promise<void> {
    await waitFor(() => {
      clock.advance(1000);
      return stats.podDrained('no-such-pod', seq, clock.now());
    }, 5000, { message: `the replica to report feed seq ${seq}`, intervalMs: 20 });
  }

  it('fails requests at once while the control plane says the revision cannot start, and serves again once a pod is ready', async () => {
    feed.setPods(REV, [], [], 'revision default/hello-00001 cannot start: CrashLoopBackOff: exit 1');
    await replicaAt(feed.seq());
    const r = await get(`${replica.gatewayUrl}/function/hello/`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ code: 'ZENO_ERR_REVISION_FAILED', message: expect.stringContaining('CrashLoopBackOff') });
    expect(r.headers['retry-after']).toBe('1');
    feed.setPods(REV, [{ id: 'p1', url: pod.url }], [], undefined);
    await replicaAt(feed.seq());
    expect((await get(`${replica.gatewayUrl}/function/hello/ok`)).body).toBe('pod says /ok');
  });

  it('reports its stats every period, with its feed position and the pods it has requests on', async () => {
    await get(`${replica.gatewayUrl}/function/hello/`);
    clock.advance(1000);
    await waitFor(() => stats.live(clock.now()).includes('gw-test'), 5000, { message: 'a report' });
    expect(stats.take(clock.now()).get(REV)?.requestCount).toBe(1);
    // A pod taken out of routing while a request of this replica runs there is not drained until it ends.
    let arrived = 0;
    const slow = await serve((_req, res) => {
      arrived++;
      setTimeout(() => res.end('late'), 1500);
    });
    try {
      feed.setPods(REV, [{ id: 'p2', url: slow.url }], [], undefined);
      await replicaAt(feed.seq());
      const pending = get(`${replica.gatewayUrl}/function/hello/`);
      await waitFor(() => arrived === 1, 5000, { message: 'the request at p2' });
      feed.setPods(REV, [{ id: 'p1', url: pod.url }], [], undefined);
      const seq = feed.seq();
      await replicaAt(seq);
      expect(stats.podDrained('p2', seq, clock.now()), 'p2 still has the request').toBe(false);
      expect(stats.podDrained('p1', seq, clock.now())).toBe(true);
      expect((await pending).body).toBe('late');
      await waitFor(() => {
        clock.advance(1000);
        return stats.podDrained('p2', seq, clock.now());
      }, 5000, { message: 'p2 drained once the request ended', intervalMs: 20 });
    } finally {
      slow.server.closeAllConnections();
      slow.server.close();
    }
  });

  it('resyncs from a new snapshot after the feed was cut: what went away meanwhile is gone, what came is there', async () => {
    // The connection is cut; the control plane stays.
    app.server.closeAllConnections();
    await waitFor(() => !replica.synced(), 5000, { message: 'the replica lost its feed' });
    // While cut off, it keeps routing by what it knew, and stays ready.
    expect((await get(`${replica.gatewayUrl}/function/hello/`)).status).toBe(200);
    expect((await get(`${replica.gatewayUrl}/readyz`)).status).toBe(200);
    feed.deleteRoute('default', 'hello');
    feed.upsertRevision('default/other-00001', { ...SETTINGS, labels: { ...SETTINGS.labels, revision: 'other-00001', service: 'other' } });
    feed.setPods('default/other-00001', [{ id: 'p9', url: pod.url }], [], undefined);
    feed.setRoute(route('other', 'default/other-00001'));
    // The first retry comes 50-100 ms (jittered) after the loss, on the replica's clock.
    clock.advance(100);
    await waitFor(() => replica.synced(), 5000, { message: 'the replica resynced' });
    expect((await get(`${replica.gatewayUrl}/function/hello/`)).status).toBe(404);
    expect((await get(`${replica.gatewayUrl}/function/other/z`)).body).toBe('pod says /z');
  });

  it('forwards broker calls to the control plane gateway and passes its answer through; 503 with a code when it is down', async () => {
    const r = await get(`${replica.gatewayUrl}/brokers/default/b`, { 'ce-id': '1', 'content-type': 'application/json' }, 'POST', '{"a":1}');
    expect(r).toMatchObject({ status: 202, body: 'accepted' });
    expect(r.headers['x-from']).toBe('control');
    expect(ingressSeen[0]!['ce-id']).toBe('1');
    expect(ingressSeen[0]!['x-forwarded-for']).toBe('127.0.0.1');
    ingress.server.closeAllConnections();
    await new Promise<void>((res) => ingress.server.close(() => res()));
    const down = await get(`${replica.gatewayUrl}/async-function/hello`, {}, 'POST', 'x');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body).code).toBe('ZENO_ERR_PLATFORM_UNREACHABLE');
  });
});
