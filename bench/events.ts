/**
 * Dispatcher throughput: events appended to the durable SQLite log and
 * delivered by the dispatcher to a loopback HTTP subscriber, with 1 and with
 * N subscriptions (Triggers) on one stream. It measures the delivery engine
 * alone (no ingress, no gateway); the subscriber server runs in the same
 * process, so it shares the CPU with the dispatcher. bench/main.ts runs it
 * as the same-run baseline of the broker figures below;
 * `node dist/bench/events.js` runs it on its own (BENCH_EVENTS, default 5000).
 *
 * `benchBroker` (below) is the end-to-end figure: a real `zeno up`, events
 * POSTed to a Broker's ingress, delivered by 1 or 10 Triggers to a consumer
 * function through the gateway. `node dist/bench/events.js broker` runs it
 * on its own (BENCH_BROKER_N events, default 5000; BENCH_BROKER_RATE,
 * default 1000/s, for 3 s; BENCH_BROKER_TRIGGERS, default "1,10";
 * BENCH_ZENO_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=DIR", to profile
 * the platform process; BENCH_BROKER_PRODUCER, wrk or undici;
 * BENCH_ZENO_ROOT, another checkout whose `zeno up` to measure, for A/B runs
 * of two builds under the same bench).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { realClock } from '../core/clock.js';
import { createDispatcher } from '../eventing/dispatcher/dispatcher.js';
import { openSqliteEventLog } from '../eventing/log/sqlite-log.js';
import { processesWithEnv } from './proc.js';
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
  /** From the append call (the event is durable when it resolves) to the subscriber receiving the request, ms. */
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
      // Knative's shipped broker default (config-br-defaults), as Triggers get it: a
      // connection the loaded loopback server resets is retried, not dropped.
      await dispatcher.upsert({ id: `trigger:bench/t${i}`, stream: 'bench/default', subscriber: () => url, delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' }, maxInFlight, leaseMs: 30_000 });
    }
    const t0 = performance.now();
    let next = 0;
    const producer = async () => {
      while (next < events) {
        const id = `e${next++}`;
        // From the append call: a subscriber can get an event before its
        // append resolves (delivery starts at commit, the fsync runs beside it).
        appendedAt.set(id, performance.now());
        await log.append('bench/default', {
          attributes: { specversion: '1.0', id, source: '/bench', type: 'dev.zeno.bench', datacontenttype: 'application/json' },
          data: { n: id },
        });
      }
    };
    await Promise.all(Array.from({ length: appendConcurrency }, producer));
    // A bench that lost deliveries fails instead of waiting for ever.
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`dispatcher bench: ${received} of ${events * subscriptions} deliveries after 300 s`)), 300_000);
      }),
    ]).finally(() => clearTimeout(deadline));
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

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] !== 'broker') {
  const events = Number(process.env.BENCH_EVENTS ?? 5000);
  for (const subscriptions of [1, 10]) {
    const r = await benchDispatcher({ events, subscriptions });
    process.stdout.write(
      `${subscriptions} subscription(s): ${Math.round(r.eventsPerSecond)} events/s, ${Math.round(r.deliveriesPerSecond)} deliveries/s, ` +
        `latency p50 ${r.latencyMs.p50.toFixed(1)} ms p99 ${r.latencyMs.p99.toFixed(1)} ms (${r.events} events, ${r.seconds.toFixed(2)} s)\n`,
    );
  }
}

// ---- end to end: broker ingress → trigger → consumer function through the gateway ----

