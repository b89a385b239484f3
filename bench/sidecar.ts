/**
 * `npm run build && node dist/bench/sidecar.js`: what the queue-proxy-style
 * sidecar (functions/sidecar) costs on the request path. A trivial Node
 * HTTP server is loaded directly (the baseline) and through the sidecar,
 * without a breaker (containerConcurrency 0) and with one that never queues
 * (containerConcurrency 100 > connections), in interleaved rounds on
 * loopback. Prints each round and the ratio to the same round's baseline.
 *
 * Environment: BENCH_DURATION (10, s), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3),
 * BENCH_LOADGEN=node (skip wrk).
 */
import type { ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../functions/local/free-port.js';
import { pickLoadTool, runLoad, type LoadResult } from './load.js';
import { spawnTracked, stopAllChildren, waitUntil } from './proc.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const int = (name: string, fallback: number) => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number`);
  return n;
};
const DURATION = int('BENCH_DURATION', 10);
const CONNECTIONS = int('BENCH_CONNECTIONS', 32);
const ROUNDS = int('BENCH_ROUNDS', 3);

const USER_SERVER = `require('node:http').createServer((q, r) => { r.writeHead(200, {'content-type': 'text/plain'}); r.end('hello'); }).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('up'));`;

async function up(url: string): Promise<void> {
  await waitUntil(async () => (await fetch(url).then((r) => r.ok).catch(() => false)), 15_000, url);
}

async function startSidecar(userPort: number, cc: number): Promise<{ url: string; child: ChildProcess }> {
  const serving = await findFreePort('127.0.0.1');
  const admin = await findFreePort('127.0.0.1');
  const child = spawnTracked(process.execPath, [join(ROOT, 'dist/functions/sidecar/main.js')], {
    env: { PATH: process.env.PATH ?? '', ZENO_SIDECAR_HOST: '127.0.0.1', QUEUE_SERVING_PORT: String(serving), QUEUE_ADMIN_PORT: String(admin), USER_PORT: String(userPort), CONTAINER_CONCURRENCY: String(cc) },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${serving}/`;
  await up(url);
  return { url, child };
}

const fmt = (r: LoadResult) => `${Math.round(r.rps)} rps, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms${r.errors || r.non2xx ? ` (${r.errors} errors, ${r.non2xx} non-2xx)` : ''}`;

async function main(): Promise<void> {
  const tool = pickLoadTool(process.env);
  const userPort = await findFreePort('127.0.0.1');
  spawnTracked(process.execPath, ['-e', USER_SERVER], { env: { PORT: String(userPort) }, stdio: 'ignore' });
  const direct = `http://127.0.0.1:${userPort}/`;
  await up(direct);
  const plain = await startSidecar(userPort, 0);
  const breaker = await startSidecar(userPort, 100);
  const targets: [string, string][] = [
    ['direct', direct],
    ['sidecar, CC 0', plain.url],
    ['sidecar, CC 100', breaker.url],
  ];
  process.stdout.write(`load: ${tool}, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds\n`);
  const ratios = new Map<string, { rps: number[]; p50: number[] }>();
  for (let round = 1; round <= ROUNDS; round++) {
    const results = new Map<string, LoadResult>();
    for (const [name, url] of targets) {
      await runLoad(tool, { url, host: '127.0.0.1', connections: CONNECTIONS, durationS: 1 }, ROOT); // warm-up
      const r = await runLoad(tool, { url, host: '127.0.0.1', connections: CONNECTIONS, durationS: DURATION }, ROOT);
      results.set(name, r);
      process.stdout.write(`round ${round} ${name}: ${fmt(r)}\n`);
    }
    const base = results.get('direct')!;
    for (const [name] of targets.slice(1)) {
      const r = results.get(name)!;
      const e = ratios.get(name) ?? { rps: [], p50: [] };
      e.rps.push(r.rps / base.rps);
      e.p50.push(r.p50Ms - base.p50Ms);
      ratios.set(name, e);
    }
  }
  for (const [name, e] of ratios) {
    const range = (xs: number[], d: number) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
    process.stdout.write(`${name} ÷ direct: rps ×${range(e.rps, 2)}, p50 +${range(e.p50, 2)} ms\n`);
  }
}

try {
  await main();
} finally {
  await stopAllChildren();
}
