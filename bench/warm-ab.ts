/**
 * The warm path of two builds side by side, for gateway work on a shared
 * machine: `node dist/bench/warm-ab.js ROOT_A ROOT_B` starts a `zeno up`
 * from each root (each root's dist/cli/main.js) with its own min/max-scale 1
 * hello Service, plus nginx (1 worker) in front of A's function, and runs
 * wrk -c32 against A's gateway, B's gateway and nginx in turns, round after
 * round, so load from other work hits all three alike. Prints req/s and the
 * proxy's CPU µs per request (the steadier figure) per run, and at the end
 * the medians and each gateway's CPU per request ÷ nginx's.
 *
 * With AB_PARALLEL=1 each round also loads A and B at the same time (one wrk
 * each), so both meet the same neighbours: their CPU per request then
 * compares the builds under identical conditions, which turns-taking cannot
 * promise on a machine whose load swings by the second.
 *
 * With AB_PIN=1 (Linux, taskset) each proxy (both gateways, nginx's worker)
 * is pinned to CPU 0 and everything else (wrk, the functions, this driver)
 * to CPU 1: on a small VM the CPU per request of a process swings by a third
 * with where the scheduler happens to put it beside its peers (a wake-up of
 * an idle vCPU is costly), which otherwise drowns a change of a few percent.
 *
 * Each run also reports the user-mode part of that CPU time, which placement
 * sways less than the kernel part.
 *
 * Environment: AB_ROUNDS (5), AB_DURATION (5, s), AB_WARMUP (1, s),
 * AB_CONNECTIONS (32), AB_PARALLEL, AB_PIN; BENCH_ZENO_NODE_ARGS as for bench/main.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLoad, type LoadResult } from './load.js';
import { startNginx } from './nginx.js';
import { applyService, helloService, startZeno, waitServiceReady, type Zeno } from './platform.js';
import { cpuMs, processesWithEnv, runToEnd, stopAllChildren, userMs } from './proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const HELLO_DIR = join(ROOT, 'functions/examples/hello');
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Target {
  label: string;
  url: string;
  host: string;
  pids: () => number[];
}

interface Sample {
  rps: number;
  cpuUs: number;
  /** The user-mode part of cpuUs: less swayed than the kernel part by where the scheduler puts the processes. */
  userUs: number;
  p50Ms: number;
}