/** The consumer function: counts CloudEvents, when the last one came, and how long each took from the producer's `ce-sentat` (ms since epoch). */
const CONSUMER_JS = `import { createServer } from 'node:http';
let count = 0;
let last = 0;
let lat = [];
createServer((req, res) => {
  if (req.method === 'GET') {
    const body = JSON.stringify({ count, last, lat });
    if (req.url.includes('reset')) lat = [];
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(body);
  }
  req.resume();
  req.on('end', () => {
    count++;
    last = Date.now();
    const sent = Number(req.headers['ce-sentat']);
    if (sent) lat.push(Date.now() - sent);
    res.writeHead(202);
    res.end();
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** CPU time a process has used, ms (from /proc/PID/schedstat: ns on a CPU); undefined when unreadable. */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * CPU time per event during the throughput run, µs, by process: the
 * platform (`zeno up`), the consumer function and the producer (this
 * process). On a shared machine events/s swings with the neighbours' load;
 * CPU per event barely does, so it is the figure to compare changes by.
 * `ceilingPerSecond` is what the machine's cores could sustain if all three
 * had them to themselves: cores × 10⁶ µs ÷ total µs per event.
 */
export interface CpuPerEvent {
  zenoUs: number | undefined;
  consumerUs: number | undefined;
  producerUs: number;
  ceilingPerSecond: number | undefined;
}

/**
 * What sends the throughput run's events. `wrk` (the default when
 * /usr/bin/wrk is installed): the C load generator, 64 keep-alive
 * connections, one event per request (a Lua script gives each its own
 * ce-id), for a fixed time; its CPU is a small part of the machine's, so
 * the platform gets the cores. `undici`: the bench process itself, 64
 * requests in flight on an undici Pool, for a fixed number of events; it
 * costs about as much CPU per event as the platform's ingress.
 */
export type BrokerProducer = 'wrk' | 'undici';

export interface BrokerBenchResult {
  triggers: number;
  /** Events accepted and delivered to every trigger in the throughput run. */
  events: number;
  producer: BrokerProducer;
  /** Events accepted (202, durable) and delivered to every trigger's consumer, per second. */
  eventsPerSecond: number;
  /** Events answered 202 by the ingress per second, during the same run. */
  ingressPerSecond: number;
  /** Open-loop producer at `rate` events/s for `rateSeconds`: ingress to the function, ms. */
  rate: number;
  rateSeconds: number;
  latencyMs: Summary;
  cpu: CpuPerEvent;
  /** `zeno up`'s CPU per event during the fixed-rate run, µs (the producer there is the bench's undici Pool). */
  zenoUsAtRate?: number;
}

interface BrokerBenchZeno {
  gatewayUrl: string;
  pid?: number | undefined;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const WRK = '/usr/bin/wrk';
const TIME = '/usr/bin/time';

/**
 * The wrk producer: one POST per event, binary mode, each with its own
 * ce-id (prefix + a counter in the Lua script), on `connections` keep-alive
 * connections for `seconds`. CPU from /usr/bin/time when installed (else
 * from the wrk process's schedstat, read just before it ends).
 */
async function runWrk(workDir: string, url: string, seconds: number, connections: number, idPrefix: string): Promise<{ requests: number; refused: number; cpuUs: number }> {
  const script = join(workDir, 'producer.lua');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    script,
    `local n = 0
local prefix = os.getenv("ZENO_ID_PREFIX")
wrk.method = "POST"
wrk.body = '{"bench":true}'
wrk.headers["content-type"] = "application/json"
wrk.headers["ce-specversion"] = "1.0"
wrk.headers["ce-source"] = "/bench"
wrk.headers["ce-type"] = "dev.zeno.bench"
request = function()
  n = n + 1
  wrk.headers["ce-id"] = prefix .. n
  return wrk.format()
end
done = function(summary)
  io.write(string.format("ZENO requests=%d refused=%d\\n", summary.requests, summary.errors.status))
