import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { imagePodTemplates } from '../../test/support/fake-kube/pod-template.js';
import { startFakeKube, type FakeKubeServer } from '../../test/support/fake-kube/server.js';
import { manifestProblems } from '../../test/support/fake-kube/validate.js';
import { waitFor } from '../../test/support/wait.js';
import type { FunctionRuntime } from '../runtime.js';
import { createKubernetesRuntime } from './kube-runtime.js';

// The HPA class and the cluster-mode sidecar, through the real client
// library against the fake API server. The fake runs no HPA controller
// (README.md there): these tests check what the runtime writes and that it
// leaves replicas to the HPA.
const template = imagePodTemplates('hpa');

describe('kubernetes runtime: HPA class and sidecar', () => {
  let kube: FakeKubeServer;
  let runtime: FunctionRuntime;
  async function start(opts: Parameters<typeof createKubernetesRuntime>[0] extends infer O ? Partial<O> : never = {}): Promise<void> {
    kube = await startFakeKube();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    runtime = createKubernetesRuntime({ kubeConfig: kc, ...opts });
  }
  afterEach(async () => {
    await runtime?.close();
    await kube?.close();
  });

  it('creates an autoscaling/v2 HPA at min replicas, ignores scale(), and deletes the HPA with the revision', async () => {
    await start();
    const t = template({ hpa: { metric: 'cpu', target: 60, minScale: 2, maxScale: 5, initialScale: 1 } });
    runtime.deploy(t);
    await waitFor(() => runtime.readyPods(t.id).length === 2, 10_000, { message: 'two ready pods (min-scale 2)' });
    await waitFor(() => kube.get('horizontalpodautoscalers', 'default', t.revision) !== undefined, 10_000, { message: 'the HPA' });
    const hpa = kube.get('horizontalpodautoscalers', 'default', t.revision)!;
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec).toEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `${t.revision}-deployment` },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
    });
    expect(manifestProblems(hpa as { kind: string })).toEqual([]);
    // The KPA's scale calls do not reach the cluster: the HPA owns spec.replicas.
    runtime.scale(t.id, 0);
    runtime.scale(t.id, 7);
    await kube.settle();
    expect(kube.requests.filter((r) => r.path.endsWith('/scale'))).toEqual([]);
    expect(kube.get('deployments', 'default', `${t.revision}-deployment`)!.spec.replicas).toBe(2);
    expect(runtime.status(t.id)).toMatchObject({ desired: 2, ready: 2 });
    // An HPA controller scaling the Deployment is followed like any change.
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    await kc.makeApiClient(k8s.AppsV1Api).patchNamespacedDeploymentScale(
      { name: `${t.revision}-deployment`, namespace: 'default', body: { spec: { replicas: 3 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await waitFor(() => runtime.readyPods(t.id).length === 3, 10_000, { message: 'the third pod the HPA asked for' });
    // Becoming the leader again (setWritable) must not make the runtime scale it either.
    (runtime as ReturnType<typeof createKubernetesRuntime>).setWritable(false);
    (runtime as ReturnType<typeof createKubernetesRuntime>).setWritable(true);
    runtime.scale(t.id, 1);
    await kube.settle();
    expect(kube.requests.filter((r) => r.path.endsWith('/scale') && r.method !== 'PATCH')).toEqual([]);
    await runtime.remove(t.id);
    expect(kube.get('horizontalpodautoscalers', 'default', t.revision)).toBeUndefined();
    expect(kube.get('deployments', 'default', `${t.revision}-deployment`)).toBeUndefined();
  });

  it('close() leaves an HPA revision at the replicas the HPA chose (it scales the others to zero)', async () => {
    await start();
    const t = template({ hpa: { metric: 'cpu', minScale: 2, maxScale: 0, initialScale: 1 } });
    runtime.deploy(t);
    await waitFor(() => runtime.readyPods(t.id).length === 2, 10_000, { message: 'two ready pods' });
    // After a leadership round trip the runtime no longer knows what it last sent: still hands off.
    (runtime as ReturnType<typeof createKubernetesRuntime>).setWritable(false);
    (runtime as ReturnType<typeof createKubernetesRuntime>).setWritable(true);
    await runtime.close();
    expect(kube.get('deployments', 'default', `${t.revision}-deployment`)!.spec.replicas).toBe(2);
    expect(kube.requests.filter((r) => r.path.endsWith('/scale'))).toEqual([]);
  });

  it("the Deployment starts at max(1, min-scale, initial-scale), as Knative creates it at the initial scale", async () => {
    await start();
    const t = template({ hpa: { metric: 'cpu', minScale: 1, maxScale: 0, initialScale: 3 } });
    runtime.deploy(t);
    await waitFor(() => runtime.readyPods(t.id).length === 3, 10_000, { message: 'three ready pods' });
    expect(kube.get('deployments', 'default', `${t.revision}-deployment`)!.spec.replicas).toBe(3);
  });

  it('min-scale 0 starts one pod (an HPA cannot scale to zero)', async () => {
    await start();
    const t = template({ hpa: { metric: 'memory', minScale: 0, maxScale: 0, initialScale: 1 } });
    runtime.deploy(t);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000, { message: 'one ready pod' });
    await waitFor(() => kube.get('horizontalpodautoscalers', 'default', t.revision) !== undefined, 10_000, { message: 'the HPA' });
    expect(kube.get('horizontalpodautoscalers', 'default', t.revision)!.spec).toMatchObject({ minReplicas: 1, maxReplicas: 2_147_483_647 });
  });

  it('cluster mode: pods carry the sidecar, the Service targets it, and the revision still becomes ready', async () => {
    await start({ sidecar: { image: 'example.com/zeno/platform:1' } });
    const t = template({ containerConcurrency: 3 });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000, { message: 'a ready pod' });
    const d = kube.get('deployments', 'default', `${t.revision}-deployment`)!;
    expect(d.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['user-container', 'queue-proxy']);
    expect(d.spec.template.spec.containers[1].env).toContainEqual({ name: 'CONTAINER_CONCURRENCY', value: '3' });
    expect(kube.get('services', 'default', t.revision)!.spec.ports[0].targetPort).toBe(8012);
    expect(manifestProblems(d as { kind: string })).toEqual([]);
  });
});
