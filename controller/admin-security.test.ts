/**
 * The admin API and dashboard as `zeno up` wires them (admin routes, /metrics,
 * the dashboard under /ui): every route needs the token, names in paths are
 * validated, and secret env values never come back out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createMetrics } from '../core/metrics.js';
import { REDACTED } from '../core/redact.js';
import { createAdminApi } from './admin-api.js';
import { createDashboard, type Dashboard } from './dashboard.js';
import { DataPlaneFeed, registerDataPlaneEndpoints } from './dataplane-feed.js';
import { StatsAggregator } from '../autoscaler/stats-aggregator.js';
import { EventRecorder } from './events.js';
import { configFromConfigMaps } from './platform-config.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import { inertRuntime } from '../test/support/inert-runtime.js';

const TOKEN = 'admin-token-0123456789abcdef';
const AUTH = { authorization: `Bearer ${TOKEN}` };

const runtime = inertRuntime();

let dir: string;
let store: ResourceStore;
let dashboard: Dashboard;
let app: FastifyInstance;
let dataPlane: ReturnType<typeof registerDataPlaneEndpoints>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-admin-sec-'));
  store = openSqliteStore(path.join(dir, 'zeno.db'));
  const clock = new FakeClock(1_000_000);
  const metrics = createMetrics();
  const events = new EventRecorder(clock);
  dashboard = createDashboard({ clock, token: TOKEN, store, runtime, metrics, events, sampleMs: 1000, historyLength: 3 });
  app = createAdminApi({
    store, events, runtime, token: TOKEN,
    config: () => configFromConfigMaps(store.list('configmaps')),
    info: () => ({ version: 'test' }),
    maxBodyBytes: 64 * 1024,
    allowWithoutToken: (req) => dashboard.allows(req),
  });
  // As controller/platform.ts adds it.
  app.get('/metrics', async () => metrics.render());
  dashboard.register(app);
  dataPlane = registerDataPlaneEndpoints(app, { feed: new DataPlaneFeed(() => 8080), stats: new StatsAggregator({ staleAfterMs: 3000 }), clock, poke: () => undefined, log: () => undefined });
  await app.ready();
});

afterAll(async () => {
  dashboard.close();
  dataPlane.close();
  await app.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every route the admin port serves, from fastify's own route tree: [method, concrete url]. */
function allRoutes(): [string, string][] {
  const out: [string, string][] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+) \(([A-Z, ]+)\)/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const full = (stack[depth - 1] ?? '') + m[2]!;
    stack[depth] = full;
    stack.length = depth + 1;
    const url = full.replace(/:group/, 'serving.knative.dev').replace(/:version/, 'v1').replace(/:plural/, 'services').replace(/:ns/, 'default').replace(/:name/, 'hello').replace(/:file/, 'app.js').replace(/:[a-z]+/gi, 'x');
    for (const method of m[3]!.split(', ')) out.push([method, url]);
  }
  return out;
}

