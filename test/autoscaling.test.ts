/**
 * Knative's autoscaling end-to-end checks, on real processes: scale to N
 * pods under N × target concurrency, hold them under sustained load without
 * dips and come back down; panic on a sudden burst; initial-scale and
 * activation-scale followed exactly.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestLoops } from './support/request-loops.js';
import { waitFor } from './support/wait.js';
import { FAST_AUTOSCALER, ROOT, httpCall, pidsWithEnv, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;

const SLOW = path.join(ROOT, 'functions/examples/slow');

interface AutoscalerView {
  desiredScale?: number;
  actualScale?: number;
  panicMode?: boolean;
}
interface RevisionStatus {
  actualReplicas?: number;
  desiredReplicas?: number;
  autoscaler?: AutoscalerView;
}

async function revStatus(name: string): Promise<RevisionStatus> {
  return (await zeno.admin('GET', `/apis/serving.knative.dev/v1/namespaces/default/revisions/${name}`)).json.status ?? {};
}

async function apply(name: string, annotations: Record<string, string>): Promise<void> {
  const f = writeYaml(work, `${name}.yaml`, serviceYaml(name, { command: ['node', 'server.js'], workingDir: SLOW, annotations }));
  const out = await runCli(['apply', '-f', f], zeno.dataDir, { timeoutMs: 30_000 });
  expect(out.code, out.stderr).toBe(0);
}

/** `loops` clients, each sending one slow request after another until stopped. */
const sustainedLoad = (host: string, loops: number, sleepMs: number) => requestLoops(loops, () => httpCall(`${zeno.gatewayUrl}/?sleep=${sleepMs}`, { host }));

beforeAll(async () => {
  work = tempDir('zeno-autoscaling-');
  zeno = await startZeno({ dataDir: path.join(work, 'data'), configFile: writeYaml(work, 'config.yaml', FAST_AUTOSCALER) });
});

afterAll(async () => {
  await zeno?.stop();
});

describe('autoscaling, end to end', () => {
  it('scales to N pods under N × target concurrency, holds them without dips, and comes back down', async () => {
    // target 1 at 100% utilization: 4 clients in a closed loop keep 4 requests in flight.
    // Requests of 1 s make the gap between one answer and the next request (longer on a
    // loaded machine) a small part of the time, so the measured concurrency stays near 4.
    await apply('hold', {
      'autoscaling.knative.dev/target': '1',
      'autoscaling.knative.dev/target-utilization-percentage': '100',
      'autoscaling.knative.dev/max-scale': '6',
    });
    const load = sustainedLoad('hold.default.localhost', 4, 1000);
    try {
      await waitFor(async () => ((await revStatus('hold-00001')).actualReplicas ?? 0) >= 4, 20_000, { message: 'hold to reach 4 pods', intervalMs: 100 });
      // Hold for longer than the stable window (6 s): the replica count never dips below 4.
      const seen: number[] = [];
      const until = Date.now() + 7_000;
      while (Date.now() < until) {
        seen.push((await revStatus('hold-00001')).actualReplicas ?? 0);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(Math.min(...seen), `replicas while held: ${seen.join(',')}`).toBeGreaterThanOrEqual(4);
      expect(Math.max(...seen)).toBeLessThanOrEqual(6);
    } finally {
      const statuses = await load.stop();
      // Not one failure while scaling up and holding.
      expect([...statuses.keys()]).toEqual([200]);
    }
    await waitFor(async () => (await revStatus('hold-00001')).actualReplicas === 0, 40_000, { message: 'hold back at zero', intervalMs: 250 });
    await waitFor(() => pidsWithEnv('K_REVISION', 'hold-00001').length === 0, 15_000, { message: 'hold processes gone' });
  });

  it('panics on a sudden burst and scales up at once', async () => {
    await apply('burst', {
      'autoscaling.knative.dev/min-scale': '1',
      'autoscaling.knative.dev/target': '1',
      'autoscaling.knative.dev/target-utilization-percentage': '100',
      'autoscaling.knative.dev/max-scale': '10',
      // 50% of the 6 s stable window: Knative's 1 s buckets cannot average a
      // panic window shorter than one bucket (the default 10% would be 0.6 s).
      'autoscaling.knative.dev/panic-window-percentage': '50',
    });
    await waitFor(async () => (await revStatus('burst-00001')).autoscaler !== undefined, 5_000, { message: 'a first decision', intervalMs: 50 });
    expect((await revStatus('burst-00001')).autoscaler).toMatchObject({ panicMode: false, desiredScale: 1 });
    // 10 requests in flight on one pod: 1000% of its capacity, far above the 200% panic threshold.
    const burst = Promise.all(Array.from({ length: 10 }, () => httpCall(`${zeno.gatewayUrl}/?sleep=3000`, { host: 'burst.default.localhost' })));
    // Panic mode, and a decision of at least 5 pods while in it, well before the burst ends
    // (the panic window's first bucket may still be filling when panic is first seen).
    await waitFor(async () => {
      const a = (await revStatus('burst-00001')).autoscaler;
      return a?.panicMode === true && (a.desiredScale ?? 0) >= 5;
    }, 5_000, { message: 'panic mode with at least 5 pods', intervalMs: 50 });
    const inPanic = await revStatus('burst-00001');
    expect(inPanic.autoscaler?.desiredScale ?? 0).toBeGreaterThanOrEqual(5);
    expect((await burst).map((r) => r.status)).toEqual(Array(10).fill(200));
    // While panicking the autoscaler never scales down (reference §5: panic mode holds the peak).
    expect(((await revStatus('burst-00001')).autoscaler?.desiredScale ?? 0)).toBeGreaterThanOrEqual(inPanic.autoscaler?.desiredScale ?? 0);
  });

  it('initial-scale N starts N pods before any request, then follows the load', async () => {
    await apply('initial', { 'autoscaling.knative.dev/initial-scale': '3' });
    // apply waits for Ready, and Knative makes a revision Ready only once initial-scale pods are up.
    expect((await revStatus('initial-00001')).actualReplicas).toBe(3);
    expect(pidsWithEnv('K_REVISION', 'initial-00001').length).toBe(3);
    await waitFor(async () => (await revStatus('initial-00001')).actualReplicas === 0, 40_000, { message: 'initial back at zero', intervalMs: 250 });
  });

  it('activation-scale N starts N pods for the first request from zero', async () => {
    await apply('activate', { 'autoscaling.knative.dev/activation-scale': '3', 'autoscaling.knative.dev/initial-scale': '0' });
    expect((await revStatus('activate-00001')).actualReplicas).toBe(0);
    const r = await httpCall(`${zeno.gatewayUrl}/?sleep=10`, { host: 'activate.default.localhost' });
    expect(r.status).toBe(200);
    // One request alone would want 1 pod; activation-scale makes it 3, exactly.
    await waitFor(async () => (await revStatus('activate-00001')).actualReplicas === 3, 10_000, { message: 'activation-scale pods', intervalMs: 50 });
    expect((await revStatus('activate-00001')).desiredReplicas).toBe(3);
    expect(pidsWithEnv('K_REVISION', 'activate-00001').length).toBe(3);
  });
});
