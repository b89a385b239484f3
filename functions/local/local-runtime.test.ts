import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { pidAlive } from '../../test/support/process.js';
import { waitFor } from '../../test/support/wait.js';
import type { FunctionRuntime, PodTemplate, RuntimeEvent } from '../runtime.js';
import { createLocalRuntime, type LocalRuntimeOptions } from './local-runtime.js';

// Real processes and sockets: every wait polls a condition with a deadline.
const here = dirname(fileURLToPath(import.meta.url));
const FIXTURES = resolve(here, '../../test/fixtures/functions');
const EXAMPLES = resolve(here, '../examples');
const SERVER = join(FIXTURES, 'server.js');
const T = 20_000;

let nextName = 1;
function template(over: Partial<PodTemplate> = {}): PodTemplate {
  const revision = `fn${nextName++}-00001`;
  return {
    id: `default/${revision}`,
    namespace: 'default',
    service: revision.replace(/-\d+$/, ''),
    configuration: revision.replace(/-\d+$/, ''),
    revision,
    command: [process.execPath, SERVER],
    args: [],
    workingDir: FIXTURES,
    env: {},
    containerPort: 8080,
    timeoutSeconds: 2,
    ...over,
  };
}

interface Harness {
  runtime: FunctionRuntime;
  events: RuntimeEvent[];
}

const open: FunctionRuntime[] = [];
function start(opts: LocalRuntimeOptions = {}): Harness {
  const runtime = createLocalRuntime(opts);
  open.push(runtime);
  const events: RuntimeEvent[] = [];
  runtime.subscribe((e) => events.push(e));
  return { runtime, events };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

function count(events: RuntimeEvent[], type: RuntimeEvent['type']): number {
  return events.filter((e) => e.type === type).length;
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url);
  return res.text();
}

describe('local runtime: readiness', () => {
  it('starts the hello example (node via PATH) and routes to it after the default TCP probe', { timeout: T }, async () => {
    const { runtime, events } = start();
    const t = template({ command: ['node', 'server.js'], workingDir: join(EXAMPLES, 'hello'), env: { TARGET: 'Zeno' } });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    expect(runtime.readyPods(t.id)).toEqual([]);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000, { message: 'pod ready' });
    const pod = runtime.readyPods(t.id)[0]!;
    expect(pod.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(pod.state).toBe('ready');
    expect(pod.pid).toBeGreaterThan(0);
    expect(events.find((e) => e.type === 'pod-ready')).toMatchObject({ revision: t.id, pod: { id: pod.id } });
    expect(await getText(`${pod.url}/anything`)).toBe('Hello Zeno!\n');
    expect(runtime.status(t.id)).toMatchObject({ desired: 1, ready: 1 });
  });

  it('the slow and python examples start and answer', { timeout: T }, async () => {
    const { runtime } = start();
    const slow = template({ command: ['node', 'server.js'], workingDir: join(EXAMPLES, 'slow') });
    const py = template({ command: ['python3', 'server.py'], workingDir: join(EXAMPLES, 'python') });
    for (const t of [slow, py]) {
      runtime.deploy(t);
      runtime.scale(t.id, 1);
    }
    await waitFor(() => runtime.readyPods(slow.id).length === 1 && runtime.readyPods(py.id).length === 1, 15_000);
    expect(await getText(`${runtime.readyPods(slow.id)[0]!.url}/?sleep=30`)).toBe('{"slept":30}\n');
    expect(await getText(`${runtime.readyPods(py.id)[0]!.url}/`)).toBe('Hello from Python!\n');
  });

  it('uses the httpGet probe: path and headers decide, not the open port', { timeout: T }, async () => {
    const { runtime } = start();
    const good = template({ readinessProbe: { httpGet: { path: '/ready', port: 8080, httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } } });
    const bad = template({ readinessProbe: { httpGet: { path: '/ready' } } }); // no header: /ready answers 503
    for (const t of [good, bad]) {
      runtime.deploy(t);
      runtime.scale(t.id, 1);
    }
    await waitFor(() => runtime.readyPods(good.id).length === 1, 10_000, { message: 'good pod ready' });
    // The bad pod listens (a TCP probe would pass) but its HTTP probe never does.
    const badPod = runtime.status(bad.id)!.pods[0]!;
    await waitFor(async () => (await fetch(`${badPod.url}/`).then((r) => r.ok, () => false)), 5_000);
    await new Promise((r) => setTimeout(r, 300)); // several 50 ms probe periods
    expect(runtime.readyPods(bad.id)).toEqual([]);
    expect(runtime.status(bad.id)!.pods[0]!.state).toBe('starting');
  });

  it('a ready pod that stops answering its probe leaves routing', { timeout: T }, async () => {
    const { runtime, events } = start();
    const t = template({
      readinessProbe: { httpGet: { path: '/ready', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] }, periodSeconds: 1, failureThreshold: 1 },
    });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
    const pod = runtime.readyPods(t.id)[0]!;
    await getText(`${pod.url}/fail`);
    await waitFor(() => count(events, 'pod-unready') === 1, 5_000, { message: 'pod-unready' });
    expect(runtime.readyPods(t.id)).toEqual([]);
    expect(pidAlive(pod.pid!)).toBe(true);
  });

  it('fails the revision with ProgressDeadlineExceeded when a pod never becomes ready', { timeout: T }, async () => {
    const clock = new FakeClock();
    const { runtime, events } = start({ clock });
    const t = template({ command: [process.execPath, join(FIXTURES, 'never-ready.js')] });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.status(t.id)!.pods[0]?.pid !== undefined, 5_000);
    clock.advance(PLATFORM_DEFAULTS.progressDeadlineMs - 1);
    expect(count(events, 'revision-failed')).toBe(0);
    clock.advance(1);
    expect(events.find((e) => e.type === 'revision-failed')).toMatchObject({ failure: { reason: 'ProgressDeadlineExceeded' } });
    expect(runtime.status(t.id)!.failure?.reason).toBe('ProgressDeadlineExceeded');
  });
});

