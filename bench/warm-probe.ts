/**
 * Where the main bench's warm path loses CPU: `node dist/bench/warm-probe.js`
 * starts one `zeno up` the way bench/main.ts does (zero-initial-scale config,
 * the default warm pool), applies the min/max-scale 1 warm Service, and
 * measures the gateway's CPU µs per request (wrk -c32) and the platform's
 * idle CPU (ms per s) on the fresh platform; then runs the benches that
 * bench/main.ts runs before its warm path (cold starts, Function cold starts,
 * apply, burst at zero, step to pods) and measures again, so the two figures
 * differ only in what those benches left behind.
 *
 * Environment: PROBE_COLD_N (30), PROBE_RUNS (3), PROBE_DURATION (5, s),
 * PROBE_SKIP_BEFORE=1 (skip the earlier benches), PROBE_WAIT (0, s, idle time
 * after the earlier benches before measuring); BENCH_ZENO_NODE_ARGS as for
 * bench/main.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTION_HANDLER, runColdStarts, runFunctionColdStarts } from './cold-start.js';
import { runLoad } from './load.js';
import { applyService, deleteService, helloService, startZeno, waitServiceReady, ZERO_INITIAL_SCALE_CONFIG, type Zeno } from './platform.js';
import { cpuMs, processesWithEnv, spawnTracked, stopAllChildren } from './proc.js';
import { burstAtZero, stepToPods } from './scaling.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO_DIR = join(ROOT, 'functions/examples/hello');
const SLOW_DIR = join(ROOT, 'functions/examples/slow');
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const log = (s: string) => process.stderr.write(`probe: ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function idle(z: Zeno, label: string): Promise<void> {
  const c0 = cpuMs(z.pid!)!;
  await sleep(5000);
  log(`${label}: idle CPU ${((cpuMs(z.pid!)! - c0) / 5).toFixed(1)} ms/s (load ${loadavg()[0]!.toFixed(2)})`);
}

/** CPU ms per thread name of a process (main thread, V8 workers, libuv pool), from /proc/PID/task. */
function threads(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // thread gone
    }
  }
  return out;
}

async function gateway(z: Pick<Zeno, 'gatewayUrl' | 'pid'>, label: string): Promise<void> {
  const spec = { url: `${z.gatewayUrl}/`, host: 'warm.default.localhost', connections: 32, durationS: num('PROBE_DURATION', 5) };
  await runLoad('wrk', { ...spec, durationS: 2 }, ROOT);
  for (let i = 1; i <= num('PROBE_RUNS', 3); i++) {
    const load = loadavg()[0]!.toFixed(2);
    const c0 = cpuMs(z.pid!)!;
    const t0 = threads(z.pid!);
    const r = await runLoad('wrk', spec, ROOT);
    const us = ((cpuMs(z.pid!)! - c0) * 1000) / r.requests;
    const per = [...threads(z.pid!)].map(([n, ms]) => [n, ((ms - (t0.get(n) ?? 0)) * 1000) / r.requests] as const).filter(([, v]) => v >= 0.5);
    log(`${label} run ${i} (load ${load}): ${Math.round(r.rps)} req/s, ${us.toFixed(1)} µs CPU/request (${per.map(([n, v]) => `${n} ${v.toFixed(1)}`).join(', ')}), p50 ${r.p50Ms.toFixed(2)} ms, ${r.errors + r.non2xx} failed`);
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'zeno-warm-probe-'));
  try {
    const configFile = join(tmp, 'config.yaml');
    writeFileSync(configFile, ZERO_INITIAL_SCALE_CONFIG);
    mkdirSync(join(tmp, 'data'));
    const z = await startZeno({ root: ROOT, dataDir: join(tmp, 'data'), configFile });
    log(`zeno up pid ${z.pid}`);
    await applyService(z, helloService('warm', HELLO_DIR, { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' }));
    await waitServiceReady(z, 'warm');
    await idle(z, 'fresh');
    if (process.env.PROBE_OTHER_PROXY) {
      // Another proxy script (args: function port, listen port) in turns with the gateway, same function.
      const procs = [...processesWithEnv('K_REVISION', 'warm-00001').values()];
      const fnPort = procs[0]!.get('PORT')!;
      const port = 20_000 + Math.floor(Math.random() * 10_000);
      const child = spawnTracked(process.execPath, [process.env.PROBE_OTHER_PROXY, fnPort, String(port)], { stdio: 'inherit' });
      await sleep(500);
      const other = { gatewayUrl: `http://127.0.0.1:${port}`, pid: child.pid };
      for (let i = 1; i <= num('PROBE_ROUNDS', 4); i++) {
        await gateway(z, `round ${i} gateway`);
        await gateway(other, `round ${i} other`);
      }
      child.kill();
    }
    await gateway(z, 'fresh');
    if (!process.env.PROBE_SKIP_BEFORE) {
      const n = num('PROBE_COLD_N', 30);
      await runColdStarts(z, HELLO_DIR, n, () => {});
      const handlerDir = join(tmp, 'fn');
      mkdirSync(handlerDir);
      writeFileSync(join(handlerDir, 'handler.mjs'), FUNCTION_HANDLER);
      await runFunctionColdStarts(z, handlerDir, n, 'pool', () => {}, HELLO_DIR);
      for (let i = 1; i <= 5; i++) {
        await applyService(z, helloService(`apply-${i}`, HELLO_DIR, { 'autoscaling.knative.dev/min-scale': '1' }));
        await waitServiceReady(z, `apply-${i}`);
        await deleteService(z, `apply-${i}`, () => processesWithEnv('K_REVISION', `apply-${i}-00001`).size);
      }
      const burst = await burstAtZero(z, HELLO_DIR, 1000);
      log(`burst: ${burst.ok}/${burst.n} ok`);
      const step = await stepToPods(z, SLOW_DIR);
      log(`step: ${step.toPodsMs.toFixed(0)} ms`);
      await sleep(num('PROBE_WAIT', 0) * 1000);
      if (process.env.PROBE_WARM_AFTER) {
        await deleteService(z, 'warm', () => processesWithEnv('K_REVISION', 'warm-00001').size);
        await applyService(z, helloService('warm', HELLO_DIR, { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' }));
        await waitServiceReady(z, 'warm');
      }
      await idle(z, 'after');
      if (process.env.PROBE_VS_FRESH) {
        // A second platform like bench/warm-ab.ts's (--warm-pool 0, fresh), in turns with this one.
        const cfg2 = join(tmp, 'config2.yaml');
        writeFileSync(cfg2, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\n  namespace: knative-serving\ndata: {}\n');
        mkdirSync(join(tmp, 'data2'));
        const z2 = await startZeno({ root: ROOT, dataDir: join(tmp, 'data2'), configFile: cfg2, extraArgs: ['--warm-pool', '0'] });
        await applyService(z2, helloService('warm', HELLO_DIR, { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' }));
        await waitServiceReady(z2, 'warm');
        for (let i = 1; i <= num('PROBE_ROUNDS', 4); i++) {
          const order: [Zeno, string][] = i % 2 ? [[z, 'main-like'], [z2, 'ab-like']] : [[z2, 'ab-like'], [z, 'main-like']];
          for (const [p, l] of order) await gateway(p, `round ${i} ${l}`);
        }
        await z2.stop();
      } else {
        await gateway(z, 'after');
        await idle(z, 'after, again');
        await gateway(z, 'after, again');
      }
    }
    await z.stop();
  } finally {
    await stopAllChildren();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
