import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../wait.js';
import { startFakeKube, type FakeKubeServer, type KObj } from './server.js';

// Raw HTTP against the fake, so these tests pin the REST shapes the real
// API server speaks (not what one client library happens to send).
let kube: FakeKubeServer;
afterEach(async () => {
  await kube?.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${kube.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, replicas = 1, labels: Record<string, string> = { app: name }): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'user-container', image: 'example/hello', env: [{ name: 'K_REVISION', value: name }] }] },
      },
    },
  };
}

function service(name: string): unknown {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { app: name } }, spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
}

// ConfigMaps: no simulated controller writes to them, so a watch sees only the test's changes.
const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
function configMap(name: string, labels: Record<string, string> = {}): unknown {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data: { k: 'v' } };
}

interface WatchReader {
  events: { type: string; object: any }[];
  ended: boolean;
  close(): void;
}

/** Reads a watch stream line by line, as a client does. */
function openWatch(path: string): Promise<WatchReader> {
  return new Promise((resolve, reject) => {
    const r: WatchReader = { events: [], ended: false, close: () => req.destroy() };
    const req = http.get(`${kube.url}${path}`, (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      let buf = '';
      res.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          r.events.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
      });
      res.on('end', () => (r.ended = true));
      res.on('close', () => (r.ended = true));
      resolve(r);
    });
    req.on('error', (e) => (r.ended ? undefined : reject(e)));
  });
}

