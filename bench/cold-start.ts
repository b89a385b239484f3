/**
 * Cold start: zero pods → first full response through the gateway, beside
 * a bare `node server.js` spawn → first full response, measured in turns in
 * the same run so both see the same machine.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { connect, createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pickBaseEnv } from '../functions/local/pod-env.js';
import { applyService, deleteService, helloService, SERVICES, type Zeno } from './platform.js';
import { processesWithEnv, stopChild, spawnTracked, waitUntil } from './proc.js';

export interface ColdStartSamples {
  /** ms, bare spawn → first response. */
  bare: number[];
  /** ms, request sent (no pod) → full response through the gateway. */
  zeno: number[];
}

const EXPECTED_BODY = 'Hello World!\n';
const GIVE_UP_MS = 30_000;

/**
 * One GET to 127.0.0.1:port, resolved with the full body. A refused
 * connection is retried at once (setImmediate, no sleep), so the time
 * measured ends within one event-loop turn of the port opening. The retries
 * are bare TCP connects (cheaper than a whole HTTP request each); the
 * request goes over the first socket that connects.
 */
function getWhenListening(port: number, host: string | undefined, deadline: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        socket.destroy();
        if (e.code === 'ECONNREFUSED' && performance.now() < deadline) setImmediate(attempt);
        else reject(e);
      });
      socket.once('connect', () => {
        // A connect to a closed port in the ephemeral range can be given that
        // very port as its own and connect to itself (TCP simultaneous open).
        if (socket.localPort === port) {
          socket.destroy();
          reject(new Error(`connected to itself on port ${port}; pick ports outside the ephemeral range`));
          return;
        }
        socket.removeAllListeners('error');
        const req = http.request({ createConnection: () => socket, path: '/', headers: host ? { host, connection: 'close' } : { connection: 'close' } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
    };
    attempt();
  });
}

/**
 * A free port below the kernel's ephemeral range. Hundreds of connects to a
 * closed ephemeral port soon get that port as their own source port and
 * connect to themselves, which also takes the port from the function.
 */