describe('local runtime: bookkeeping', () => {
  it('deploy is idempotent, scale of an unknown revision is ignored, remove forgets', { timeout: T }, async () => {
    const { runtime } = start();
    const t = template();
    runtime.deploy(t);
    runtime.deploy({ ...t, command: ['zeno-no-such-command-xyz'] }); // same id: ignored
    expect(runtime.status(t.id)).toEqual({ desired: 0, ready: 0, pods: [] });
    expect(() => runtime.scale('default/never-deployed', 3)).not.toThrow();
    expect(runtime.status('default/never-deployed')).toBeUndefined();
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000); // the first template's command ran
    await runtime.remove(t.id);
    expect(runtime.status(t.id)).toBeUndefined();
    expect(runtime.readyPods(t.id)).toEqual([]);
    expect(runtime.logs(t.id)).toEqual([]);
  });
});

describe('local runtime: the HPA class', () => {
  it('fails a revision of the HPA class with HPAClassUnsupported and starts no pod for it', async () => {
    const { runtime, events } = start();
    const t = template({ hpa: { metric: 'cpu', minScale: 1, maxScale: 0, initialScale: 1 } });
    runtime.deploy(t);
    expect(events).toEqual([{ type: 'revision-failed', revision: t.id, failure: { reason: 'HPAClassUnsupported', message: expect.stringMatching(/--runtime kubernetes/) } }]);
    runtime.scale(t.id, 2);
    expect(runtime.status(t.id)).toMatchObject({ desired: 0, ready: 0, pods: [], failure: { reason: 'HPAClassUnsupported' } });
  });
});

describe('local runtime: environment', () => {
  it('gives PORT, K_SERVICE, K_CONFIGURATION, K_REVISION and the container env, never platform secrets', { timeout: T }, async () => {
    process.env.ZENO_SECRET = 'do-not-leak';
    try {
      const { runtime } = start();
      const t = template({ env: { GREETING: 'hi', PORT: '1' } });
      runtime.deploy(t);
      runtime.scale(t.id, 1);
      await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
      const pod = runtime.readyPods(t.id)[0]!;
      const env = JSON.parse(await getText(`${pod.url}/env`)) as Record<string, string>;
      expect(env).toMatchObject({
        PORT: new URL(pod.url).port,
        K_SERVICE: t.service,
        K_CONFIGURATION: t.configuration,
        K_REVISION: t.revision,
        GREETING: 'hi',
        PATH: process.env.PATH,
      });
      expect(env.ZENO_SECRET).toBeUndefined();
    } finally {
      delete process.env.ZENO_SECRET;
    }
  });
});

