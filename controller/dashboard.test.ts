import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createMetrics, type ZenoMetrics } from '../core/metrics.js';
import type { KObject, RevisionId } from '../core/types.js';
import type { FunctionRuntime, RevisionRuntimeStatus } from '../functions/runtime.js';
import { createAdminApi } from './admin-api.js';
import { cookieValue, createDashboard, findUiDir, UI_COOKIE, type Dashboard } from './dashboard.js';
import { EventRecorder } from './events.js';
import { configFromConfigMaps } from './platform-config.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import { inertRuntime } from '../test/support/inert-runtime.js';

const TOKEN = 'test-token-0123456789';

/** Replica counts and logs are all the dashboard reads from the runtime. */
function fakeRuntime(status: Map<RevisionId, RevisionRuntimeStatus>): FunctionRuntime {
  return inertRuntime({ status: (rev) => status.get(rev), logs: (rev) => (rev === 'default/hello-00001' ? [{ time: 1, pod: 'hello-00001-a', stream: 'stdout', line: 'hi' }, { time: 2, pod: 'hello-00001-b', stream: 'stderr', line: 'oops' }] : []) });
}

let dir: string;
let store: ResourceStore;
let clock: FakeClock;
let metrics: ZenoMetrics;
let status: Map<RevisionId, RevisionRuntimeStatus>;
let dashboard: Dashboard;
let app: FastifyInstance;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-dash-'));
  store = openSqliteStore(path.join(dir, 'zeno.db'));
  clock = new FakeClock(1_000_000);
  metrics = createMetrics();
  status = new Map();
  const events = new EventRecorder(clock);
  const runtime = fakeRuntime(status);
  dashboard = createDashboard({ clock, token: TOKEN, store, runtime, metrics, events, sampleMs: 1000, historyLength: 3 });
  app = createAdminApi({
    store, events, runtime, token: TOKEN,
    config: () => configFromConfigMaps(store.list('configmaps')),
    info: () => ({ version: 'test' }),
    maxBodyBytes: 64 * 1024,
    allowWithoutToken: (req) => dashboard.allows(req),
  });
  dashboard.register(app);
  await app.ready();
  store.put('services', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default' }, spec: {} } as KObject);
  store.put('revisions', { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001', namespace: 'default', labels: { 'serving.knative.dev/service': 'hello' } }, spec: {} } as KObject);
});

afterEach(async () => {
  dashboard.close();
  await app.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('dashboard auth', () => {
  it('trades the token in /ui/?token= for an HttpOnly SameSite=Strict cookie, then redirects without it', async () => {
    const login = await app.inject({ method: 'GET', url: `/ui/?token=${TOKEN}` });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/ui/');
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(new RegExp(`^${UI_COOKIE}=[0-9a-f]{64}; `));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/ui');
    // The cookie is not the token itself.
    expect(setCookie).not.toContain(TOKEN);
    const cookie = `${UI_COOKIE}=${cookieValue(setCookie.split(';')[0], UI_COOKIE)}`;

    const page = await app.inject({ method: 'GET', url: '/ui/', headers: { cookie } });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<script type="module" src="/ui/app.js">');
    expect((await app.inject({ method: 'GET', url: '/ui/app.js', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/ui/api/state', headers: { cookie } })).statusCode).toBe(200);
    // The cookie opens /ui paths only, never the rest of the admin API.
    const api = await app.inject({ method: 'GET', url: '/apis/serving.knative.dev/v1/services', headers: { cookie } });
    expect(api.statusCode).toBe(401);
    expect(api.json().code).toBe('ZENO_ERR_UNAUTHORIZED');
  });

  it.each([
    { name: 'no credentials', url: '/ui/', headers: {} },
    { name: 'a wrong token', url: '/ui/?token=nope', headers: {} },
    { name: 'the token in the query of another path', url: `/ui/api/state?token=${TOKEN}`, headers: {} },
    { name: 'a wrong cookie', url: '/ui/api/state', headers: { cookie: `${UI_COOKIE}=${'0'.repeat(64)}` } },
    { name: 'the raw token as the cookie', url: '/ui/api/state', headers: { cookie: `${UI_COOKIE}=${TOKEN}` } },
  ])('refuses $name', async ({ url, headers }) => {
    const r = await app.inject({ method: 'GET', url, headers });
    expect(r.statusCode).toBe(401);
    expect(r.json().code).toBe('ZENO_ERR_UNAUTHORIZED');
  });

  it('still takes the bearer token, and serves only files of ui/', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await app.inject({ method: 'GET', url: '/ui/api/state', headers: auth })).statusCode).toBe(200);
    for (const f of ['..%2Fpackage.json', 'index.html', 'nope.js', '.hidden.js']) {
      expect((await app.inject({ method: 'GET', url: `/ui/${f}`, headers: auth })).statusCode).toBe(404);
    }
    expect((await app.inject({ method: 'GET', url: '/ui', headers: auth })).headers.location).toBe('/ui/');
  });
});

describe('dashboard state', () => {
  it('shows ready and desired replicas and keeps a bounded history with the request rate', async () => {
    status.set('default/hello-00001', { desired: 2, ready: 1, pods: [] });
    const rec = metrics.revision({ namespace: 'default', service: 'hello', configuration: 'hello', revision: 'hello-00001' });
    clock.advance(1000);
    for (let i = 0; i < 5; i++) rec.record(200, 1);
    clock.advance(1000);
    status.set('default/hello-00001', { desired: 2, ready: 2, pods: [] });
    clock.advance(1000);
    clock.advance(1000);
    const s = dashboard.state();
    expect(s.services).toHaveLength(1);
    expect(s.services[0]).toMatchObject({ namespace: 'default', name: 'hello', readyReplicas: 2, desiredReplicas: 2 });
    // Four samples taken, three kept; the second saw the 5 requests in its 1 s.
    expect(s.services[0]!.history).toEqual([
      { t: 1_002_000, ready: 1, desired: 2, rps: 5 },
      { t: 1_003_000, ready: 2, desired: 2, rps: 0 },
      { t: 1_004_000, ready: 2, desired: 2, rps: 0 },
    ]);
  });

  it('lists recent cold starts and 5xx answers, newest first', async () => {
    const rec = metrics.revision({ namespace: 'default', service: 'hello', configuration: 'hello', revision: 'hello-00001' });
    rec.coldStart(120);
    clock.advance(10);
    rec.record(504, 30_000, 'ZENO_ERR_REQUEST_TIMEOUT');
    rec.record(404, 1);
    const s = dashboard.state();
    expect(s.coldStarts).toEqual([{ time: 1_000_000, namespace: 'default', service: 'hello', revision: 'hello-00001', waitMs: 120 }]);
    expect(s.errors).toEqual([{ time: 1_000_010, namespace: 'default', service: 'hello', revision: 'hello-00001', status: 504, error: 'ZENO_ERR_REQUEST_TIMEOUT' }]);
  });

  it('serves a service\'s logs, optionally of one pod', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const all = (await app.inject({ method: 'GET', url: '/ui/api/logs?namespace=default&service=hello', headers: auth })).json();
    expect(all.pods).toEqual(['hello-00001-a', 'hello-00001-b']);
    expect(all.lines.map((l: { line: string }) => l.line)).toEqual(['hi', 'oops']);
    const one = (await app.inject({ method: 'GET', url: '/ui/api/logs?namespace=default&service=hello&pod=hello-00001-b', headers: auth })).json();
    expect(one.lines.map((l: { line: string }) => l.line)).toEqual(['oops']);
    expect((await app.inject({ method: 'GET', url: '/ui/api/logs?service=missing', headers: auth })).json()).toEqual({ lines: [], pods: [] });
  });

  it('reports brokers as unavailable while the admin API does not serve them', async () => {
    const r = (await app.inject({ method: 'GET', url: '/ui/api/eventing', headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(r.brokers).toEqual([]);
    expect(typeof r.available).toBe('boolean');
  });
});

describe('findUiDir', () => {
  it('finds ui/index.html from the source tree', () => {
    expect(fs.existsSync(path.join(findUiDir()!, 'index.html'))).toBe(true);
  });
});