describe('fake API server: objects', () => {
  it('creates with a uid and a global resourceVersion; a second create of the name is 409 AlreadyExists', async () => {
    kube = await startFakeKube();
    const a = await call('POST', DEPLOYMENTS, deployment('a', 0));
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a', namespace: 'default', generation: 1 } });
    expect(a.json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const s = await call('POST', '/api/v1/namespaces/default/services', service('a'));
    expect(Number(s.json.metadata.resourceVersion)).toBeGreaterThan(Number(a.json.metadata.resourceVersion));
    const again = await call('POST', DEPLOYMENTS, deployment('a'));
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'AlreadyExists', code: 409 });
    const missing = await call('GET', `${DEPLOYMENTS}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'deployments.apps "nope" not found' });
  });

  it('rejects a stale resourceVersion on update with 409 Conflict and accepts the current one', async () => {
    kube = await startFakeKube();
    await call('POST', DEPLOYMENTS, deployment('a', 0));
    await kube.settle(); // the simulated controller writes status (a new resourceVersion) after the create
    const created = (await call('GET', `${DEPLOYMENTS}/a`)).json as KObj;
    const first = { ...created, spec: { ...created.spec, replicas: 0, minReadySeconds: 1 } };
    const ok = await call('PUT', `${DEPLOYMENTS}/a`, first);
    expect(ok.status).toBe(200);
    expect(ok.json.metadata.generation).toBe(2);
    const stale = await call('PUT', `${DEPLOYMENTS}/a`, { ...first, spec: { ...first.spec, minReadySeconds: 2 } });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ reason: 'Conflict', code: 409 });
    expect(stale.json.message).toContain('the object has been modified');
    expect((await call('GET', `${DEPLOYMENTS}/a`)).json.spec.minReadySeconds).toBe(1);
  });

  it('validates bodies against the schema (422) and names (422)', async () => {
    kube = await startFakeKube();
    const bad = await call('POST', DEPLOYMENTS, { ...(deployment('a') as object), spec: { selector: {}, template: { spec: { containers: [{ image: 'x' }] } } } });
    expect(bad.status).toBe(422);
    expect(bad.json.reason).toBe('Invalid');
    const badName = await call('POST', DEPLOYMENTS, deployment('Not_A_Name'));
    expect(badName.status).toBe(422);
  });

  it('lists with label selectors; list items carry no kind, the list carries the resourceVersion', async () => {
    kube = await startFakeKube();
    await call('POST', DEPLOYMENTS, deployment('a', 0, { app: 'a', tier: 'web' }));
    await call('POST', DEPLOYMENTS, deployment('b', 0, { app: 'b', tier: 'db' }));
    const all = await call('GET', DEPLOYMENTS);
    expect(all.json.kind).toBe('DeploymentList');
    expect(all.json.metadata.resourceVersion).toBe(String(kube.resourceVersion()));
    expect(all.json.items.map((i: KObj) => i.metadata.name)).toEqual(['a', 'b']);
    expect(all.json.items[0].kind).toBeUndefined();
    const web = await call('GET', `${DEPLOYMENTS}?labelSelector=${encodeURIComponent('tier in (web,api)')}`);
    expect(web.json.items.map((i: KObj) => i.metadata.name)).toEqual(['a']);
    const bad = await call('GET', `${DEPLOYMENTS}?labelSelector=${encodeURIComponent('tier in (web')}`);
    expect(bad.status).toBe(400);
  });

  it('requires the bearer token when configured', async () => {
    kube = await startFakeKube({ token: 'sekret' });
    expect((await call('GET', DEPLOYMENTS)).status).toBe(401);
    expect((await call('GET', DEPLOYMENTS, undefined, { authorization: 'Bearer sekret' })).status).toBe(200);
  });

  it('Lease times must be MicroTime with six fractional digits, as the real server parses them', async () => {
    kube = await startFakeKube();
    const lease = (renewTime: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime } });
    expect((await call('POST', '/apis/coordination.k8s.io/v1/namespaces/default/leases', lease('2026-01-01T00:00:00.123Z'))).status).toBe(422);
    expect((await call('POST', '/apis/coordination.k8s.io/v1/namespaces/default/leases', lease('2026-01-01T00:00:00.123000Z'))).status).toBe(201);
  });
});

describe('fake API server: scale subresource and the simulated controllers', () => {
  it('scales a Deployment through /scale; pods become ready endpoints in the EndpointSlice, reachable on loopback', async () => {
    kube = await startFakeKube();
    await call('POST', DEPLOYMENTS, deployment('hello', 0));
    await call('POST', '/api/v1/namespaces/default/services', service('hello'));
    const scale = await call('GET', `${DEPLOYMENTS}/hello/scale`);
    expect(scale.json).toMatchObject({ apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 0 }, status: { selector: 'app=hello' } });
    const stale = await call('PUT', `${DEPLOYMENTS}/hello/scale`, { ...scale.json, metadata: { ...scale.json.metadata, resourceVersion: '1' }, spec: { replicas: 2 } });
    expect(stale.status).toBe(409);
    const put = await call('PUT', `${DEPLOYMENTS}/hello/scale`, { ...scale.json, spec: { replicas: 2 } });
    expect(put.status).toBe(200);
    expect(put.json.spec.replicas).toBe(2);

    const readyEndpoints = () =>
      kube
        .list('endpointslices', 'default')
        .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'hello')
        .flatMap((s) => s.endpoints.filter((e: any) => e.conditions.ready).map((e: any) => ({ name: e.targetRef.name, url: `http://${e.addresses[0]}:${s.ports[0].port}` })));
    await waitFor(() => readyEndpoints().length === 2, 5_000, { message: 'two ready endpoints' });
    const eps = readyEndpoints();
    for (const ep of eps) {
      const res = await fetch(`${ep.url}/x`);
      expect(await res.json()).toMatchObject({ pod: ep.name, env: { K_REVISION: 'hello' } });
    }
    await waitFor(() => kube.get('deployments', 'default', 'hello')?.status?.readyReplicas === 2, 5_000);

    // Scale down by merge patch: one pod leaves the slice, then is gone.
    const patched = await call('PATCH', `${DEPLOYMENTS}/hello/scale`, { spec: { replicas: 1 } }, { 'content-type': 'application/merge-patch+json' });
    expect(patched.json.spec.replicas).toBe(1);
    await waitFor(() => kube.list('pods', 'default').length === 1 && readyEndpoints().length === 1, 5_000, { message: 'one pod left' });

    // The garbage collector: deleting the Deployment deletes its pods; the Service's slices go with the Service.
    expect((await call('DELETE', `${DEPLOYMENTS}/hello`)).status).toBe(200);
    await waitFor(() => kube.list('pods', 'default').length === 0, 5_000);
    await call('DELETE', '/api/v1/namespaces/default/services/hello');
    expect(kube.list('endpointslices', 'default')).toEqual([]);
  });

  it('a pod whose readiness fails leaves the ready endpoints but stays serving=false, not terminating', async () => {
    kube = await startFakeKube();
    await call('POST', DEPLOYMENTS, deployment('hello', 1));
    await call('POST', '/api/v1/namespaces/default/services', service('hello'));
    const endpoint = () => kube.list('endpointslices', 'default')[0]?.endpoints?.[0];
    await waitFor(() => endpoint()?.conditions.ready === true, 5_000);
    kube.setPodReady('default', endpoint().targetRef.name, false);
    await waitFor(() => endpoint()?.conditions.ready === false, 5_000);
    expect(endpoint().conditions).toEqual({ ready: false, serving: false, terminating: false });
  });

  it('serves pod logs with tailLines, timestamps and follow', async () => {
    kube = await startFakeKube();
    await call('POST', DEPLOYMENTS, deployment('hello', 1));
    await waitFor(() => kube.list('pods', 'default')[0]?.status?.phase === 'Running', 5_000);
    const pod = kube.list('pods', 'default')[0]!.metadata.name;
    for (let i = 1; i <= 3; i++) kube.appendLog('default', pod, `line ${i}`);
    const tail = await fetch(`${kube.url}/api/v1/namespaces/default/pods/${pod}/log?tailLines=2`);
    expect(await tail.text()).toBe('line 2\nline 3\n');
    const stamped = await (await fetch(`${kube.url}/api/v1/namespaces/default/pods/${pod}/log?tailLines=1&timestamps=true`)).text();
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 3\n$/);
    const ac = new AbortController();
    const follow = await fetch(`${kube.url}/api/v1/namespaces/default/pods/${pod}/log?follow=true&tailLines=0`, { signal: ac.signal });
    const reader = follow.body!.getReader();
    kube.appendLog('default', pod, 'later');
    const { value } = await reader.read();
    expect(Buffer.from(value!).toString()).toBe('later\n');
    ac.abort();
  });
});