describe('every admin and dashboard route needs the token', () => {
  it('finds the routes (admin API, /metrics, /ui and /ui/api/*, the data-plane feed and stats)', () => {
    const urls = allRoutes().map(([, u]) => u);
    expect(urls).toContain('/metrics');
    expect(urls).toContain('/apis/zeno.dev/v1/dataplane/watch');
    expect(urls).toContain('/apis/zeno.dev/v1/dataplane/stats');
    expect(urls).toContain('/apis/zeno.dev/v1/apply');
    expect(urls.filter((u) => u.startsWith('/ui/api/')).length).toBeGreaterThanOrEqual(3);
    expect(urls.length).toBeGreaterThan(20);
  });

  it.each([
    { label: 'no credentials', headers: {} as Record<string, string> },
    { label: 'a wrong token', headers: { authorization: 'Bearer nope' } },
    { label: 'a token of the right length but wrong', headers: { authorization: `Bearer ${'x'.repeat(TOKEN.length)}` } },
    { label: 'the token in the wrong scheme', headers: { authorization: `Basic ${TOKEN}` } },
    { label: 'the token as a query parameter', headers: {} as Record<string, string>, query: `?token=${TOKEN}` },
    { label: 'a forged dashboard cookie', headers: { cookie: `zeno_ui=${TOKEN}` } },
  ])('$label: 401 ZENO_ERR_UNAUTHORIZED on every route but /healthz', async ({ headers, query }) => {
    const open: string[] = [];
    for (const [method, url] of allRoutes()) {
      if (url === '/healthz') continue;
      // The login link is the one place a query token is read, and only on /ui/.
      if (query && url === '/ui/') continue;
      const r = await app.inject({ method: method as 'GET', url: `${url}${query ?? ''}`, headers });
      if (r.statusCode !== 401 || (method !== 'HEAD' && r.json().code !== 'ZENO_ERR_UNAUTHORIZED')) open.push(`${method} ${url} → ${r.statusCode}`);
    }
    expect(open).toEqual([]);
  });

  it('the real dashboard cookie opens /ui only: every other route still needs the token', async () => {
    const login = await app.inject({ method: 'GET', url: `/ui/?token=${TOKEN}` });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(cookie).toMatch(/^zeno_ui=/);
    expect(cookie).not.toContain(TOKEN);
    expect((await app.inject({ method: 'GET', url: '/ui/api/state', headers: { cookie } })).statusCode).toBe(200);
    const open: string[] = [];
    for (const [method, url] of allRoutes()) {
      if (url === '/healthz' || url === '/ui' || url.startsWith('/ui/')) continue;
      const r = await app.inject({ method: method as 'GET', url, headers: { cookie } });
      if (r.statusCode !== 401) open.push(`${method} ${url} → ${r.statusCode}`);
    }
    expect(open).toEqual([]);
  });

  it('/healthz alone is open', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});

describe('names in paths are validated against traversal', () => {
  // A bare `..` or `%2e%2e` segment is resolved by URL parsing before routing
  // (test/security.test.ts sends those raw to a real server).
  const bad = ['..%2F..%2Fetc', '%2E%2E%2Fx', '%2e%2e%2f', '%2Fetc%2Fpasswd', 'a%00b', 'UPPER', 'a_b', '-a', 'a.b%2F', 'x'.repeat(90)];
  it.each(bad)('namespace %j: 400 ZENO_ERR_BAD_REQUEST', async (ns) => {
    for (const url of [
      `/apis/serving.knative.dev/v1/namespaces/${ns}/services`,
      `/apis/serving.knative.dev/v1/namespaces/${ns}/services/hello`,
      `/apis/eventing.knative.dev/v1/namespaces/${ns}/brokers/default`,
      `/apis/zeno.dev/v1/namespaces/${ns}/functions/f`,
      `/api/v1/namespaces/${ns}/configmaps/c`,
    ]) {
      const r = await app.inject({ method: 'GET', url, headers: AUTH });
      expect([url, r.statusCode, r.json().code]).toEqual([url, 400, 'ZENO_ERR_BAD_REQUEST']);
    }
  });
  it.each(bad.filter((b) => !b.startsWith('xxx')))('name %j: 400 ZENO_ERR_BAD_REQUEST', async (name) => {
    for (const url of [
      `/apis/serving.knative.dev/v1/namespaces/default/services/${name}`,
      `/apis/eventing.knative.dev/v1/namespaces/default/triggers/${name}`,
      `/apis/zeno.dev/v1/namespaces/default/functions/${name}`,
      `/api/v1/namespaces/default/configmaps/${name}`,
    ]) {
      const r = await app.inject({ method: 'GET', url, headers: AUTH });
      expect([url, r.statusCode, r.json().code]).toEqual([url, 400, 'ZENO_ERR_BAD_REQUEST']);
    }
  });
  it.each(['../x', '/etc/passwd', 'a\u0000b', '%2e%2e', 'a/b', '.'])('apply refuses metadata.name %j and stores nothing', async (name) => {
    const r = await app.inject({
      method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH,
      payload: { items: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name }, spec: { template: { spec: { containers: [{ command: ['node'] }] } } } }] },
    });
    expect([r.statusCode, r.json().code]).toEqual([422, 'ZENO_ERR_INVALID_RESOURCE']);
    expect(store.list('services')).toEqual([]);
  });
  it.each(['../x', '/abs', 'a\u0000b', '%2e%2e'])('apply refuses metadata.namespace %j', async (namespace) => {
    const r = await app.inject({
      method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH,
      payload: { items: [{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'b', namespace }, spec: {} }] },
    });
    expect([r.statusCode, r.json().code]).toEqual([422, 'ZENO_ERR_INVALID_RESOURCE']);
  });
});

