/**
 * How long a change takes to reach a data-plane replica over the feed: a
 * revision's ready pods change on the control plane (DataPlaneFeed.setPods,
 * as when a pod turns ready during a cold start) until the replica's client
 * has parsed the line. Both ends in one process on loopback (one clock, so
 * no cross-process time skew); the admin API with its token check is real.
 * Also an upper bound of the CPU time per change (both ends and the wait loop), and
 * the round trip of a replica's poke (the other half of a cold start through a replica).
 *
 *   npm run build && node dist/bench/dataplane-feed.js    # BENCH_FEED_N=2000 by default
 */
import fs from 'node:fs';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { StatsAggregator } from '../autoscaler/stats-aggregator.js';
import { realClock } from '../core/clock.js';
import { Agent, request } from 'undici';
import { STATS_PATH, type FeedMessage } from '../core/dataplane.js';
import { createAdminApi } from '../controller/admin-api.js';
import { DataPlaneFeed, registerDataPlaneEndpoints } from '../controller/dataplane-feed.js';
import { EventRecorder } from '../controller/events.js';
import { configFromConfigMaps } from '../controller/platform-config.js';
import { openSqliteStore } from '../controller/store.js';
import { startFeedClient } from '../gateway/dataplane-client.js';
import { inertRuntime } from '../test/support/inert-runtime.js';
import { summarize } from './report.js';

const TOKEN = 'bench-token-0123456789';
const REV = 'default/hello-00001';

async function main(): Promise<void> {
  const n = Number(process.env.BENCH_FEED_N ?? 2000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-bench-feed-'));
  const store = openSqliteStore(path.join(dir, 'zeno.db'));
  const app = createAdminApi({ store, events: new EventRecorder(realClock), runtime: inertRuntime(), token: TOKEN, config: () => configFromConfigMaps([]), info: () => ({}), maxBodyBytes: 65536 });
  const feed = new DataPlaneFeed(() => 8080);
  let poked = 0;
  const endpoints = registerDataPlaneEndpoints(app, { feed, stats: new StatsAggregator({ staleAfterMs: 3000 }), clock: realClock, poke: () => poked++, log: () => undefined });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
  feed.upsertRevision(REV, { containerConcurrency: 1, timeoutMs: 300_000, responseStartTimeoutMs: 0, idleTimeoutMs: 0, labels: { namespace: 'default', revision: 'hello-00001', service: 'hello', configuration: 'hello' } });

  /** Per replica: when each change (by seq) was parsed. */
  const seen = [new Map<number, number>(), new Map<number, number>()];
  let synced = 0;
  const clients = seen.map((m) => startFeedClient({
    controlUrl: url, token: () => TOKEN, clock: realClock, log: () => undefined,
    onMessage: (msg: FeedMessage) => {
      if (msg.type === 'snapshot') synced++;
      else if (msg.type !== 'heartbeat') m.set(msg.seq, performance.now());
    },
  }));
  while (synced < 2) await new Promise((r) => setTimeout(r, 5));

  const sentAt = new Map<number, number>();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    // One change at a time, as pods turn ready: each waits for both replicas before the next.
    const t = performance.now();
    feed.setPods(REV, [{ id: `pod-${i}`, url: `http://10.0.0.${i % 250}:8012` }], [], undefined);
    const seq = feed.seq();
    sentAt.set(seq, t);
    while (!(seen[0]!.has(seq) && seen[1]!.has(seq))) await new Promise((r) => setImmediate(r));
  }
  const cpu = process.cpuUsage(cpu0);
  const latencies = [...sentAt].flatMap(([seq, t]) => seen.map((m) => m.get(seq)! - t));
  const s = summarize(latencies);
  console.log(`feed: ${n} changes to 2 replicas, one at a time, in one process on loopback; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`  change → parsed by a replica: p50 ${(s.p50 * 1000).toFixed(0)} µs, p99 ${(s.p99 * 1000).toFixed(0)} µs, max ${(s.max * 1000).toFixed(0)} µs`);
  // An upper bound: it includes the setImmediate loop that waits for each change.
  console.log(`  CPU (both ends and the wait loop, this process): ${(((cpu.user + cpu.system) / n)).toFixed(0)} µs per change`);

  // The other half of a cold start through a replica: its poke, POSTed on a kept-alive connection.
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const pokeMs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await request(`${url}${STATS_PATH}`, { method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ replica: 'bench', poke: { revision: REV, inFlight: 1 } }) });
    await r.body.dump();
    pokeMs.push(performance.now() - t);
  }
  await agent.close();
  if (poked !== n) throw new Error(`${poked} pokes arrived of ${n}`);
  const p = summarize(pokeMs);
  console.log(`  poke POST round trip (answer 204 after the autoscaler was poked): p50 ${(p.p50 * 1000).toFixed(0)} µs, p99 ${(p.p99 * 1000).toFixed(0)} µs`);
  for (const c of clients) await c.close();
  endpoints.close();
  await app.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
