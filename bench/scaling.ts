/**
 * Issue 3's scaling figures, through a real `zeno up`:
 * - a burst of N concurrent requests at zero scale (success rate, p50, p99);
 * - the time from a step in load (0 → 10 × target concurrency) to that many
 *   ready pods.
 * Neither has a same-run baseline (Knative's published figures are in
 * reference/knative-serving.md §5); the report says so.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { summarize, type Summary } from './report.js';
import { applyService, SERVICES, type Zeno } from './platform.js';
import { waitUntil } from './proc.js';

function service(name: string, dir: string, annotations: Record<string, string>, cc: number): object {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { template: { metadata: { annotations }, spec: { containerConcurrency: cc, containers: [{ command: ['node', 'server.js'], workingDir: dir }] } } },
  };
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function get(port: number, host: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

export interface BurstResult {
  n: number;
  ok: number;
  latency: Summary;
}

/** N concurrent GETs to a Service with initial-scale 0 (no pod when they arrive). */
export async function burstAtZero(z: Zeno, helloDir: string, n: number): Promise<BurstResult> {
  const name = 'burst';
  await applyService(z, service(name, helloDir, { 'autoscaling.knative.dev/initial-scale': '0' }, 0));
  const host = `${name}.default.localhost`;
  const r = await z.admin('GET', `${SERVICES}/revisions/${name}-00001`);
  if (r.json?.status?.actualReplicas !== 0) throw new Error('burst: the revision is not at zero');
  const times: number[] = [];
  let ok = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    const t0 = performance.now();
    const status = await get(z.gatewayPort, host, '/');
    times.push(performance.now() - t0);
    if (status === 200) ok++;
  }));
  await z.admin('DELETE', `${SERVICES}/services/${name}`);
  return { n, ok, latency: summarize(times) };
}

export interface StepResult {
  concurrency: number;
  wantPods: number;
  /** ms from the first request of the step to `wantPods` ready pods. */
  toPodsMs: number;
}

/**
 * containerConcurrency 1 gives a target of 0.7 concurrent requests per pod
 * (70 % utilization): 7 loops of back-to-back 100 ms requests are 10 × that,
 * so the KPA should ask for ceil(7 / 0.7) = 10 pods.
 */
export async function stepToPods(z: Zeno, slowDir: string): Promise<StepResult> {
  const name = 'step';
  const loops = 7;
  const wantPods = 10;
  await applyService(z, service(name, slowDir, { 'autoscaling.knative.dev/initial-scale': '0' }, 1));
  const host = `${name}.default.localhost`;
  let stop = false;
  const t0 = performance.now();
  const running = Promise.all(Array.from({ length: loops }, async () => {
    while (!stop) await get(z.gatewayPort, host, '/?sleep=100');
  }));
  let toPodsMs = NaN;
  try {
    await waitUntil(async () => {
      const r = await z.admin('GET', `${SERVICES}/revisions/${name}-00001`);
      return (r.json?.status?.actualReplicas ?? 0) >= wantPods;
    }, 60_000, `${wantPods} ready pods`, { intervalMs: 20 });
    toPodsMs = performance.now() - t0;
  } finally {
    stop = true;
    await running;
    await z.admin('DELETE', `${SERVICES}/services/${name}`);
  }
  return { concurrency: loops, wantPods, toPodsMs };
}