describe('local runtime: scaling and stopping', () => {
  it('scales up, then down by draining the newest pod before SIGTERM', { timeout: T }, async () => {
    const order: string[] = [];
    let releaseDrain: () => void = () => {};
    let harness!: Harness;
    harness = start({
      drain: async (podId) => {
        const logs = harness.runtime.logs(t.id).filter((l) => l.pod === podId).map((l) => l.line);
        if (order.length > 0) return; // only the scale-down is held; close() drains at once
        order.push(`drain ${podId} sigterm-seen=${logs.includes('got SIGTERM')}`);
        await new Promise<void>((r) => (releaseDrain = r));
        order.push(`drained ${podId}`);
      },
    });
    const { runtime, events } = harness;
    const t = template();
    runtime.deploy(t);
    runtime.scale(t.id, 2);
    await waitFor(() => runtime.readyPods(t.id).length === 2, 10_000, { message: 'two pods' });
    const [older, newer] = runtime.status(t.id)!.pods;
    runtime.scale(t.id, 1);
    // Out of routing at once, before the drain finishes.
    expect(runtime.readyPods(t.id).map((p) => p.id)).toEqual([older!.id]);
    expect(events.at(-1)).toMatchObject({ type: 'pod-unready', pod: { id: newer!.id, state: 'terminating' } });
    await waitFor(() => order.length === 1, 2_000, { message: 'drain called' });
    await new Promise((r) => setTimeout(r, 100));
    expect(pidAlive(newer!.pid!)).toBe(true); // still waiting for the drain: no SIGTERM yet
    releaseDrain();
    await waitFor(() => runtime.status(t.id)!.pods.length === 1, 5_000, { message: 'pod removed' });
    expect(order).toEqual([`drain ${newer!.id} sigterm-seen=false`, `drained ${newer!.id}`]);
    expect(runtime.logs(t.id).filter((l) => l.pod === newer!.id).map((l) => l.line)).toContain('got SIGTERM');
    expect(events.find((e) => e.type === 'pod-exited')).toMatchObject({ pod: { id: newer!.id }, code: 0 });
    expect(pidAlive(newer!.pid!)).toBe(false);
    expect(runtime.readyPods(t.id).map((p) => p.id)).toEqual([older!.id]);
  });

  it('a drain that never ends is cut off by the grace period', { timeout: T }, async () => {
    let aborted = false;
    const { runtime } = start({
      drain: (_podId, signal) =>
        new Promise<void>(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
    });
    const t = template({ timeoutSeconds: 1 });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
    const t0 = Date.now();
    await runtime.remove(t.id);
    expect(aborted).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(runtime.status(t.id)).toBeUndefined();
  });

  it('SIGKILLs a process that ignores SIGTERM once the grace period is over', { timeout: T }, async () => {
    const { runtime, events } = start();
    const t = template({ env: { IGNORE_SIGTERM: '1' }, timeoutSeconds: 1 });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
    const pid = runtime.readyPods(t.id)[0]!.pid!;
    const t0 = Date.now();
    runtime.scale(t.id, 0);
    await waitFor(() => count(events, 'pod-exited') === 1, 5_000, { message: 'pod exited' });
    const elapsed = Date.now() - t0;
    expect(events.find((e) => e.type === 'pod-exited')).toMatchObject({ code: null, signal: 'SIGKILL' });
    expect(runtime.logs(t.id).map((l) => l.line)).toContain('got SIGTERM');
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(3_000);
    expect(pidAlive(pid)).toBe(false);
  });
});

describe('local runtime: crashes', () => {
  it('restarts a SIGKILLed pod on a fresh port and recovers the revision', { timeout: T }, async () => {
    const { runtime, events } = start();
    const t = template();
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
    const first = runtime.readyPods(t.id)[0]!;
    process.kill(first.pid!, 'SIGKILL');
    await waitFor(() => count(events, 'pod-ready') === 2, 10_000, { message: 'ready again' });
    const types = events.map((e) => e.type);
    expect(types).toEqual(['pod-ready', 'pod-unready', 'pod-exited', 'revision-failed', 'pod-ready', 'revision-recovered']);
    expect(events[2]).toMatchObject({ type: 'pod-exited', signal: 'SIGKILL' });
    expect(events[3]).toMatchObject({ type: 'revision-failed', failure: { reason: 'ExitCode137' } });
    const again = runtime.readyPods(t.id)[0]!;
    expect(again.id).toBe(first.id);
    expect(again.restarts).toBe(1);
    expect(again.pid).not.toBe(first.pid);
    expect(await getText(`${again.url}/`)).toBe('ok\n');
    expect(runtime.status(t.id)!.failure).toBeUndefined();
  });

  it('a crash loop fails the revision with the exit code and stderr, restarting with backoff', { timeout: T }, async () => {
    const { runtime, events } = start();
    const t = template({ command: [process.execPath, join(FIXTURES, 'crasher.js')] });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => count(events, 'pod-exited') >= 3, 10_000, { message: 'three crashes' });
    expect(runtime.status(t.id)!.failure).toEqual({
      reason: 'ExitCode3',
      message: 'Container failed with: boom: cannot connect to the database',
    });
    // Same failure each time: reported once, not once per crash.
    expect(count(events, 'revision-failed')).toBe(1);
    expect(count(events, 'pod-ready')).toBe(0);
    const exits = events.filter((e) => e.type === 'pod-exited').map((e) => (e.type === 'pod-exited' ? e.code : -1));
    expect(exits.slice(0, 3)).toEqual([3, 3, 3]);
    expect(runtime.status(t.id)!.pods[0]!.restarts).toBeGreaterThanOrEqual(2);
  });

  it('the failure message has the stderr a process wrote right before exiting', { timeout: T }, async () => {
    const { runtime, events } = start();
    const script = "process.stderr.write('x'.repeat(100000) + '\\nfatal: bad config\\n'); process.exit(2)";
    const t = template({ command: [process.execPath, '-e', script] });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => count(events, 'revision-failed') === 1, 5_000);
    expect(runtime.status(t.id)!.failure).toMatchObject({ reason: 'ExitCode2' });
    expect(runtime.status(t.id)!.failure!.message).toMatch(/fatal: bad config$/);
  });

  it('backoff doubles between restarts (driven by a FakeClock)', { timeout: T }, async () => {
    const clock = new FakeClock();
    const { runtime, events } = start({ clock });
    const t = template({ command: [process.execPath, join(FIXTURES, 'crasher.js')] });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    const base = PLATFORM_DEFAULTS.restartBackoffBaseMs;
    for (const [i, delay] of [base, base * 2, base * 4].entries()) {
      await waitFor(() => count(events, 'pod-exited') === i + 1, 5_000, { message: `crash ${i + 1}` });
      clock.advance(delay - 1);
      await new Promise((r) => setTimeout(r, 50));
      expect(runtime.status(t.id)!.pods[0]!.restarts).toBe(i);
      clock.advance(1);
      await waitFor(() => runtime.status(t.id)!.pods[0]!.restarts === i + 1, 5_000);
    }
  });

  it('reports CommandNotFound when the command does not exist', { timeout: T }, async () => {
    const { runtime, events } = start();
    const t = template({ command: ['zeno-no-such-command-xyz'] });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => count(events, 'revision-failed') === 1, 5_000);
    expect(runtime.status(t.id)!.failure).toMatchObject({ reason: 'CommandNotFound' });
    expect(runtime.status(t.id)!.failure!.message).toContain('zeno-no-such-command-xyz');
  });
});

