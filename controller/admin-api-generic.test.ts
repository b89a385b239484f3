import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { KObject } from '../core/types.js';
import { createAdminApi } from './admin-api.js';
import { EventRecorder } from './events.js';
import { configFromConfigMaps } from './platform-config.js';
import type { GenericKind } from './resource-kinds.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import { inertRuntime } from '../test/support/inert-runtime.js';

/** A stand-in generic kind: the seam is what is tested, not Broker's own rules. */
const BROKER: GenericKind = {
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  plural: 'brokers',
  validate: (o) => ((o.spec as { bad?: unknown } | undefined)?.bad ? [{ path: 'spec.bad', message: 'not allowed' }] : []),
  normalize: (o) => ({ ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, 'eventing.knative.dev/broker.class': 'Zeno' } } }),
};
const AUTH = { authorization: 'Bearer test-token-0123456789' };
const BASE = '/apis/eventing.knative.dev/v1';
const broker = (name: string, spec: Record<string, unknown> = {}, ns?: string): KObject => ({
  apiVersion: 'eventing.knative.dev/v1',
  kind: 'Broker',
  metadata: { name, ...(ns ? { namespace: ns } : {}) },
  spec,
});

let dir: string;
let store: ResourceStore;
let app: FastifyInstance;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-admin-generic-'));
  store = openSqliteStore(path.join(dir, 'zeno.db'));
  app = createAdminApi({
    store,
    events: new EventRecorder(new FakeClock()),
    runtime: inertRuntime(),
    token: 'test-token-0123456789',
    config: () => configFromConfigMaps(store.list('configmaps')),
    info: () => ({}),
    maxBodyBytes: 64 * 1024,
    genericKinds: [BROKER],
  });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('admin API: generic kinds', () => {
  it('applies, normalizes, lists, gets and deletes a generic kind', async () => {
    const applied = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH, payload: { items: [broker('default', {}, 'team')] } });
    expect(applied.statusCode).toBe(200);
    expect(applied.json().results).toEqual([{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', namespace: 'team', name: 'default', action: 'created' }]);
    const stored = store.get('brokers', 'team', 'default');
    expect(stored?.metadata.annotations?.['eventing.knative.dev/broker.class']).toBe('Zeno');

    const all = await app.inject({ method: 'GET', url: `${BASE}/brokers`, headers: AUTH });
    expect(all.json()).toMatchObject({ kind: 'BrokerList', items: [{ metadata: { name: 'default', namespace: 'team' } }] });
    expect((await app.inject({ method: 'GET', url: `${BASE}/namespaces/other/brokers`, headers: AUTH })).json().items).toEqual([]);
    expect((await app.inject({ method: 'GET', url: `${BASE}/namespaces/team/brokers/default`, headers: AUTH })).json().metadata.uid).toBe(stored?.metadata.uid);

    const put = await app.inject({ method: 'PUT', url: `${BASE}/namespaces/team/brokers/second`, headers: AUTH, payload: broker('second') });
    expect(put.statusCode).toBe(201);
    expect(store.get('brokers', 'team', 'second')).toBeDefined();

    const del = await app.inject({ method: 'POST', url: '/apis/zeno.dev/v1/delete', headers: AUTH, payload: { items: [broker('second', {}, 'team')] } });
    expect(del.json().results).toEqual([{ kind: 'Broker', namespace: 'team', name: 'second', action: 'deleted' }]);
    const rest = await app.inject({ method: 'DELETE', url: `${BASE}/namespaces/team/brokers/default`, headers: AUTH });
    expect(rest.statusCode).toBe(200);
    expect(store.list('brokers')).toEqual([]);
  });

  it('refuses an invalid one with the field path and stores nothing from the batch', async () => {
    const res = await app.inject({
      method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH,
      payload: { items: [broker('good'), broker('bad', { bad: true })] },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'ZENO_ERR_INVALID_RESOURCE', issues: [{ path: 'spec.bad', index: 1 }] });
    expect(store.list('brokers')).toEqual([]);
  });

  it('answers unknown resources, bad paths and missing objects with codes', async () => {
    expect((await app.inject({ method: 'GET', url: `${BASE}/widgets`, headers: AUTH })).json().code).toBe('ZENO_ERR_RESOURCE_NOT_FOUND');
    expect((await app.inject({ method: 'GET', url: `${BASE}/namespaces/team/brokers/nope`, headers: AUTH })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `${BASE}/namespaces/Bad_NS/brokers`, headers: AUTH })).json().code).toBe('ZENO_ERR_BAD_REQUEST');
    const mismatch = await app.inject({ method: 'PUT', url: `${BASE}/namespaces/team/brokers/a`, headers: AUTH, payload: broker('b') });
    expect(mismatch.json().code).toBe('ZENO_ERR_BAD_REQUEST');
    expect((await app.inject({ method: 'GET', url: `${BASE}/brokers` })).statusCode).toBe(401);
    expect(store.list('brokers')).toEqual([]);
  });
});

describe('admin API: Broker and Trigger (the registered eventing kinds)', () => {
  let real: FastifyInstance;
  beforeEach(async () => {
    real = createAdminApi({
      store,
      events: new EventRecorder(new FakeClock()),
      runtime: inertRuntime(),
      token: 'test-token-0123456789',
      config: () => configFromConfigMaps(store.list('configmaps')),
      info: () => ({}),
      maxBodyBytes: 64 * 1024,
    });
    await real.ready();
  });
  afterEach(async () => real.close());
  const apply = (items: unknown[]) => real.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: AUTH, payload: { items } });
  const trigger = (brokerName: string) => ({
    apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't' },
    spec: { broker: brokerName, subscriber: { uri: 'http://127.0.0.1:9/x' } },
  });

  it('defaults a Broker from config-br-defaults applied in the same batch', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-br-defaults' }, data: { 'default-br-config': 'clusterDefault:\n  brokerClass: Mine\n  delivery: {retry: 2}\n' } };
    expect((await apply([cm, broker('b')])).statusCode).toBe(200);
    const b = store.get('brokers', 'default', 'b');
    expect(b?.metadata.annotations?.['eventing.knative.dev/broker.class']).toBe('Mine');
    expect(b?.spec).toEqual({ delivery: { retry: 2 } });
  });

  it('refuses a changed Trigger broker and keeps the stored one', async () => {
    expect((await apply([trigger('one')])).statusCode).toBe(200);
    const res = await apply([trigger('two')]);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'ZENO_ERR_INVALID_RESOURCE', issues: [{ path: 'spec.broker', index: 0 }] });
    expect((store.get('triggers', 'default', 't')?.spec as { broker: string }).broker).toBe('one');
    expect(store.get('triggers', 'default', 't')?.metadata.labels).toEqual({ 'eventing.knative.dev/broker': 'one' });
  });

  it('refuses an invalid filter with its path', async () => {
    const bad = { ...trigger('one'), spec: { ...trigger('one').spec, filters: [{ cesql: "type = 'a" }] } };
    const res = await apply([bad]);
    expect(res.statusCode).toBe(422);
    expect(res.json().issues[0].path).toMatch(/^spec\.filters\[0\]\.cesql/);
    expect(store.list('triggers')).toEqual([]);
  });
});
