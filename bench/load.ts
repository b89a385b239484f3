/**
 * Closed-loop HTTP load: wrk when it is installed, else a Node generator
 * (load-worker.ts) on undici, always in its own process so it never shares
 * an event loop with the platform. Same tool, connections and duration for
 * every target of a run.
 */
import { join } from 'node:path';
import { onPath, runToEnd } from './proc.js';

export type LoadTool = 'wrk' | 'node';

export interface LoadSpec {
  url: string;
  /** Host header, the same for every target (the gateway routes on it). */
  host: string;
  connections: number;
  durationS: number;
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Responses that were not 2xx or 3xx. */
  non2xx: number;
  /** CPU time per request (µs) of the proxy's processes and of the function's, when measured (bench/main.ts). */
  cpuUsPerRequest?: { proxy?: number; fn: number };
}

/** BENCH_LOADGEN=node forces the Node generator (to compare, or to test it). */
export function pickLoadTool(env: NodeJS.ProcessEnv): LoadTool {
  if (env.BENCH_LOADGEN === 'node') return 'node';
  return onPath('wrk') ? 'wrk' : 'node';
}

export async function runLoad(tool: LoadTool, spec: LoadSpec, root: string): Promise<LoadResult> {
  if (tool === 'wrk') {
    // One thread: on two cores the generator must leave a core to the system under test.
    const args = ['-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, '--latency', '-H', `Host: ${spec.host}`, spec.url];
    const r = await runToEnd('wrk', args);
    if (r.code !== 0) throw new Error(`wrk exited ${r.code}: ${r.stderr || r.stdout}`);
    return parseWrk(r.stdout);
  }
  const r = await runToEnd(process.execPath, [join(root, 'dist/bench/load-worker.js'), JSON.stringify(spec)]);
  if (r.code !== 0) throw new Error(`load worker exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as LoadResult;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function wrkTime(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) throw new Error(`wrk: cannot read the time ${JSON.stringify(text)}`);
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Reads wrk's --latency report: Requests/sec, the 50% and 99% lines, the error lines. */
export function parseWrk(out: string): LoadResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const p50 = /^\s+50%\s+(\S+)/m.exec(out);
  const p99 = /^\s+99%\s+(\S+)/m.exec(out);
  const total = /^\s+(\d+) requests in/m.exec(out);
  if (!rps || !p50 || !p99 || !total) throw new Error(`wrk: unexpected output:\n${out}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { rps: Number(rps[1]), p50Ms: wrkTime(p50[1]), p99Ms: wrkTime(p99[1]), requests: Number(total[1]), errors, non2xx };
}
