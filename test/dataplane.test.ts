/**
 * Data-plane replicas, end to end on real processes: one `zeno up` (role
 * all, local runtime) and two `zeno up --role gateway` replicas that route
 * by its feed and report their stats to its autoscaler.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerWithTriggerYaml, EventIdSink } from './support/event-sink.js';
import { requestLoops } from './support/request-loops.js';
import { waitFor } from './support/wait.js';
import { FAST_AUTOSCALER, ROOT, httpCall, runCli, serviceYaml, startReplica, startZeno, tempDir, writeYaml, type RunningReplica, type RunningZeno } from './support/zeno.js';

let cp: RunningZeno;
let a: RunningReplica;
let b: RunningReplica;
let work: string;
const sink = new EventIdSink();

const SLOW = path.join(ROOT, 'functions/examples/slow');

interface RevisionStatus {
  actualReplicas?: number;
  desiredReplicas?: number;
}

async function revStatus(name: string): Promise<RevisionStatus> {
  return (await cp.admin('GET', `/apis/serving.knative.dev/v1/namespaces/default/revisions/${name}`)).json.status ?? {};
}

async function liveReplicas(): Promise<string[]> {
  const r = await cp.admin('GET', '/apis/zeno.dev/v1/dataplane/replicas');
  expect(r.status).toBe(200);
  return (r.json.items as { name: string }[]).map((i) => i.name).sort();
}

/** `loops` clients on one replica, each sending one slow request after another until stopped. */
const sustainedLoad = (gatewayUrl: string, loops: number, sleepMs: number) =>
  requestLoops(loops, () => httpCall(`${gatewayUrl}/function/pair?sleep=${sleepMs}`), { pauseAfterErrorMs: 100 });

beforeAll(async () => {
  work = tempDir('zeno-dataplane-');
  await sink.start();
  cp = await startZeno({ dataDir: path.join(work, 'data'), configFile: writeYaml(work, 'config.yaml', FAST_AUTOSCALER), extraArgs: ['--warm-pool', '0'] });
  [a, b] = await Promise.all([startReplica(cp), startReplica(cp)]);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await cp?.stop();
  await sink.close();
});

