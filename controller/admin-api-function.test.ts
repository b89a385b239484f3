import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { KObject } from '../core/types.js';
import { createAdminApi } from './admin-api.js';
import { EventRecorder } from './events.js';
import { isNodeRuntimeCommand, nodeRuntimeEntry } from '../functions/node/index.js';
import { configFromConfigMaps } from './platform-config.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import { inertRuntime } from '../test/support/inert-runtime.js';

// The same harness as admin-api.test.ts: a real SQLite store, fastify inject, an inert runtime.

const TOKEN = 'test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const FN = '/apis/zeno.dev/v1/namespaces/default/functions';

let dir: string;
let store: ResourceStore;
let app: FastifyInstance;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-admin-fn-'));
  fs.writeFileSync(path.join(dir, 'hello.mjs'), 'export default () => new Response("hi");\n');
  store = openSqliteStore(path.join(dir, 'zeno.db'));
  app = createAdminApi({
    store,
    events: new EventRecorder(new FakeClock()),
    runtime: inertRuntime(),
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

async function req(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) {
  const r = await app.inject({ method, url, headers: AUTH, ...(payload !== undefined ? { payload: payload as object } : {}) });
  return { status: r.statusCode, json: () => r.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
const apply = (items: unknown[]) => req('POST', '/apis/zeno.dev/v1/apply', { items });

function fn(name: string, spec: Record<string, unknown> = { handler: './hello.mjs' }, annotations: Record<string, string> = {}): KObject {
  return {
    apiVersion: 'zeno.dev/v1',
    kind: 'Function',
    metadata: { name, annotations: { 'zeno.dev/base-dir': dir, ...annotations } },
    spec,
  };
}

function plainService(name: string): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name },
    spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } },
  };
}

