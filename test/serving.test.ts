/**
 * The serving loop end to end, as a user runs it: `zeno up` as a real
 * process, the real CLI for apply, real function processes, real HTTP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { FAST_AUTOSCALER, helloService, httpCall, pidAlive, pidsWithEnv, runCli, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;

const svcPath = (name: string, ns = 'default') => `/apis/serving.knative.dev/v1/namespaces/${ns}/services/${name}`;
const revPath = (name: string, ns = 'default') => `/apis/serving.knative.dev/v1/namespaces/${ns}/revisions/${name}`;

async function revision(name: string) {
  const r = await zeno.admin('GET', revPath(name));
  return r.json as { status?: { actualReplicas?: number; desiredReplicas?: number; conditions?: { type: string; status: string; reason?: string }[] } };
}

async function apply(file: string) {
  const r = await runCli(['apply', '-f', file, '--timeout', '60s'], zeno.dataDir);
  expect(r.code, `apply failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
}

const call = (name: string, pathAndQuery = '/', opts: { body?: string } = {}) =>
  httpCall(`${zeno.gatewayUrl}${pathAndQuery}`, { host: `${name}.default.localhost`, ...opts });

beforeAll(async () => {
  work = tempDir('zeno-serving-');
  const cfg = writeYaml(work, 'config.yaml', FAST_AUTOSCALER);
  zeno = await startZeno({ dataDir: path.join(work, 'data'), configFile: cfg });
});

afterAll(async () => {
  await zeno?.stop();
});

describe('serving core, end to end', () => {
  it('deploys a Knative Service and answers by Host and by /function/', async () => {
    const f = writeYaml(work, 'svc-a.yaml', helloService('svc-a', { env: { TARGET: 'Zeno' } }));
    const out = await apply(f);
    expect(out.stdout).toMatch(/svc-a.*created/);
    const byHost = await call('svc-a');
    expect(byHost.status).toBe(200);
    expect(byHost.body).toBe('Hello Zeno!\n');
    const byPath = await httpCall(`${zeno.gatewayUrl}/function/svc-a`);
    expect(byPath.status).toBe(200);
    expect(byPath.body).toBe('Hello Zeno!\n');
    const byPathNs = await httpCall(`${zeno.gatewayUrl}/function/svc-a.default/some/path?x=1`);
    expect(byPathNs.status).toBe(200);

    const svc = (await zeno.admin('GET', svcPath('svc-a'))).json;
    expect(svc.status.latestCreatedRevisionName).toBe('svc-a-00001');
    expect(svc.status.latestReadyRevisionName).toBe('svc-a-00001');
    expect(svc.status.url).toMatch(/^http:\/\/svc-a\.default\.localhost:\d+$/);
    const ready = svc.status.conditions.find((c: { type: string }) => c.type === 'Ready');
    expect(ready.status).toBe('True');
    for (const t of ['ConfigurationsReady', 'RoutesReady']) {
      expect(svc.status.conditions.find((c: { type: string }) => c.type === t)?.status).toBe('True');
    }
  });

  it('answers 404 with a code for an unknown function, and 413 above the body limit', async () => {
    const r = await call('nope');
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_FUNCTION_NOT_FOUND');
    const r2 = await httpCall(`${zeno.gatewayUrl}/function/nope`);
    expect(JSON.parse(r2.body).code).toBe('ZENO_ERR_FUNCTION_NOT_FOUND');
    const big = await call('svc-a', '/', { body: 'x'.repeat(10 * 1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).code).toBe('ZENO_ERR_BODY_TOO_LARGE');
    // The platform is fine afterwards.
    expect((await call('svc-a')).status).toBe(200);
  });

  it('scales an idle revision to zero with no process left, and the next call succeeds', async () => {
    const f = writeYaml(work, 'svc-b.yaml', helloService('svc-b'));
    await apply(f);
    expect((await call('svc-b')).status).toBe(200);
    expect(pidsWithEnv('K_REVISION', 'svc-b-00001').length).toBeGreaterThan(0);
    await waitFor(async () => (await revision('svc-b-00001')).status?.actualReplicas === 0, 40_000, { message: 'svc-b to scale to zero', intervalMs: 250 });
    await waitFor(() => pidsWithEnv('K_REVISION', 'svc-b-00001').length === 0, 15_000, { message: 'svc-b processes to exit' });
    const active = (await revision('svc-b-00001')).status?.conditions?.find((c) => c.type === 'Active');
    expect(active).toMatchObject({ status: 'False', reason: 'NoTraffic' });
    const again = await call('svc-b');
    expect(again.status).toBe(200);
    expect(again.body).toBe('Hello World!\n');
  });

  it('200 concurrent requests to a revision at zero all get 200', async () => {
    await waitFor(async () => (await revision('svc-b-00001')).status?.actualReplicas === 0, 40_000, { message: 'svc-b back at zero', intervalMs: 250 });
    await waitFor(() => pidsWithEnv('K_REVISION', 'svc-b-00001').length === 0, 15_000);
    const results = await Promise.all(Array.from({ length: 200 }, () => call('svc-b')));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBe(200);
  });

  it('min-scale 1 never goes below 1 while another service scales to zero', async () => {
    const f = writeYaml(work, 'svc-c.yaml', helloService('svc-c', { annotations: { 'autoscaling.knative.dev/min-scale': '1' } }));
    await apply(f);
    const before = pidsWithEnv('K_REVISION', 'svc-c-00001');
    expect(before.length).toBe(1);
    // svc-d is the control: same config, no min-scale. Once it reached zero,
    // svc-c has been idle longer than the window plus the grace period.
    await apply(writeYaml(work, 'svc-d.yaml', helloService('svc-d')));
    await waitFor(async () => (await revision('svc-d-00001')).status?.actualReplicas === 0, 40_000, { message: 'svc-d to scale to zero', intervalMs: 250 });
    expect((await revision('svc-c-00001')).status?.actualReplicas).toBe(1);
    expect(pidsWithEnv('K_REVISION', 'svc-c-00001')).toEqual(before);
    // The autoscaler's view is part of the status (and of `zeno describe revision`).
    const view = ((await revision('svc-c-00001')).status as { autoscaler?: Record<string, unknown> }).autoscaler;
    // One idle pod, CC 0: EBC = floor(1 × 100 − 211 − 0) = −111 < 0, so Knative would keep the activator in the path.
    expect(view).toMatchObject({ desiredScale: 1, actualScale: 1, panicMode: false, observedStableValue: 0, excessBurstCapacity: -111, mode: 'Proxy' });
    const described = await runCli(['describe', 'revision', 'svc-c-00001'], zeno.dataDir);
    expect(described.stdout).toMatch(/Autoscaler:\n\s+Desired \/ actual:\s+1 \/ 1/);
  });

  it('a template change creates -00002, moves traffic, and the old revision scales to zero', async () => {
    const f = writeYaml(work, 'svc-e.yaml', helloService('svc-e', { env: { TARGET: 'one' } }));
    await apply(f);
    expect((await call('svc-e')).body).toBe('Hello one!\n');
    fs.writeFileSync(f, helloService('svc-e', { env: { TARGET: 'two' } }));
    const out = await apply(f);
    expect(out.stdout).toMatch(/svc-e.*configured/);
    const svc = (await zeno.admin('GET', svcPath('svc-e'))).json;
    expect(svc.status.latestReadyRevisionName).toBe('svc-e-00002');
    expect(svc.status.traffic).toEqual([{ revisionName: 'svc-e-00002', latestRevision: true, percent: 100 }]);
    expect((await call('svc-e')).body).toBe('Hello two!\n');
    await waitFor(async () => (await revision('svc-e-00001')).status?.actualReplicas === 0, 40_000, { message: 'old revision to scale to zero', intervalMs: 250 });
    await waitFor(() => pidsWithEnv('K_REVISION', 'svc-e-00001').length === 0, 15_000);
    // Re-applying the same file changes nothing.
    const same = await apply(f);
    expect(same.stdout).toMatch(/svc-e.*unchanged/);
    const revs = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions')).json.items.map((r: { metadata: { name: string } }) => r.metadata.name);
    expect(revs.filter((n: string) => n.startsWith('svc-e-'))).toEqual(['svc-e-00001', 'svc-e-00002']);
  });

  it('initial-scale 0 is Ready without a pod; the first request starts one', async () => {
    const f = writeYaml(work, 'svc-k.yaml', helloService('svc-k', { annotations: { 'autoscaling.knative.dev/initial-scale': '0' } }));
    await apply(f);
    const rev = await revision('svc-k-00001');
    expect(rev.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(rev.status?.actualReplicas).toBe(0);
    expect(pidsWithEnv('K_REVISION', 'svc-k-00001')).toEqual([]);
    const r = await call('svc-k');
    expect(r.status).toBe(200);
    expect(pidsWithEnv('K_REVISION', 'svc-k-00001').length).toBe(1);
  });

  it('restarts a function killed with SIGKILL', async () => {
    const f = writeYaml(work, 'svc-f.yaml', helloService('svc-f', { annotations: { 'autoscaling.knative.dev/min-scale': '1' } }));
    await apply(f);
    const [pid] = pidsWithEnv('K_REVISION', 'svc-f-00001');
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await waitFor(() => {
      const now = pidsWithEnv('K_REVISION', 'svc-f-00001');
      return now.length === 1 && now[0] !== pid;
    }, 20_000, { message: 'a new svc-f process' });
    await waitFor(async () => (await revision('svc-f-00001')).status?.actualReplicas === 1, 20_000, { message: 'svc-f ready again', intervalMs: 100 });
    expect((await call('svc-f')).status).toBe(200);
    const events = (await zeno.admin('GET', '/api/v1/namespaces/default/events?involvedObject=Revision/svc-f-00001')).json.items;
    expect(events.some((e: { reason: string }) => e.reason === 'PodExited')).toBe(true);
  });

  it('refuses an invalid file with file, line and field, and applies none of it', async () => {
    const good = helloService('svc-g');
    const bad = helloService('svc-h').replace('containerConcurrency: 0', 'containerConcurrency: -5');
    const f = writeYaml(work, 'mixed.yaml', `${good}---\n${bad}`);
    const r = await runCli(['apply', '-f', f], zeno.dataDir);
    expect(r.code).not.toBe(0);
    const line = `${good}---\n${bad}`.split('\n').findIndex((l) => l.includes('containerConcurrency: -5')) + 1;
    expect(r.stderr).toContain(`mixed.yaml:${line}`);
    expect(r.stderr).toContain('spec.template.spec.containerConcurrency');
    expect((await zeno.admin('GET', svcPath('svc-g'))).status).toBe(404);
    expect((await zeno.admin('GET', svcPath('svc-h'))).status).toBe(404);

    const broken = writeYaml(work, 'broken.yaml', 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: [unclosed\n');
    const r2 = await runCli(['apply', '-f', broken], zeno.dataDir);
    expect(r2.code).not.toBe(0);
    expect(r2.stderr).toMatch(/broken\.yaml:\d+/);

    const badName = writeYaml(work, 'badname.yaml', helloService('Bad_Name'));
    const r3 = await runCli(['apply', '-f', badName], zeno.dataDir);
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toContain('metadata.name');
  });

  it('the admin API refuses the same invalid batch server-side with 422 and changes nothing', async () => {
    const before = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/services')).json.items.length;
    const items = [
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'svc-i' }, spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } } },
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'svc-j' }, spec: { template: { spec: { timeoutSeconds: 100000, containers: [{ command: ['node'] }] } } } },
    ];
    const r = await zeno.admin('POST', '/apis/zeno.dev/v1/apply', { items });
    expect(r.status).toBe(422);
    expect(r.json.code).toBe('ZENO_ERR_INVALID_RESOURCE');
    expect(r.json.issues.some((i: { index: number; path: string }) => i.index === 1 && i.path === 'spec.template.spec.timeoutSeconds')).toBe(true);
    expect((await zeno.admin('GET', '/apis/serving.knative.dev/v1/services')).json.items.length).toBe(before);
  });

  it('the admin API needs the token', async () => {
    const r = await fetch(`${zeno.adminUrl}/apis/serving.knative.dev/v1/services`);
    expect(r.status).toBe(401);
    expect((await r.json()).code).toBe('ZENO_ERR_UNAUTHORIZED');
    const r2 = await fetch(`${zeno.adminUrl}/apis/serving.knative.dev/v1/services`, { headers: { authorization: 'Bearer wrong' } });
    expect(r2.status).toBe(401);
    expect(fs.statSync(path.join(zeno.dataDir, 'token')).mode & 0o777).toBe(0o600);
    expect(new URL(zeno.adminUrl).hostname).toBe('127.0.0.1');
  });

  it('a restart with the same data dir brings services back, and leaves no process behind', async () => {
    const pods = pidsWithEnv('K_REVISION', 'svc-c-00001');
    expect(pods.length).toBe(1);
    await zeno.stop();
    await waitFor(() => pods.every((p) => !pidAlive(p)), 15_000, { message: 'pods to exit with the platform' });
    zeno = await startZeno({ dataDir: zeno.dataDir });
    const list = await runCli(['get', 'services'], zeno.dataDir);
    expect(list.code).toBe(0);
    for (const n of ['svc-a', 'svc-b', 'svc-c', 'svc-e']) expect(list.stdout).toContain(n);
    expect((await call('svc-e')).body).toBe('Hello two!\n');
    // min-scale comes back by itself.
    await waitFor(() => pidsWithEnv('K_REVISION', 'svc-c-00001').length === 1, 20_000, { message: 'svc-c min-scale pod after restart' });
    // initial-scale applies to new revisions only: nothing else was started.
    for (const r of ['svc-a-00001', 'svc-b-00001', 'svc-e-00001']) {
      const left = pidsWithEnv('K_REVISION', r).map((p) => `${r}: pid ${p} ppid ${fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]}`);
      expect(left, `platform pid ${zeno.proc.pid}`).toEqual([]);
    }
  });

  it('leaves no function process behind when the platform is killed with SIGKILL', async () => {
    expect((await call('svc-a')).status).toBe(200);
    const pods = [...pidsWithEnv('K_REVISION', 'svc-a-00001'), ...pidsWithEnv('K_REVISION', 'svc-c-00001')];
    expect(pods.length).toBeGreaterThanOrEqual(2);
    await zeno.kill();
    await waitFor(() => pods.every((p) => !pidAlive(p)), 15_000, { message: 'orphans to exit' });
  });
});
