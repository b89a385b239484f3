import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { KObject, RevisionId } from '../core/types.js';
import type { FunctionRuntime, LogLine } from '../functions/runtime.js';
import { createAdminApi } from './admin-api.js';
import { EventRecorder } from './events.js';
import { configFromConfigMaps } from './platform-config.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import { inertRuntime } from '../test/support/inert-runtime.js';

/** Only logs matter to the admin API; the rest of the runtime is inert. */
function fakeRuntime(lines: Record<RevisionId, LogLine[]>): FunctionRuntime {
  return inertRuntime({ logs: (rev) => lines[rev] ?? [] });
}

const TOKEN = 'test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SVC = '/apis/serving.knative.dev/v1';

let dir: string;
let store: ResourceStore;
let events: EventRecorder;
let clock: FakeClock;
let app: FastifyInstance;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-admin-'));
  store = openSqliteStore(path.join(dir, 'zeno.db'));
  clock = new FakeClock();
  events = new EventRecorder(clock);
  app = createAdminApi({
    store,
    events,
    runtime: fakeRuntime({
      'default/hello-00001': [
        { time: 1, pod: 'p1', stream: 'stdout', line: 'one' },
        { time: 3, pod: 'p1', stream: 'stderr', line: 'three' },
      ],
      'default/hello-00002': [{ time: 2, pod: 'p2', stream: 'stdout', line: 'two' }],
      'default/other-00001': [{ time: 0, pod: 'o', stream: 'stdout', line: 'not mine' }],
    }),
    token: TOKEN,
    config: () => configFromConfigMaps(store.list('configmaps')),
    info: () => ({ version: 'test' }),
    maxBodyBytes: 64 * 1024,
  });
  await app.ready();
});

afterEach(async () => {
  await app.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function service(name: string, o: { namespace?: string; image?: string } = {}): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, ...(o.namespace ? { namespace: o.namespace } : {}) },
    spec: { template: { spec: { containers: [{ image: o.image ?? 'img:1', command: ['node', 'server.js'] }] } } },
  };
}

function domainCm(domain: string, namespace?: string): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-domain', ...(namespace ? { namespace } : {}) }, data: { [domain]: '' } };
}

