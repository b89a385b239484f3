import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { pidAlive } from '../../test/support/process.js';
import { waitFor } from '../../test/support/wait.js';
import { nodeRuntimeEntry } from '../node/index.js';
import type { FunctionRuntime, PodTemplate } from '../runtime.js';
import { createLocalRuntime } from './local-runtime.js';
import { specialize, WarmPool } from './warm-pool.js';

// Real processes of the built runtime (dist/, `npm run build`): every wait polls with a deadline.
const here = dirname(fileURLToPath(import.meta.url));
const DATA = resolve(here, '../node/testdata');
const ECHO = join(DATA, 'echo.mjs');
const T = 20_000;

let seq = 1;
function nodeTemplate(over: Partial<PodTemplate> = {}): PodTemplate {
  const revision = `warm${seq++}-00001`;
  return {
    id: `default/${revision}`,
    namespace: 'default',
    service: revision.replace(/-\d+$/, ''),
    configuration: revision.replace(/-\d+$/, ''),
    revision,
    command: ['node', nodeRuntimeEntry()],
    args: [ECHO],
    workingDir: DATA,
    env: {},
    containerPort: 8080,
    timeoutSeconds: 2,
    ...over,
  };
}

const open: FunctionRuntime[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function withPool(size = 2): Promise<{ runtime: FunctionRuntime; pool: () => WarmPool }> {
  let pool: WarmPool | undefined;
  const runtime = createLocalRuntime({ warmPoolSize: size, onWarmPool: (p) => (pool = p) });
  open.push(runtime);
  return { runtime, pool: () => pool! };
}

async function readyPod(runtime: FunctionRuntime, t: PodTemplate): Promise<{ url: string; pid: number }> {
  await waitFor(() => runtime.readyPods(t.id).length > 0, T, { message: `${t.revision} ready` });
  const pod = runtime.readyPods(t.id)[0]!;
  return { url: pod.url, pid: pod.pid! };
}

interface Echo {
  pid: number;
  revision: string;
  secret: string | null;
  leak: string | null;
  channelEnv: string[];
  ipc: boolean;
  port: string | null;
  cwd: string;
  argv: string[];
}

async function echo(url: string): Promise<Echo> {
  const res = await fetch(`${url}/who`);
  expect(res.status).toBe(200);
  return (await res.json()) as Echo;
}

describe('warm pool of Node runtime processes (real processes)', () => {
  it('fills to its size at the first Node-runtime deploy, not before', async () => {
    const { runtime, pool } = await withPool(2);
    expect(pool()).toBeUndefined();
    runtime.deploy(nodeTemplate());
    await waitFor(() => pool().bootedCount() === 2, T, { message: 'two booted warm processes' });
    expect(pool().pids()).toHaveLength(2);
    for (const pid of pool().pids()) expect(pidAlive(pid)).toBe(true);
  }, T);

  it('a scale-from-zero specializes a warm process, which serves that revision with its env, and the pool refills', async () => {
    const { runtime, pool } = await withPool(2);
    const t = nodeTemplate({ env: { SECRET: 'a-secret' } });
    runtime.deploy(t);
    await waitFor(() => pool().bootedCount() === 2, T, { message: 'pool full' });
    const before = pool().pids();
    runtime.scale(t.id, 1);
    const pod = await readyPod(runtime, t);
    expect(before).toContain(pod.pid);
    const e = await echo(pod.url);
    expect(e.pid).toBe(pod.pid);
    // The pod's port is the one the warm process listened on all along, and PORT says so.
    expect(e).toMatchObject({ revision: t.revision, secret: 'a-secret', cwd: DATA, argv: [ECHO], port: new URL(pod.url).port });
    // Refilled with a new process; the specialized one never goes back.
    await waitFor(() => pool().bootedCount() === 2, T, { message: 'pool refilled' });
    expect(pool().pids()).not.toContain(pod.pid);
  }, T);

  it('onWarmListening: the URL of each warm process as it joins the pool, which the pod that takes it keeps', async () => {
    const { runtime, pool } = await withPool(2);
    const urls: string[] = [];
    runtime.onWarmListening!((url) => urls.push(url));
    const t = nodeTemplate();
    runtime.deploy(t);
    await waitFor(() => pool().bootedCount() === 2, T, { message: 'pool full' });
    expect(urls).toHaveLength(2);
    expect(new Set(urls).size).toBe(2);
    runtime.scale(t.id, 1);
    const pod = await readyPod(runtime, t);
    expect(urls).toContain(pod.url);
    // The refill's process is announced too.
    await waitFor(() => urls.length === 3, T, { message: 'the refill announced' });
    expect(urls.slice(0, 2)).not.toContain(urls[2]);
  }, T);

  it('isolation: a specialized process serves one revision only, and one revision sees none of another\'s env or the platform\'s', async () => {
    process.env.ZENO_TEST_LEAK = 'platform-only';
    try {
      const { runtime, pool } = await withPool(2);
      const a = nodeTemplate({ env: { SECRET: 'only-a' } });
      const b = nodeTemplate();
      runtime.deploy(a);
      runtime.deploy(b);
      await waitFor(() => pool().bootedCount() === 2, T, { message: 'pool full' });
      const warmPids = pool().pids();
      runtime.scale(a.id, 1);
      const podA = await readyPod(runtime, a);
      runtime.scale(b.id, 1);
      const podB = await readyPod(runtime, b);
      expect(warmPids).toContain(podA.pid);
      expect(warmPids).toContain(podB.pid);
      expect(podB.pid).not.toBe(podA.pid);
      const ea = await echo(podA.url);
      const eb = await echo(podB.url);
      expect(ea).toMatchObject({ revision: a.revision, secret: 'only-a', leak: null, channelEnv: [] });
      expect(eb).toMatchObject({ revision: b.revision, secret: null, leak: null });
      // Scaling A to zero and back takes yet another process: A's old one is gone, never reused.
      runtime.scale(a.id, 0);
      await waitFor(() => (runtime.status(a.id)?.pods.length ?? 1) === 0, T, { message: 'a at zero' });
      await waitFor(() => !pidAlive(podA.pid), T, { message: 'a\'s process gone' });
      expect(pool().pids()).not.toContain(podA.pid);
    } finally {
      delete process.env.ZENO_TEST_LEAK;
    }
  }, T);

  it('a crash restart takes a fresh warm process', async () => {
    const { runtime, pool } = await withPool(2);
    const t = nodeTemplate();
    runtime.deploy(t);
    await waitFor(() => pool().bootedCount() === 2, T, { message: 'pool full' });
    runtime.scale(t.id, 1);
    const first = await readyPod(runtime, t);
    await waitFor(() => pool().bootedCount() === 2, T, { message: 'pool refilled' });
    const warmBefore = pool().pids();
    await fetch(`${first.url}/exit`).catch(() => undefined);
    await waitFor(() => {
      const p = runtime.readyPods(t.id)[0];
      return p !== undefined && p.pid !== first.pid;
    }, T, { message: 'restarted pod ready' });
    const second = runtime.readyPods(t.id)[0]!;
    expect(second.restarts).toBe(1);
    expect(warmBefore).toContain(second.pid);
    expect((await echo(second.url)).revision).toBe(t.revision);
  }, T);

  it('readiness of a pooled pod with the default probe is its handler loaded, not its pre-bound port; an early request waits for the handler', async () => {
    const { runtime, pool } = await withPool(1);
    const t = nodeTemplate({ args: [join(DATA, 'slow-load.mjs')], env: { LOAD_MS: '400' } });
    runtime.deploy(t);
    await waitFor(() => pool().bootedCount() === 1, T, { message: 'pool full' });
    let listening: { at: number; url: string; readyThen: number } | undefined;
    let readyAt = 0;
    const early: Promise<string>[] = [];
    runtime.subscribe((e) => {
      if (e.revision !== t.id) return;
      if (e.type === 'pod-listening') {
        expect(e.holdsRequests).toBe(true);
        listening = { at: performance.now(), url: e.pod.url, readyThen: runtime.readyPods(t.id).length };
        // What the gateway may do now: connect, and send (holdsRequests): the pod holds it for the handler.
        early.push(fetch(`${e.pod.url}/early`).then((r) => r.text()));
      }
      if (e.type === 'pod-ready') readyAt = performance.now();
    });
    runtime.scale(t.id, 1);
    const pod = await readyPod(runtime, t);
    expect(listening).toBeDefined();
    expect(listening!.url).toBe(pod.url);
    expect(listening!.readyThen).toBe(0);
    // A TCP probe would pass within milliseconds on the socket bound since warm-up.
    expect(readyAt - listening!.at).toBeGreaterThanOrEqual(350);
    expect(await early[0]).toBe(`loaded /early ${t.revision}`);
  }, T);

  it('a pooled handler that fails to load fails the revision with the same clear message as a spawned one', async () => {
    const { runtime, pool } = await withPool(1);
    const t = nodeTemplate({ args: [join(DATA, 'bad-shape.mjs')] });
    runtime.deploy(t);
    await waitFor(() => pool().bootedCount() === 1, T, { message: 'pool full' });
    const warm = pool().pids();
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.status(t.id)?.failure !== undefined, T, { message: 'the revision to fail' });
    const f = runtime.status(t.id)!.failure!;
    expect(f.message).toContain('export default');
    expect(f.message).toContain('cannot load handler');
    expect(runtime.readyPods(t.id)).toHaveLength(0);
    expect(warm.every((pid) => !pool().pids().includes(pid))).toBe(true);
  }, T);

  it('a user readiness probe on a pooled pod is still probed (httpGet decides)', async () => {
    const { runtime, pool } = await withPool(1);
    const t = nodeTemplate({ readinessProbe: { httpGet: { path: '/who' }, periodSeconds: 1 } });
    runtime.deploy(t);
    await waitFor(() => pool().bootedCount() === 1, T, { message: 'pool full' });
    const warm = pool().pids();
    runtime.scale(t.id, 1);
    const pod = await readyPod(runtime, t);
    expect(warm).toContain(pod.pid);
    expect((await echo(pod.url)).revision).toBe(t.revision);
  }, T);

  it('other commands and warmPoolSize 0 spawn as before', async () => {
    const { runtime, pool } = await withPool(0);
    const t = nodeTemplate();
    runtime.deploy(t);
    expect(pool()).toBeUndefined();
    runtime.scale(t.id, 1);
    const pod = await readyPod(runtime, t);
    expect((await echo(pod.url)).revision).toBe(t.revision);
  }, T);

  it('a spawned Node runtime (no pool) is ready when it says so over IPC, not at a probe tick, and then has no channel', async () => {
    // The clock never moves: a TCP probe would try once at spawn (refused) and never again.
    const clock = new FakeClock();
    const runtime = createLocalRuntime({ warmPoolSize: 0, clock });
    open.push(runtime);
    const t = nodeTemplate();
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    const pod = await readyPod(runtime, t);
    const e = await echo(pod.url);
    expect(e).toMatchObject({ revision: t.revision, channelEnv: [], ipc: false });
    // A user's readiness probe is probed as usual: with the clock frozen it never passes.
    const probed = nodeTemplate({ readinessProbe: { tcpSocket: {}, periodSeconds: 1 } });
    runtime.deploy(probed);
    runtime.scale(probed.id, 1);
    let answered = false;
    await waitFor(async () => {
      const url = runtime.status(probed.id)?.pods[0]?.url;
      if (url) answered = (await fetch(`${url}/who`).catch(() => undefined))?.status === 200;
      return answered;
    }, T, { message: 'the probed pod to answer' });
    // It serves, but only its probe can make it ready, and no probe tick comes.
    expect(runtime.readyPods(probed.id)).toHaveLength(0);
  }, T);

  it('sends each booted process one zeno-exercise, before any specialization, and hands it over after', async () => {
    // A stand-in for the runtime: says zeno-warm, then appends every message it gets to a file.
    const dir = mkdtempSync(join(tmpdir(), 'zeno-warm-exercise-'));
    try {
      const entry = join(dir, 'entry.cjs');
      const record = join(dir, 'messages');
      writeFileSync(record, '');
      writeFileSync(entry, `
        const { appendFileSync } = require('node:fs');
        process.on('message', (m) => appendFileSync(process.env.RECORD, JSON.stringify(m) + '\\n'));
        process.send({ type: 'zeno-warm', port: 4321 });
        setInterval(() => {}, 1000);
      `);
      const pool = new WarmPool({ size: 1, entry, host: '127.0.0.1', env: { RECORD: record }, guard: { track() {}, untrack() {} } });
      try {
        pool.start();
        const messages = (): { type: string }[] => readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string });
        await waitFor(() => messages().length > 0, T, { message: 'a message in the warm process' });
        expect(pool.bootedCount()).toBe(1);
        const taken = pool.take()!;
        expect(taken.port).toBe(4321);
        expect(specialize(taken.child, { args: ['h.mjs'], cwd: dir, env: {} })).toBe(true);
        await waitFor(() => messages().length === 2, T, { message: 'the specialization to arrive' });
        expect(messages().map((m) => m.type)).toEqual(['zeno-exercise', 'zeno-specialize']);
        taken.child.kill('SIGKILL');
      } finally {
        await pool.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, T);

  it('warm processes die with the platform, even on SIGKILL (orphan guard)', async () => {
    const runtimeUrl = pathToFileURL(join(here, '../../dist/functions/local/local-runtime.js')).href;
    const script = `
      const { createLocalRuntime } = await import(${JSON.stringify(runtimeUrl)});
      const rt = createLocalRuntime({ warmPoolSize: 2, onWarmPool: (p) => {
        const t = setInterval(() => { if (p.bootedCount() === 2) { clearInterval(t); console.log('PIDS ' + p.pids().join(',')); } }, 10);
      } });
      rt.deploy(${JSON.stringify(nodeTemplate())});
      setInterval(() => {}, 1000);
    `;
    const platform = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    platform.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    await waitFor(() => out.includes('PIDS '), T, { message: 'the platform to report its pool' });
    const pids = out.split('PIDS ')[1]!.trim().split(',').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
    platform.kill('SIGKILL');
    await waitFor(() => pids.every((pid) => !pidAlive(pid)), T, { message: 'warm processes gone' });
  }, T);
});