describe('Function via the admin API', () => {
  it('apply stores the Function and its owned Service in one batch', async () => {
    const r = await apply([fn('hello', { handler: './hello.mjs', env: { GREETING: 'hi' }, containerConcurrency: 2 }, { 'autoscaling.knative.dev/min-scale': '1' })]);
    expect(r.status).toBe(200);
    expect(r.json().results).toEqual([
      { apiVersion: 'zeno.dev/v1', kind: 'Function', namespace: 'default', name: 'hello', action: 'created' },
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'hello', action: 'created' },
    ]);
    const stored = store.get('functions', 'default', 'hello')!;
    const svc = store.get('services', 'default', 'hello')!;
    expect(svc.metadata.labels).toEqual({ 'zeno.dev/function': 'hello' });
    expect(svc.metadata.ownerReferences).toEqual([{ apiVersion: 'zeno.dev/v1', kind: 'Function', name: 'hello', uid: stored.metadata.uid, controller: true }]);
    expect(svc.metadata.annotations).toEqual({ 'zeno.dev/base-dir': dir });
    expect(svc.spec).toMatchObject({
      template: {
        metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1' } },
        spec: {
          containerConcurrency: 2,
          timeoutSeconds: 300, // defaulted from config-defaults, as for any Service
          containers: [{ name: 'user-container', command: ['node', nodeRuntimeEntry()], args: [path.join(dir, 'hello.mjs')], env: [{ name: 'GREETING', value: 'hi' }] }],
        },
      },
      traffic: [{ latestRevision: true, percent: 100 }],
    });
    // The contract with the Node runtime: the warm pool recognises this command.
    expect(isNodeRuntimeCommand((svc.spec as any).template.spec.containers[0].command)).toBe(true); // eslint-disable-line @typescript-eslint/no-explicit-any

    // Re-applying the same Function changes nothing; a change reaches the Service.
    expect((await apply([fn('hello', { handler: './hello.mjs', env: { GREETING: 'hi' }, containerConcurrency: 2 }, { 'autoscaling.knative.dev/min-scale': '1' })])).json().results.map((x: { action: string }) => x.action)).toEqual(['unchanged', 'unchanged']);
    expect((await apply([fn('hello', { command: ['python3', 'app.py'] })])).json().results.map((x: { action: string }) => x.action)).toEqual(['configured', 'configured']);
    const svc2 = store.get('services', 'default', 'hello')!;
    expect((svc2.spec as any).template.spec.containers[0]).toMatchObject({ command: ['python3', 'app.py'], workingDir: dir }); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(svc2.metadata.generation).toBe(2);
  });

  it('get lists and shows Functions with their Service status', async () => {
    await apply([fn('hello'), { ...fn('other'), metadata: { ...fn('other').metadata, namespace: 'team-a' } }]);
    store.putStatus('services', 'default', 'hello', { url: 'http://hello.default.localhost:8080', conditions: [{ type: 'Ready', status: 'True' }] });

    const one = await req('GET', `${FN}/hello`);
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'hello', namespace: 'default' }, spec: { handler: './hello.mjs' } });
    expect(one.json().status).toEqual({ url: 'http://hello.default.localhost:8080', conditions: [{ type: 'Ready', status: 'True' }] });

    const ns = await req('GET', FN);
    expect(ns.json()).toMatchObject({ apiVersion: 'zeno.dev/v1', kind: 'FunctionList' });
    expect(ns.json().items.map((o: KObject) => o.metadata.name)).toEqual(['hello']);
    const all = await req('GET', '/apis/zeno.dev/v1/functions');
    expect(all.json().items.map((o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['default/hello', 'team-a/other']);

    const missing = await req('GET', `${FN}/nope`);
    expect(missing.status).toBe(404);
    expect(missing.json().code).toBe('ZENO_ERR_RESOURCE_NOT_FOUND');
  });

  it('PUT applies one Function; the body must match the path', async () => {
    const created = await req('PUT', `${FN}/hello`, fn('hello'));
    expect(created.status).toBe(201);
    expect(store.get('services', 'default', 'hello')).toBeDefined();
    expect((await req('PUT', `${FN}/other`, fn('hello'))).status).toBe(400);
    expect((await req('PUT', `${FN}/hello`, plainService('hello'))).status).toBe(400);
  });

  it('deleting the Function deletes its Service, by REST and by batch', async () => {
    await apply([fn('hello'), fn('bye')]);
    const del = await req('DELETE', `${FN}/hello`);
    expect(del.status).toBe(200);
    expect(store.get('functions', 'default', 'hello')).toBeUndefined();
    expect(store.get('services', 'default', 'hello')).toBeUndefined();
    expect((await req('DELETE', `${FN}/hello`)).status).toBe(404);

    const batch = await req('POST', '/apis/zeno.dev/v1/delete', { items: [{ apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'bye' } }] });
    expect(batch.json().results).toEqual([
      { apiVersion: 'zeno.dev/v1', kind: 'Function', namespace: 'default', name: 'bye', action: 'deleted' },
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'bye', action: 'deleted' },
    ]);
    expect(store.list('services')).toEqual([]);
  });

  const refused: { label: string; before: () => KObject[]; items: () => KObject[]; path: string; message: RegExp }[] = [
    { label: 'an invalid Function', before: () => [], items: () => [fn('hello', { handler: './hello.mjs', env: { PORT: '1' } })], path: 'spec.env["PORT"]', message: /reserved/ },
    { label: 'a missing handler file', before: () => [], items: () => [fn('hello', { handler: './nope.ts' })], path: 'spec.handler', message: /no such file/ },
    { label: 'a Function over a user Service', before: () => [plainService('hello')], items: () => [fn('hello')], path: 'metadata.name', message: /not generated by this Function/ },
    { label: 'a Service over a generated one', before: () => [fn('hello')], items: () => [plainService('hello')], path: 'metadata.name', message: /generated by Function "hello"/ },
    { label: 'a Function and a Service of one name', before: () => [], items: () => [fn('hello'), plainService('hello')], path: 'metadata.name', message: /appears twice/ },
  ];
  it.each(refused)('refuses $label, storing nothing', async ({ before, items, path: want, message }) => {
    if (before().length) expect((await apply(before())).status).toBe(200);
    const snapshot = { fns: store.list('functions'), svcs: store.list('services') };
    const r = await apply(items());
    expect(r.status).toBe(422);
    expect(r.json().code).toBe('ZENO_ERR_INVALID_RESOURCE');
    expect(r.json().issues[0]).toMatchObject({ path: want });
    expect(r.json().issues[0].message).toMatch(message);
    expect({ fns: store.list('functions'), svcs: store.list('services') }).toEqual(snapshot);
  });
});
