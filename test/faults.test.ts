/**
 * Fault injection (issue 9, item 1): each test breaks something real while
 * requests or events flow, and asserts that nothing the platform accepted
 * was lost and that every refusal carries a code.
 *
 * SIGKILL of the platform itself during event flow and async calls is
 * covered where those features are tested: test/eventing.test.ts
 * ("durability") and test/async.test.ts ("…killed with SIGKILL and
 * restarted"). docs/reliability.md lists every guarantee and its test.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, pidsWithEnv, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';
import { request, runLoad, summarize, type Outcome } from './support/load.js';
import { waitFor } from './support/wait.js';
import { brokerWithTriggerYaml, EventIdSink } from './support/event-sink.js';

const SLOW_DIR = path.join(ROOT, 'functions/examples/slow');
const NATS_SERVER = process.env.ZENO_NATS_SERVER ?? '/usr/sbin/nats-server';

describe('function pods fail under load', () => {
  let zeno: RunningZeno;
  let work: string;
  beforeAll(async () => {
    zeno = await startZeno({ extraArgs: ['--warm-pool', '0'] });
    work = tempDir('zeno-faults-');
  });
  afterAll(async () => {
    await zeno?.stop();
  });

  it('SIGKILL of a pod fails only the requests in flight on it; queued ones go to the other pod', async () => {
    // Two pods of two slots each, twelve clients: most requests wait in the
    // activator's queue, so some are handed to the dying pod after it died.
    const f = writeYaml(work, 'victim.yaml', serviceYaml('victim', {
      annotations: { 'autoscaling.knative.dev/min-scale': '2', 'autoscaling.knative.dev/max-scale': '2' },
      cc: 2,
      command: ['node', 'server.js'],
      workingDir: SLOW_DIR,
    }));
    const applied = await runCli(['apply', '-f', f], zeno.dataDir);
    expect(applied.code, applied.stderr).toBe(0);
    await waitFor(() => pidsWithEnv('K_REVISION', 'victim-00001').length === 2, 20_000, { message: 'two pods' });
    const [victim] = pidsWithEnv('K_REVISION', 'victim-00001');

    let killedAt = 0;
    let stop = false;
    const seen: Outcome[] = [];
    const load = runLoad({ url: `${zeno.gatewayUrl}/?sleep=40`, host: 'victim.default.localhost', concurrency: 12, until: () => stop, into: seen });
    await waitFor(() => seen.length >= 40, 20_000, { message: 'load flowing' });
    killedAt = Date.now();
    process.kill(victim!, 'SIGKILL');
    // Keep the load on while the runtime notices and replaces the pod.
    await waitFor(() => {
      const pids = pidsWithEnv('K_REVISION', 'victim-00001');
      return pids.length === 2 && !pids.includes(victim!);
    }, 20_000, { message: 'the pod replaced' });
    await waitFor(() => seen.filter((o) => o.startedAt >= killedAt).length >= 40, 20_000, { message: 'load after the kill' });
    stop = true;
    const outcomes = await load;

    const failed = outcomes.filter((o) => o.status !== 200);
    const before = outcomes.filter((o) => o.startedAt < killedAt);
    const after = outcomes.filter((o) => o.startedAt >= killedAt);
    expect(before.length).toBeGreaterThanOrEqual(40);
    expect(after.length).toBeGreaterThanOrEqual(40);
    // Everything sent after the kill was answered by a live pod.
    expect(summarize(after)).toEqual({ '200': after.length });
    // At most the dead pod's two slots were in flight on it, answered 502 with a code.
    expect(failed.length).toBeLessThanOrEqual(2);
    for (const o of failed) {
      expect(o.startedAt).toBeLessThan(killedAt);
      expect(o.status).toBe(502);
      expect(o.code).toBe('ZENO_ERR_UPSTREAM_FAILED');
    }
  }, 60_000);

  it('a hanging function answers 504 with a code at timeoutSeconds, and frees its slot; others stay fast', async () => {
    const f = writeYaml(work, 'hang.yaml', [
      serviceYaml('hang', {
        annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' },
        cc: 1,
        spec: ['timeoutSeconds: 2'],
        command: ['node', 'server.js'],
        workingDir: SLOW_DIR,
      }),
      serviceYaml('quick', { annotations: { 'autoscaling.knative.dev/min-scale': '1' } }),
    ].join('---\n'));
    const applied = await runCli(['apply', '-f', f], zeno.dataDir);
    expect(applied.code, applied.stderr).toBe(0);

    // Ten calls that would sleep ten minutes: one holds the only slot, nine queue.
    const started = Date.now();
    const hanging = Promise.all(Array.from({ length: 10 }, () => request({ url: `${zeno.gatewayUrl}/?sleep=600000`, host: 'hang.default.localhost' })));
    // Meanwhile another function answers at once, again and again.
    let stop = false;
    const others = runLoad({ url: `${zeno.gatewayUrl}/`, host: 'quick.default.localhost', concurrency: 4, until: () => stop });
    const hung = await hanging;
    stop = true;
    const quick = await others;

    for (const o of hung) {
      expect(o.status).toBe(504);
      expect(o.code).toBe('ZENO_ERR_REQUEST_TIMEOUT');
      // timeoutSeconds bounds queueing plus the response (Knative's revision timeout).
      expect(o.endedAt - started).toBeLessThan(10_000);
    }
    expect(quick.length).toBeGreaterThan(20);
    expect(summarize(quick)).toEqual({ '200': quick.length });
    // The gateway gave the slot back when it gave up: the next call runs.
    const next = await request({ url: `${zeno.gatewayUrl}/?sleep=0`, host: 'hang.default.localhost' });
    expect(next.status).toBe(200);
  }, 60_000);

  it('requests for a function that never becomes ready fail at its progress deadline with a code, not at their timeout', async () => {
    const f = writeYaml(work, 'never.yaml', serviceYaml('never', {
      annotations: { 'serving.knative.dev/progress-deadline': '3s' },
      command: ['node', 'never-ready.js'],
      workingDir: path.join(ROOT, 'test/fixtures/functions'),
    }));
    const applied = await runCli(['apply', '-f', f, '--no-wait'], zeno.dataDir);
    expect(applied.code, applied.stderr).toBe(0);
    const started = Date.now();
    // timeoutSeconds is the default 300: these would wait five minutes without the deadline.
    const rs = await Promise.all(Array.from({ length: 5 }, () => request({ url: `${zeno.gatewayUrl}/`, host: 'never.default.localhost' })));
    for (const r of rs) {
      expect(r.status).toBe(503);
      expect(r.code).toBe('ZENO_ERR_REVISION_FAILED');
      expect(r.endedAt - started).toBeLessThan(15_000);
    }
    // The next one fails at once while the revision is failed.
    const again = await request({ url: `${zeno.gatewayUrl}/`, host: 'never.default.localhost' });
    expect(again.status).toBe(503);
    expect(again.code).toBe('ZENO_ERR_REVISION_FAILED');
    expect(again.endedAt - again.startedAt).toBeLessThan(1_000);
    const rev = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/never-00001')).json;
    const ready = rev.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    // An invalid deadline is refused at apply time, naming the field.
    const bad = writeYaml(work, 'bad-deadline.yaml', serviceYaml('bad-deadline', { annotations: { 'serving.knative.dev/progress-deadline': 'soon' } }));
    const refused = await runCli(['apply', '-f', bad], zeno.dataDir);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('serving.knative.dev/progress-deadline');
  }, 60_000);
});

/** A free TCP port on loopback (listen on 0, then close). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A private nats-server with JetStream and its own store dir, restartable on the same port. */
class PrivateNats {
  proc: ChildProcess | undefined;
  constructor(readonly port: number, readonly storeDir: string) {}
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }
  async start(): Promise<void> {
    const p = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir], { stdio: 'ignore' });
    this.proc = p;
    await waitFor(() => new Promise<boolean>((resolve) => {
      const c = net.connect(this.port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    }), 10_000, { message: 'nats-server listening' });
  }
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }
}