describe('secret env values never come back out', () => {
  const svc = (env: { name: string; value: string }[]) => ({
    apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'sec', namespace: 'default' },
    spec: { template: { spec: { containers: [{ command: ['node', 'server.js'], env }] } } },
  });
  const secretEnv = [
    { name: 'API_TOKEN', value: 'tok-AAAA' }, { name: 'DB_PASSWORD', value: 'pw-BBBB' }, { name: 'client_secret', value: 'sec-CCCC' },
    { name: 'STRIPE_API_KEY', value: 'key-DDDD' }, { name: 'GREETING', value: 'hello-visible' },
  ];
  const SECRETS = ['tok-AAAA', 'pw-BBBB', 'sec-CCCC', 'key-DDDD'];

  it('are redacted in apply results, GETs, lists and the dashboard, but stored intact', async () => {
    const applied = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH, payload: { items: [svc(secretEnv)] } });
    expect(applied.statusCode).toBe(200);
    const bodies = [applied.body];
    for (const url of [
      '/apis/serving.knative.dev/v1/services', '/apis/serving.knative.dev/v1/namespaces/default/services',
      '/apis/serving.knative.dev/v1/namespaces/default/services/sec', '/ui/api/state',
    ]) {
      const r = await app.inject({ method: 'GET', url, headers: AUTH });
      expect([url, r.statusCode]).toEqual([url, 200]);
      bodies.push(r.body);
    }
    for (const b of bodies) for (const s of SECRETS) expect(b).not.toContain(s);
    const one = (await app.inject({ method: 'GET', url: '/apis/serving.knative.dev/v1/namespaces/default/services/sec', headers: AUTH })).json();
    const env = one.spec.template.spec.containers[0].env as { name: string; value: string }[];
    expect(env).toEqual([
      { name: 'API_TOKEN', value: REDACTED }, { name: 'DB_PASSWORD', value: REDACTED }, { name: 'client_secret', value: REDACTED },
      { name: 'STRIPE_API_KEY', value: REDACTED }, { name: 'GREETING', value: 'hello-visible' },
    ]);
    const stored = store.get('services', 'default', 'sec')!;
    expect(JSON.stringify(stored)).toContain('tok-AAAA');
  });

  it('applying what GET printed keeps the stored secrets; a placeholder with nothing stored is refused', async () => {
    const shown = (await app.inject({ method: 'GET', url: '/apis/serving.knative.dev/v1/namespaces/default/services/sec', headers: AUTH })).json();
    const again = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH, payload: { items: [{ apiVersion: shown.apiVersion, kind: shown.kind, metadata: { name: 'sec', namespace: 'default' }, spec: shown.spec }] } });
    expect(again.statusCode).toBe(200);
    expect(JSON.stringify(store.get('services', 'default', 'sec'))).toContain('pw-BBBB');
    expect(JSON.stringify(store.get('services', 'default', 'sec'))).not.toContain(REDACTED);

    const fresh = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH, payload: { items: [{ ...svc([{ name: 'NEW_TOKEN', value: REDACTED }]), metadata: { name: 'other', namespace: 'default' } }] } });
    expect([fresh.statusCode, fresh.json().code]).toEqual([422, 'ZENO_ERR_INVALID_RESOURCE']);
    expect(fresh.body).toContain('NEW_TOKEN');
    expect(store.get('services', 'default', 'other')).toBeUndefined();
  });

  it('a Function\'s env map is redacted too', async () => {
    const fn = { apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'fn', namespace: 'default' }, spec: { command: ['node', 'x.js'], env: { SESSION_SECRET: 'fsec-EEEE', MODE: 'prod' } } };
    const r = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH, payload: { items: [fn] } });
    expect(r.statusCode, r.body).toBe(200);
    const got = await app.inject({ method: 'GET', url: '/apis/zeno.dev/v1/namespaces/default/functions/fn', headers: AUTH });
    expect(got.json().spec.env).toEqual({ SESSION_SECRET: REDACTED, MODE: 'prod' });
    // The Service it generated, and its Revision-to-be, carry the value only in the store.
    const svcBody = (await app.inject({ method: 'GET', url: '/apis/serving.knative.dev/v1/namespaces/default/services/fn', headers: AUTH })).body;
    expect(svcBody).not.toContain('fsec-EEEE');
    expect(JSON.stringify(store.get('services', 'default', 'fn'))).toContain('fsec-EEEE');
  });
});

describe('deeply nested JSON bodies', () => {
  const deepObj = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  it.each([300, 5_000, 10_000])('%s levels: 400 ZENO_ERR_BAD_REQUEST, not a stack overflow', async (n) => {
    const payload = `{"items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":${deepObj(n)}}]}`;
    const r = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: { ...AUTH, 'content-type': 'application/json' }, payload });
    expect([r.statusCode, r.json().code]).toEqual([400, 'ZENO_ERR_BAD_REQUEST']);
    expect(r.json().message).toMatch(/deeper than 256/);
  });
});

describe('malformed objects in an apply batch', () => {
  it.each([
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: null, data: { 'revision-timeout-seconds': '120' } }],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: 'config-defaults' }],
    [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: null }],
    [null], [42], ['x'], [[]],
  ])('%j: 422 with issues, not a 500', async (item) => {
    const r = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH, payload: { items: [item] } });
    expect([r.statusCode, r.json().code]).toEqual([422, 'ZENO_ERR_INVALID_RESOURCE']);
  });
});
