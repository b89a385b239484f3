/**
 * Dispatcher throughput: events appended to the durable SQLite log and
 * delivered by the dispatcher to a loopback HTTP subscriber, with 1 and with
 * N subscriptions (Triggers) on one stream. It measures the delivery engine
 * alone (no ingress, no gateway); the subscriber server runs in the same
 * process, so it shares the CPU with the dispatcher.
 *
 * `benchDispatcher` is for bench/main.ts; `node dist/bench/events.js`
 * runs it on its own (BENCH_EVENTS, default 5000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { realClock } from '../core/clock.js';
import { createDispatcher } from '../eventing/dispatcher/dispatcher.js';
import { openSqliteEventLog } from '../eventing/log/sqlite-log.js';
import { summarize, type Summary } from './report.js';

export interface DispatcherBenchResult {
  subscriptions: number;
  events: number;
  /** events × subscriptions HTTP deliveries, all answered 202. */
  deliveries: number;
  seconds: number;
  /** Events appended and delivered to every subscription, per second. */
  eventsPerSecond: number;
  deliveriesPerSecond: number;
  /** From the append resolving (durable) to the subscriber receiving the request, ms. */
  latencyMs: Summary;
}

export async function benchDispatcher(opts: { events: number; subscriptions: number; maxInFlight?: number; appendConcurrency?: number }): Promise<DispatcherBenchResult> {
  const { events, subscriptions } = opts;
  const maxInFlight = opts.maxInFlight ?? 100;
  const appendConcurrency = opts.appendConcurrency ?? 64;
  const dir = mkdtempSync(join(tmpdir(), 'zeno-bench-events-'));
  const log = openSqliteEventLog(join(dir, 'events.db'));
  const appendedAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));
  const server = createServer((req, res) => {
    const id = req.headers['ce-id'] as string;
    const t = appendedAt.get(id);
    if (t !== undefined) latencies.push(performance.now() - t);
    req.resume();
    req.on('end', () => {
      res.writeHead(202).end();
      if (++received === events * subscriptions) allDone();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const dispatcher = createDispatcher({ log, clock: realClock });
  try {
    for (let i = 0; i < subscriptions; i++) {
      await dispatcher.upsert({ id: `trigger:bench/t${i}`, stream: 'bench/default', subscriber: () => url, delivery: {}, maxInFlight, leaseMs: 30_000 });
    }
    const t0 = performance.now();
    let next = 0;
    const producer = async () => {
      while (next < events) {
        const id = `e${next++}`;
        await log.append('bench/default', {
          attributes: { specversion: '1.0', id, source: '/bench', type: 'dev.zeno.bench', datacontenttype: 'application/json' },
          data: { n: id },
        });
        appendedAt.set(id, performance.now());
      }
    };
    await Promise.all(Array.from({ length: appendConcurrency }, producer));
    await done;
    const seconds = (performance.now() - t0) / 1000;
    return {
      subscriptions,
      events,
      deliveries: events * subscriptions,
      seconds,
      eventsPerSecond: events / seconds,
      deliveriesPerSecond: (events * subscriptions) / seconds,
      latencyMs: summarize(latencies),
    };
  } finally {
    await dispatcher.close();
    await log.close();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const events = Number(process.env.BENCH_EVENTS ?? 5000);
  for (const subscriptions of [1, 10]) {
    const r = await benchDispatcher({ events, subscriptions });
    process.stdout.write(
      `${subscriptions} subscription(s): ${Math.round(r.eventsPerSecond)} events/s, ${Math.round(r.deliveriesPerSecond)} deliveries/s, ` +
        `latency p50 ${r.latencyMs.p50.toFixed(1)} ms p99 ${r.latencyMs.p99.toFixed(1)} ms (${r.events} events, ${r.seconds.toFixed(2)} s)\n`,
    );
  }
}