/** Posts events numbered from `from` one loop per `concurrency`, until stopped; records each id's answer. */
async function produce(url: string, prefix: string, concurrency: number, until: () => boolean, answers: Map<string, Outcome>): Promise<void> {
  let n = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (!until()) {
      const id = `${prefix}-${n++}`;
      answers.set(id, await request({ url, agent, body: `{"id":"${id}"}`, headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-type': 'com.example.fault', 'ce-source': '/faults', 'content-type': 'application/json' } }));
      // Producers back off on a refusal, as Retry-After asks.
      if (answers.get(id)!.status !== 202) await new Promise((r) => setTimeout(r, 50));
    }
  }));
  agent.destroy();
}

describe.skipIf(!fs.existsSync(NATS_SERVER))(`NATS restarted under load (needs ${NATS_SERVER})`, () => {
  it('every event answered 202 is delivered after NATS comes back; while it is down ingress answers 503 with Retry-After and a code', async () => {
    const work = tempDir('zeno-faults-nats-');
    const nats = new PrivateNats(await freePort(), path.join(work, 'jetstream'));
    await nats.start();
    const sink = await new EventIdSink().start();
    const zeno = await startZeno({ extraArgs: ['--nats', nats.url, '--warm-pool', '0'] });
    const answers = new Map<string, Outcome>();
    try {
      const applied = await runCli(['apply', '-f', writeYaml(work, 'broker.yaml', brokerWithTriggerYaml(sink.url))], zeno.dataDir);
      expect(applied.code, applied.stderr).toBe(0);
      await waitFor(async () => (await zeno.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers/t')).json.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), 10_000, { message: 'trigger Ready' });
      let stop = false;
      const producing = produce(`${zeno.gatewayUrl}/brokers/default/b`, 'nats', 4, () => stop, answers);
      await waitFor(() => sink.arrivals.length >= 50, 20_000, { message: 'events flowing' });
      await nats.kill();
      const downAt = Date.now();
      // Ingress notices and refuses while NATS is down.
      await waitFor(() => [...answers.values()].filter((o) => o.startedAt > downAt && o.status === 503).length >= 5, 20_000, { message: '503s while NATS is down' });
      await nats.start();
      const upAt = Date.now();
      await waitFor(() => [...answers.values()].filter((o) => o.startedAt > upAt + 500 && o.status === 202).length >= 50, 30_000, { message: '202s again after NATS is back' });
      stop = true;
      await producing;

      const accepted = [...answers].filter(([, o]) => o.status === 202).map(([id]) => id);
      const refused = [...answers.values()].filter((o) => o.status !== 202);
      expect(refused.length).toBeGreaterThan(0);
      for (const o of refused) {
        expect(o.status, JSON.stringify(o)).toBe(503);
        expect(o.code).toBe('ZENO_ERR_NATS_UNAVAILABLE');
        expect(o.retryAfter).toMatch(/^\d+$/);
      }
      await waitFor(() => {
        const got = sink.ids;
        return accepted.every((id) => got.has(id));
      }, 60_000, { message: `every accepted event delivered (${accepted.length})` });
      expect(accepted.length).toBeGreaterThan(100);
    } finally {
      await zeno.stop();
      await nats.kill();
      await sink.close();
    }
  }, 120_000);
});

/** Whether this process may mount a tmpfs (root on Linux): the storage faults need a small, real filesystem. */
function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const dir = tempDir('zeno-mount-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function mountTmpfs(dir: string, options: string): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
}

function umount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  }
}

