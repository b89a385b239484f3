import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { startPlatform, type Platform, type PlatformOptions } from '../controller/platform.js';
import { clusterModeOptions } from '../functions/kubernetes/control-plane.js';
import type { LeaderElector } from '../functions/kubernetes/leader.js';
import { startFakeKube, type FakeKubeServer } from './support/fake-kube/server.js';
import { waitFor } from './support/wait.js';
import { tempDir } from './support/zeno.js';

// Two control planes against one (fake) cluster, in this process, each on its
// own FakeClock: the Lease decides which one reconciles and scales. A clock
// that is not advanced is an instance that stopped renewing (a paused or
// partitioned process); advancing the other's clock drives the takeover.

const LEASE = { namespace: 'zeno-system', name: 'zeno-controller' };
const T0 = Date.UTC(2026, 0, 1);

interface Instance {
  name: string;
  clock: FakeClock;
  platform: Platform;
  elector: LeaderElector;
  admin(method: string, p: string, body?: unknown): Promise<{ status: number; json: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

let kube: FakeKubeServer | undefined;
const instances: Instance[] = [];

afterEach(async () => {
  for (const i of instances.splice(0)) await i.platform.close();
  await kube?.close();
  kube = undefined;
});

async function instance(name: string): Promise<Instance> {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kube!.kubeconfig());
  const clock = new FakeClock(T0);
  const mode = clusterModeOptions({ kubeConfig: kc, lease: { ...LEASE, identity: name } });
  let elector: LeaderElector | undefined;
  const leaderElection: PlatformOptions['leaderElection'] = (hooks, deps) => {
    elector = mode.leaderElection!(hooks, deps) as LeaderElector;
    return elector;
  };
  const platform = await startPlatform({
    port: 0, adminPort: 0, host: '127.0.0.1', dataDir: path.join(tempDir(`zeno-lead-${name}-`), 'data'), configFiles: [], clock,
    ...mode, leaderElection,
  });
  const inst: Instance = {
    name, clock, platform, elector: elector!,
    async admin(method, p, body) {
      const res = await fetch(`${platform.adminUrl}${p}`, {
        method,
        headers: { authorization: `Bearer ${platform.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: await res.json() };
    },
  };
  instances.push(inst);
  return inst;
}

/** The first round of the election loop done: its next attempt waits on the clock. */
async function firstRound(i: Instance): Promise<void> {
  await waitFor(() => i.elector.rounds > 0, 5_000, { message: `${i.name}: first lease attempt` });
}

/** One retry period on this instance's clock, and the attempt it fires run to its end. */
async function retry(i: Instance): Promise<void> {
  const before = i.elector.rounds;
  i.clock.advance(2_000);
  await waitFor(() => i.elector.rounds > before, 5_000, { message: `${i.name}: a lease attempt` });
}

const service = (name: string) => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', annotations: {} },
  spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1' } }, spec: { containers: [{ image: 'ghcr.io/zeno/hello:1' }] } } },
});

const ping = {
  apiVersion: 'sources.knative.dev/v1',
  kind: 'PingSource',
  metadata: { name: 'beat', namespace: 'default' },
  spec: { schedule: '0 0 1 1 *', sink: { uri: 'http://127.0.0.1:9/' } },
};

/** The PingSource's Ready status on this instance: set by its sources controller, which runs only while leading. */
const pingReady = async (i: Instance): Promise<string | undefined> =>
  ((await i.admin('GET', '/apis/sources.knative.dev/v1/namespaces/default/pingsources/beat')).json.status?.conditions as { type: string; status: string }[] | undefined)?.find((c) => c.type === 'Ready')?.status;

const revisions = async (i: Instance): Promise<string[]> =>
  ((await i.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions')).json.items as { metadata: { name: string } }[]).map((r) => r.metadata.name);

/** Lets microtask-driven reconciling (store watch → queueMicrotask → flush) run to the end. */
const settle = () => new Promise((r) => setImmediate(r));

describe('leader election wired into the platform (fake API server)', () => {
  it('only the Lease holder reconciles; after it stops renewing the standby takes over, and the old leader stops reconciling and writing', async () => {
    kube = await startFakeKube();
    const a = await instance('a');
    await firstRound(a);
    expect(a.platform.isLeader()).toBe(true);
    const b = await instance('b');
    await firstRound(b);
    expect(b.platform.isLeader()).toBe(false);
    expect(kube.get('leases', LEASE.namespace, LEASE.name)?.spec.holderIdentity).toBe('a');
    expect((await b.admin('GET', '/apis/zeno.dev/v1/info')).json.leader).toBe(false);

    // The same Service and PingSource applied to both: only the leader makes a Revision and a Deployment, and runs the source.
    for (const i of [a, b]) expect((await i.admin('POST', '/apis/zeno.dev/v1/apply', { items: [service('lead'), ping] })).status).toBe(200);
    await waitFor(async () => (await pingReady(a)) === 'True', 5_000, { message: 'the leader runs the PingSource' });
    expect(await pingReady(b)).toBeUndefined();
    await settle();
    await waitFor(() => kube!.get('deployments', 'default', 'lead-00001-deployment')?.spec.replicas === 1, 5_000, { message: 'the leader scales lead to min-scale 1' });
    expect(await revisions(a)).toEqual(['lead-00001']);
    expect(await revisions(b)).toEqual([]);
    const bSvc = (await b.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/services/lead')).json;
    expect(bSvc.status?.latestCreatedRevisionName).toBeUndefined();

    // a stops renewing (its clock stands still). b sees the record unchanged for leaseDuration (15 s) and takes the Lease.
    for (let n = 0; n < 7; n++) {
      await retry(b);
      expect(b.platform.isLeader()).toBe(false);
    }
    await retry(b); // 16 s after b first saw a's record
    expect(b.platform.isLeader()).toBe(true);
    expect(kube.get('leases', LEASE.namespace, LEASE.name)?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    // b reconciles what it stored while standing by: the same Revision, adopting the Deployment (409 on create).
    await waitFor(async () => (await revisions(b)).includes('lead-00001'), 5_000, { message: 'b reconciles lead' });
    await waitFor(async () => (await b.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/lead-00001')).json.status?.actualReplicas === 1, 5_000, { message: 'b sees the adopted pod' });
    await waitFor(async () => (await pingReady(b)) === 'True', 5_000, { message: 'b runs the PingSource' });

    // a wakes up: its renewals fail (b holds the Lease); after renewDeadline (10 s) without renewing it steps down.
    for (let n = 0; n < 4; n++) {
      await retry(a);
      expect(a.platform.isLeader()).toBe(true);
    }
    await retry(a);
    expect(a.platform.isLeader()).toBe(false);
    // No longer reconciling: a Service applied to a gets no Revision.
    expect((await a.admin('POST', '/apis/zeno.dev/v1/apply', { items: [service('late')] })).status).toBe(200);
    await settle();
    await settle();
    expect(await revisions(a)).toEqual(['lead-00001']);
    // And it no longer scales: stopping a leaves b's Deployment as it is.
    const before = kube.get('deployments', 'default', 'lead-00001-deployment')?.metadata.resourceVersion;
    await a.platform.close();
    instances.splice(instances.indexOf(a), 1);
    expect(kube.get('deployments', 'default', 'lead-00001-deployment')?.spec.replicas).toBe(1);
    expect(kube.get('deployments', 'default', 'lead-00001-deployment')?.metadata.resourceVersion).toBe(before);
    expect(kube.get('leases', LEASE.namespace, LEASE.name)?.spec.holderIdentity).toBe('b');
  });

  it('a leader that lost the Lease and wins it back writes its next decisions again, though it sent the same counts before', async () => {
    kube = await startFakeKube();
    const a = await instance('a');
    await firstRound(a);
    const b = await instance('b');
    await firstRound(b);
    for (const i of [a, b]) expect((await i.admin('POST', '/apis/zeno.dev/v1/apply', { items: [service('lead')] })).status).toBe(200);
    await waitFor(() => kube!.get('deployments', 'default', 'lead-00001-deployment')?.spec.replicas === 1, 5_000, { message: 'a scales lead to 1' });

    // a stops renewing; b takes over and (standing in for its autoscaler) scales lead to 3.
    for (let n = 0; n < 8; n++) await retry(b);
    expect(b.platform.isLeader()).toBe(true);
    // b adopts the Deployment and writes its own first decision (1) before "deciding" 3.
    const scaleWrites = () => kube!.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/lead-00001-deployment/scale')).length;
    await waitFor(() => scaleWrites() === 2, 5_000, { message: "b's first scale write" });
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    const name = 'lead-00001-deployment';
    await kc.makeApiClient(k8s.AppsV1Api).replaceNamespacedDeploymentScale({ name, namespace: 'default', body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name, namespace: 'default' }, spec: { replicas: 3 } } });
    expect(kube.get('deployments', 'default', 'lead-00001-deployment')?.spec.replicas).toBe(3);

    // Now b stops renewing. a steps down (10 s), then takes the Lease back once b's record is 15 s old.
    let n = 0;
    while (!a.platform.isLeader() || n < 5) {
      await retry(a);
      n++;
      if (n === 5) expect(a.platform.isLeader()).toBe(false);
      expect(n).toBeLessThan(20);
    }
    expect(kube.get('leases', LEASE.namespace, LEASE.name)?.spec.holderIdentity).toBe('a');
    // a's autoscaler decides 1 (min-scale, no traffic): the same count it sent as the first leader, written again.
    await retry(a);
    await waitFor(() => kube!.get('deployments', 'default', 'lead-00001-deployment')?.spec.replicas === 1, 5_000, { message: 'a writes its decision again' });
    expect(scaleWrites()).toBe(4);
  });

  it('a leader that stops gracefully releases the Lease, so the standby takes over at its next retry', async () => {
    kube = await startFakeKube();
    const a = await instance('a');
    await firstRound(a);
    expect(a.platform.isLeader()).toBe(true);
    const b = await instance('b');
    await firstRound(b);
    expect(b.platform.isLeader()).toBe(false);
    await a.platform.close();
    instances.splice(instances.indexOf(a), 1);
    expect(kube.get('leases', LEASE.namespace, LEASE.name)?.spec.holderIdentity).toBe('');
    await retry(b);
    expect(b.platform.isLeader()).toBe(true);
  });
});