async function run(t: Target, connections: number, durationS: number, warmupS: number): Promise<Sample> {
  const spec = { url: t.url, host: t.host, connections, durationS };
  await runLoad('wrk', { ...spec, durationS: warmupS }, ROOT);
  const pids = t.pids();
  const cpu = () => pids.reduce((a, p) => a + (cpuMs(p) ?? NaN), 0);
  const user = () => pids.reduce((a, p) => a + (userMs(p) ?? NaN), 0);
  const before = cpu();
  const userBefore = user();
  const r: LoadResult = await runLoad('wrk', spec, ROOT);
  const cpuUs = ((cpu() - before) * 1000) / r.requests;
  const userUs = ((user() - userBefore) * 1000) / r.requests;
  if (r.errors || r.non2xx) log(`warning: ${t.label}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  return { rps: r.rps, cpuUs, userUs, p50Ms: r.p50Ms };
}

async function upWith(root: string, dir: string, name: string): Promise<{ z: Zeno; fnPort: number; host: string }> {
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\n  namespace: knative-serving\ndata: {}\n');
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  const z = await startZeno({ root, dataDir, configFile, extraArgs: ['--warm-pool', '0'] });
  await applyService(z, helloService(name, HELLO_DIR, { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' }));
  await waitServiceReady(z, name);
  const procs = [...processesWithEnv('K_REVISION', `${name}-00001`).values()];
  if (procs.length !== 1) throw new Error(`expected one process for ${name}, found ${procs.length}`);
  return { z, fnPort: Number(procs[0]!.get('PORT')), host: `${name}.default.localhost` };
}

/** Pins every thread of `pid` to `cpu` (AB_PIN). */
async function pin(pid: number | undefined, cpu: number): Promise<void> {
  if (pid === undefined) return;
  const r = await runToEnd('taskset', ['-a', '-p', '-c', String(cpu), String(pid)]);
  if (r.code !== 0) throw new Error(`taskset ${pid}: ${r.stderr}`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function main(): Promise<void> {
  const [rootA, rootB] = process.argv.slice(2).map((p) => resolve(p));
  if (!rootA || !rootB) throw new Error('usage: warm-ab.js ROOT_A ROOT_B');
  const rounds = num('AB_ROUNDS', 5);
  const durationS = num('AB_DURATION', 5);
  const warmupS = num('AB_WARMUP', 1);
  const connections = num('AB_CONNECTIONS', 32);
  const tmp = mkdtempSync(join(tmpdir(), 'zeno-warm-ab-'));
  try {
    mkdirSync(join(tmp, 'a'));
    mkdirSync(join(tmp, 'b'));
    const a = await upWith(rootA, join(tmp, 'a'), 'warma');
    const b = await upWith(rootB, join(tmp, 'b'), 'warmb');
    const ng = await startNginx(a.fnPort);
    if (process.env.AB_PIN) {
      await pin(process.pid, 1);
      for (const z of [a.z, b.z]) await pin(z.pid, 0);
      for (const w of ng.workers()) await pin(w, 0);
      for (const name of ['warma', 'warmb']) for (const fn of processesWithEnv('K_REVISION', `${name}-00001`).keys()) await pin(fn, 1);
    }
    const targets: Target[] = [
      { label: 'A', url: `${a.z.gatewayUrl}/`, host: a.host, pids: () => [a.z.pid!] },
      { label: 'B', url: `${b.z.gatewayUrl}/`, host: b.host, pids: () => [b.z.pid!] },
      { label: 'nginx', url: ng.url, host: a.host, pids: () => ng.workers() },
    ];
    // JIT warm-up: a fresh Node process is far slower for its first few seconds.
    for (const t of targets) await run(t, connections, 3, 1);
    const samples = new Map<string, Sample[]>(targets.map((t) => [t.label, []]));
    for (let i = 1; i <= rounds; i++) {
      const load = loadavg()[0]!.toFixed(2);
      // Alternate the order of A and B each round so neither always runs first.
      const order = i % 2 ? targets : [targets[1]!, targets[0]!, targets[2]!];
      for (const t of order) {
        const s = await run(t, connections, durationS, warmupS);
        samples.get(t.label)!.push(s);
        log(`round ${i} (load ${load}) ${t.label}: ${Math.round(s.rps)} req/s, ${s.cpuUs.toFixed(1)} µs CPU/request, p50 ${s.p50Ms.toFixed(2)} ms`);
      }
    }
    // One connection: what each gateway adds to one request at a time.
    for (const t of targets) {
      const s = await run(t, 1, Math.max(1, Math.ceil(durationS / 2)), warmupS);
      log(`1 connection ${t.label}: p50 ${s.p50Ms.toFixed(3)} ms`);
    }
    if (process.env.AB_PARALLEL) {
      const both: [Sample, Sample][] = [];
      for (let i = 1; i <= rounds; i++) {
        const [sa, sb] = await Promise.all([run(targets[0]!, connections, durationS, warmupS), run(targets[1]!, connections, durationS, warmupS)]);
        both.push([sa, sb]);
        log(`parallel round ${i} (load ${loadavg()[0]!.toFixed(2)}): A ${Math.round(sa.rps)} req/s ${sa.cpuUs.toFixed(1)} µs (user ${sa.userUs.toFixed(1)}), B ${Math.round(sb.rps)} req/s ${sb.cpuUs.toFixed(1)} µs (user ${sb.userUs.toFixed(1)})`);
      }
      const r = both.map(([sa, sb]) => sb.cpuUs / sa.cpuUs);
      log(`parallel B ÷ A: CPU/request median ${median(r).toFixed(2)}× (${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`);
      const u = both.map(([sa, sb]) => sb.userUs / sa.userUs);
      log(`parallel B ÷ A: user CPU/request median ${median(u).toFixed(2)}× (${Math.min(...u).toFixed(2)}–${Math.max(...u).toFixed(2)})`);
    }
    const ng2 = samples.get('nginx')!;
    for (const t of targets) {
      const ss = samples.get(t.label)!;
      const ratio = ss.map((s, k) => s.rps / ng2[k]!.rps);
      const cpuRatio = ss.map((s, k) => s.cpuUs / ng2[k]!.cpuUs);
      log(`${t.label}: median ${Math.round(median(ss.map((s) => s.rps)))} req/s, ${median(ss.map((s) => s.cpuUs)).toFixed(1)} µs CPU/request; ÷ nginx per round: req/s ${median(ratio).toFixed(2)}× (${Math.min(...ratio).toFixed(2)}–${Math.max(...ratio).toFixed(2)}), CPU ${median(cpuRatio).toFixed(2)}×`);
    }
    const sa = samples.get('A')!;
    const sb = samples.get('B')!;
    const cpuBA = sb.map((s, k) => s.cpuUs / sa[k]!.cpuUs);
    const rpsBA = sb.map((s, k) => s.rps / sa[k]!.rps);
    log(`B ÷ A per round: CPU/request median ${median(cpuBA).toFixed(2)}× (${Math.min(...cpuBA).toFixed(2)}–${Math.max(...cpuBA).toFixed(2)}), req/s median ${median(rpsBA).toFixed(2)}×`);
    await ng.stop();
  } finally {
    await stopAllChildren();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
