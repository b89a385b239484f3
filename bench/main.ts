/**
 * `npm run bench`: cold start, warm path and `zeno apply` against a real
 * `zeno up`, each beside a baseline from the same run. Prints the table,
 * writes docs/benchmarks.md and bench/results/latest.json.
 *
 * Environment: BENCH_COLD_N (30), BENCH_FUNCTION_COLD_N (100), BENCH_APPLY_N (5), BENCH_DURATION (10, s),
 * BENCH_WARMUP (2, s), BENCH_CONNECTIONS (32), BENCH_WARM_ROUNDS (3), BENCH_LOADGEN=node (skip wrk),
 * BENCH_EVENTLOG_N (5000), BENCH_BROKER_N (5000), BENCH_BROKER_RATE (1000, events/s), ZENO_NATS_URL (nats://127.0.0.1:4222) for the JetStream log,
 * BENCH_BACKEND_EVENTS (2000), BENCH_BACKEND_CALLS (1000), BENCH_BACKEND_RUNS (3) for SQLite vs JetStream end to end.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { FUNCTION_HANDLER, runColdStarts, runFunctionColdStarts } from './cold-start.js';
import { benchBackends } from './backends.js';
import { benchEventLogs } from './eventlog.js';
import { benchBroker, benchDispatcher, type DispatcherBenchResult } from './events.js';
import { burstAtZero, stepToPods } from './scaling.js';
import { pickLoadTool, runLoad, type LoadResult, type LoadSpec, type LoadTool } from './load.js';
import { startNginx } from './nginx.js';
import { applyService, deleteService, helloService, waitServiceReady, type Zeno, startZeno, ZERO_INITIAL_SCALE_CONFIG } from './platform.js';
import { cpuMs, killAllChildrenNow, onPath, processesWithEnv, stopAllChildren } from './proc.js';
import { machine, machineLine, markdownDoc, markdownTable, keepRecordedSections, summarize, type BenchResults } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO_DIR = join(ROOT, 'functions/examples/hello');
const SLOW_DIR = join(ROOT, 'functions/examples/slow');

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw.replace(/s$/, ''));
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`);
  return n;
}

/** Temp dirs to remove however the bench ends (a signal skips main's finally). */
const tempDirs = new Set<string>();
const removeTempDirs = () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
};

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
const podsOf = (rev: string) => () => processesWithEnv('K_REVISION', rev).size;

/** `zeno apply -f` of a fresh min-scale 1 Service, from spawning the CLI to its exit (it waits for Ready). */
async function timeApply(z: Zeno, dir: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `apply-${i}`;
    const file = join(dir, `${name}.json`);
    // JSON is YAML: the CLI reads it as a manifest.
    writeFileSync(file, JSON.stringify(helloService(name, HELLO_DIR, { 'autoscaling.knative.dev/min-scale': '1' })));
    const t0 = performance.now();
    const r = await z.cli(['apply', '-f', file]);
    const ms = performance.now() - t0;
    if (r.code !== 0) throw new Error(`zeno apply exited ${r.code}: ${r.stderr}`);
    out.push(ms);
    log(`zeno apply ${i}/${n}: ${ms.toFixed(0)} ms`);
    await deleteService(z, name, podsOf(`${name}-00001`));
  }
  return out;
}

/** Processes whose CPU time a measured run is charged: the proxy's (none for direct) and the function's. */
interface CpuOf {
  proxy: () => number[];
  fn: number;
}

const sumCpu = (pids: number[]) => pids.reduce((a, p) => a + (cpuMs(p) ?? NaN), 0);

async function measure(tool: LoadTool, spec: LoadSpec, warmupS: number, label: string, cpu?: CpuOf): Promise<LoadResult> {
  await runLoad(tool, { ...spec, durationS: warmupS }, ROOT);
  const proxyPids = cpu?.proxy() ?? [];
  const before = cpu ? { proxy: sumCpu(proxyPids), fn: cpuMs(cpu.fn) ?? NaN } : undefined;
  const r = await runLoad(tool, spec, ROOT);
  if (cpu && before && r.requests > 0) {
    const per = (ms: number) => (ms * 1000) / r.requests;
    r.cpuUsPerRequest = { fn: per((cpuMs(cpu.fn) ?? NaN) - before.fn) };
    if (proxyPids.length) r.cpuUsPerRequest.proxy = per(sumCpu(proxyPids) - before.proxy);
  }
  const c = r.cpuUsPerRequest;
  const cpuText = c ? `, CPU/request: ${c.proxy !== undefined ? `proxy ${c.proxy.toFixed(1)} µs, ` : ''}function ${c.fn.toFixed(1)} µs` : '';
  log(`${label}: ${Math.round(r.rps)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.errors} errors, ${r.non2xx} non-2xx${cpuText}`);
  if (r.errors || r.non2xx) log(`warning: ${label} had failed requests; its figures are suspect`);
  return r;
}

