import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKubeServer } from './server.js';

let kube: FakeKubeServer | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

describe('fake-kube discovery and extra resource types', () => {
  it('answers /api/v1 and /apis/GROUP/VERSION with APIResourceLists; unknown groups are 404', async () => {
    kube = await startFakeKube({ resources: [{ group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', statusSubresource: false }] });
    const core = (await (await fetch(`${kube.url}/api/v1`)).json()) as { kind: string; groupVersion: string; resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[] };
    expect(core.kind).toBe('APIResourceList');
    expect(core.groupVersion).toBe('v1');
    expect(core.resources).toContainEqual(expect.objectContaining({ name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: expect.arrayContaining(['list', 'watch']) }));
    expect(core.resources).toContainEqual(expect.objectContaining({ name: 'pods/status', kind: 'Pod' }));
    const apps = (await (await fetch(`${kube.url}/apis/apps/v1`)).json()) as { resources: { name: string }[] };
    expect(apps.resources.map((r) => r.name)).toEqual(['deployments', 'deployments/status', 'deployments/scale']);
    const hpa = (await (await fetch(`${kube.url}/apis/autoscaling/v2`)).json()) as { resources: { name: string }[] };
    expect(hpa.resources.map((r) => r.name)).toContain('horizontalpodautoscalers');
    const widgets = (await (await fetch(`${kube.url}/apis/example.com/v1`)).json()) as { resources: { name: string; kind: string }[] };
    expect(widgets.resources).toEqual([expect.objectContaining({ name: 'widgets', kind: 'Widget' })]);
    expect((await fetch(`${kube.url}/apis/nothing.example.com/v1`)).status).toBe(404);
  });

  it("client-node's KubernetesObjectApi maps a custom kind to its path through discovery and can create, list and delete it", async () => {
    kube = await startFakeKube({ resources: [{ group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', statusSubresource: false }] });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const api = k8s.KubernetesObjectApi.makeApiClient(kc);
    await api.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default', labels: { a: 'b' } } });
    expect(kube.get('widgets', 'default', 'w1')?.metadata.labels).toEqual({ a: 'b' });
    const list = await api.list('example.com/v1', 'Widget', 'default', undefined, undefined, undefined, undefined, 'a=b');
    expect(list.items.map((i) => i.metadata?.name)).toEqual(['w1']);
    await api.delete({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1', namespace: 'default' } });
    expect(kube.list('widgets')).toEqual([]);
    expect(kube.requests.some((r) => r.path === '/apis/example.com/v1')).toBe(true);
  });

  it('forbid(verb, resource) answers 403 Forbidden Status for exactly that verb and resource, until allow()', async () => {
    kube = await startFakeKube();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const core = kc.makeApiClient(k8s.CoreV1Api);
    kube.forbid('list', 'configmaps');
    const err = (await core.listNamespacedConfigMap({ namespace: 'default' }).then(
      () => ({}),
      (e: unknown) => e,
    )) as { code?: number; body?: string };
    expect(err.code).toBe(403);
    expect(JSON.parse(err.body!)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403, message: expect.stringContaining('cannot list resource "configmaps" in API group "" in the namespace "default"') });
    // Other verbs on it, and the same verb elsewhere, are untouched.
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } });
    expect((await core.listNamespacedPod({ namespace: 'default' })).items).toEqual([]);
    kube.allow('list', 'configmaps');
    expect((await core.listNamespacedConfigMap({ namespace: 'default' })).items.map((c) => c.metadata?.name)).toEqual(['x']);
  });
});