end
`,
  );
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '-s', script, url];
  const timed = existsSync(TIME);
  const { runToEnd } = await import('./proc.js');
  const r = await runToEnd(timed ? TIME : WRK, timed ? ['-f', 'ZENOCPU %U %S', WRK, ...args] : args, { env: { ...process.env, ZENO_ID_PREFIX: idPrefix } });
  const m = /ZENO requests=(\d+) refused=(\d+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`wrk failed (${r.code}): ${r.stdout} ${r.stderr}`);
  const c = /ZENOCPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { requests: Number(m[1]), refused: Number(m[2]), cpuUs: c ? (Number(c[1]) + Number(c[2])) * 1e6 : NaN };
}

/**
 * Applies a consumer Service (one pod, kept warm) and, per setting, a Broker
 * with that many Triggers subscribed to it; then measures (1) events/s for
 * `events` sent by `concurrency` producers until the function has them all,
 * (2) latency at a fixed `rate`. Everything shares this machine's cores.
 */
export async function benchBroker(
  z: BrokerBenchZeno,
  workDir: string,
  opts: { events: number; triggers: number[]; rate: number; rateSeconds: number; concurrency?: number; producer?: BrokerProducer; wrkSeconds?: number; log?: (s: string) => void },
): Promise<BrokerBenchResult[]> {
  const say = opts.log ?? (() => undefined);
  const concurrency = opts.concurrency ?? 64;
  const producer: BrokerProducer = opts.producer ?? (existsSync(WRK) ? 'wrk' : 'undici');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(workDir, 'consumer.mjs'), CONSUMER_JS);
  const apply = async (items: object[]) => {
    const r = await z.admin('POST', '/apis/zeno.dev/v1/apply', { items });
    if (r.status !== 200) throw new Error(`apply answered ${r.status}: ${JSON.stringify(r.json)}`);
  };
  await apply([{
    apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'consumer', namespace: 'default' },
    spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' } }, spec: { containers: [{ image: 'example.com/consumer', command: ['node', 'consumer.mjs'], workingDir: workDir }] } } },
  }]);
  const stats = async (reset = false): Promise<{ count: number; last: number; lat: number[] }> => {
    const r = await fetch(`${z.gatewayUrl}/function/consumer.default/stats${reset ? '?reset=1' : ''}`);
    if (r.status !== 200) throw new Error(`consumer stats answered ${r.status}`);
    return (await r.json()) as { count: number; last: number; lat: number[] };
  };
  await until(async () => (await fetch(`${z.gatewayUrl}/function/consumer.default/stats`).catch(() => undefined))?.status === 200, 60_000, 'the consumer function');

  const out: BrokerBenchResult[] = [];
  for (const n of opts.triggers) {
    const broker = `bench-${n}`;
    const triggers = Array.from({ length: n }, (_, i) => ({
      apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: `${broker}-t${i}`, namespace: 'default' },
      spec: { broker, subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'consumer' } } },
    }));
    await apply([{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: broker, namespace: 'default' }, spec: {} }, ...triggers]);
    await until(async () => {
      const list = (await z.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers')).json.items as { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
      const mine = list.filter((t) => t.metadata.name.startsWith(`${broker}-`));
      return mine.length === n && mine.every((t) => t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 30_000, `the triggers of ${broker}`);
    const path = `/brokers/default/${broker}`;
    // A keep-alive pool: fetch() costs the producer more CPU than the ingress spends on the event.
    const pool = new Pool(z.gatewayUrl, { connections: concurrency });
    const send = async (id: string): Promise<void> => {
      const r = await pool.request({
        path,
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/bench', 'ce-type': 'dev.zeno.bench', 'ce-sentat': String(Date.now()), 'content-type': 'application/json' },
        body: `{"id":"${id}"}`,
      });
      await r.body.dump();
      if (r.statusCode !== 202) throw new Error(`ingress answered ${r.statusCode}`);
    };

    // (1) Throughput: as fast as `concurrency` producers go, until the function has every delivery.
    const base = (await stats(true)).count;
    const consumerPid = [...processesWithEnv('K_REVISION', 'consumer-00001').keys()][0];
    const cpu0 = { zeno: cpuMsOf(z.pid), consumer: cpuMsOf(consumerPid), producer: process.cpuUsage() };
    let events: number;
    let seconds: number;
    let ingressS: number;
    let producerUs: number;
    if (producer === 'wrk') {
      const t0 = Date.now();
      const w = await runWrk(workDir, `${z.gatewayUrl}${path}`, opts.wrkSeconds ?? 5, concurrency, `${broker}-w${t0}-`);
      ingressS = (Date.now() - t0) / 1000;
      const accepted = w.requests - w.refused;
      if (w.refused > 0) throw new Error(`ingress refused ${w.refused} of ${w.requests} events`);
      // Requests still in flight when wrk stopped may have been accepted too: wait for
      // every counted 202, then until the count stops moving.
      await until(async () => (await stats()).count - base >= accepted * n, 300_000, `${accepted * n} deliveries`);
      let s1 = await stats();
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        const s2 = await stats();
        if (s2.count === s1.count) break;
        s1 = s2;
      }
      events = Math.floor((s1.count - base) / n);
      seconds = (s1.last - t0) / 1000;
      producerUs = w.cpuUs / events;
    } else {
      const t0 = performance.now();
      let next = 0;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < opts.events) await send(`${broker}-e${next++}`);
      }));
      ingressS = (performance.now() - t0) / 1000;
      await until(async () => (await stats()).count - base >= opts.events * n, 300_000, `${opts.events * n} deliveries`);
      seconds = (performance.now() - t0) / 1000;
      events = opts.events;
      const producerUsage = process.cpuUsage(cpu0.producer);
      producerUs = (producerUsage.user + producerUsage.system) / events;
    }
    const perEvent = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : ((b - a) * 1000) / events);
    const cpu: CpuPerEvent = {
      zenoUs: perEvent(cpu0.zeno, cpuMsOf(z.pid)),
      consumerUs: perEvent(cpu0.consumer, cpuMsOf(consumerPid)),
      producerUs,
      ceilingPerSecond: undefined,
    };
    if (cpu.zenoUs !== undefined && cpu.consumerUs !== undefined) cpu.ceilingPerSecond = (cpus().length * 1e6) / (cpu.zenoUs + cpu.consumerUs + cpu.producerUs);

    // (2) Latency at a fixed rate (open loop: sends are not held back by slow answers).
    await stats(true);
    const before = (await stats()).count;
    const rateCpu0 = cpuMsOf(z.pid);
    const total = opts.rate * opts.rateSeconds;
    const tickMs = 10;
    const perTick = opts.rate / (1000 / tickMs);
    const sends: Promise<void>[] = [];
    let sent = 0;
    let owed = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        owed += perTick;
        while (owed >= 1 && sent < total) {
          owed -= 1;
          sends.push(send(`${broker}-r${sent++}`));
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      }, tickMs);
    });
    await Promise.all(sends);
    await until(async () => (await stats()).count - before >= total * n, 120_000, 'the fixed-rate deliveries');
    const rateCpu1 = cpuMsOf(z.pid);
    const lat = (await stats(true)).lat;
    const r: BrokerBenchResult = { triggers: n, events, producer, eventsPerSecond: events / seconds, ingressPerSecond: events / ingressS, rate: opts.rate, rateSeconds: opts.rateSeconds, latencyMs: summarize(lat), cpu };
    // At a fixed rate every build batches alike, so this compares builds even when neighbours load the machine.
    if (rateCpu0 !== undefined && rateCpu1 !== undefined) r.zenoUsAtRate = ((rateCpu1 - rateCpu0) * 1000) / total;
    await pool.close();
    const us = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(0));
    say(
      `broker → ${n} trigger(s) → function (${producer}, ${events} events): ${Math.round(r.eventsPerSecond)} events/s end to end (${Math.round(r.eventsPerSecond * n)} deliveries/s; ingress ${Math.round(r.ingressPerSecond)}/s); ` +
        `at ${opts.rate}/s p50 ${r.latencyMs.p50.toFixed(1)} ms, p99 ${r.latencyMs.p99.toFixed(1)} ms, zeno ${us(r.zenoUsAtRate)} µs/event; ` +
        `CPU per event: zeno ${us(cpu.zenoUs)} µs, consumer ${us(cpu.consumerUs)} µs, producer ${us(cpu.producerUs)} µs (ceiling ${us(cpu.ceilingPerSecond)}/s on ${cpus().length} cores)`,
    );
    out.push(r);
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'broker') {
  const { startZeno } = await import('./platform.js');
  const { stopAllChildren } = await import('./proc.js');
  const { writeFileSync } = await import('node:fs');
  const root = join(fileURLToPath(import.meta.url), '../../..');
  const dir = mkdtempSync(join(tmpdir(), 'zeno-bench-broker-'));
  const cfg = join(dir, 'config.yaml');
  writeFileSync(cfg, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: config-autoscaler}\ndata: {}\n');
  try {
    // BENCH_ZENO_ROOT: another checkout's built tree, to run an old build under this bench (A/B).
    const z = await startZeno({ root: process.env.BENCH_ZENO_ROOT ?? root, dataDir: join(dir, 'data'), configFile: cfg });
    const results = await benchBroker(z, dir, {
      events: Number(process.env.BENCH_BROKER_N ?? 5000),
      triggers: (process.env.BENCH_BROKER_TRIGGERS ?? '1,10').split(',').map(Number),
      rate: Number(process.env.BENCH_BROKER_RATE ?? 1000),
      rateSeconds: 3,
      ...(process.env.BENCH_BROKER_PRODUCER ? { producer: process.env.BENCH_BROKER_PRODUCER as BrokerProducer } : {}),
      log: (l) => process.stdout.write(`${l}\n`),
    });
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    await z.stop();
  } finally {
    await stopAllChildren();
    rmSync(dir, { recursive: true, force: true });
  }
}
