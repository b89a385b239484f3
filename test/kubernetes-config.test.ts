import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../controller/platform.js';
import { clusterModeOptions } from '../functions/kubernetes/control-plane.js';
import { startFakeKube, type FakeKubeServer } from './support/fake-kube/server.js';
import { waitFor } from './support/wait.js';
import { tempDir } from './support/zeno.js';

// Cluster mode follows Knative's ConfigMaps in the platform namespace
// (deploy/kubernetes/30-config.yaml), as Knative's controllers do.

const NS = 'zeno-system';
let kube: FakeKubeServer | undefined;
let platform: Platform | undefined;

afterEach(async () => {
  await platform?.close();
  await kube?.close();
  platform = kube = undefined;
});

describe('cluster ConfigMaps (fake API server)', () => {
  it('loads them before reconciling, follows changes, keeps the previous settings for an invalid one, and drops a deleted one', async () => {
    kube = await startFakeKube();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'config-domain' }, data: { 'example.com': '' } } });
    // Not one Zeno reads: ignored.
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'config-network' }, data: { 'ingress-class': 'x' } } });
    const lines: string[] = [];
    platform = await startPlatform({
      port: 0, adminPort: 0, host: '127.0.0.1', dataDir: path.join(tempDir('zeno-kcfg-'), 'data'), configFiles: [],
      log: (l) => lines.push(l),
      ...clusterModeOptions({ kubeConfig: kc, configNamespace: NS }),
    });
    const p = platform;
    const get = async (url: string) => (await fetch(`${p.adminUrl}${url}`, { headers: { authorization: `Bearer ${p.token}` } })).json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const domain = async () => (await get('/apis/zeno.dev/v1/info')).domain as string;

    // Loaded before startPlatform returned.
    expect(await domain()).toBe('example.com');
    expect((await get('/api/v1/configmaps')).items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['config-domain']);

    await core.replaceNamespacedConfigMap({ name: 'config-domain', namespace: NS, body: { metadata: { name: 'config-domain' }, data: { 'other.org': '' } } });
    await waitFor(async () => (await domain()) === 'other.org', 5_000, { message: 'the new domain' });

    // stable-window below Knative's 6 s minimum: refused, logged, nothing changes.
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'config-autoscaler' }, data: { 'stable-window': '1s' } } });
    await waitFor(() => lines.some((l) => l.includes(`ConfigMap ${NS}/config-autoscaler is invalid, the previous settings stay`)), 5_000, { message: 'the invalid ConfigMap logged' });
    expect((await get('/api/v1/configmaps')).items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['config-domain']);

    await core.deleteNamespacedConfigMap({ name: 'config-domain', namespace: NS });
    await waitFor(async () => (await domain()) === 'localhost', 5_000, { message: 'back to the default domain' });
  });
});
