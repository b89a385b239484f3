/**
 * Event log throughput: N events appended (several appends in flight, as
 * concurrent ingress requests would have them) while one consumer fetches
 * batches and acks every event, timed from the first append to the last
 * ack. The same run on SQLite and on NATS JetStream gives the two side by
 * side (bench/main.ts).
 *
 * `node dist/bench/eventlog.js [N]` runs both on their own (ZENO_NATS_URL,
 * default nats://127.0.0.1:4222).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { EventLog } from '../eventing/log/event-log.js';
import { connectJetStream, jetStreamNames, openJetStreamEventLog } from '../eventing/log/jetstream-log.js';
import { openSqliteEventLog } from '../eventing/log/sqlite-log.js';

export interface EventLogBenchResult {
  events: number;
  seconds: number;
  /** Events appended, fetched and acked per second. */
  eventsPerSecond: number;
}

export interface EventLogBenchOptions {
  /** Appends in flight at once (default 64). */
  appendConcurrency?: number;
  /** Most events one fetch asks for, and the consumer's maxInFlight (default 100). */
  batch?: number;
  /** Bytes of JSON data per event (default 256). */
  payloadBytes?: number;
}

/**
 * Measures `log` with `events` events on a fresh broker and consumer; the
 * consumer is removed afterwards. The log is left open.
 */
export async function benchEventLog(log: EventLog, events: number, opts: EventLogBenchOptions = {}): Promise<EventLogBenchResult> {
  const concurrency = opts.appendConcurrency ?? 64;
  const batch = opts.batch ?? 100;
  const payload = 'x'.repeat(opts.payloadBytes ?? 256);
  const tag = randomBytes(4).toString('hex');
  const broker = `bench/${tag}`;
  const consumer = `bench/${tag}/trigger`;
  await log.addConsumer(broker, consumer, { maxInFlight: batch, leaseMs: 60_000 });

  let wake: (() => void) | undefined;
  const stop = log.onAppend(broker, () => wake?.());
  const t0 = performance.now();

  let next = 0;
  const appender = async (): Promise<void> => {
    while (next < events) {
      const i = next++;
      await log.append(broker, { attributes: { specversion: '1.0', id: `${tag}-${i}`, source: '/bench', type: 'dev.zeno.bench' }, data: { i, payload } });
    }
  };
  const appending = Promise.all(Array.from({ length: Math.min(concurrency, events) }, appender));

  let acked = 0;
  const consuming = (async () => {
    while (acked < events) {
      const got = await log.fetch(consumer, batch);
      if (got.length === 0) {
        // Nothing ready: wait for the next append (or 10 ms, should a notice be missed).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 10);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        continue;
      }
      await Promise.all(got.map((e) => log.ack(consumer, e.seq)));
      acked += got.length;
    }
  })();

  await Promise.all([appending, consuming]);
  const seconds = (performance.now() - t0) / 1000;
  stop();
  await log.removeConsumer(consumer);
  return { events, seconds, eventsPerSecond: events / seconds };
}

/** SQLite in a temp dir, and JetStream at `natsUrl` on a throwaway stream (undefined when NATS does not answer). */
export async function benchEventLogs(
  events: number,
  natsUrl: string,
  say: (line: string) => void = () => undefined,
): Promise<{ sqlite: EventLogBenchResult; jetstream: EventLogBenchResult | undefined }> {
  const dir = mkdtempSync(join(tmpdir(), 'zeno-bench-eventlog-'));
  let sqlite: EventLogBenchResult;
  const lite = openSqliteEventLog(join(dir, 'events.db'));
  try {
    sqlite = await benchEventLog(lite, events);
  } finally {
    await lite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  say(`event log, SQLite: ${Math.round(sqlite.eventsPerSecond)} events/s (${events} events)`);

  const prefix = `bench${randomBytes(4).toString('hex')}`;
  let js: EventLog;
  try {
    js = await openJetStreamEventLog({ url: natsUrl, prefix });
  } catch (err) {
    say(`event log, JetStream: skipped, ${(err as Error).message}`);
    return { sqlite, jetstream: undefined };
  }
  let jetstream: EventLogBenchResult;
  try {
    jetstream = await benchEventLog(js, events);
  } finally {
    await js.close();
    const { nc, jsm } = await connectJetStream(natsUrl);
    await jsm.streams.delete(jetStreamNames(prefix).stream).catch(() => undefined);
    await nc.close();
  }
  say(`event log, JetStream: ${Math.round(jetstream.eventsPerSecond)} events/s (${events} events)`);
  return { sqlite, jetstream };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = Number(process.argv[2] ?? 5000);
  benchEventLogs(n, process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222', (l) => process.stdout.write(`${l}\n`)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