/** Writes zeros to `file` until the filesystem says ENOSPC. */
function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

describe.skipIf(!canMount())('storage faults (tmpfs data dirs; needs root and mount)', () => {
  it('a full disk: ingress answers 507 with a code and Retry-After, never 202-then-lose; every 202 is delivered once space is back', async () => {
    const work = tempDir('zeno-faults-full-');
    const data = path.join(work, 'data');
    mountTmpfs(data, 'size=8m');
    const sink = await new EventIdSink().start();
    let zeno: RunningZeno | undefined;
    try {
      zeno = await startZeno({ dataDir: data, extraArgs: ['--warm-pool', '0'] });
      const manifests = brokerWithTriggerYaml(sink.url) + '---\n' + serviceYaml('later', { annotations: { 'autoscaling.knative.dev/min-scale': '1' } });
      const applied = await runCli(['apply', '-f', writeYaml(work, 'all.yaml', manifests)], zeno.dataDir);
      expect(applied.code, applied.stderr).toBe(0);
      const z = zeno;
      await waitFor(async () => (await z.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers/t')).json.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), 10_000, { message: 'trigger Ready' });

      const answers = new Map<string, Outcome>();
      let stop = false;
      const producing = produce(`${zeno.gatewayUrl}/brokers/default/b`, 'full', 2, () => stop, answers);
      await waitFor(() => sink.arrivals.length >= 20, 20_000, { message: 'events flowing' });
      const filler = path.join(data, 'filler');
      fillDisk(filler);
      const fullAt = Date.now();
      await waitFor(() => [...answers.values()].filter((o) => o.startedAt > fullAt && o.status === 507).length >= 5, 20_000, { message: '507s while the disk is full' });
      // An async call is refused the same way: it was not recorded.
      const call = await request({ url: `${zeno.gatewayUrl}/async-function/later`, body: 'x' });
      expect(call.status).toBe(507);
      expect(call.code).toBe('ZENO_ERR_STORAGE_FULL');
      expect((await request({ url: `${zeno.gatewayUrl}/healthz` })).status).toBe(200);

      fs.rmSync(filler);
      const freedAt = Date.now();
      await waitFor(() => [...answers.values()].filter((o) => o.startedAt > freedAt && o.status === 202).length >= 20, 30_000, { message: '202s again once space is back' });
      stop = true;
      await producing;

      const accepted = [...answers].filter(([, o]) => o.status === 202).map(([id]) => id);
      for (const o of answers.values()) {
        if (o.status === 202) continue;
        expect(o.status, JSON.stringify(o)).toBe(507);
        expect(o.code).toBe('ZENO_ERR_STORAGE_FULL');
        expect(o.retryAfter).toMatch(/^\d+$/);
      }
      await waitFor(() => {
        const got = sink.ids;
        return accepted.every((id) => got.has(id));
      }, 60_000, { message: `every accepted event delivered (${accepted.length})` });
      // The platform lived through it.
      expect(zeno.proc.exitCode).toBe(null);
    } finally {
      await zeno?.stop();
      await sink.close();
      umount(data);
    }
  }, 120_000);

  it('zeno up on a read-only data dir exits with one line naming it and its code, starting nothing', async () => {
    const work = tempDir('zeno-faults-ro-');
    const data = path.join(work, 'data');
    mountTmpfs(data, 'size=8m');
    try {
      // A data dir that was used, then became read-only (a remount after disk errors).
      const z = await startZeno({ dataDir: data, extraArgs: ['--warm-pool', '0'] });
      await z.stop();
      execFileSync('mount', ['-o', 'remount,ro', data]);
      const r = await runCli(['up', '--port', '0', '--admin-port', '0', '--data-dir', data], data, { timeoutMs: 20_000 });
      expect(r.code).toBe(1);
      // One line says what and why (progress lines before it are not errors).
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(errors, r.stderr).toHaveLength(1);
      expect(errors[0]).toMatch(/^error: cannot use data dir .*: EROFS: read-only file system.*\(ZENO_ERR_DATA_DIR\)$/);
      expect(r.stderr.endsWith(`${errors[0]}\n`)).toBe(true);
      expect(r.stdout).not.toContain('Zeno is up');
    } finally {
      umount(data);
    }
  }, 60_000);
});