describe('local runtime: logs', () => {
  it('keeps the last logLines lines per revision with pod and stream, and streams new ones', { timeout: T }, async () => {
    const { runtime } = start({ logLines: 5 });
    const t = template({ env: { LOG_LINES: '20' } });
    runtime.deploy(t);
    const followed: string[] = [];
    const stop = runtime.followLogs(t.id, (l) => followed.push(`${l.stream}:${l.line}`));
    runtime.scale(t.id, 1);
    await waitFor(() => followed.includes('stdout:line 20'), 10_000, { message: 'all lines' });
    const podId = runtime.status(t.id)!.pods[0]!.id;
    // stdout and stderr are two pipes: their relative order is not fixed, so
    // compare with the order the lines actually arrived in.
    await waitFor(() => followed.includes('stderr:stderr hello'), 10_000, { message: 'the stderr line' });
    const logs = runtime.logs(t.id);
    expect(logs.map((l) => `${l.stream}:${l.line}`)).toEqual(followed.slice(-5));
    expect(logs.every((l) => l.pod === podId)).toBe(true);
    expect(logs.map((l) => l.line)).toContain('line 20');
    expect(runtime.logs(t.id, { tail: 2 }).map((l) => `${l.stream}:${l.line}`)).toEqual(followed.slice(-2));
    expect(followed.filter((l) => l.startsWith('stdout:line')).length).toBe(20);
    stop();
    await runtime.remove(t.id);
    expect(followed).not.toContain('stdout:got SIGTERM');
  });
});

