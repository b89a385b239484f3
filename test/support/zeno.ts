import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pidAlive } from './process.js';
import { waitFor } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');

/**
 * This test file's own TMPDIR, handed to every `zeno up` it starts. Pods and
 * ContainerSource processes inherit TMPDIR (functions/local/pod-env.ts), so
 * pidsWithEnv can tell this run's processes from those of another test run on
 * the same machine that uses the same revision names.
 */
export const RUN_TMPDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-run-'));

export function tempDir(prefix = 'zeno-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `zeno` CLI (the built one, as users run it). */
export function runCli(args: string[], dataDir: string, opts: { timeoutMs?: number; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ZENO_DATA_DIR: dataDir, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningZeno {
  proc: ChildProcess;
  dataDir: string;
  gatewayUrl: string;
  adminUrl: string;
  token: string;
  output: () => string;
  /** Admin API call with the token. */
  admin(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** Starts `zeno up` as a real process on free ports and waits until /healthz answers. */
export async function startZeno(opts: { dataDir?: string; configFile?: string; extraArgs?: string[]; env?: Record<string, string> } = {}): Promise<RunningZeno> {
  const dataDir = opts.dataDir ?? tempDir();
  for (const f of ['admin-url', 'gateway-url', 'token']) fs.rmSync(path.join(dataDir, f), { force: true });
  const args = [CLI, 'up', '--port', '0', '--admin-port', '0', '--data-dir', dataDir];
  if (opts.configFile) args.push('--config', opts.configFile);
  args.push(...(opts.extraArgs ?? []));
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: RUN_TMPDIR, ZENO_TEST_SECRET: 'platform-only', ...opts.env } });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  proc.on('exit', () => (exited = true));
  const read = (f: string) => fs.readFileSync(path.join(dataDir, f), 'utf8').trim();
  let gatewayUrl: string, adminUrl: string, token: string;
  try {
    await waitFor(() => {
      if (exited) throw new Error(`zeno up exited early:\n${out}`);
      return fs.existsSync(path.join(dataDir, 'gateway-url'));
    }, 20_000, { message: 'zeno up to write gateway-url' });
    gatewayUrl = read('gateway-url');
    adminUrl = read('admin-url');
    token = read('token');
    await waitFor(async () => (await fetch(`${gatewayUrl}/healthz`).catch(() => undefined))?.status === 200, 30_000, { message: 'gateway /healthz' });
  } catch (e) {
    // The caller gets no handle to stop it with: never leave it running.
    if (!exited) proc.kill('SIGKILL');
    throw e;
  }
  const z: RunningZeno = {
    proc,
    dataDir,
    gatewayUrl,
    adminUrl,
    token,
    output: () => out,
    async admin(method, p, body) {
      const res = await fetch(`${adminUrl}${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: res.status, json };
    },
    async stop() {
      if (exited) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
    },
    async kill() {
      if (exited) return;
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await done;
    },
  };
  return z;
}

export { pidAlive } from './process.js';

/**
 * Pids of this test file's processes (started under a `zeno up` of
 * startZeno: TMPDIR is RUN_TMPDIR) whose environment has name=value, e.g.
 * the runtime contract's K_REVISION. Orphans count too: they keep TMPDIR.
 */
export function pidsWithEnv(name: string, value: string): number[] {
  const out: number[] = [];
  const ours = `TMPDIR=${RUN_TMPDIR}`;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const env = fs.readFileSync(`/proc/${d}/environ`, 'utf8');
      const vars = env.split('\0');
      if (vars.includes(`${name}=${value}`) && vars.includes(ours) && pidAlive(Number(d))) out.push(Number(d));
    } catch {
      // gone or not ours
    }
  }
  return out;
}

export function writeYaml(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

export interface ServiceOptions {
  annotations?: Record<string, string>;
  env?: Record<string, string>;
  templateName?: string;
  cc?: number;
  /** Extra lines for `spec.template.spec`, indented by 6 spaces, e.g. `timeoutSeconds: 1`. */
  spec?: string[];
  /** The process: default the hello example. */
  command?: string[];
  workingDir?: string;
}

/** A Knative Service YAML running a local command (default: the hello example). */
export function serviceYaml(name: string, opts: ServiceOptions = {}): string {
  const ann = Object.entries(opts.annotations ?? {}).map(([k, v]) => `        ${k}: "${v}"`).join('\n');
  const env = Object.entries(opts.env ?? {}).map(([k, v]) => `            - name: ${k}\n              value: "${v}"`).join('\n');
  const extra = (opts.spec ?? []).map((l) => `      ${l}\n`).join('');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    metadata:
${opts.templateName ? `      name: ${opts.templateName}\n` : ''}      annotations:
${ann || '        zeno.dev/test: "true"'}
    spec:
      containerConcurrency: ${opts.cc ?? 0}
${extra}      containers:
        - image: ghcr.io/zeno/hello:latest
          command: ${JSON.stringify(opts.command ?? ['node', 'server.js'])}
          workingDir: ${opts.workingDir ?? path.join(ROOT, 'functions/examples/hello')}
${env ? `          env:\n${env}\n` : ''}`;
}

/** The hello example as a Knative Service. */
export const helloService = (name: string, opts: Omit<ServiceOptions, 'command' | 'workingDir'> = {}): string => serviceYaml(name, opts);

/** config-autoscaler with the shortest windows Knative allows, so scale-to-zero takes seconds. */
export const FAST_AUTOSCALER = `apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "6s"
  scale-to-zero-grace-period: "1s"
  allow-zero-initial-scale: "true"
`;

export interface SimpleResponse {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  body: string;
  /** The body's bytes as received. */
  raw: Buffer;
}

/** A plain HTTP call where the Host header can be set (fetch forbids it). */
export function httpCall(url: string, opts: { method?: string; host?: string; body?: string | Buffer; headers?: Record<string, string>; chunked?: boolean } = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.host) headers.host = opts.host;
    if (opts.body !== undefined && !opts.chunked) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'), headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString(), raw });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

export interface RunningReplica {
  proc: ChildProcess;
  gatewayUrl: string;
  replicaId: string;
  output: () => string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Starts `zeno up --role gateway` against a running control plane (its
 * token through --token-file) on a free port, and waits until the replica
 * says it routes by a snapshot (/readyz).
 */
export async function startReplica(control: RunningZeno, extraArgs: string[] = []): Promise<RunningReplica> {
  const args = [CLI, 'up', '--role', 'gateway', '--port', '0', '--control-url', control.adminUrl, '--token-file', path.join(control.dataDir, 'token'), ...extraArgs];
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  proc.on('exit', () => (exited = true));
  let gatewayUrl = '';
  let replicaId = '';
  try {
    await waitFor(() => {
      if (exited) throw new Error(`zeno up --role gateway exited early:\n${out}`);
      gatewayUrl = /gateway:\s+(http:\/\/\S+)/.exec(out)?.[1] ?? '';
      replicaId = /replica:\s+(\S+)/.exec(out)?.[1] ?? '';
      return gatewayUrl !== '' && replicaId !== '';
    }, 20_000, { message: 'the replica to print its gateway URL' });
    await waitFor(async () => (await fetch(`${gatewayUrl}/readyz`).catch(() => undefined))?.status === 200, 20_000, { message: 'replica /readyz' });
  } catch (e) {
    if (!exited) proc.kill('SIGKILL');
    throw e;
  }
  const signal = async (sig: NodeJS.Signals) => {
    if (exited) return;
    const done = new Promise((r) => proc.once('exit', r));
    proc.kill(sig);
    await done;
  };
  return { proc, gatewayUrl, replicaId, output: () => out, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}