async function req(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = AUTH) {
  const r = await app.inject({ method, url, headers, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: r.statusCode, body: r.body, json: () => r.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const apply = (items: unknown[], dryRun?: boolean) => req('POST', '/apis/zeno.dev/v1/apply', { items, ...(dryRun !== undefined ? { dryRun } : {}) });

describe('authentication', () => {
  const cases: { label: string; headers: Record<string, string> }[] = [
    { label: 'no token', headers: {} },
    { label: 'wrong token', headers: { authorization: 'Bearer nope' } },
    { label: 'wrong token of the same length', headers: { authorization: `Bearer ${'x'.repeat(TOKEN.length)}` } },
    { label: 'not a bearer token', headers: { authorization: `Basic ${TOKEN}` } },
  ];
  it.each(cases)('401 ZENO_ERR_UNAUTHORIZED with $label', async ({ headers }) => {
    for (const url of [`${SVC}/services`, '/apis/zeno.dev/v1/info', '/api/v1/configmaps']) {
      const r = await req('GET', url, undefined, headers);
      expect(r.status, url).toBe(401);
      expect(r.json()).toMatchObject({ statusCode: 401, code: 'ZENO_ERR_UNAUTHORIZED' });
    }
    // Nothing is written without the token either.
    const w = await req('POST', '/apis/zeno.dev/v1/apply', { items: [service('hello')] }, headers);
    expect(w.status).toBe(401);
    expect(store.list('services')).toEqual([]);
  });

  it('serves /healthz without a token and the rest with it', async () => {
    const h = await req('GET', '/healthz', undefined, {});
    expect(h.status).toBe(200);
    expect(h.body).toBe('ok');
    const info = await req('GET', '/apis/zeno.dev/v1/info');
    expect(info.status).toBe(200);
    expect(info.json()).toEqual({ version: 'test' });
  });
});

describe('apply', () => {
  it('stores a batch, defaults the Service, and reports created, configured and unchanged', async () => {
    const r = await apply([service('hello'), domainCm('example.com')]);
    expect(r.status).toBe(200);
    // ConfigMaps are applied first, so Services in the batch see their settings.
    expect(r.json().results).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'knative-serving', name: 'config-domain', action: 'created' },
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'hello', action: 'created' },
    ]);
    const stored = store.get('services', 'default', 'hello')!;
    expect(stored.metadata.generation).toBe(1);
    // Knative defaulting happened server side.
    expect((stored.spec as any).template.spec.timeoutSeconds).toBe(300); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect((stored.spec as any).traffic).toEqual([{ latestRevision: true, percent: 100 }]); // eslint-disable-line @typescript-eslint/no-explicit-any

    expect((await apply([service('hello')])).json().results[0].action).toBe('unchanged');
    expect((await apply([service('hello', { image: 'img:2' })])).json().results[0].action).toBe('configured');
    expect(store.get('services', 'default', 'hello')?.metadata.generation).toBe(2);
  });

  it('is all-or-nothing: one invalid item refuses the batch with 422 and indexed issues', async () => {
    const bad = service('Bad_Name');
    const r = await apply([service('good'), bad, domainCm('example.com')]);
    expect(r.status).toBe(422);
    const body = r.json();
    expect(body.code).toBe('ZENO_ERR_INVALID_RESOURCE');
    expect(body.issues.length).toBeGreaterThan(0);
    expect(body.issues.every((i: { index: number }) => i.index === 1)).toBe(true);
    expect(body.issues.some((i: { path: string }) => i.path === 'metadata.name')).toBe(true);
    expect(store.list('services')).toEqual([]);
    expect(store.list('configmaps')).toEqual([]);
  });

  it('refuses kinds it cannot apply, with the item index', async () => {
    const r = await apply([service('ok'), { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'x' }, spec: {} }]);
    expect(r.status).toBe(422);
    expect(r.json().issues[0]).toMatchObject({ index: 1, path: 'kind' });
    expect(store.list('services')).toEqual([]);
  });

  it('refuses the same object twice in one batch', async () => {
    const r = await apply([service('hello'), service('hello', { namespace: 'default', image: 'img:2' })]);
    expect(r.status).toBe(422);
    expect(r.json().issues).toEqual([expect.objectContaining({ index: 1, path: 'metadata.name' })]);
    expect(store.list('services')).toEqual([]);
  });

  it('allows the same name in different namespaces', async () => {
    const r = await apply([service('hello'), service('hello', { namespace: 'apps' })]);
    expect(r.status).toBe(200);
    expect(store.list('services').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['apps/hello', 'default/hello']);
  });

  it('validates Services against ConfigMaps in the same batch', async () => {
    // config-defaults caps timeoutSeconds; a Service above the cap in the same batch is refused.
    const cap: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-defaults' }, data: { 'max-revision-timeout-seconds': '60', 'revision-timeout-seconds': '30' } };
    const svc = service('slow');
    (svc.spec as any).template.spec.timeoutSeconds = 120; // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await apply([cap, svc]);
    expect(r.status).toBe(422);
    expect(r.json().issues[0]).toMatchObject({ index: 1, path: 'spec.template.spec.timeoutSeconds' });
    expect(store.list('configmaps')).toEqual([]);
  });

  it('dryRun validates and returns the defaulted objects but stores nothing', async () => {
    const seen: string[] = [];
    store.watch((e) => seen.push(e.type));
    const r = await apply([service('hello'), domainCm('example.com')], true);
    expect(r.status).toBe(200);
    expect(r.json().results).toEqual([]);
    expect(r.json().items.map((o: KObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      'Service/default/hello', 'ConfigMap/knative-serving/config-domain',
    ]);
    expect(store.list('services')).toEqual([]);
    expect(store.list('configmaps')).toEqual([]);
    expect(seen).toEqual([]);
    // An invalid dry run still fails.
    expect((await apply([service('Bad_Name')], true)).status).toBe(422);
  });

  const badBodies: { label: string; body: unknown }[] = [
    { label: 'no items', body: {} },
    { label: 'items not an array', body: { items: { a: 1 } } },
  ];
  it.each(badBodies)('400 ZENO_ERR_BAD_REQUEST for $label', async ({ body }) => {
    const r = await req('POST', '/apis/zeno.dev/v1/apply', body);
    expect(r.status).toBe(400);
    expect(r.json().code).toBe('ZENO_ERR_BAD_REQUEST');
  });

  it('413 ZENO_ERR_BODY_TOO_LARGE above maxBodyBytes', async () => {
    const big = service('big');
    (big.metadata as any).annotations = { pad: 'x'.repeat(70 * 1024) }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await apply([big]);
    expect(r.status).toBe(413);
    expect(r.json().code).toBe('ZENO_ERR_BODY_TOO_LARGE');
  });
});

