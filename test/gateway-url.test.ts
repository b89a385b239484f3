import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startPlatform, type Platform } from '../controller/platform.js';
import { waitFor } from './support/wait.js';
import { tempDir } from './support/zeno.js';

// `zeno up --gateway-url`: in a cluster the gateway is reached through its
// Service, not the pod's loopback; what the platform advertises must say so.

const ROOT = path.resolve(import.meta.dirname, '..');
let platform: Platform | undefined;

afterEach(async () => {
  await platform?.close();
  platform = undefined;
});

describe('the advertised gateway URL', () => {
  it('names Broker addresses and sets the port of Service URLs (none on 80)', async () => {
    platform = await startPlatform({
      port: 0, adminPort: 0, host: '127.0.0.1', dataDir: path.join(tempDir('zeno-gwurl-'), 'data'), configFiles: [],
      gatewayUrl: 'http://zeno-gateway.zeno-system.svc.cluster.local',
    });
    const p = platform;
    const admin = async (method: string, url: string, body?: unknown) => {
      const res = await fetch(`${p.adminUrl}${url}`, {
        method,
        headers: { authorization: `Bearer ${p.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await res.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    expect(p.gatewayUrl).toBe('http://zeno-gateway.zeno-system.svc.cluster.local');
    const applied = await admin('POST', '/apis/zeno.dev/v1/apply', {
      items: [
        { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'default' } },
        {
          apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default' },
          spec: { template: { spec: { containers: [{ command: ['node', path.join(ROOT, 'test/fixtures/functions/server.js')] }] } } },
        },
      ],
    });
    expect(applied.results).toHaveLength(2);
    await waitFor(async () => (await admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/brokers/default')).status?.address?.url !== undefined, 5_000, { message: 'the broker address' });
    expect((await admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/brokers/default')).status.address.url).toBe('http://zeno-gateway.zeno-system.svc.cluster.local/brokers/default/default');
    await waitFor(async () => (await admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/services/hello')).status?.url !== undefined, 5_000, { message: 'the service URL' });
    expect((await admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/services/hello')).status.url).toBe('http://hello.default.localhost');
  });
});
