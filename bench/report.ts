/** Statistics, the machine, and the table printed to stdout and written to docs/benchmarks.md. */
import { cpus, release } from 'node:os';
import type { EventLogBenchResult } from './eventlog.js';
import type { BackendsBenchResult } from './backends.js';
import type { BrokerBenchResult, DispatcherBenchResult } from './events.js';
import type { LoadResult, LoadTool } from './load.js';

/**
 * Nearest-rank percentile of ascending values: the smallest value with at
 * least p% of the values at or below it. E.g. 30 samples: p50 is the 15th,
 * p99 is the 30th (ceil(29.7)), i.e. the slowest one.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), min: s[0] ?? NaN, max: s.at(-1) ?? NaN };
}

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  kernel: string;
  date: string;
}

export function machine(now: Date): Machine {
  const list = cpus();
  return { cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length, node: process.version, kernel: release(), date: now.toISOString() };
}

export interface BenchResults {
  machine: Machine;
  settings: { coldN: number; fnColdN?: number; applyN: number; durationS: number; warmupS: number; connections: number; warmRounds?: number; loadTool: LoadTool };
  coldStart: { bare: Summary; zeno: Summary; bareMs: number[]; zenoMs: number[] };
  /** Issue 3: a burst at zero scale, and a step in load to N pods (no same-run baseline). */
  scaling?: { burst: { n: number; ok: number; latency: Summary }; step: { concurrency: number; wantPods: number; toPodsMs: number } };
  /** Function (Node runtime) cold starts through the gateway, with and without the warm pool. */
  functionColdStart?: {
    pool: Summary;
    noPool: Summary;
    poolMs: number[];
    noPoolMs: number[];
    /** Bare spawns taken in turns with each series (absent in older results: the cold start's bare is used). */
    poolBare?: Summary;
    noPoolBare?: Summary;
    poolBareMs?: number[];
    noPoolBareMs?: number[];
  };
  apply: { samples: Summary; ms: number[] };
  /**
   * The round with the median gateway ÷ nginx (else ÷ direct) throughput;
   * `rounds` has every round, each with a one-connection run of each target.
   */
  warm: {
    gateway: LoadResult;
    direct: LoadResult;
    nginx: LoadResult | undefined;
    rounds?: { gateway: LoadResult; direct: LoadResult; nginx: LoadResult | undefined; light: { gateway: LoadResult; direct: LoadResult; nginx: LoadResult | undefined } }[];
  };
  /** The durable event log alone: append → fetch → ack, SQLite and NATS JetStream (absent when NATS did not answer). */
  eventLog?: { sqlite: EventLogBenchResult; jetstream?: EventLogBenchResult | undefined };
  /** Broker ingress → Trigger(s) → a consumer function through the gateway, durable (bench/events.ts benchBroker). */
  broker?: BrokerBenchResult[];
  /** The delivery engine alone: the SQLite log → dispatcher → a loopback subscriber in the bench process (bench/events.ts benchDispatcher). */
  dispatcher?: DispatcherBenchResult[];
  /** SQLite and JetStream end to end, side by side (bench/backends.ts): events/s and async calls/s. */
  backends?: BackendsBenchResult;
}

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const rps = (v: number) => `${Math.round(v).toLocaleString('en-US')} req/s`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const eps = (v: number) => `${Math.round(v).toLocaleString('en-US')} events/s`;

