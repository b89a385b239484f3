/**
 * The pod side of a pooled cold start, for one or two builds of Zeno in
 * turns: each build's own WarmPool boots a warm process, a connection is
 * opened to it (as the gateway's preconnect does), and after it idled for
 * IDLE_MS the process is taken and specialized, with a GET written on that
 * connection in the same tick (as the early routing does). Timed from the
 * specialization to the full response; also the main thread's CPU time
 * for it (from /proc/PID/task/PID/schedstat, read once the process is idle
 * again, so it includes the readiness message that follows): far less
 * noisy than wall time on a shared machine.
 *
 *   npm run build && node dist/bench/pool-pod-ab.js [ROUNDS] [BASELINE_ROOT] [IDLE_MS]
 *
 * Linux only (schedstat). No gateway, no autoscaler: bench/function-cold-ab.ts
 * measures the whole path.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pickBaseEnv } from '../functions/local/pod-env.js';
import type * as WarmPoolModule from '../functions/local/warm-pool.js';
import type * as NodeRuntimeModule from '../functions/node/index.js';
import { percentile } from './report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

/** CPU time of the process's main thread so far, µs. */
function mainThreadCpuUs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

interface Build {
  label: string;
  pool: WarmPoolModule.WarmPool;
  /** Port of the last warm process that booted (the pool holds one). */
  port: number;
  specialize: typeof WarmPoolModule.specialize;
  wall: number[];
  cpu: number[];
}

async function openBuild(label: string, root: string, baseEnv: Record<string, string>): Promise<Build> {
  const dist = join(root, 'dist');
  const wp = (await import(pathToFileURL(join(dist, 'functions/local/warm-pool.js')).href)) as typeof WarmPoolModule;
  const rt = (await import(pathToFileURL(join(dist, 'functions/node/index.js')).href)) as typeof NodeRuntimeModule;
  const b: Build = { label, pool: undefined!, port: 0, specialize: wp.specialize, wall: [], cpu: [] };
  b.pool = new wp.WarmPool({
    size: 1,
    entry: rt.nodeRuntimeProcessEntry(),
    host: '127.0.0.1',
    env: baseEnv,
    guard: { track() {}, untrack() {} },
    onListening: (port) => (b.port = port),
  });
  b.pool.start();
  return b;
}

async function sample(b: Build, dir: string, name: string, baseEnv: Record<string, string>, idleMs: number): Promise<void> {
  const deadline = performance.now() + 30_000;
  while (b.pool.bootedCount() < 1) {
    if (performance.now() > deadline) throw new Error(`${b.label}: no warm process booted`);
    await sleep(5);
  }
  const port = b.port;
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  await sleep(idleMs);
  const handler = join(dir, `${name}.mjs`);
  writeFileSync(handler, "export default () => new Response('Hello World!\\n');\n");
  let got = '';
  const answered = new Promise<void>((r) => socket.on('data', (d: Buffer) => {
    got += d.toString();
    if (got.endsWith('Hello World!\n')) r();
  }));
  const taken = b.pool.take()!;
  if (typeof taken.port !== 'number') throw new Error('took a process still booting');
  const pid = taken.child.pid!;
  const cpu0 = mainThreadCpuUs(pid);
  const t0 = performance.now();
  b.specialize(taken.child, { args: [handler], cwd: dir, env: { ...baseEnv, PORT: String(port), K_SERVICE: name, K_CONFIGURATION: name, K_REVISION: `${name}-00001` } });
  socket.write(`GET / HTTP/1.1\r\nhost: ${name}.default.example.com\r\nuser-agent: bench\r\naccept: */*\r\nx-forwarded-for: 127.0.0.1\r\nx-forwarded-proto: http\r\nforwarded: for=127.0.0.1;proto=http\r\n\r\n`);
  await answered;
  b.wall.push(performance.now() - t0);
  // The readiness message has gone by then. (Read at 100 ms, after 4 s idle, it
  // sometimes held ~5 ms more, for both builds; not traced down.)
  await sleep(50);
  b.cpu.push(mainThreadCpuUs(pid) - cpu0);
  socket.destroy();
  taken.child.kill('SIGKILL');
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2]) || 20;
  const idleMs = Number(process.argv[4]) || 1000;
  const baseEnv = pickBaseEnv(process.env);
  const dir = mkdtempSync(join(tmpdir(), 'zeno-pool-pod-ab-'));
  const builds: Build[] = [];
  const loadBefore = load();
  try {
    if (process.argv[3]) builds.push(await openBuild('old', resolve(process.argv[3]), baseEnv));
    builds.push(await openBuild('new', ROOT, baseEnv));
    for (let i = 1; i <= rounds; i++) {
      for (const b of builds) await sample(b, dir, `${b.label}${i}`, baseEnv, idleMs);
      process.stderr.write(`round ${i}/${rounds}: ${builds.map((b) => `${b.label} ${b.wall.at(-1)!.toFixed(2)} ms ${b.cpu.at(-1)!.toFixed(0)} us`).join(', ')}\n`);
    }
  } finally {
    await Promise.all(builds.map((b) => b.pool.close()));
    rmSync(dir, { recursive: true, force: true });
  }
  const q = (xs: number[], p: number): number => percentile([...xs].sort((x, y) => x - y), p);
  console.log(`pooled pod, specialize → response, ${rounds} rounds, idle ${idleMs} ms, load average ${loadBefore} → ${load()}`);
  for (const b of builds) {
    console.log(`${b.label}: wall p25/p50/p90 ${q(b.wall, 25).toFixed(2)} / ${q(b.wall, 50).toFixed(2)} / ${q(b.wall, 90).toFixed(2)} ms, main-thread CPU p25/p50/p75 ${q(b.cpu, 25).toFixed(0)} / ${q(b.cpu, 50).toFixed(0)} / ${q(b.cpu, 75).toFixed(0)} us`);
  }
}

await main();
