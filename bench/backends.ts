/**
 * The two durable backends end to end, side by side in one run: a `zeno up`
 * on SQLite (the data dir) and a `zeno up --nats` on the local nats-server,
 * both up at once, measured in alternation so that the neighbours' load
 * falls on both alike.
 *
 * - events/s: N CloudEvents POSTed to a Broker's ingress (64 in flight,
 *   keep-alive), delivered by one Trigger to a consumer function through
 *   the gateway; from the first POST until the function counted all N;
 * - async calls/s: M `POST /async-function/consumer/call` with an
 *   X-Callback-Url (64 in flight), run through the gateway by the async
 *   worker (in-flight limit 100), each result POSTed to a receiver in this
 *   process; from the first POST until all M callbacks arrived.
 *
 * `node dist/bench/backends.js` runs it on its own (BENCH_BACKEND_EVENTS,
 * BENCH_BACKEND_CALLS, BENCH_BACKEND_RUNS, ZENO_NATS_URL).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { connectJetStream, jetStreamNames } from '../eventing/log/jetstream-log.js';
import { startZeno, type Zeno } from './platform.js';

export type Backend = 'sqlite' | 'jetstream';

export interface BackendFigures {
  /** Events/s end to end, one figure per run. */
  eventsPerSecond: number[];
  /** Async calls/s end to end (callback received), one per run. */
  callsPerSecond: number[];
}

export interface BackendsBenchResult {
  events: number;
  calls: number;
  runs: number;
  sqlite: BackendFigures;
  /** Absent when no NATS server answered. */
  jetstream?: BackendFigures;
}