/** Rows of figure | Zeno | baseline | Zeno ÷ baseline. */
export function tableRows(r: BenchResults): string[][] {
  const { coldStart: c, warm: w } = r;
  const f = r.functionColdStart;
  const rows: string[][] = [
    ['cold start p50 (zero pods → first response via gateway)', ms(c.zeno.p50), `${ms(c.bare.p50)} bare \`node server.js\` spawn → first response`, ratio(c.zeno.p50, c.bare.p50)],
    ['cold start p99', ms(c.zeno.p99), `${ms(c.bare.p99)} bare spawn`, ratio(c.zeno.p99, c.bare.p99)],
  ];
  if (f) {
    const pb = f.poolBare ?? c.bare;
    const nb = f.noPoolBare ?? c.bare;
    const turns = f.poolBare ? ' spawn, in turns' : ' spawn';
    rows.push(['Function cold start p50, warm pool', ms(f.pool.p50), `${ms(pb.p50)} bare${turns}`, ratio(f.pool.p50, pb.p50)]);
    rows.push(['Function cold start p99, warm pool', ms(f.pool.p99), `${ms(pb.p99)} bare${turns}`, ratio(f.pool.p99, pb.p99)]);
    rows.push(['Function cold start p50, no pool', ms(f.noPool.p50), `${ms(nb.p50)} bare${turns}`, ratio(f.noPool.p50, nb.p50)]);
    rows.push(['Function cold start p99, no pool', ms(f.noPool.p99), `${ms(nb.p99)} bare${turns}`, ratio(f.noPool.p99, nb.p99)]);
  }
  rows.push(['warm throughput (gateway + activator path)', rps(w.gateway.rps), `${rps(w.direct.rps)} direct to the function`, ratio(w.gateway.rps, w.direct.rps)]);
  if (w.nginx) rows.push(['warm throughput', rps(w.gateway.rps), `${rps(w.nginx.rps)} nginx → function`, ratio(w.gateway.rps, w.nginx.rps)]);
  rows.push(['warm latency p50', ms(w.gateway.p50Ms), `${ms(w.direct.p50Ms)} direct`, ratio(w.gateway.p50Ms, w.direct.p50Ms)]);
  if (w.nginx) rows.push(['warm latency p50', ms(w.gateway.p50Ms), `${ms(w.nginx.p50Ms)} nginx`, ratio(w.gateway.p50Ms, w.nginx.p50Ms)]);
  rows.push(['warm latency p99', ms(w.gateway.p99Ms), `${ms(w.direct.p99Ms)} direct`, ratio(w.gateway.p99Ms, w.direct.p99Ms)]);
  if (w.nginx) rows.push(['warm latency p99', ms(w.gateway.p99Ms), `${ms(w.nginx.p99Ms)} nginx`, ratio(w.gateway.p99Ms, w.nginx.p99Ms)]);
  rows.push(...warmRoundRows(w));
  const conns = r.settings?.connections;
  rows.push([conns ? `added latency p50 at ${conns} connections, closed loop (gateway − direct)` : 'added latency p50 (gateway − direct)', `+${ms(w.gateway.p50Ms - w.direct.p50Ms)}`, w.nginx ? `+${ms(w.nginx.p50Ms - w.direct.p50Ms)} nginx − direct` : '—', '—']);
  if (r.scaling) {
    const b = r.scaling.burst;
    rows.push([`burst of ${b.n} concurrent at zero scale: success`, `${b.ok}/${b.n}`, 'none (no baseline)', '—']);
    rows.push([`burst of ${b.n} at zero: latency p50 / p99`, `${ms(b.latency.p50)} / ${ms(b.latency.p99)}`, 'none (no baseline)', '—']);
    const st = r.scaling.step;
    rows.push([`step 0 → ${st.concurrency} concurrent at CC 1 (10 × target): time to ${st.wantPods} ready pods`, ms(st.toPodsMs), 'none (no baseline)', '—']);
  }
  if (r.eventLog) {
    const { sqlite, jetstream } = r.eventLog;
    rows.push([`event log append → fetch → ack, SQLite (n=${sqlite.events})`, eps(sqlite.eventsPerSecond), 'none (no baseline)', '—']);
    rows.push([
      `event log append → fetch → ack, JetStream (n=${jetstream?.events ?? sqlite.events})`,
      jetstream ? eps(jetstream.eventsPerSecond) : 'NATS did not answer',
      `${eps(sqlite.eventsPerSecond)} SQLite`,
      jetstream ? ratio(jetstream.eventsPerSecond, sqlite.eventsPerSecond) : '—',
    ]);
  }
  rows.push(...eventingRows(r.broker ?? [], r.dispatcher ?? []));
  if (r.backends) rows.push(...backendRows(r.backends));
  rows.push([`\`zeno apply\` until Ready (CLI) p50, n=${r.apply.samples.n}`, ms(r.apply.samples.p50), 'none (no baseline)', '—']);
  rows.push([`\`zeno apply\` until Ready (CLI) max`, ms(r.apply.samples.max), 'none (no baseline)', '—']);
  return rows;
}

const us = (v: number | undefined) => (v === undefined ? '?' : `${Math.round(v)} µs`);

/**
 * Broker rows: events/s end to end beside the delivery engine alone with as
 * many subscriptions (same run: what ingress, the gateway and a separate
 * consumer process cost on top), latency at a fixed rate, and CPU per event
 * by process (the figure that stays put when neighbours load the machine).
 */