describe('Service REST', () => {
  it('PUT creates (201) then replaces (200); GET returns it; lists have the Kubernetes shape', async () => {
    const put1 = await req('PUT', `${SVC}/namespaces/default/services/hello`, service('hello'));
    expect(put1.status).toBe(201);
    expect(put1.json().metadata).toMatchObject({ name: 'hello', namespace: 'default', generation: 1 });
    const put2 = await req('PUT', `${SVC}/namespaces/default/services/hello`, service('hello', { image: 'img:2' }));
    expect(put2.status).toBe(200);
    expect(put2.json().metadata.generation).toBe(2);
    await req('PUT', `${SVC}/namespaces/apps/services/web`, service('web'));

    const one = await req('GET', `${SVC}/namespaces/default/services/hello`);
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ kind: 'Service', metadata: { name: 'hello', namespace: 'default' } });

    const list = await req('GET', `${SVC}/namespaces/default/services`);
    expect(list.json()).toEqual({ apiVersion: 'serving.knative.dev/v1', kind: 'ServiceList', metadata: {}, items: [expect.objectContaining({ kind: 'Service' })] });
    const all = await req('GET', `${SVC}/services`);
    expect(all.json().kind).toBe('ServiceList');
    expect(all.json().items.map((o: KObject) => o.metadata.name)).toEqual(['web', 'hello']);

    const listKinds: [string, string][] = [['configurations', 'ConfigurationList'], ['revisions', 'RevisionList'], ['routes', 'RouteList']];
    for (const [plural, kind] of listKinds) {
      const r = await req('GET', `${SVC}/namespaces/default/${plural}`);
      expect(r.json(), plural).toEqual({ apiVersion: 'serving.knative.dev/v1', kind, metadata: {}, items: [] });
    }
  });

  const mismatches: { label: string; body: KObject }[] = [
    { label: 'another name', body: service('other') },
    { label: 'another namespace', body: service('hello', { namespace: 'apps' }) },
  ];
  it.each(mismatches)('PUT with $label in the body than in the path is 400', async ({ body }) => {
    const r = await req('PUT', `${SVC}/namespaces/default/services/hello`, body);
    expect(r.status).toBe(400);
    expect(r.json().code).toBe('ZENO_ERR_BAD_REQUEST');
    expect(store.list('services')).toEqual([]);
  });

  it('PUT on the services path refuses a body of another kind', async () => {
    const r = await req('PUT', `${SVC}/namespaces/default/services/config-domain`, domainCm('example.com'));
    expect(r.status).toBe(400);
    expect(r.json().code).toBe('ZENO_ERR_BAD_REQUEST');
    expect(store.list('configmaps')).toEqual([]);
  });

  it('PUT of an invalid Service is 422 and stores nothing', async () => {
    const bad = service('hello');
    (bad.spec as any).template.spec.containers = []; // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await req('PUT', `${SVC}/namespaces/default/services/hello`, bad);
    expect(r.status).toBe(422);
    expect(r.json().code).toBe('ZENO_ERR_INVALID_RESOURCE');
    expect(store.list('services')).toEqual([]);
  });

  it.each(['revisions', 'configurations', 'routes'])('PUT and DELETE on %s are 405 (the controller owns them)', async (plural) => {
    const put = await req('PUT', `${SVC}/namespaces/default/${plural}/x`, { metadata: { name: 'x' } });
    expect(put.status).toBe(405);
    expect(put.json().code).toBe('ZENO_ERR_METHOD_NOT_ALLOWED');
    const del = await req('DELETE', `${SVC}/namespaces/default/${plural}/x`);
    expect(del.status).toBe(405);
    expect(del.json().code).toBe('ZENO_ERR_METHOD_NOT_ALLOWED');
  });

  const notFound: { label: string; url: string }[] = [
    { label: 'a missing Service', url: `${SVC}/namespaces/default/services/nope` },
    { label: 'a missing Revision', url: `${SVC}/namespaces/default/revisions/nope-00001` },
    { label: 'an unknown resource', url: `${SVC}/namespaces/default/widgets/x` },
    { label: 'an unknown resource list', url: `${SVC}/widgets` },
    { label: 'an unknown path', url: '/apis/nope' },
    { label: 'a missing ConfigMap', url: '/api/v1/namespaces/knative-serving/configmaps/config-domain' },
  ];
  it.each(notFound)('404 ZENO_ERR_RESOURCE_NOT_FOUND for $label', async ({ url }) => {
    const r = await req('GET', url);
    expect(r.status).toBe(404);
    expect(r.json().code).toBe('ZENO_ERR_RESOURCE_NOT_FOUND');
  });

  const badNamespaces = ['Default', 'has_underscore', '-dash', 'a'.repeat(64)];
  it.each(badNamespaces)('400 ZENO_ERR_BAD_REQUEST for namespace %s in the path', async (ns) => {
    for (const url of [`${SVC}/namespaces/${ns}/services`, `${SVC}/namespaces/${ns}/services/hello`, `/api/v1/namespaces/${ns}/configmaps`, `/api/v1/namespaces/${ns}/events`]) {
      const r = await req('GET', url);
      expect(r.status, url).toBe(400);
      expect(r.json().code).toBe('ZENO_ERR_BAD_REQUEST');
    }
  });

  it('DELETE removes a Service and 404s the second time', async () => {
    await apply([service('hello')]);
    const uid = store.get('services', 'default', 'hello')?.metadata.uid;
    const r = await req('DELETE', `${SVC}/namespaces/default/services/hello`);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'hello', uid } });
    expect(store.get('services', 'default', 'hello')).toBeUndefined();
    expect((await req('DELETE', `${SVC}/namespaces/default/services/hello`)).status).toBe(404);
  });
});