/** Counts deliveries by path; GET /stats answers the counts. */
const CONSUMER_JS = `import { createServer } from 'node:http';
let events = 0;
let calls = 0;
createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ events, calls }));
  }
  req.resume();
  req.on('end', () => {
    if (req.url.startsWith('/call')) calls++;
    else events++;
    res.writeHead(req.url.startsWith('/call') ? 200 : 202);
    res.end('ok');
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

async function until(cond: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs `n` sends with `concurrency` in flight. */
async function inFlight(n: number, concurrency: number, send: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await send(next++);
  }));
}

interface Platform {
  backend: Backend;
  z: Zeno;
  pool: Pool;
  ingressPath: string;
  stats(): Promise<{ events: number; calls: number }>;
}

async function setUp(backend: Backend, z: Zeno, fnDir: string): Promise<Platform> {
  const r = await z.admin('POST', '/apis/zeno.dev/v1/apply', {
    items: [
      {
        apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'consumer', namespace: 'default' },
        spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1', 'zeno.dev/async-max-inflight': '100' } }, spec: { containers: [{ image: 'example.com/consumer', command: ['node', 'consumer.mjs'], workingDir: fnDir }] } } },
      },
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'bb', namespace: 'default' }, spec: {} },
      { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'bt', namespace: 'default' }, spec: { broker: 'bb', subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'consumer' } } } },
    ],
  });
  if (r.status !== 200) throw new Error(`apply answered ${r.status}: ${JSON.stringify(r.json)}`);
  const stats = async () => {
    const res = await fetch(`${z.gatewayUrl}/function/consumer.default/stats`);
    if (res.status !== 200) throw new Error(`consumer stats answered ${res.status}`);
    return (await res.json()) as { events: number; calls: number };
  };
  await until(async () => (await fetch(`${z.gatewayUrl}/function/consumer.default/stats`).catch(() => undefined))?.status === 200, 60_000, `the consumer function (${backend})`);
  await until(async () => {
    const t = await z.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers/bt');
    return (t.json?.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  }, 30_000, `the trigger (${backend})`);
  return { backend, z, pool: new Pool(z.gatewayUrl, { connections: 64 }), ingressPath: '/brokers/default/bb', stats };
}

async function eventsRun(p: Platform, n: number, tag: string): Promise<number> {
  const base = (await p.stats()).events;
  const t0 = performance.now();
  await inFlight(n, 64, async (i) => {
    const r = await p.pool.request({
      path: p.ingressPath,
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': `${tag}-${i}`, 'ce-source': '/bench', 'ce-type': 'dev.zeno.bench', 'content-type': 'application/json' },
      body: `{"i":${i}}`,
    });
    await r.body.dump();
    if (r.statusCode !== 202) throw new Error(`ingress answered ${r.statusCode} (${p.backend})`);
  });
  await until(async () => (await p.stats()).events - base >= n, 300_000, `${n} events (${p.backend})`);
  return n / ((performance.now() - t0) / 1000);
}

async function callsRun(p: Platform, m: number, receiver: { url: string; count: () => number }): Promise<number> {
  const base = receiver.count();
  const t0 = performance.now();
  await inFlight(m, 64, async (i) => {
    const r = await p.pool.request({ path: `/async-function/consumer/call?i=${i}`, method: 'POST', headers: { 'x-callback-url': `${receiver.url}/${p.backend}` }, body: 'x' });
    await r.body.dump();
    if (r.statusCode !== 202) throw new Error(`async ingress answered ${r.statusCode} (${p.backend})`);
  });
  await until(() => receiver.count() - base >= m, 300_000, `${m} callbacks (${p.backend})`);
  return m / ((performance.now() - t0) / 1000);
}

export async function benchBackends(opts: { root: string; workDir: string; natsUrl: string; events: number; calls: number; runs: number; log: (s: string) => void }): Promise<BackendsBenchResult> {
  const fnDir = join(opts.workDir, 'backend-fn');
  mkdirSync(fnDir, { recursive: true });
  writeFileSync(join(fnDir, 'consumer.mjs'), CONSUMER_JS);
  const cfg = join(opts.workDir, 'backend-config.yaml');
  writeFileSync(cfg, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-autoscaler, namespace: knative-serving}\ndata: {}\n');
  const prefix = `zb${randomBytes(4).toString('hex')}`;
  let callbacks = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      callbacks++;
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const receiver = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => callbacks };

  let natsUp = true;
  try {
    const { nc } = await connectJetStream(opts.natsUrl, { timeoutMs: 2000 });
    await nc.close();
  } catch (e) {
    natsUp = false;
    opts.log(`NATS at ${opts.natsUrl} did not answer (${(e as Error).message}): SQLite only`);
  }

  const platforms: Platform[] = [];
  try {
    const start = async (backend: Backend): Promise<Platform> => {
      const dataDir = join(opts.workDir, `backend-${backend}`);
      mkdirSync(dataDir, { recursive: true });
      const extra = backend === 'jetstream' ? ['--nats', opts.natsUrl, '--nats-prefix', prefix] : [];
      const z = await startZeno({ root: opts.root, dataDir, configFile: cfg, extraArgs: ['--warm-pool', '0', ...extra] });
      const p = await setUp(backend, z, fnDir);
      platforms.push(p);
      return p;
    };
    const sqlite = await start('sqlite');
    const jetstream = natsUp ? await start('jetstream') : undefined;
    const result: BackendsBenchResult = { events: opts.events, calls: opts.calls, runs: opts.runs, sqlite: { eventsPerSecond: [], callsPerSecond: [] } };
    if (jetstream) result.jetstream = { eventsPerSecond: [], callsPerSecond: [] };
    // One untimed round each (connections, JIT, consumers), then the runs, alternating.
    for (const p of platforms) {
      await eventsRun(p, Math.min(200, opts.events), `warm-${p.backend}`);
      await callsRun(p, Math.min(100, opts.calls), receiver);
    }
    for (let run = 1; run <= opts.runs; run++) {
      const order = run % 2 ? platforms : [...platforms].reverse();
      for (const p of order) {
        const eps = await eventsRun(p, opts.events, `r${run}-${p.backend}`);
        result[p.backend]!.eventsPerSecond.push(eps);
        opts.log(`${p.backend} run ${run}: ${Math.round(eps)} events/s end to end (n=${opts.events})`);
      }
      for (const p of order) {
        const cps = await callsRun(p, opts.calls, receiver);
        result[p.backend]!.callsPerSecond.push(cps);
        opts.log(`${p.backend} run ${run}: ${Math.round(cps)} async calls/s end to end (n=${opts.calls})`);
      }
    }
    return result;
  } finally {
    for (const p of platforms) {
      await p.pool.close().catch(() => undefined);
      await p.z.stop().catch(() => undefined);
    }
    server.closeAllConnections();
    server.close();
    if (natsUp) {
      const { nc, jsm } = await connectJetStream(opts.natsUrl).catch(() => ({ nc: undefined, jsm: undefined }));
      await jsm?.streams.delete(jetStreamNames(prefix).stream).catch(() => undefined);
      await nc?.close();
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { stopAllChildren } = await import('./proc.js');
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const dir = mkdtempSync(join(tmpdir(), 'zeno-bench-backends-'));
  try {
    const r = await benchBackends({
      root,
      workDir: dir,
      natsUrl: process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222',
      events: Number(process.env.BENCH_BACKEND_EVENTS ?? 2000),
      calls: Number(process.env.BENCH_BACKEND_CALLS ?? 1000),
      runs: Number(process.env.BENCH_BACKEND_RUNS ?? 3),
      log: (l) => process.stderr.write(`bench: ${l}\n`),
    });
    process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  } finally {
    await stopAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}