describe('local runtime: no orphans', () => {
  it('close() stops every pod and what it forked', { timeout: T }, async () => {
    const { runtime } = start();
    const a = template({ env: { SPAWN_GRANDCHILD: '1' } });
    const b = template({ env: { IGNORE_SIGTERM: '1' }, timeoutSeconds: 1 });
    for (const t of [a, b]) {
      runtime.deploy(t);
      runtime.scale(t.id, 2);
    }
    await waitFor(() => runtime.readyPods(a.id).length === 2 && runtime.readyPods(b.id).length === 2, 10_000);
    const pids = [...runtime.readyPods(a.id), ...runtime.readyPods(b.id)].map((p) => p.pid!);
    const grandchildren = runtime
      .logs(a.id)
      .filter((l) => l.line.startsWith('grandchild '))
      .map((l) => Number(l.line.split(' ')[1]));
    expect(grandchildren).toHaveLength(2);
    for (const pid of [...pids, ...grandchildren]) expect(pidAlive(pid)).toBe(true);
    await runtime.close();
    for (const pid of pids) expect(pidAlive(pid)).toBe(false);
    await waitFor(() => grandchildren.every((p) => !pidAlive(p)), 2_000, { message: 'grandchildren gone' });
    expect(runtime.status(a.id)!.pods).toEqual([]);
    // After close nothing starts again.
    runtime.scale(a.id, 1);
    expect(runtime.status(a.id)!.pods).toEqual([]);
  });

  // SIGKILL and an unhandled SIGTERM run no JS at all (the reaper acts);
  // an uncaught exception runs the 'exit' hook.
  it.each([
    { label: 'SIGKILLed', input: 'SIGKILL' },
    { label: 'SIGTERMed without a handler', input: 'SIGTERM' },
    { label: 'crashed by an uncaught exception', input: 'crash' },
  ])('pods die when the platform process is $label', { timeout: 60_000 }, async ({ input }) => {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-orphan-'));
    let parent: ChildProcess | undefined;
    try {
      const bundle = await bundleParent(dir);
      const args = [bundle, SERVER, FIXTURES, ...(input === 'crash' ? ['crash'] : [])];
      parent = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      const line = await firstLine(parent, 15_000);
      const { pod, grandchild } = JSON.parse(line) as { pod: number; grandchild: number };
      expect(pidAlive(pod)).toBe(true);
      expect(pidAlive(grandchild)).toBe(true);
      if (input !== 'crash') parent.kill(input as NodeJS.Signals);
      await waitFor(() => !pidAlive(pod) && !pidAlive(grandchild), 3_000, { message: 'pod and grandchild gone' });
    } finally {
      parent?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The parent imports TypeScript, which node 20 cannot run: bundle it with rolldown (vite's bundler). */
async function bundleParent(dir: string): Promise<string> {
  const { rolldown } = await import('rolldown');
  const bundle = await rolldown({
    input: join(FIXTURES, 'platform-parent.ts'),
    platform: 'node',
    resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
    logLevel: 'silent',
  });
  const file = join(dir, 'platform-parent.mjs');
  await bundle.write({ file, format: 'esm' });
  await bundle.close();
  return file;
}

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('parent printed nothing')), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolveLine(buf.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`parent exited early with ${code}`));
    });
  });
}