describe('delete batch', () => {
  it('deletes what exists and reports what did not', async () => {
    await apply([service('a'), service('b'), domainCm('example.com')]);
    const r = await req('POST', '/apis/zeno.dev/v1/delete', {
      items: [service('a'), service('missing'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-domain' } }],
    });
    expect(r.status).toBe(200);
    expect(r.json().results).toEqual([
      { kind: 'Service', namespace: 'default', name: 'a', action: 'deleted' },
      { kind: 'Service', namespace: 'default', name: 'missing', action: 'not found' },
      { kind: 'ConfigMap', namespace: 'knative-serving', name: 'config-domain', action: 'deleted' },
    ]);
    expect(store.list('services').map((o) => o.metadata.name)).toEqual(['b']);
    expect(store.list('configmaps')).toEqual([]);
  });

  it('refuses the whole batch for an unknown kind or bad namespace, deleting nothing', async () => {
    await apply([service('a')]);
    const unknown = await req('POST', '/apis/zeno.dev/v1/delete', { items: [service('a'), { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }] });
    expect(unknown.status).toBe(400);
    expect(unknown.json().code).toBe('ZENO_ERR_UNKNOWN_KIND');
    const badNs = await req('POST', '/apis/zeno.dev/v1/delete', { items: [service('a'), service('b', { namespace: 'Bad_NS' })] });
    expect(badNs.status).toBe(400);
    expect(badNs.json().code).toBe('ZENO_ERR_BAD_REQUEST');
    expect(store.list('services').map((o) => o.metadata.name)).toEqual(['a']);
  });
});

describe('ConfigMaps', () => {
  it('default to namespace knative-serving and are served under /api/v1', async () => {
    await apply([domainCm('example.com')]);
    expect(store.get('configmaps', 'knative-serving', 'config-domain')?.data).toEqual({ 'example.com': '' });

    const one = await req('GET', '/api/v1/namespaces/knative-serving/configmaps/config-domain');
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', data: { 'example.com': '' } });
    const list = await req('GET', '/api/v1/namespaces/knative-serving/configmaps');
    expect(list.json()).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMapList', items: [expect.objectContaining({ metadata: expect.objectContaining({ name: 'config-domain' }) })] });
    expect((await req('GET', '/api/v1/configmaps')).json().items).toHaveLength(1);
  });

  it('keeps an explicit namespace', async () => {
    await apply([domainCm('example.com', 'default')]);
    expect(store.get('configmaps', 'default', 'config-domain')).toBeDefined();
    expect(store.get('configmaps', 'knative-serving', 'config-domain')).toBeUndefined();
  });

  it('PUT validates and stores; DELETE removes', async () => {
    const put = await req('PUT', '/api/v1/namespaces/knative-serving/configmaps/config-domain', domainCm('example.org'));
    expect(put.status).toBe(200);
    expect(put.json().metadata.namespace).toBe('knative-serving');
    const bad = await req('PUT', '/api/v1/namespaces/knative-serving/configmaps/config-nope', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-nope' }, data: {} });
    expect(bad.status).toBe(422);
    const mismatch = await req('PUT', '/api/v1/namespaces/knative-serving/configmaps/other', domainCm('example.org'));
    expect(mismatch.status).toBe(400);
    // A Service body on the ConfigMap path is refused, not stored as a Service.
    const svcBody = await req('PUT', '/api/v1/namespaces/default/configmaps/hello', service('hello'));
    expect(svcBody.status).toBe(400);
    expect(svcBody.json().code).toBe('ZENO_ERR_BAD_REQUEST');
    expect(store.list('services')).toEqual([]);
    const del = await req('DELETE', '/api/v1/namespaces/knative-serving/configmaps/config-domain');
    expect(del.status).toBe(200);
    expect(store.list('configmaps')).toEqual([]);
  });
});

describe('events', () => {
  it('lists a namespace\'s events, filtered by involvedObject=Kind/name', async () => {
    events.record('Service', 'default', 'hello', 'Normal', 'Created', 'Created Revision "hello-00001"');
    clock.advance(1000);
    events.record('Revision', 'default', 'hello-00001', 'Warning', 'PodExited', 'pod p1 exited (code 1)');
    events.record('Service', 'apps', 'hello', 'Normal', 'Created', 'elsewhere');

    const all = await req('GET', '/api/v1/namespaces/default/events');
    expect(all.json()).toMatchObject({ apiVersion: 'v1', kind: 'EventList' });
    expect(all.json().items.map((e: { reason: string }) => e.reason)).toEqual(['Created', 'PodExited']);

    const cases: { q: string; want: string[] }[] = [
      { q: 'Service/hello', want: ['Created'] },
      { q: 'revision/hello-00001', want: ['PodExited'] },
      { q: 'Revision', want: ['PodExited'] },
      { q: 'Service/nope', want: [] },
    ];
    for (const c of cases) {
      const r = await req('GET', `/api/v1/namespaces/default/events?involvedObject=${encodeURIComponent(c.q)}`);
      expect(r.json().items.map((e: { reason: string }) => e.reason), c.q).toEqual(c.want);
    }
  });
});

describe('logs', () => {
  beforeEach(() => {
    // Revisions as the reconciler labels them; "other" is another Service.
    for (const [rev, svc] of [['hello-00001', 'hello'], ['hello-00002', 'hello'], ['other-00001', 'other']] as const) {
      store.put('revisions', { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: rev, namespace: 'default', labels: { 'serving.knative.dev/service': svc } }, spec: {} });
    }
  });

  const cases: { label: string; query: string; want: string[] }[] = [
    { label: 'all lines of all revisions, by time', query: '', want: ['one', 'two', 'three'] },
    { label: 'tail', query: '?tail=2', want: ['two', 'three'] },
    { label: 'tail 0', query: '?tail=0', want: [] },
    { label: 'tail larger than the log', query: '?tail=99', want: ['one', 'two', 'three'] },
  ];
  it.each(cases)('streams NDJSON: $label', async ({ query, want }) => {
    await apply([service('hello')]);
    const r = await app.inject({ method: 'GET', url: `${SVC}/namespaces/default/services/hello/logs${query}`, headers: AUTH });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('application/x-ndjson');
    const lines = r.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine);
    expect(lines.map((l) => l.line)).toEqual(want);
    if (want.length) expect(lines[0]).toHaveProperty('pod');
  });

  it('404s for a missing Service', async () => {
    const r = await req('GET', `${SVC}/namespaces/default/services/nope/logs`);
    expect(r.status).toBe(404);
    expect(r.json().code).toBe('ZENO_ERR_RESOURCE_NOT_FOUND');
  });
});

describe('storage faults', () => {
  it.each([
    ['SQLITE_FULL', 507, 'ZENO_ERR_STORAGE_FULL'],
    ['SQLITE_READONLY', 503, 'ZENO_ERR_STORAGE_UNAVAILABLE'],
  ])('an apply that SQLite refuses with %s answers %d %s, and nothing changed', async (code, status, zeno) => {
    const put = store.put;
    store.put = () => {
      throw Object.assign(new Error(`disk says ${code}`), { code });
    };
    try {
      const r = await apply([service('hello')]);
      expect(r.status).toBe(status);
      expect(r.json()).toMatchObject({ statusCode: status, code: zeno });
    } finally {
      store.put = put;
    }
    expect(store.get('services', 'default', 'hello')).toBeUndefined();
  });
});
