import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKubeServer } from './support/fake-kube/server.js';
import { waitFor } from './support/wait.js';
import { runCli, startZeno, tempDir, type RunningZeno } from './support/zeno.js';

// `zeno up --runtime kubernetes` as users run it, against the fake API server
// (test/support/fake-kube): the only Kubernetes these tests have. Its pods are
// loopback servers that answer with their name and container env.
describe('zeno up --runtime kubernetes (fake API server)', () => {
  let kube: FakeKubeServer;
  let zeno: RunningZeno;
  let dir: string;

  beforeAll(async () => {
    kube = await startFakeKube({ token: 'e2e-token' });
    dir = tempDir('zeno-kube-e2e-');
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kube.kubeconfig());
    zeno = await startZeno({ dataDir: path.join(dir, 'data'), extraArgs: ['--runtime', 'kubernetes', '--kubeconfig', kubeconfig] });
  });

  afterAll(async () => {
    await zeno?.stop();
    await kube?.close();
  });

  it('runs a Service as a Deployment, routes through the gateway to its pod, and scales to zero on stop', async () => {
    expect(zeno.output()).toContain(`functions run on Kubernetes at ${kube.url} (v1.31.0-zeno-fake)`);
    // Leader election is on by default, in the kubeconfig context's namespace; a lone instance takes the Lease at once.
    expect(zeno.output()).toContain('leader election on Lease default/zeno-controller');
    await waitFor(() => !!kube.get('leases', 'default', 'zeno-controller')?.spec.holderIdentity, 5_000, { message: 'the Lease is held' });
    const file = path.join(dir, 'svc.yaml');
    fs.writeFileSync(
      file,
      [
        'apiVersion: serving.knative.dev/v1',
        'kind: Service',
        'metadata:',
        '  name: kube-hello',
        'spec:',
        '  template:',
        '    metadata:',
        '      annotations:',
        '        autoscaling.knative.dev/min-scale: "1"',
        '    spec:',
        '      timeoutSeconds: 20',
        '      containers:',
        // Image only, as in Knative: valid because this platform runs functions on Kubernetes.
        '        - image: ghcr.io/zeno/hello:latest',
        '          env:',
        '            - name: TARGET',
        '              value: Kubernetes',
        '',
      ].join('\n'),
    );
    const applied = await runCli(['apply', '-f', file, '--timeout', '20s'], zeno.dataDir, { timeoutMs: 30_000 });
    expect(applied.code, applied.stderr).toBe(0);

    const d = kube.get('deployments', 'default', 'kube-hello-00001-deployment');
    expect(d?.spec.template.spec.containers[0]).toMatchObject({ image: 'ghcr.io/zeno/hello:latest', name: 'user-container' });
    expect(d?.spec.template.spec.containers[0].command).toBeUndefined();
    expect(d?.spec.template.spec.terminationGracePeriodSeconds).toBe(20);
    const res = await fetch(`${zeno.gatewayUrl}/function/kube-hello/some/path`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { pod: string; path: string; env: Record<string, string> };
    expect(body.pod).toMatch(/^kube-hello-00001-deployment-/);
    expect(body.path).toBe('/some/path');
    expect(body.env).toMatchObject({ TARGET: 'Kubernetes', K_SERVICE: 'kube-hello', K_REVISION: 'kube-hello-00001', PORT: '8080' });

    const info = await zeno.admin('GET', '/apis/zeno.dev/v1/info');
    expect(info.json.runtime).toBe('kubernetes');

    const rev = await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/kube-hello-00001');
    expect(rev.json.status).toMatchObject({ actualReplicas: 1 });

    await zeno.stop();
    expect(zeno.output()).not.toMatch(/\n\s+at /); // no stack trace on the way out
    await waitFor(() => kube.get('deployments', 'default', 'kube-hello-00001-deployment')?.spec.replicas === 0, 5_000, { message: 'scaled to zero on stop' });
  });
});

// Real time, real processes: the Lease expires after 15 s, so this is opt-in (ZENO_LONG_TESTS=1).
describe.runIf(process.env.ZENO_LONG_TESTS === '1')('two zeno up --runtime kubernetes processes (fake API server, real time)', () => {
  let kube: FakeKubeServer;
  const running: RunningZeno[] = [];
  afterAll(async () => {
    for (const z of running) await z.stop();
    await kube?.close();
  });

  it('the standby takes over after the leader is SIGKILLed (no release) and serves the Service through its own gateway', async () => {
    kube = await startFakeKube();
    const dir = tempDir('zeno-kube-failover-');
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kube.kubeconfig('zeno-system'));
    const args = ['--runtime', 'kubernetes', '--kubeconfig', kubeconfig];
    const a = await startZeno({ dataDir: path.join(dir, 'a'), extraArgs: args });
    running.push(a);
    await waitFor(() => a.output().includes(' leads zeno-system/zeno-controller'), 10_000, { message: 'a leads' });
    const b = await startZeno({ dataDir: path.join(dir, 'b'), extraArgs: args });
    running.push(b);
    const file = path.join(dir, 'svc.yaml');
    fs.writeFileSync(file, 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: ha\nspec:\n  template:\n    metadata:\n      annotations:\n        autoscaling.knative.dev/min-scale: "1"\n    spec:\n      containers:\n        - image: ghcr.io/zeno/hello:1\n');
    expect((await runCli(['apply', '-f', file, '--timeout', '20s'], a.dataDir, { timeoutMs: 30_000 })).code).toBe(0);
    expect((await runCli(['apply', '-f', file, '--no-wait'], b.dataDir)).code).toBe(0);
    expect((await b.admin('GET', '/apis/zeno.dev/v1/info')).json.leader).toBe(false);

    const killedAt = Date.now();
    await a.kill();
    running.splice(running.indexOf(a), 1);
    await waitFor(async () => (await b.admin('GET', '/apis/zeno.dev/v1/info')).json.leader === true, 25_000, { intervalMs: 200, message: 'b takes over' });
    const tookMs = Date.now() - killedAt;
    // At most leaseDuration (15 s) after a's last renew, plus one retry period (2 s), plus
    // slack for a loaded machine (16.6 s measured here).
    expect(tookMs).toBeLessThan(20_000);
    await waitFor(async () => (await fetch(`${b.gatewayUrl}/function/ha/`)).status === 200, 10_000, { message: "b routes to the adopted pod" });
    expect(kube.get('deployments', 'default', 'ha-00001-deployment')?.spec.replicas).toBe(1);
  });
});
