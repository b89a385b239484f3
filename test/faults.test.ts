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
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, pidsWithEnv, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';
import { request, runLoad, summarize } from './support/load.js';
import { waitFor } from './support/wait.js';

const SLOW_DIR = path.join(ROOT, 'functions/examples/slow');

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
    const load = runLoad({ url: `${zeno.gatewayUrl}/?sleep=40`, host: 'victim.default.localhost', concurrency: 12, until: () => stop });
    await new Promise((r) => setTimeout(r, 1_000));
    killedAt = Date.now();
    process.kill(victim!, 'SIGKILL');
    // Keep the load on while the runtime notices and replaces the pod.
    await waitFor(() => {
      const pids = pidsWithEnv('K_REVISION', 'victim-00001');
      return pids.length === 2 && !pids.includes(victim!);
    }, 20_000, { message: 'the pod replaced' });
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    const outcomes = await load;

    const failed = outcomes.filter((o) => o.status !== 200);
    const before = outcomes.filter((o) => o.startedAt < killedAt);
    const after = outcomes.filter((o) => o.startedAt >= killedAt);
    expect(before.length).toBeGreaterThan(50);
    expect(after.length).toBeGreaterThan(50);
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
