import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import { imagePodTemplates } from '../../test/support/fake-kube/pod-template.js';
import { startFakeKube, type FakeKubeServer } from '../../test/support/fake-kube/server.js';
import { waitFor } from '../../test/support/wait.js';
import { runFunctionRuntimeContract } from '../runtime-contract.js';
import type { FunctionRuntime, RuntimeEvent } from '../runtime.js';
import { createKubernetesRuntime } from './kube-runtime.js';

// The real client library against a real HTTP server that speaks the
// Kubernetes API (test/support/fake-kube): nothing in between is mocked.
const template = imagePodTemplates('kfn');

function kubeConfigFor(kube: FakeKubeServer): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfig());
  return kc;
}

runFunctionRuntimeContract('kubernetes (fake API server)', async () => {
  const kube = await startFakeKube({ token: 'contract-token' });
  const runtime = createKubernetesRuntime({ kubeConfig: kubeConfigFor(kube) });
  return {
    runtime,
    template,
    breakableTemplate: () => template(),
    breakReadiness: async (pod) => kube.setPodReady('default', pod.id, false),
    // The fake container answers every path with its pod name and container env.
    env: async (pod) => ((await (await fetch(`${pod.url}/env`)).json()) as { env: Record<string, string> }).env,
    dispose: async () => {
      await runtime.close();
      await kube.close();
    },
  };
});