export function eventingRows(broker: readonly BrokerBenchResult[], dispatcher: readonly DispatcherBenchResult[]): string[][] {
  const rows: string[][] = [];
  for (const b of broker) {
    const d = dispatcher.find((x) => x.subscriptions === b.triggers);
    const deliveries = b.triggers > 1 ? ` (${Math.round(b.eventsPerSecond * b.triggers).toLocaleString('en-US')} deliveries/s)` : '';
    rows.push([
      `broker → ${b.triggers} trigger(s) → function, events/s end to end (durable, n=${b.events}, ${b.producer} producer)`,
      `${eps(b.eventsPerSecond)}${deliveries}`,
      d ? `${eps(d.eventsPerSecond)} dispatcher alone (log → ${d.subscriptions} subscription(s) → loopback subscriber)` : 'none (no baseline; Knative publishes ~800–1,500/s per in-memory channel pod)',
      d ? ratio(b.eventsPerSecond, d.eventsPerSecond) : '—',
    ]);
    rows.push([
      `broker → ${b.triggers} trigger(s) → function at ${b.rate}/s: latency p50 / p99`,
      `${ms(b.latencyMs.p50)} / ${ms(b.latencyMs.p99)}`,
      d ? `${ms(d.latencyMs.p50)} / ${ms(d.latencyMs.p99)} dispatcher alone (as fast as it goes)` : 'none (no baseline)',
      '—',
    ]);
    const c = b.cpu;
    if (c) {
      const total = c.zenoUs === undefined || c.consumerUs === undefined ? undefined : c.zenoUs + c.consumerUs + c.producerUs;
      rows.push([
        `broker → ${b.triggers} trigger(s): CPU per event (zeno up + consumer + producer)`,
        `${us(c.zenoUs)} + ${us(c.consumerUs)} + ${us(c.producerUs)} = ${us(total)}`,
        c.ceilingPerSecond === undefined ? '—' : `all cores would carry ${eps(c.ceilingPerSecond)}`,
        '—',
      ]);
    }
  }
  return rows;
}

/** Median of the runs, with their range. */
function medianRange(xs: readonly number[]): { median: number; text: string } {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  const n = (v: number) => Math.round(v).toLocaleString('en-US');
  return { median, text: s.length > 1 ? `${n(median)}/s (${n(s[0]!)}–${n(s[s.length - 1]!)})` : `${n(median)}/s` };
}

const range = (vs: number[], f: (v: number) => string) => {
  const s = [...vs].sort((a, b) => a - b);
  return s.length > 1 ? `${f(s[Math.floor((s.length - 1) / 2)]!)} (${f(s[0]!)} to ${f(s[s.length - 1]!)})` : f(s[0]!);
};

/**
 * Across the warm rounds: the gateway ÷ nginx throughput of each round, and
 * what each proxy adds at one connection (p50 − direct's p50 in the same
 * round), as median (range). Under the closed loop of many connections the
 * p50 is connections ÷ throughput (Little's law), so the added latency is
 * taken where nothing queues.
 */