describe('fake API server: watch', () => {
  it('streams changes after a resourceVersion, with BOOKMARKs when allowed, and selector transitions as ADDED/DELETED', async () => {
    kube = await startFakeKube();
    await call('POST', CONFIGMAPS, configMap('a', { tier: 'web' }));
    const rv = kube.resourceVersion();
    await call('POST', CONFIGMAPS, configMap('b', { tier: 'web' }));
    const w = await openWatch(`${CONFIGMAPS}?watch=1&resourceVersion=${rv}&allowWatchBookmarks=true&labelSelector=tier%3Dweb`);
    // History after rv is replayed first.
    await waitFor(() => w.events.length === 1, 2_000);
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'b' } } });
    const b = kube.get('configmaps', 'default', 'b')!;
    await call('PUT', `${CONFIGMAPS}/b`, { ...b, metadata: { ...b.metadata, labels: { tier: 'db' } } });
    await waitFor(() => w.events.length === 2, 2_000);
    expect(w.events[1]).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'b', labels: { tier: 'db' } } } });
    kube.bookmark();
    await waitFor(() => w.events.length === 3, 2_000);
    expect(w.events[2]).toEqual({ type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: String(kube.resourceVersion()) } } });
    await call('DELETE', `${CONFIGMAPS}/a`);
    await waitFor(() => w.events.length === 4, 2_000);
    expect(w.events[3]).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'a' } } });
    expect(Number(w.events[3]!.object.metadata.resourceVersion)).toBe(kube.resourceVersion());
    kube.dropWatches();
    await waitFor(() => w.ended, 2_000);
  });

  it('without a resourceVersion starts with the current objects as ADDED; no BOOKMARK unless asked', async () => {
    kube = await startFakeKube();
    await call('POST', CONFIGMAPS, configMap('a'));
    const w = await openWatch(`${CONFIGMAPS}?watch=true`);
    await waitFor(() => w.events.length === 1, 2_000);
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'a' } } });
    kube.bookmark();
    await call('POST', CONFIGMAPS, configMap('b'));
    await waitFor(() => w.events.length === 2, 2_000);
    expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'ADDED']);
    w.close();
  });

  it('answers a resourceVersion older than its history with an ERROR event: 410 Expired', async () => {
    kube = await startFakeKube({ historyLimit: 2 });
    await call('POST', CONFIGMAPS, configMap('a'));
    const old = kube.resourceVersion();
    for (const n of ['b', 'c', 'd']) await call('POST', CONFIGMAPS, configMap(n));
    const w = await openWatch(`${CONFIGMAPS}?watch=1&resourceVersion=${old}`);
    await waitFor(() => w.ended, 2_000);
    expect(w.events).toEqual([{ type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) }]);
    // Still in history: fine.
    const recent = await openWatch(`${CONFIGMAPS}?watch=1&resourceVersion=${kube.resourceVersion() - 1}`);
    await waitFor(() => recent.events.length === 1, 2_000);
    expect(recent.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'd' } } });
    kube.compact();
    const gone = await openWatch(`${CONFIGMAPS}?watch=1&resourceVersion=${kube.resourceVersion() - 1}`);
    await waitFor(() => gone.ended, 2_000);
    expect(gone.events[0]?.object.code).toBe(410);
    recent.close();
  });
});
