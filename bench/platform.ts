/** A real `zeno up` for the bench, reached the way users reach it: files in the data dir, the admin API, the CLI. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild, runToEnd, spawnTracked, waitUntil } from './proc.js';

export interface AdminResponse {
  status: number;
  json: any;
}

export interface Zeno {
  gatewayUrl: string;
  gatewayPort: number;
  adminUrl: string;
  /** The `zeno up` process (for CPU accounting in benches). */
  pid: number | undefined;
  dataDir: string;
  admin(method: string, path: string, body?: unknown): Promise<AdminResponse>;
  /** `zeno CMD ...` as users run it, with ZENO_DATA_DIR pointing at this platform. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * config-autoscaler for the benchmarks: a Service may start at zero pods
 * (Knative's allow-zero-initial-scale), so every cold start is measured
 * from zero, never from the initial pod that apply would otherwise start.
 */
export const ZERO_INITIAL_SCALE_CONFIG = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  allow-zero-initial-scale: "true"
`;

export const SERVICES = '/apis/serving.knative.dev/v1/namespaces/default';

export async function startZeno(opts: { root: string; dataDir: string; configFile: string; extraArgs?: string[] }): Promise<Zeno> {
  const cliPath = join(opts.root, 'dist/cli/main.js');
  const dataDir = opts.dataDir;
  for (const f of ['admin-url', 'gateway-url', 'token']) rmSync(join(dataDir, f), { force: true });
  // BENCH_ZENO_NODE_ARGS: extra node flags for the platform process only, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_ZENO_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = spawnTracked(process.execPath, [...nodeArgs, cliPath, 'up', '--port', '0', '--admin-port', '0', '--data-dir', dataDir, '--config', opts.configFile, ...(opts.extraArgs ?? [])], {
    cwd: opts.root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  // Keep only the tail: a long bench must not grow this without bound.
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-20_000));
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const read = (f: string) => readFileSync(join(dataDir, f), 'utf8').trim();
  await waitUntil(() => {
    if (proc.exitCode !== null) throw new Error(`zeno up exited early:\n${out}`);
    return existsSync(join(dataDir, 'gateway-url'));
  }, 30_000, 'zeno up to write gateway-url');
  const gatewayUrl = read('gateway-url');
  const adminUrl = read('admin-url');
  const token = read('token');
  await waitUntil(async () => (await fetch(`${gatewayUrl}/healthz`).catch(() => undefined))?.status === 200, 15_000, 'gateway /healthz');

  return {
    gatewayUrl,
    gatewayPort: Number(new URL(gatewayUrl).port),
    adminUrl,
    pid: proc.pid,
    dataDir,
    async admin(method, path, body) {
      const res = await fetch(`${adminUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: keep the text for the error message
      }
      return { status: res.status, json };
    },
    cli(args) {
      return runToEnd(process.execPath, [cliPath, ...args], { cwd: opts.root, env: { ...process.env, ZENO_DATA_DIR: dataDir, NO_COLOR: '1' } });
    },
    stop: () => stopChild(proc),
  };
}

/** A Knative Service running the hello example from its folder. */
export function helloService(name: string, helloDir: string, annotations: Record<string, string>): object {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      template: {
        metadata: { annotations },
        spec: { containers: [{ image: 'ghcr.io/zeno/hello:latest', command: ['node', 'server.js'], workingDir: helloDir }] },
      },
    },
  };
}

export async function applyService(z: Zeno, svc: object): Promise<void> {
  const r = await z.admin('POST', '/apis/zeno.dev/v1/apply', { items: [svc] });
  if (r.status !== 200) throw new Error(`apply answered ${r.status}: ${JSON.stringify(r.json)}`);
}

/** Deletes the Service and waits until none of its processes is left, so the next step runs on a quiet machine. */
export async function deleteService(z: Zeno, name: string, podsOf: () => number): Promise<void> {
  const r = await z.admin('DELETE', `${SERVICES}/services/${name}`);
  if (r.status !== 200 && r.status !== 404) throw new Error(`delete ${name} answered ${r.status}: ${JSON.stringify(r.json)}`);
  await waitUntil(() => podsOf() === 0, 30_000, `the processes of ${name} to exit`);
}

export async function waitServiceReady(z: Zeno, name: string): Promise<void> {
  await waitUntil(async () => {
    const r = await z.admin('GET', `${SERVICES}/services/${name}`);
    const conds = (r.json?.status?.conditions ?? []) as { type: string; status: string }[];
    return conds.some((c) => c.type === 'Ready' && c.status === 'True');
  }, 60_000, `service ${name} to be Ready`);
}