export function warmRoundRows(w: BenchResults['warm']): string[][] {
  const rounds = w.rounds ?? [];
  if (!rounds.length) return [];
  const n = rounds.length;
  const rows: string[][] = [];
  const x = (v: number) => `${v.toFixed(2)}×`;
  const add = (v: number) => `+${v.toFixed(2)} ms`;
  const withNginx = rounds.filter((r) => r.nginx);
  if (withNginx.length) {
    rows.push([
      `warm throughput ÷ nginx's, per round (${withNginx.length} rounds: median (range))`,
      range(withNginx.map((r) => r.gateway.rps / r.nginx!.rps), x),
      `nginx 1 worker, same run: ${range(withNginx.map((r) => r.nginx!.rps), (v) => rps(v))}`,
      '—',
    ]);
  }
  rows.push([
    `added latency p50 at 1 connection (gateway − direct, ${n} rounds: median (range))`,
    range(rounds.map((r) => r.light.gateway.p50Ms - r.light.direct.p50Ms), add),
    withNginx.length ? `${range(withNginx.map((r) => r.light.nginx!.p50Ms - r.light.direct.p50Ms), add)} nginx − direct` : '—',
    '—',
  ]);
  const us = (v: number) => `${v.toFixed(1)} µs`;
  const cpuRounds = withNginx.filter((r) => r.gateway.cpuUsPerRequest?.proxy !== undefined && r.nginx!.cpuUsPerRequest?.proxy !== undefined);
  if (cpuRounds.length) {
    rows.push([
      `CPU per request under load: the \`zeno up\` process vs the nginx worker (${cpuRounds.length} rounds: median (range))`,
      range(cpuRounds.map((r) => r.gateway.cpuUsPerRequest!.proxy!), us),
      `${range(cpuRounds.map((r) => r.nginx!.cpuUsPerRequest!.proxy!), us)} nginx`,
      range(cpuRounds.map((r) => r.gateway.cpuUsPerRequest!.proxy! / r.nginx!.cpuUsPerRequest!.proxy!), x),
    ]);
    rows.push([
      'CPU per request of the function process: behind the gateway / nginx / direct',
      range(cpuRounds.map((r) => r.gateway.cpuUsPerRequest!.fn), us),
      `${range(cpuRounds.map((r) => r.nginx!.cpuUsPerRequest!.fn), us)} behind nginx, ${range(cpuRounds.map((r) => r.direct.cpuUsPerRequest?.fn ?? NaN), us)} direct`,
      '—',
    ]);
  }
  rows.push([
    'latency p50 at 1 connection: gateway / direct',
    range(rounds.map((r) => r.light.gateway.p50Ms), ms),
    `${range(rounds.map((r) => r.light.direct.p50Ms), ms)} direct${withNginx.length ? `, ${range(withNginx.map((r) => r.light.nginx!.p50Ms), ms)} nginx` : ''}`,
    '—',
  ]);
  return rows;
}

/**
 * SQLite vs JetStream rows: median of the runs (range), and JetStream ÷
 * SQLite of the medians with the range of the per-run ratios (the two run
 * back to back in each round, so a round's ratio sees the same neighbours).
 */
export function backendRows(b: BackendsBenchResult): string[][] {
  const rows: string[][] = [];
  const what = [
    ['events/s end to end (broker → 1 trigger → function)', b.events, 'eventsPerSecond'],
    ['async calls/s end to end (202 → function → callback)', b.calls, 'callsPerSecond'],
  ] as const;
  for (const [label, n, key] of what) {
    const sq = medianRange(b.sqlite[key]);
    rows.push([`${label}, SQLite (n=${n}, ${b.runs} runs: median (range))`, sq.text, 'none (the baseline of the row below)', '—']);
    const jsRuns = b.jetstream?.[key];
    const js = jsRuns ? medianRange(jsRuns) : undefined;
    let r = '—';
    if (js && jsRuns) {
      const per = jsRuns.map((v, i) => v / b.sqlite[key][i]!).sort((x, y) => x - y);
      r = ratio(js.median, sq.median) + (per.length > 1 ? ` (${per[0]!.toFixed(2)}–${per[per.length - 1]!.toFixed(2)} per run)` : '');
    }
    rows.push([`${label}, JetStream`, js ? js.text : 'NATS did not answer', `${sq.text} SQLite`, r]);
  }
  return rows;
}