describe('data-plane replicas (zeno up --role gateway)', () => {
  it('answers an unknown function with 404 and its code', async () => {
    const r = await httpCall(`${a.gatewayUrl}/function/nope`);
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_FUNCTION_NOT_FOUND');
    const h = await httpCall(`${b.gatewayUrl}/`, { host: 'nope.default.localhost' });
    expect(h.status).toBe(404);
    expect(JSON.parse(h.body).code).toBe('ZENO_ERR_FUNCTION_NOT_FOUND');
  });

  it("scale-down drains a replica's request before the pod gets SIGTERM (the pod exits at once on SIGTERM)", async () => {
    // A function that drops its in-flight requests on SIGTERM: only the platform's drain protects them.
    const fnDir = path.join(work, 'abrupt');
    fs.mkdirSync(fnDir, { recursive: true });
    fs.writeFileSync(path.join(fnDir, 'server.mjs'), [
      "import { createServer } from 'node:http';",
      "const server = createServer((req, res) => {",
      "  const ms = Number(new URL(req.url, 'http://x').searchParams.get('sleep') ?? 0);",
      "  setTimeout(() => res.end(`slept ${ms}`), ms);",
      '});',
      'server.listen(Number(process.env.PORT));',
      "process.on('SIGTERM', () => process.exit(0));",
      '',
    ].join('\n'));
    const f = writeYaml(work, 'abrupt.yaml', serviceYaml('abrupt', {
      command: ['node', 'server.mjs'],
      workingDir: fnDir,
      cc: 1,
      annotations: { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.knative.dev/target-utilization-percentage': '100' },
    }));
    const applied = await runCli(['apply', '-f', f], cp.dataDir, { timeoutMs: 30_000 });
    expect(applied.code, applied.stderr).toBe(0);
    // The first request takes pod 1; the second, through replica A, waits for pod 2 (the newest).
    const first = httpCall(`${a.gatewayUrl}/function/abrupt?sleep=8000`);
    await waitFor(async () => ((await revStatus('abrupt-00001')).actualReplicas ?? 0) >= 1, 15_000, { message: 'pod 1', intervalMs: 100 });
    const second = httpCall(`${a.gatewayUrl}/function/abrupt?sleep=22000`);
    await waitFor(async () => ((await revStatus('abrupt-00001')).actualReplicas ?? 0) >= 2, 15_000, { message: 'pod 2', intervalMs: 100 });
    expect((await first).status).toBe(200);
    // One request left: the autoscaler scales to 1 and stops the newest pod, where the second one runs.
    await waitFor(async () => (await revStatus('abrupt-00001')).desiredReplicas === 1, 20_000, { message: 'the scale-down to 1', intervalMs: 200 });
    let done = false;
    void second.finally(() => (done = true));
    expect(done, 'the scale-down came while the request ran').toBe(false);
    const r = await second;
    expect(r.status, r.body).toBe(200);
    expect(r.body).toBe('slept 22000');
  }, 60_000);

  it('a cold request through replica B scales from zero; load split over both replicas scales for the sum; a killed replica stops counting; back to zero', async () => {
    const f = writeYaml(work, 'pair.yaml', serviceYaml('pair', {
      command: ['node', 'server.js'],
      workingDir: SLOW,
      cc: 1,
      annotations: {
        'autoscaling.knative.dev/initial-scale': '0',
        'autoscaling.knative.dev/target-utilization-percentage': '100',
        'autoscaling.knative.dev/max-scale': '10',
      },
    }));
    const applied = await runCli(['apply', '-f', f], cp.dataDir, { timeoutMs: 30_000 });
    expect(applied.code, applied.stderr).toBe(0);
    expect(await revStatus('pair-00001')).toMatchObject({ actualReplicas: 0 });

    // Cold start through B alone: its poke starts the pod, the feed tells it the pod is ready.
    const cold = await httpCall(`${b.gatewayUrl}/function/pair?sleep=10`);
    expect(cold.status, cold.body).toBe(200);
    expect(JSON.parse(cold.body)).toEqual({ slept: 10 });
    expect((await revStatus('pair-00001')).actualReplicas ?? 0).toBeGreaterThanOrEqual(1);
    // Both report every second from their start, with or without traffic.
    await waitFor(async () => (await liveReplicas()).join() === [a.replicaId, b.replicaId].sort().join(), 5_000, { message: 'both replicas reporting', intervalMs: 100 });

    // 3 clients on each replica, each keeping a 1 s request in flight: 6 in all at
    // containerConcurrency 1. One replica's share alone would want 3 pods.
    const loadA = sustainedLoad(a.gatewayUrl, 3, 1000);
    const loadB = sustainedLoad(b.gatewayUrl, 3, 1000);
    let bStatuses: Map<number | string, number>;
    try {
      await waitFor(async () => ((await revStatus('pair-00001')).desiredReplicas ?? 0) >= 5, 30_000, { message: 'pods for the sum of both replicas (>= 5)', intervalMs: 200 });
      await waitFor(async () => ((await revStatus('pair-00001')).actualReplicas ?? 0) >= 5, 30_000, { message: '>= 5 pods running', intervalMs: 200 });

      // A dies without a word: B keeps serving, and A's share stops counting.
      await a.kill();
      await loadA.stop();
      await waitFor(async () => (await liveReplicas()).join() === b.replicaId, 10_000, { message: 'the killed replica dropped from the stats', intervalMs: 200 });
      await waitFor(async () => ((await revStatus('pair-00001')).desiredReplicas ?? 99) <= 4, 30_000, { message: 'pods for B alone (<= 4)', intervalMs: 250 });
    } finally {
      await loadA.stop();
      bStatuses = await loadB.stop();
    }
    // B answered every request, before and after A died.
    expect([...bStatuses.keys()], JSON.stringify([...bStatuses])).toEqual([200]);
    expect(bStatuses.get(200) ?? 0).toBeGreaterThan(10);

    await waitFor(async () => (await revStatus('pair-00001')).actualReplicas === 0, 40_000, { message: 'pair back at zero', intervalMs: 250 });
  });

  it('a control plane restarted (same admin port, a new random token) is followed: the replica re-reads the token file, resyncs and cold-starts through it again', async () => {
    const adminPort = new URL(cp.adminUrl).port;
    const configFile = writeYaml(work, 'config.yaml', FAST_AUTOSCALER);
    await cp.stop();
    await waitFor(() => b.output().includes('reconnecting'), 10_000, { message: 'the replica to notice the control plane gone' });
    cp = await startZeno({ dataDir: path.join(work, 'data'), configFile, extraArgs: ['--warm-pool', '0', '--admin-port', adminPort] });
    expect(new URL(cp.adminUrl).port).toBe(adminPort);
    await waitFor(() => /feed connected again/.test(b.output()), 20_000, { message: 'the replica to resync with the new control plane', intervalMs: 100 });
    const r = await httpCall(`${b.gatewayUrl}/function/pair?sleep=10`);
    expect(r.status, r.body).toBe(200);
    await waitFor(async () => (await liveReplicas()).includes(b.replicaId), 5_000, { message: 'its stats accepted with the new token', intervalMs: 100 });
    // Never printed, not even when it was refused.
    expect(b.output()).not.toContain(cp.token);
  }, 60_000);

  it('a broker event POSTed to a replica is written by the control plane (202) and delivered', async () => {
    const f = writeYaml(work, 'broker.yaml', brokerWithTriggerYaml(sink.url));
    const applied = await runCli(['apply', '-f', f], cp.dataDir, { timeoutMs: 30_000 });
    expect(applied.code, applied.stderr).toBe(0);
    const r = await httpCall(`${b.gatewayUrl}/brokers/default/b`, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'via-replica-1', 'ce-source': '/test', 'ce-type': 'dev.zeno.test', 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    expect(r.status, r.body).toBe(202);
    await waitFor(() => sink.ids.has('via-replica-1'), 15_000, { message: 'the event delivered to the Trigger subscriber' });
    // A broker that does not exist: the control plane's own 404, passed through unchanged.
    const missing = await httpCall(`${b.gatewayUrl}/brokers/default/none`, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'x', 'ce-source': '/test', 'ce-type': 't' },
      body: '',
    });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body).code).toBe('ZENO_ERR_BROKER_NOT_FOUND');
  });
});