describe('kubernetes runtime: what it sends and how it follows the cluster', () => {
  let kube: FakeKubeServer;
  let runtime: FunctionRuntime;
  let events: RuntimeEvent[];
  const lines: string[] = [];
  async function start(opts: Parameters<typeof startFakeKube>[0] = {}): Promise<void> {
    kube = await startFakeKube(opts);
    runtime = createKubernetesRuntime({ kubeConfig: kubeConfigFor(kube), log: (l) => lines.push(l) });
    events = [];
    runtime.subscribe((e) => events.push(e));
  }
  afterEach(async () => {
    await runtime?.close();
    await kube?.close();
  });

  it('creates the Deployment and Service, scales through the scale subresource, and scales to zero on close', async () => {
    await start();
    const t = template({ namespace: 'shop', id: 'shop/kshop-00001', revision: 'kshop-00001', service: 'kshop', configuration: 'kshop' });
    runtime.deploy(t);
    runtime.scale(t.id, 2);
    await waitFor(() => runtime.readyPods(t.id).length === 2, 10_000, { message: 'two ready pods' });
    const d = kube.get('deployments', 'shop', 'kshop-00001-deployment')!;
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(2);
    expect(kube.get('services', 'shop', 'kshop-00001')!.spec.selector).toEqual({ 'serving.knative.dev/revision': 'kshop-00001' });
    const scaleWrites = kube.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/deployments/kshop-00001-deployment/scale'));
    expect(scaleWrites).toHaveLength(1);
    expect(kube.requests.some((r) => r.method === 'PUT' && r.path.endsWith('/deployments/kshop-00001-deployment'))).toBe(false);
    await runtime.close();
    expect(kube.get('deployments', 'shop', 'kshop-00001-deployment')!.spec.replicas).toBe(0);
  });

  it('a dropped watch resumes from the last resourceVersion without relisting; a 410 Gone relists', async () => {
    await start();
    const t = template();
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
    const lists = () => kube.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/endpointslices') && !/watch=/.test(r.query)).length;
    const watches = () => kube.requests.filter((r) => r.path.endsWith('/endpointslices') && /watch=true/.test(r.query));
    expect(lists()).toBe(1);

    // The connection drops (API server restart): the watch resumes where it was.
    kube.bookmark();
    await new Promise((r) => setTimeout(r, 50));
    const rvBefore = kube.resourceVersion();
    kube.dropWatches();
    runtime.scale(t.id, 2); // changes while no watch is open
    await waitFor(() => runtime.readyPods(t.id).length === 2, 10_000, { message: 'second pod seen after resume' });
    expect(lists()).toBe(1);
    const resumed = watches().at(-1)!;
    expect(Number(new URLSearchParams(resumed.query).get('resourceVersion'))).toBeLessThanOrEqual(rvBefore);
    expect(new URLSearchParams(resumed.query).get('allowWatchBookmarks')).toBe('true');

    // History compacted while disconnected: 410 Expired → a fresh list, and the cache is right.
    kube.compact();
    kube.dropWatches();
    runtime.scale(t.id, 1);
    await waitFor(() => lists() === 2, 10_000, { message: 'relist after 410' });
    await waitFor(() => runtime.readyPods(t.id).length === 1 && runtime.status(t.id)!.pods.length === 1, 10_000, { message: 'one pod after relist' });
    expect(lines.some((l) => /expired/.test(l))).toBe(true);
  });

  it('reports a pod that cannot pull its image as revision-failed with the kubelet reason', async () => {
    await start();
    kube.failImage('example.com/missing:1', 'ImagePullBackOff', 'Back-off pulling image "example.com/missing:1"');
    const bad = template({ image: 'example.com/missing:1' });
    runtime.deploy(bad);
    runtime.scale(bad.id, 1);
    await waitFor(() => events.some((e) => e.type === 'revision-failed'), 10_000);
    expect(runtime.status(bad.id)!.failure).toEqual({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "example.com/missing:1"' });
    expect(runtime.readyPods(bad.id)).toEqual([]);
  });

  it('a revision without an image fails with ImageRequired and creates nothing', async () => {
    await start();
    const t = template({ image: undefined as unknown as string });
    runtime.deploy(t);
    expect(runtime.status(t.id)!.failure?.reason).toBe('ImageRequired');
    runtime.scale(t.id, 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(kube.list('deployments')).toEqual([]);
  });

  it('remove deletes the Deployment and the Service; the garbage collector takes the pods', async () => {
    await start();
    const t = template();
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
    await runtime.remove(t.id);
    expect(kube.get('deployments', 'default', `${t.revision}-deployment`)).toBeUndefined();
    expect(kube.get('services', 'default', t.revision)).toBeUndefined();
    await waitFor(() => kube.list('pods', 'default').length === 0, 5_000);
  });

  it('adopts the objects of a revision that already exists (a restarted control plane)', async () => {
    await start();
    const t = template();
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000);
    const second = createKubernetesRuntime({ kubeConfig: kubeConfigFor(kube) });
    try {
      second.deploy(t);
      await waitFor(() => second.readyPods(t.id).length === 1, 10_000, { message: 'the running pod is seen' });
      expect(second.status(t.id)!.failure).toBeUndefined();
    } finally {
      await second.close();
    }
  });
});

describe('kubernetes runtime: the progress deadline (FakeClock)', () => {
  let kube: FakeKubeServer;
  let runtime: FunctionRuntime;
  afterEach(async () => {
    await runtime?.close();
    await kube?.close();
  });

  it('a pod not ready within progressDeadlineMs fails the revision; one that gets ready later recovers it', async () => {
    kube = await startFakeKube({ autoReady: false });
    const clock = new FakeClock();
    runtime = createKubernetesRuntime({ kubeConfig: kubeConfigFor(kube), clock });
    const events: RuntimeEvent[] = [];
    runtime.subscribe((e) => events.push(e));
    const t = template({ progressDeadlineMs: 5_000 });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.status(t.id)!.pods.length === 1, 10_000, { message: 'the pod appears' });
    const pod = runtime.status(t.id)!.pods[0]!.id;
    clock.advance(4_999);
    expect(events.filter((e) => e.type === 'revision-failed')).toEqual([]);
    clock.advance(1);
    expect(events.filter((e) => e.type === 'revision-failed')).toEqual([
      { type: 'revision-failed', revision: t.id, failure: { reason: 'ProgressDeadlineExceeded', message: `Pod ${pod} did not become ready within 5s` } },
    ]);
    expect(runtime.status(t.id)!.failure?.reason).toBe('ProgressDeadlineExceeded');
    kube.setPodReady('default', pod, true);
    await waitFor(() => events.some((e) => e.type === 'revision-recovered'), 10_000, { message: 'recovered once ready' });
    expect(runtime.status(t.id)!.failure).toBeUndefined();
  });

  it('a pod ready in time never fails the revision', async () => {
    kube = await startFakeKube();
    const clock = new FakeClock();
    runtime = createKubernetesRuntime({ kubeConfig: kubeConfigFor(kube), clock });
    const events: RuntimeEvent[] = [];
    runtime.subscribe((e) => events.push(e));
    const t = template({ progressDeadlineMs: 5_000 });
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => runtime.readyPods(t.id).length === 1, 10_000, { message: 'ready' });
    clock.advance(60_000);
    expect(events.filter((e) => e.type === 'revision-failed')).toEqual([]);
  });
});
