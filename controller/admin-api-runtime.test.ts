import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createAdminApi } from './admin-api.js';
import { EventRecorder } from './events.js';
import { configFromConfigMaps } from './platform-config.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import type { RuntimeKind } from './validation/context.js';
import { inertRuntime } from '../test/support/inert-runtime.js';

// Apply validates for the runtime the platform runs functions on
// (`zeno up --runtime`): locally a container runs its command, on Kubernetes its image.

const inert = inertRuntime();
const TOKEN = 'runtime-test-token-0123';
const C = 'spec.template.spec.containers[0]';

let dir: string | undefined;
let store: ResourceStore | undefined;
let app: FastifyInstance | undefined;

afterEach(async () => {
  await app?.close();
  store?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  app = store = dir = undefined;
});

async function adminApi(runtimeKind: RuntimeKind | undefined): Promise<FastifyInstance> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-admin-rt-'));
  const s = openSqliteStore(path.join(dir, 'zeno.db'));
  store = s;
  app = createAdminApi({
    store: s,
    events: new EventRecorder(new FakeClock()),
    runtime: inert,
    token: TOKEN,
    config: () => configFromConfigMaps(s.list('configmaps')),
    info: () => ({}),
    maxBodyBytes: 64 * 1024,
    ...(runtimeKind ? { runtimeKind } : {}),
  });
  await app.ready();
  return app;
}

const imageOnly = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'img', namespace: 'default' },
  spec: { template: { spec: { containers: [{ image: 'ghcr.io/zeno/hello:1' }] } } },
};
const commandOnly = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'cmd', namespace: 'default' },
  spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } },
};
const fn = { apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'f', namespace: 'default' }, spec: { command: ['node', 'x.js'] } };

async function apply(a: FastifyInstance, items: unknown[]) {
  const r = await a.inject({ method: 'POST', url: '/apis/zeno.dev/v1/apply', headers: { authorization: `Bearer ${TOKEN}` }, payload: { items } });
  return { status: r.statusCode, json: r.json() as { code?: string; issues?: { path: string; message: string; index?: number }[] } };
}

describe('apply validates for the platform runtime', () => {
  it.each<[string, RuntimeKind | undefined, unknown, number, string[]]>([
    ['local (default): image only is refused at the command field', undefined, imageOnly, 422, [`${C}.command`]],
    ['local: image only is refused at the command field', 'local', imageOnly, 422, [`${C}.command`]],
    ['kubernetes: image only is valid', 'kubernetes', imageOnly, 200, []],
    ['local: command only is valid', 'local', commandOnly, 200, []],
    ['kubernetes: command only is refused at the image field', 'kubernetes', commandOnly, 422, [`${C}.image`]],
    ['kubernetes: a Function (a local handler) is refused', 'kubernetes', fn, 422, ['spec']],
  ])('%s', async (_label, kind, item, status, paths) => {
    const a = await adminApi(kind);
    const r = await apply(a, [item]);
    expect(r.status).toBe(status);
    if (status !== 200) {
      expect(r.json.code).toBe('ZENO_ERR_INVALID_RESOURCE');
      expect(r.json.issues?.map((i) => i.path)).toEqual(paths);
      // Nothing was stored.
      expect(store!.list('services')).toEqual([]);
    } else {
      expect(store!.list('services').map((s) => s.metadata.name)).toHaveLength(1);
    }
  });
});
