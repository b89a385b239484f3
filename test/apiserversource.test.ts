/**
 * ApiServerSource end to end without a cluster: changes made on the fake
 * API server (through the real client library) produce Knative's
 * dev.knative.apiserver.* CloudEvents at a real HTTP sink on loopback.
 * Every wait polls with a deadline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realClock } from '../core/clock.js';
import type { Condition, KObject } from '../core/types.js';
import { openSqliteStore, type ResourceStore } from '../controller/store.js';
import { ApiServerSourceController } from '../eventing/sources/apiserver.js';
import { createApiServerClient } from '../functions/kubernetes/apiserver-client.js';
import { startFakeKube, type FakeKubeServer } from './support/fake-kube/server.js';
import { waitFor } from './support/wait.js';

interface Received {
  headers: Record<string, string>;
  body: unknown;
}

const WIDGETS = { group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', statusSubresource: false };

let kube: FakeKubeServer;
let kc: k8s.KubeConfig;
let store: ResourceStore;
let controller: ApiServerSourceController | undefined;
let sink: http.Server;
let sinkUrl: string;
let received: Received[];
let dir: string;
/** The sink answers 503 this many times before accepting. */
let failuresLeft = 0;
let attempts = 0;

beforeEach(async () => {
  kube = await startFakeKube({ resources: [WIDGETS] });
  kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfig());
  dir = mkdtempSync(join(tmpdir(), 'zeno-apiserversource-'));
  store = openSqliteStore(join(dir, 'zeno.db'));
  received = [];
  failuresLeft = 0;
  attempts = 0;
  sink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      attempts++;
      if (failuresLeft > 0) {
        failuresLeft--;
        res.writeHead(503).end();
        return;
      }
      received.push({ headers, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
});

afterEach(async () => {
  await controller?.close();
  controller = undefined;
  store.close();
  sink.closeAllConnections();
  await new Promise<void>((r) => sink.close(() => r()));
  await kube.close();
  rmSync(dir, { recursive: true, force: true });
});

function startController(withClient = true): ApiServerSourceController {
  controller = new ApiServerSourceController({
    store,
    clock: realClock,
    gatewayUrl: 'http://127.0.0.1:1',
    ...(withClient ? { client: createApiServerClient(kc) } : {}),
  });
  controller.start();
  return controller;
}

function source(name: string, spec: Record<string, unknown>): KObject {
  return store.put('apiserversources', {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    metadata: { name, namespace: 'default' },
    spec: { sink: { uri: sinkUrl }, ...spec },
  }).object;
}

function conditions(name: string): Condition[] {
  return ((store.get('apiserversources', 'default', name)?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []);
}
const isReady = (name: string) => conditions(name).some((c) => c.type === 'Ready' && c.status === 'True');

const core = () => kc.makeApiClient(k8s.CoreV1Api);
const objects = () => k8s.KubernetesObjectApi.makeApiClient(kc);

describe('ApiServerSource against the fake API server', () => {
  it('Reference mode: add, update and delete of ConfigMaps arrive at the sink as dev.knative.apiserver.ref.*, nothing for what existed before', async () => {
    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' }, data: { a: '1' } } });
    source('cms', { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }] });
    startController();
    await waitFor(() => isReady('cms'), 10_000, { message: `Ready (${JSON.stringify(conditions('cms'))})` });
    const st = store.get('apiserversources', 'default', 'cms')!.status as Record<string, unknown>;
    expect(st).toMatchObject({
      sinkUri: sinkUrl,
      namespaces: ['default'],
      ceAttributes: [
        { type: 'dev.knative.apiserver.ref.add', source: kube.url },
        { type: 'dev.knative.apiserver.ref.update', source: kube.url },
        { type: 'dev.knative.apiserver.ref.delete', source: kube.url },
      ],
    });
    expect(conditions('cms').map((c) => [c.type, c.status]).sort()).toEqual([
      ['Deployed', 'True'], ['OIDCIdentityCreated', 'True'], ['Ready', 'True'], ['SinkProvided', 'True'], ['SufficientPermissions', 'True'],
    ]);

    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cm1' }, data: { a: '1' } } });
    await core().patchNamespacedConfigMap({ name: 'cm1', namespace: 'default', body: { data: { a: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core().deleteNamespacedConfigMap({ name: 'cm1', namespace: 'default' });
    await waitFor(() => received.length === 3, 10_000, { message: `three events (got ${received.length})` });
    expect(received.map((r) => r.headers['ce-type'])).toEqual(['dev.knative.apiserver.ref.add', 'dev.knative.apiserver.ref.update', 'dev.knative.apiserver.ref.delete']);
    const first = received[0]!;
    expect(first.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-source': kube.url,
      'ce-subject': '/apis/v1/namespaces/default/configmaps/cm1',
      'ce-kind': 'ConfigMap',
      'ce-apiversion': 'v1',
      'ce-name': 'cm1',
      'ce-namespace': 'default',
      'content-type': 'application/json',
    });
    expect(first.headers['ce-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.body).toEqual({ kind: 'ConfigMap', namespace: 'default', name: 'cm1', apiVersion: 'v1' });
    expect(new Set(received.map((r) => r.headers['ce-id'])).size).toBe(3);
  });

  it('Resource mode on a custom resource, with a label selector and ceOverrides: the whole object as data, only matching objects', async () => {
    source('widgets', {
      mode: 'Resource',
      resources: [{ apiVersion: 'example.com/v1', kind: 'Widget', selector: { matchLabels: { team: 'a' } } }],
      ceOverrides: { extensions: { origin: 'cluster' } },
    });
    startController();
    await waitFor(() => isReady('widgets'), 10_000, { message: 'Ready' });
    const api = objects();
    await api.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'other', namespace: 'default', labels: { team: 'b' } } });
    await api.create({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'mine', namespace: 'default', labels: { team: 'a' } }, spec: { size: 3 } } as k8s.KubernetesObject);
    await waitFor(() => received.length === 1, 10_000, { message: 'the matching widget' });
    const e = received[0]!;
    expect(e.headers).toMatchObject({ 'ce-type': 'dev.knative.apiserver.resource.add', 'ce-subject': '/apis/example.com/v1/namespaces/default/widgets/mine', 'ce-origin': 'cluster', 'ce-kind': 'Widget' });
    expect(e.body).toMatchObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'mine', labels: { team: 'a' } }, spec: { size: 3 } });
    // The other widget leaving the selector's world sends nothing either.
    await api.delete({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'other', namespace: 'default' } });
    await api.delete({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'mine', namespace: 'default' } });
    await waitFor(() => received.length === 2, 10_000, { message: 'the delete' });
    expect(received[1]!.headers['ce-type']).toBe('dev.knative.apiserver.resource.delete');
  });

  it('the owner filter keeps only objects owned by that kind', async () => {
    source('owned', { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }], owner: { apiVersion: 'apps/v1', kind: 'Deployment' } });
    startController();
    await waitFor(() => isReady('owned'), 10_000, { message: 'Ready' });
    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'loose' } } });
    await core().createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'kept', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'd', uid: '00000000-0000-0000-0000-000000000001' }] } },
    });
    await waitFor(() => received.length === 1, 10_000, { message: 'the owned ConfigMap' });
    // A later change to the loose one is still filtered out; the owned one's update comes through.
    await core().patchNamespacedConfigMap({ name: 'loose', namespace: 'default', body: { data: { x: '1' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await core().patchNamespacedConfigMap({ name: 'kept', namespace: 'default', body: { data: { x: '1' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    await waitFor(() => received.length === 2, 10_000, { message: 'the owned update' });
    expect(received.map((r) => [r.headers['ce-type'], r.headers['ce-name']])).toEqual([
      ['dev.knative.apiserver.ref.add', 'kept'],
      ['dev.knative.apiserver.ref.update', 'kept'],
    ]);
  });

  it('keeps sending after the watch drops (resume) and after 410 Gone (relist, which sends nothing for what it finds)', async () => {
    source('resilient', { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }] });
    startController();
    await waitFor(() => isReady('resilient') && kube.openWatches() === 1, 10_000, { message: 'Ready and watching' });
    kube.dropWatches();
    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'during-drop' } } });
    await waitFor(() => received.length === 1, 10_000, { message: 'the change made while the watch was down, replayed on resume' });
    const lists = () => kube.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/default/configmaps' && !r.query.includes('watch')).length;
    const listsBefore = lists();
    // A gap the server forgets: the watch is down while a change happens and the history is compacted.
    kube.pauseWatches();
    kube.dropWatches();
    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'lost-in-gap' } } });
    kube.compact();
    kube.resumeWatches();
    await waitFor(() => lists() > listsBefore, 10_000, { message: 'a relist after 410 Gone' });
    await waitFor(() => kube.openWatches() === 1, 10_000, { message: 'the watch after the relist' });
    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-relist' } } });
    await waitFor(() => received.some((r) => r.headers['ce-name'] === 'after-relist'), 10_000, { message: 'the change after the relist' });
    // Knative's adapter sends nothing for a relist: what changed in the gap is not reported (its store's Replace is a no-op).
    expect(received.map((r) => r.headers['ce-name'])).toEqual(['during-drop', 'after-relist']);
  });

  it('without a Kubernetes API (embedded runtime) the source is stored but not Ready: Deployed=False NoKubernetesAPI', async () => {
    source('local', { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }] });
    startController(false);
    await waitFor(() => conditions('local').some((c) => c.type === 'Ready'), 10_000, { message: 'a Ready condition' });
    expect(conditions('local').find((c) => c.type === 'Deployed')).toMatchObject({ status: 'False', reason: 'NoKubernetesAPI' });
    expect(conditions('local').find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'NoKubernetesAPI' });
  });

  it('RBAC that forbids the list: SufficientPermissions=False with the server\'s message; granted later, it becomes Ready and sends', async () => {
    kube.forbid('list', 'configmaps');
    source('denied', { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }] });
    startController();
    await waitFor(() => conditions('denied').find((c) => c.type === 'SufficientPermissions')?.status === 'False', 10_000, { message: 'SufficientPermissions=False' });
    expect(conditions('denied').find((c) => c.type === 'SufficientPermissions')).toMatchObject({
      reason: 'SufficientPermissionsFailed',
      message: expect.stringContaining('cannot list resource "configmaps"'),
    });
    expect(conditions('denied').find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
    kube.allow('list', 'configmaps');
    await waitFor(() => isReady('denied'), 15_000, { message: 'Ready once allowed (the list is retried with backoff)' });
    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'now-visible' } } });
    await waitFor(() => received.length === 1, 10_000, { message: 'the event after the grant' });
  });

  it('a kind the server does not serve: Deployed=False with the reason, and nothing sent', async () => {
    source('unknown', { resources: [{ apiVersion: 'example.com/v1', kind: 'Gadget' }] });
    startController();
    await waitFor(() => conditions('unknown').find((c) => c.type === 'Deployed')?.status === 'False', 10_000, { message: 'Deployed=False' });
    expect(conditions('unknown').find((c) => c.type === 'Deployed')).toMatchObject({ reason: 'WatchFailed', message: expect.stringContaining('Gadget') });
    expect(received).toEqual([]);
  });

  it('a sink that fails: the event is retried, then delivered once the sink recovers', async () => {
    source('retry', { resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }] });
    startController();
    await waitFor(() => isReady('retry'), 10_000, { message: 'Ready' });
    failuresLeft = 2;
    await core().createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'flaky' } } });
    await waitFor(() => received.length === 1, 10_000, { message: 'the retried event' });
    expect(attempts).toBe(3);
    expect(received[0]!.headers['ce-name']).toBe('flaky');
  });
});