/** One round of the warm path: each target under the closed-loop load, then at one connection. */
type WarmRound = NonNullable<BenchResults['warm']['rounds']>[number];

async function warmPath(z: Zeno, tool: LoadTool, s: { durationS: number; warmupS: number; connections: number; warmRounds: number }): Promise<BenchResults['warm']> {
  const name = 'warm';
  const rev = `${name}-00001`;
  // max-scale 1: the gateway must not spread load over a second process the direct run never sees.
  await applyService(z, helloService(name, HELLO_DIR, { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' }));
  await waitServiceReady(z, name);
  const found = processesWithEnv('K_REVISION', rev);
  const procs = [...found.values()];
  if (procs.length !== 1) throw new Error(`expected one process for ${rev}, found ${procs.length}`);
  const fnPid = [...found.keys()][0]!;
  const port = Number(procs[0]!.get('PORT'));
  if (!port) throw new Error(`no PORT in the environment of ${rev}'s process`);
  const host = `${name}.default.localhost`;
  const service = await z.admin('GET', `/apis/serving.knative.dev/v1/namespaces/default/services/${name}`);
  const url = service.json?.status?.url as string | undefined;
  const spec = { host: url ? new URL(url).host : host, connections: s.connections, durationS: s.durationS };
  // One connection, one request at a time: what the proxy adds to a request, without queueing.
  const light = { ...spec, connections: 1, durationS: Math.max(1, Math.ceil(s.durationS / 2)) };

  const ng = onPath('nginx') ? await startNginx(port) : undefined;
  if (!ng) log('nginx is not on PATH: no nginx baseline');
  const rounds: WarmRound[] = [];
  try {
    // The targets take turns, round after round, so drift on the machine hits them alike.
    for (let i = 1; i <= s.warmRounds; i++) {
      const direct = await measure(tool, { ...spec, url: `http://127.0.0.1:${port}/` }, s.warmupS, `round ${i} direct`, { proxy: () => [], fn: fnPid });
      const nginx = ng ? await measure(tool, { ...spec, url: ng.url }, s.warmupS, `round ${i} nginx`, { proxy: () => ng.workers(), fn: fnPid }) : undefined;
      const gateway = await measure(tool, { ...spec, url: `${z.gatewayUrl}/` }, s.warmupS, `round ${i} gateway`, { proxy: () => (z.pid === undefined ? [] : [z.pid]), fn: fnPid });
      const oneDirect = await measure(tool, { ...light, url: `http://127.0.0.1:${port}/` }, 1, `round ${i} direct, 1 connection`);
      const oneNginx = ng ? await measure(tool, { ...light, url: ng.url }, 1, `round ${i} nginx, 1 connection`) : undefined;
      const oneGateway = await measure(tool, { ...light, url: `${z.gatewayUrl}/` }, 1, `round ${i} gateway, 1 connection`);
      rounds.push({ gateway, direct, nginx, light: { gateway: oneGateway, direct: oneDirect, nginx: oneNginx } });
    }
  } finally {
    await ng?.stop();
  }
  const after = processesWithEnv('K_REVISION', rev).size;
  if (after !== 1) throw new Error(`${rev} had ${after} processes after the gateway runs; the comparison is off`);
  await deleteService(z, name, podsOf(rev));
  // The headline figures are the round with the median gateway ÷ baseline throughput; every round is kept.
  const key = (r: WarmRound) => r.gateway.rps / (r.nginx ?? r.direct).rps;
  const mid = [...rounds].sort((a, b) => key(a) - key(b))[Math.floor((rounds.length - 1) / 2)]!;
  return { gateway: mid.gateway, direct: mid.direct, nginx: mid.nginx, rounds };
}

async function main(): Promise<void> {
  const settings = {
    coldN: intEnv('BENCH_COLD_N', 30),
    // The Function's pooled start is ~4 ms: with 30 samples its p99 is the one slowest, which
    // a single stall of the machine decides; 100 make p99 a percentile again (~2 min more).
    fnColdN: intEnv('BENCH_FUNCTION_COLD_N', 100),
    burstN: intEnv('BENCH_BURST_N', 1000),
    applyN: intEnv('BENCH_APPLY_N', 5),
    durationS: intEnv('BENCH_DURATION', 10),
    warmupS: intEnv('BENCH_WARMUP', 2),
    connections: intEnv('BENCH_CONNECTIONS', 32),
    warmRounds: intEnv('BENCH_WARM_ROUNDS', 3),
    eventLogN: intEnv('BENCH_EVENTLOG_N', 5000),
    brokerN: intEnv('BENCH_BROKER_N', 5000),
    brokerRate: intEnv('BENCH_BROKER_RATE', 1000),
    backendEvents: intEnv('BENCH_BACKEND_EVENTS', 2000),
    backendCalls: intEnv('BENCH_BACKEND_CALLS', 1000),
    backendRuns: intEnv('BENCH_BACKEND_RUNS', 3),
    loadTool: pickLoadTool(process.env),
  };
  const started = new Date();
  log(`${machineLine(machine(started))}; load generator ${settings.loadTool}`);
  const tmp = mkdtempSync(join(tmpdir(), 'zeno-bench-'));
  tempDirs.add(tmp);
  const configFile = join(tmp, 'config-autoscaler.yaml');
  writeFileSync(configFile, ZERO_INITIAL_SCALE_CONFIG);
  const dataDir = join(tmp, 'data');
  mkdirSync(dataDir);

  let results: BenchResults;
  try {
    const eventLog = await benchEventLogs(settings.eventLogN, process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222', log);
    const dispatcher: DispatcherBenchResult[] = [];
    for (const subscriptions of [1, 10]) {
      const d = await benchDispatcher({ events: settings.brokerN, subscriptions });
      log(`dispatcher alone, ${subscriptions} subscription(s): ${Math.round(d.eventsPerSecond)} events/s (${Math.round(d.deliveriesPerSecond)} deliveries/s), p50 ${d.latencyMs.p50.toFixed(1)} ms, p99 ${d.latencyMs.p99.toFixed(1)} ms`);
      dispatcher.push(d);
    }
    const z = await startZeno({ root: ROOT, dataDir, configFile });
    log(`zeno up: gateway ${z.gatewayUrl}`);
    const cold = await runColdStarts(z, HELLO_DIR, settings.coldN, log);
    const handlerDir = join(tmp, 'fn');
    mkdirSync(handlerDir);
    writeFileSync(join(handlerDir, 'handler.mjs'), FUNCTION_HANDLER);
    const fnPool = await runFunctionColdStarts(z, handlerDir, settings.fnColdN, 'pool', log, HELLO_DIR);
    const dataDir2 = join(tmp, 'data-nopool');
    mkdirSync(dataDir2);
    const z2 = await startZeno({ root: ROOT, dataDir: dataDir2, configFile, extraArgs: ['--warm-pool', '0'] });
    const fnNoPool = await runFunctionColdStarts(z2, handlerDir, settings.fnColdN, 'nopool', log, HELLO_DIR);
    await z2.stop();
    const applyMs = await timeApply(z, tmp, settings.applyN);
    const burst = await burstAtZero(z, HELLO_DIR, settings.burstN);
    log(`burst of ${burst.n} at zero: ${burst.ok} ok, p50 ${burst.latency.p50.toFixed(1)} ms, p99 ${burst.latency.p99.toFixed(1)} ms`);
    const step = await stepToPods(z, SLOW_DIR);
    log(`step to ${step.concurrency} concurrent (CC 1): ${step.wantPods} ready pods after ${step.toPodsMs.toFixed(0)} ms`);
    const warm = await warmPath(z, settings.loadTool, settings);
    const brokerDir = join(tmp, 'broker');
    mkdirSync(brokerDir);
    const broker = await benchBroker(z, brokerDir, { events: settings.brokerN, triggers: [1, 10], rate: settings.brokerRate, rateSeconds: 3, log });
    await z.stop();
    const backends = await benchBackends({
      root: ROOT, workDir: tmp, natsUrl: process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222',
      events: settings.backendEvents, calls: settings.backendCalls, runs: settings.backendRuns, log,
    });
    results = {
      machine: machine(started),
      settings,
      coldStart: { bare: summarize(cold.bare), zeno: summarize(cold.zeno), bareMs: cold.bare, zenoMs: cold.zeno },
      functionColdStart: {
        pool: summarize(fnPool.fn), noPool: summarize(fnNoPool.fn), poolMs: fnPool.fn, noPoolMs: fnNoPool.fn,
        poolBare: summarize(fnPool.bare), noPoolBare: summarize(fnNoPool.bare), poolBareMs: fnPool.bare, noPoolBareMs: fnNoPool.bare,
      },
      apply: { samples: summarize(applyMs), ms: applyMs },
      scaling: { burst, step },
      warm,
      eventLog,
      broker,
      dispatcher,
      backends,
    };
  } finally {
    await stopAllChildren();
    removeTempDirs();
  }

  process.stdout.write(`\nMachine: ${machineLine(results.machine)}\n\n${markdownTable(results)}\n`);
  const docFile = join(ROOT, 'docs/benchmarks.md');
  // Sections recorded by hand from other runs (e.g. "Load and scale") stay.
  const previousDoc = existsSync(docFile) ? readFileSync(docFile, 'utf8') : undefined;
  writeFileSync(docFile, keepRecordedSections(previousDoc, markdownDoc(results)));
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('wrote docs/benchmarks.md and bench/results/latest.json');
}

// No child may outlive the bench: Ctrl-C stops them gracefully, any other end kills them.
process.on('exit', killAllChildrenNow);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping children`);
    void stopAllChildren().finally(() => {
      removeTempDirs();
      process.exit(130);
    });
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