async function freeNonEphemeralPort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: keep the usual low bound
  }
  for (let i = 0; i < 100; i++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port found below ${low}`);
}

/** The baseline: what starting the same function by hand costs. */
export async function bareColdStart(helloDir: string): Promise<number> {
  const port = await freeNonEphemeralPort();
  // performance.now(): sub-millisecond, monotonic; this measures, it does not wait.
  const t0 = performance.now();
  // `node` from PATH and the pods' allow-listed environment, as the platform
  // spawns it: a variable such as NODE_EXTRA_CA_CERTS alone adds ~40 ms to
  // node's start here (it loads the CA file), which pods never pay.
  const env = { ...pickBaseEnv(process.env), PORT: String(port) };
  const child = spawnTracked('node', ['server.js'], { cwd: helloDir, env, stdio: 'ignore' });
  try {
    const body = await getWhenListening(port, undefined, t0 + GIVE_UP_MS);
    const ms = performance.now() - t0;
    if (body !== EXPECTED_BODY) throw new Error(`bare hello answered ${JSON.stringify(body)}`);
    return ms;
  } finally {
    await stopChild(child, 5_000);
  }
}

/**
 * A fresh Service with initial-scale 0 (allowed by the bench's
 * config-autoscaler) has a route but no pod: the first request goes through
 * the activator, pokes the autoscaler, waits for the spawn and the readiness
 * probe, then is proxied. That is a real cold start without waiting out
 * the scale-to-zero grace period.
 */
export async function zenoColdStart(z: Zeno, name: string, helloDir: string): Promise<number> {
  const rev = `${name}-00001`;
  const pods = () => processesWithEnv('K_REVISION', rev).size;
  await applyService(z, helloService(name, helloDir, { 'autoscaling.knative.dev/initial-scale': '0' }));
  try {
    return await timeFirstRequest(z, name, () => pods() === 0);
  } finally {
    await deleteService(z, name, pods);
  }
}

/**
 * Waits for the route, checks the revision is at zero (actualReplicas 0 and
 * `noPods()`), then times one GET through the gateway to its full response.
 */
async function timeFirstRequest(z: Zeno, name: string, noPods: () => boolean): Promise<number> {
  let host = '';
  await waitUntil(async () => {
    const r = await z.admin('GET', `${SERVICES}/routes/${name}`);
    const url = r.status === 200 ? (r.json?.status?.url as string | undefined) : undefined;
    if (url) host = new URL(url).host;
    return Boolean(url);
  }, 5_000, `route ${name} to have a URL`, { intervalMs: 5 });
  const r = await z.admin('GET', `${SERVICES}/revisions/${name}-00001`);
  const actual = r.json?.status?.actualReplicas;
  if (actual !== 0 || !noPods()) throw new Error(`${name}-00001 is not at zero before the request (actualReplicas ${actual})`);
  const t0 = performance.now();
  const body = await getWhenListening(z.gatewayPort, host, t0 + GIVE_UP_MS);
  const ms = performance.now() - t0;
  if (body !== EXPECTED_BODY) throw new Error(`${name} answered ${JSON.stringify(body)}`);
  return ms;
}

/** n of each, alternating, so drift on the machine (page cache, CPU frequency) hits both alike. */
export async function runColdStarts(z: Zeno, helloDir: string, n: number, log: (s: string) => void): Promise<ColdStartSamples> {
  const out: ColdStartSamples = { bare: [], zeno: [] };
  // One untimed round of each warms the page cache for node and server.js.
  await bareColdStart(helloDir);
  await zenoColdStart(z, 'cold-warmup', helloDir);
  for (let i = 1; i <= n; i++) {
    out.bare.push(await bareColdStart(helloDir));
    out.zeno.push(await zenoColdStart(z, `cold-${i}`, helloDir));
    log(`cold start ${i}/${n}: bare ${out.bare.at(-1)!.toFixed(1)} ms, zeno ${out.zeno.at(-1)!.toFixed(1)} ms`);
  }
  return out;
}

/** The Function handler every Function cold start deploys (answers like the hello example). */
export const FUNCTION_HANDLER = "export default () => new Response('Hello World!\\n');\n";

/**
 * A fresh `zeno.dev/v1` Function (the Node runtime) with initial-scale 0:
 * the first request starts its pod, from the warm pool when the platform
 * has one. Times from sending the request to the full response.
 */
export async function functionColdStart(z: Zeno, name: string, handlerDir: string): Promise<number> {
  const fn = {
    apiVersion: 'zeno.dev/v1',
    kind: 'Function',
    metadata: { name, namespace: 'default', annotations: { 'autoscaling.knative.dev/initial-scale': '0', 'zeno.dev/base-dir': handlerDir } },
    spec: { handler: './handler.mjs' },
  };
  await applyService(z, fn);
  try {
    // Pooled processes carry no K_REVISION in /proc/PID/environ (they get it at specialization).
    return await timeFirstRequest(z, name, () => true);
  } finally {
    const d = await z.admin('DELETE', `/apis/zeno.dev/v1/namespaces/default/functions/${name}`);
    if (d.status !== 200 && d.status !== 404) throw new Error(`delete function ${name} answered ${d.status}`);
    await waitUntil(async () => (await z.admin('GET', `${SERVICES}/revisions/${name}-00001`)).status === 404, 10_000, `${name} to be gone`);
    // Let the pool refill (it waits 100 ms after a take, then boots a process)
    // and the deleted pod drain, so each sample starts from the same state.
    await new Promise((r) => setTimeout(r, 600));
  }
}

/**
 * n Function cold starts, each followed by a bare spawn of the hello example
 * (the baseline, in turns so drift on the machine hits both alike).
 */
export async function runFunctionColdStarts(z: Zeno, handlerDir: string, n: number, label: string, log: (s: string) => void, helloDir: string): Promise<{ fn: number[]; bare: number[] }> {
  await functionColdStart(z, `fn-${label}-warmup`, handlerDir);
  const out = { fn: [] as number[], bare: [] as number[] };
  for (let i = 1; i <= n; i++) {
    out.fn.push(await functionColdStart(z, `fn-${label}-${i}`, handlerDir));
    out.bare.push(await bareColdStart(helloDir));
    log(`function cold start (${label}) ${i}/${n}: ${out.fn.at(-1)!.toFixed(1)} ms, bare ${out.bare.at(-1)!.toFixed(1)} ms`);
  }
  return out;
}
