/**
 * The Node load generator, run as its own process (node load-worker.js SPEC):
 * `connections` closed loops on one undici Pool for `durationS`, then one
 * JSON LoadResult on stdout. It plays wrk's part where wrk is missing.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { LoadResult, LoadSpec } from './load.js';
import { percentile } from './report.js';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const url = new URL(spec.url);
  const pool = new Pool(url.origin, { connections: spec.connections, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  const start = performance.now();
  const end = start + spec.durationS * 1000;

  const loop = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ path: url.pathname + url.search, method: 'GET', headers: { host: spec.host } });
        await res.body.dump();
        if (res.statusCode >= 400) non2xx++;
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const elapsedS = (performance.now() - start) / 1000;
  await pool.close();

  latencies.sort((a, b) => a - b);
  const result: LoadResult = {
    rps: latencies.length / elapsedS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    requests: latencies.length,
    errors,
    non2xx,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