export function markdownTable(r: BenchResults): string {
  const head = ['figure', 'Zeno', 'baseline (same run)', 'Zeno ÷ baseline'];
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...tableRows(r).map(line)].join('\n');
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, Node ${m.node}, Linux ${m.kernel}, ${m.date}`;
}

function loadLine(name: string, l: LoadResult): string {
  return `  - ${name}: ${l.requests.toLocaleString('en-US')} requests, ${l.errors} socket errors, ${l.non2xx} non-2xx/3xx`;
}

/** docs/benchmarks.md: the table, the machine, and how each figure was taken. */
export function markdownDoc(r: BenchResults): string {
  const s = r.settings;
  const w = r.warm;
  const gen = s.loadTool === 'wrk' ? `\`wrk -t1 -c${s.connections} -d${s.durationS}s --latency\`` : `the Node generator (bench/load-worker.ts, undici Pool, ${s.connections} connections, ${s.durationS} s)`;
  return `# Benchmarks

Written by \`npm run bench\` (bench/main.ts); raw numbers in bench/results/latest.json.
Every baseline is measured in the same run as the figure beside it.

**Machine:** ${machineLine(r.machine)}

${markdownTable(r)}

## How each figure is taken

- **Cold start** (n=${s.coldN} each, alternating, after one untimed round of each): \`zeno up\` runs with
  a config-autoscaler that sets \`allow-zero-initial-scale: "true"\`. Each iteration applies a fresh
  Service (admin API) with \`autoscaling.knative.dev/initial-scale: "0"\`, checks that its revision has
  \`status.actualReplicas\` 0 and no process carries its \`K_REVISION\`, then times one GET through the
  gateway (Host routing) from sending it to the end of the response; then deletes the Service and waits
  until its process has exited. The baseline spawns \`node server.js\` in functions/examples/hello with
  the environment Zeno gives pods (its allow-list plus PORT) and retries a refused TCP connect at once
  (setImmediate, no sleep), then times until the full response to a GET on the first connection. Its
  port lies below the ephemeral range: hundreds of connects to a closed ephemeral port soon connect
  to themselves.
  Percentiles are nearest-rank: with ${s.coldN} samples p99 is the slowest one.
  Zeno: min ${ms(r.coldStart.zeno.min)}, max ${ms(r.coldStart.zeno.max)}; bare: min ${ms(r.coldStart.bare.min)}, max ${ms(r.coldStart.bare.max)}.
- **Function cold start** (n=${s.fnColdN ?? s.coldN} each; nearest-rank p99 is the sample of rank ${Math.ceil(0.99 * (s.fnColdN ?? s.coldN))}, fastest first): the same as above for a \`zeno.dev/v1\` Function whose
  handler (\`export default () => new Response(...)\`) runs on the Node function runtime; once on the
  platform above (warm pool of 2) and once on a second \`zeno up --warm-pool 0\`. 600 ms pass between
  samples so the pool refills. The baseline is the bare spawn of the hello example above, taken in
  turns with each series (one bare spawn after each Function cold start).
- **Scaling** (no same-run baseline): a burst of ${r.scaling?.burst.n ?? '—'} concurrent GETs (no keep-alive) to a fresh
  hello Service with initial-scale 0; and a step from 0 to 7 loops of back-to-back \`?sleep=100\`
  requests to the slow example at containerConcurrency 1 (target 0.7 per pod), timed until the
  revision reports 10 ready pods (polled every 20 ms).
- **Warm path**: one Service with min-scale 1 and max-scale 1 (so every target hits the one same
  process); its port is read from the environment (PORT) of the process whose \`K_REVISION\` is the
  revision. Load: ${gen}, the same Host header for every target, ${s.warmupS} s warm-up (discarded)
  before each measured run. Targets: the gateway; the function's port directly;${w.nginx ? ' nginx 1 worker as a keep-alive reverse proxy to that port (one worker: the gateway is one Node process, so both proxies get at most one core).' : ' (nginx was not on PATH: no nginx baseline).'}
  The targets take turns in ${w.rounds?.length ?? 1} round(s) (direct, nginx, gateway, then the same at one
  connection for half the time, 1 s warm-up); the throughput and latency rows above are the round
  with the median gateway ÷ baseline throughput, the per-round rows give median and range over the
  rounds. With ${s.connections} connections in a closed loop, p50 is about ${s.connections} ÷ throughput
  (Little's law): the added latency at p50 is what the one-connection runs show. CPU per
  request is the CPU time (user + system, /proc/PID/stat) that the \`zeno up\` process (the
  gateway, with the rest of the platform idle), nginx's worker and the function process used
  during a measured run, divided by its requests: steadier than req/s when other work shares
  the machine, though not immune (fewer requests per wake-up cost more each).
  On 2 cores the load generator, the proxy and the function share the CPU; the direct run has one
  process fewer, which is part of what any proxy costs here. Requests per target (median round):
${loadLine('gateway', w.gateway)}
${loadLine('direct', w.direct)}
${w.nginx ? `${loadLine('nginx', w.nginx)}\n` : ''}  What bounds the gateway here: it is one Node process. A \`perf\` profile of \`zeno up\` under this
  load (2026-12-07) puts about 40% of its CPU in the kernel (one read and one write each way per
  request, and waking up), about 20% in Node's HTTP server and streams, about 14% in V8 and
  libuv, and about 15% in Zeno's own code (routing, activator, stats, metrics, the warm-path
  client \`gateway/upstream.ts\`, which replaced undici for bodiless GET and HEAD to ready pods:
  undici's layers had been ~18% of the process alone). More gateway processes (node:cluster)
  would not add CPU on two cores, and would split the per-revision activator state
  (containerConcurrency, the queue, the autoscaler's stats) across processes, so the gateway
  stays one process and nginx gets one worker.
${r.eventLog ? `- **Event log** (bench/eventlog.ts, n=${r.eventLog.sqlite.events} events of ~300 bytes): 64 appends in flight
  while one consumer (maxInFlight 100) fetches up to 100 events and acks each, from the first append
  to the last ack; SQLite in a temp dir (WAL, group commit, an append resolves after the WAL's fsync), JetStream on the local
  nats-server (file storage) on a throwaway stream. It is the log alone: no ingress, no dispatcher.
` : ''}${r.broker?.length ? `- **Broker end to end** (bench/events.ts benchBroker, n per setting in the table): on the \`zeno up\` above,
  a consumer Service (Node \`http\` server, min/max-scale 1) and per setting a Broker with ${r.broker.map((b) => b.triggers).join(' or ')}
  Trigger(s) whose subscriber is a \`ref\` to that Service (delivered through the gateway, in process). Throughput: the
  producer POSTs binary-mode CloudEvents to the ingress, one event per request, 64 in flight on keep-alive
  connections — wrk (a Lua script gives each request its own ce-id) for 5 s, or the bench process's undici
  Pool for n events when wrk is missing — and the figure is events ÷ the time from the first send until
  the function has counted every delivery (its last arrival). Latency: an open-loop
  producer at ${r.broker[0]!.rate}/s for ${r.broker[0]!.rateSeconds} s; each event carries its send time, the function records
  receive − send (ms, Date.now()). CPU per event: /proc/PID/schedstat of \`zeno up\` and of the consumer,
  /usr/bin/time of wrk (or process.cpuUsage() of the bench), over the throughput run, ÷ events; "all cores would carry" is cores ×
  10⁶ µs ÷ their sum. Everything shares ${r.machine.cores} cores with whatever else runs on the machine.
  The baseline, the dispatcher alone (benchDispatcher, same n): events appended to a SQLite log in the
  bench process (64 appends in flight) and delivered by the same dispatcher to a loopback \`http\` server in
  the same process, 1 or 10 subscriptions (maxInFlight 100 each); latency from the append call to
  the subscriber receiving. No ingress, no gateway, no second process.
` : ''}${r.backends ? `- **SQLite vs JetStream end to end** (bench/backends.ts, ${r.backends.runs} runs each, alternating): two
  \`zeno up --warm-pool 0\` up at once, one on the data dir's SQLite log, one with \`--nats\` on the local
  nats-server, each with a consumer function (min/max-scale 1, async in-flight limit 100), a Broker and
  one Trigger to the function. Events: ${r.backends.events} CloudEvents POSTed to the ingress, 64 in flight on
  keep-alive connections, timed until the function counted all of them. Async calls: ${r.backends.calls}
  \`POST /async-function/consumer/call\` with an X-Callback-Url, 64 in flight, timed until every callback
  reached a receiver in the bench process. One untimed round on each first.
` : ''}- **\`zeno apply\` until Ready** (n=${s.applyN}): the built CLI, \`zeno apply -f FILE\` (waits for Ready by
  default) of one min-scale 1 Service, timed from spawning the CLI to its exit; each Service is deleted
  before the next. It has no baseline. The CLI polls the Service every 25 ms for the first second,
  then every 250 ms; the figure includes starting the CLI's own Node process.
`;
}

/**
 * The generated doc plus every `## ` section of the previous one that the
 * generator does not write (figures recorded by hand from other runs, such
 * as "Load and scale" from test/load.test.ts), in their old order, so a
 * bench run does not delete them.
 */
export function keepRecordedSections(previous: string | undefined, generated: string): string {
  if (!previous) return generated;
  const headings = new Set(generated.split('\n').filter((l) => l.startsWith('## ')));
  const sections: string[][] = [];
  let current: string[] | undefined;
  for (const line of previous.split('\n')) {
    if (line.startsWith('## ')) {
      current = headings.has(line) ? undefined : [line];
      if (current) sections.push(current);
    } else if (current) current.push(line);
  }
  if (sections.length === 0) return generated;
  const recorded = sections.map((lines) => lines.join('\n').replace(/\n+$/, '')).join('\n\n');
  return `${generated.replace(/\n+$/, '')}\n\n${recorded}\n`;
}
