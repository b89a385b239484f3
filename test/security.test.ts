/**
 * Security properties of a real `zeno up` (docs/security.md): loopback by
 * default, the token on the admin port, names checked before they reach
 * anything, the gateway proxying only to registered pods, secrets kept out
 * of listings and logs, and functions getting only their own environment.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { INHERITED_ENV_NAMES } from '../functions/local/pod-env.js';
import { rawExchange } from './support/raw-http.js';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, pidsWithEnv, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;
let gwPort: number;
let adminPort: number;

/** Values that must never appear in an answer, a listing or a log line. */
const PLATFORM_SECRETS = { ZENO_ADMIN_TOKEN: 'leak-admin-7f3a', AWS_SECRET_ACCESS_KEY: 'leak-aws-91bc', DATABASE_URL: 'postgres://leak-db' };
const SVC_TOKEN = 'svc-tok-1111';
const FN_SECRET = 'fn-sec-2222';

/** A function that answers with its own environment (and logs nothing secret). */
const ENV_DUMP = `import { createServer } from 'node:http';
createServer((req, res) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(process.env)); })
  .listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
`;
const ENV_HANDLER = 'export default async function handler() { return Response.json(process.env); }\n';

beforeAll(async () => {
  work = tempDir('zeno-security-');
  fs.writeFileSync(path.join(work, 'envdump.mjs'), ENV_DUMP);
  fs.writeFileSync(path.join(work, 'handler.mjs'), ENV_HANDLER);
  // The platform's own environment holds secrets that must not reach functions.
  const saved = { ...process.env };
  Object.assign(process.env, PLATFORM_SECRETS);
  try {
    zeno = await startZeno({ dataDir: path.join(work, 'data'), extraArgs: ['--access-log'] });
  } finally {
    for (const k of Object.keys(PLATFORM_SECRETS)) if (!(k in saved)) delete process.env[k];
  }
  gwPort = Number(new URL(zeno.gatewayUrl).port);
  adminPort = Number(new URL(zeno.adminUrl).port);
  const f = writeYaml(work, 'apps.yaml', [
    serviceYaml('envdump', {
      annotations: { 'autoscaling.knative.dev/min-scale': '1' },
      command: ['node', 'envdump.mjs'],
      workingDir: work,
      env: { API_TOKEN: SVC_TOKEN, GREETING: 'hi' },
    }),
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: memhog
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
    spec:
      timeoutSeconds: 10
      containers:
        - command: ["node", "memhog.js"]
          workingDir: ${path.join(ROOT, 'test/fixtures/functions')}
          resources:
            limits:
              memory: 96Mi
`,
    `apiVersion: zeno.dev/v1
kind: Function
metadata:
  name: fnmem
  annotations:
    autoscaling.knative.dev/min-scale: "1"
spec:
  handler: ./handler.mjs
  resources:
    limits:
      memory: 256Mi
`,
    `apiVersion: zeno.dev/v1
kind: Function
metadata:
  name: fnenv
  annotations:
    autoscaling.knative.dev/min-scale: "1"
spec:
  handler: ./handler.mjs
  env:
    SESSION_SECRET: ${FN_SECRET}
    MODE: prod
`,
  ].join('---\n'));
  const r = await runCli(['apply', '-f', f], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
}, 90_000);

afterAll(async () => {
  await zeno?.stop();
});

const req = (lines: string[], body = ''): string => `${lines.join('\r\n')}\r\n\r\n${body}`;

describe('listening', () => {
  it('binds to loopback by default', async () => {
    expect(PLATFORM_DEFAULTS.host).toBe('127.0.0.1');
    expect(new URL(zeno.gatewayUrl).hostname).toBe('127.0.0.1');
    expect(new URL(zeno.adminUrl).hostname).toBe('127.0.0.1');
    // Reachable on loopback, not on any other address of this machine.
    const others = Object.values(os.networkInterfaces()).flat().filter((i) => i && i.family === 'IPv4' && !i.internal).map((i) => i!.address);
    for (const addr of others) {
      for (const port of [gwPort, adminPort]) {
        const refused = await new Promise<boolean>((resolve) => {
          const s = net.connect({ host: addr, port }, () => {
            s.destroy();
            resolve(false);
          });
          s.on('error', () => resolve(true));
        });
        expect([addr, port, refused]).toEqual([addr, port, true]);
      }
    }
  });
});

describe('the admin port needs the token', () => {
  it.each(['/metrics', '/ui/api/state', '/ui/api/logs?service=envdump', '/ui/api/eventing', '/apis/zeno.dev/v1/info', '/apis/serving.knative.dev/v1/services', '/api/v1/namespaces/default/events'])('%s: 401 without it, 200 with it', async (p) => {
    const without = await fetch(`${zeno.adminUrl}${p}`);
    expect(without.status).toBe(401);
    expect(((await without.json()) as { code: string }).code).toBe('ZENO_ERR_UNAUTHORIZED');
    const withToken = await fetch(`${zeno.adminUrl}${p}`, { headers: { authorization: `Bearer ${zeno.token}` } });
    expect(withToken.status).toBe(200);
    await withToken.arrayBuffer();
  });

  it('writes the token only into the data dir, readable by the owner alone', () => {
    const mode = fs.statSync(path.join(zeno.dataDir, 'token')).mode & 0o777;
    expect(mode).toBe(0o600);
    expect(fs.statSync(zeno.dataDir).mode & 0o077).toBe(0);
  });

  it('keeps the databases (resources with their env values, accepted events) owner-only too', () => {
    const files = fs.readdirSync(zeno.dataDir).filter((f) => /\.db(-wal|-shm)?$/.test(f));
    expect(files).toEqual(expect.arrayContaining(['zeno.db', 'events.db']));
    for (const f of files) expect([f, fs.statSync(path.join(zeno.dataDir, f)).mode & 0o777]).toEqual([f, 0o600]);
  });
});

describe('names are validated against path traversal on the real server', () => {
  it.each(['..', '%2e%2e', '%2E%2E', '.', '..%2f..%2fetc', '%00', 'a%00b', '%2Fetc%2Fpasswd'])('namespace or name %j: 400 ZENO_ERR_BAD_REQUEST', async (seg) => {
    for (const p of [`/apis/serving.knative.dev/v1/namespaces/${seg}/services`, `/apis/serving.knative.dev/v1/namespaces/default/services/${seg}`, `/api/v1/namespaces/default/configmaps/${seg}`]) {
      const r = await rawExchange(adminPort, [req([`GET ${p} HTTP/1.1`, 'Host: x', `Authorization: Bearer ${zeno.token}`, 'Connection: close'])]);
      expect([p, r.status, r.code]).toEqual([p, 400, 'ZENO_ERR_BAD_REQUEST']);
    }
  });

  it('a broker path with traversal reaches no broker', async () => {
    for (const p of ['/brokers/../default/b', '/brokers/%2e%2e/b', '/brokers/default/..%2F..%2Fx']) {
      const r = await rawExchange(gwPort, [req([`POST ${p} HTTP/1.1`, 'Host: x', 'ce-specversion: 1.0', 'ce-id: 1', 'ce-source: /s', 'ce-type: t', 'Content-Length: 0', 'Connection: close'])]);
      expect([p, r.status]).toEqual([p, r.status === 400 ? 400 : 404]);
      expect(r.code).toMatch(/^ZENO_ERR_(BAD_REQUEST|BROKER_NOT_FOUND)$/);
    }
  });
});

describe('cross-namespace references Knative forbids are refused', () => {
  const apply = (items: unknown[]) => zeno.admin('POST', '/apis/zeno.dev/v1/apply', { items });
  it.each([
    ['a Trigger on a Broker in another namespace (brokerRef)', { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't', namespace: 'team-a' }, spec: { brokerRef: { name: 'default', namespace: 'team-b' }, subscriber: { uri: 'http://127.0.0.1:1/' } } }],
    ['a SinkBinding whose subject is in another namespace', { apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', metadata: { name: 'sb', namespace: 'team-a' }, spec: { subject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'envdump', namespace: 'default' }, sink: { uri: 'http://127.0.0.1:1/' } } }],
    ['a Subscription to a Channel in another namespace', { apiVersion: 'messaging.knative.dev/v1', kind: 'Subscription', metadata: { name: 's', namespace: 'team-a' }, spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'c', namespace: 'team-b' }, subscriber: { uri: 'http://127.0.0.1:1/' } } }],
    ['a Service reading a Secret (any namespace: the local runtime has no Secrets)', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'sneaky', namespace: 'team-a' }, spec: { template: { spec: { containers: [{ command: ['node'], env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'zeno-token', key: 'token' } } }] }] } } } }],
  ])('%s: 422 and nothing stored', async (_label, obj) => {
    const r = await apply([obj]);
    expect([r.status, r.json.code]).toEqual([422, 'ZENO_ERR_INVALID_RESOURCE']);
    const kind = (obj as { kind: string }).kind.toLowerCase();
    const list = await zeno.admin('GET', kind === 'service' ? '/apis/serving.knative.dev/v1/namespaces/team-a/services' : '/apis/zeno.dev/v1/info');
    if (kind === 'service') expect(list.json.items).toEqual([]);
  });
});

describe('the gateway proxies only to registered pods', () => {
  it('serves the registered function by Host and by path', async () => {
    expect((await httpCall(`${zeno.gatewayUrl}/function/envdump/`)).status).toBe(200);
    expect((await httpCall(`${zeno.gatewayUrl}/`, { host: 'envdump.default.localhost' })).status).toBe(200);
  });

  it.each([
    ['absolute-form to an outside host', ['GET http://example.com/ HTTP/1.1', 'Host: envdump.default.localhost']],
    ['absolute-form to the admin port', [`GET http://127.0.0.1:${adminPort}/apis/zeno.dev/v1/info HTTP/1.1`, 'Host: envdump.default.localhost']],
    ['absolute-form with credentials', ['GET http://user:pw@envdump.default.localhost/ HTTP/1.1', 'Host: x']],
    ['Host naming the admin port', ['GET /apis/zeno.dev/v1/info HTTP/1.1', `Host: 127.0.0.1:${adminPort}`]],
    ['Host naming localhost', ['GET / HTTP/1.1', 'Host: localhost']],
    ['Host naming an outside site', ['GET / HTTP/1.1', 'Host: example.com']],
    ['X-Forwarded-Host does not route', ['GET / HTTP/1.1', 'Host: nope', 'X-Forwarded-Host: envdump.default.localhost']],
    ['Forwarded host does not route', ['GET / HTTP/1.1', 'Host: nope', 'Forwarded: host=envdump.default.localhost']],
    ['/function/../admin', ['GET /function/../admin HTTP/1.1', 'Host: x']],
    ['/function/..%2F..%2Fapis', ['GET /function/..%2F..%2Fapis/zeno.dev/v1/info HTTP/1.1', 'Host: x']],
    ['/function/NAME@host', [`GET /function/envdump@127.0.0.1:${adminPort}/ HTTP/1.1`, 'Host: x']],
    ['/function/ with a URL for a name', ['GET /function/http:%2F%2Fexample.com/ HTTP/1.1', 'Host: x']],
    ['/function/ with a namespace that is a path', ['GET /function/envdump.%2e%2e/ HTTP/1.1', 'Host: x']],
  ])('%s: refused, never forwarded', async (_label, lines) => {
    const r = await rawExchange(gwPort, [req([...lines, 'Connection: close'])]);
    expect([400, 404]).toContain(r.status);
    expect(r.code).toMatch(/^ZENO_ERR_(FUNCTION_NOT_FOUND|BAD_REQUEST)$/);
    // Neither the admin API's answer nor a function's environment came back.
    expect(r.text).not.toContain('gatewayUrl');
    expect(r.text).not.toContain('K_SERVICE');
  });

  it('CONNECT to any host is refused with 405', async () => {
    for (const target of [`127.0.0.1:${adminPort}`, 'example.com:443', 'envdump.default.localhost:80']) {
      const r = await rawExchange(gwPort, [req([`CONNECT ${target} HTTP/1.1`, `Host: ${target}`])]);
      expect([target, r.status, r.code]).toEqual([target, 405, 'ZENO_ERR_METHOD_NOT_ALLOWED']);
    }
  });

  it('a dot-dot path inside a function stays with that function', async () => {
    const r = await rawExchange(gwPort, [req(['GET /function/envdump/../../apis/zeno.dev/v1/info HTTP/1.1', 'Host: x', 'Connection: close'])]);
    expect(r.status).toBe(200);
    // The envdump pod answered (its env), not the admin API.
    expect(r.text).toContain('"K_SERVICE":"envdump"');
    expect(r.text).not.toContain('gatewayUrl');
  });
});

describe('functions get only their own environment', () => {
  const allowed = (own: string[]) => new Set([...INHERITED_ENV_NAMES, 'PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION', ...own]);

  it.each([
    ['a Service process', '/function/envdump/', ['API_TOKEN', 'GREETING'], { API_TOKEN: SVC_TOKEN }],
    ['a Function on the warm Node runtime', '/function/fnenv/', ['SESSION_SECRET', 'MODE'], { SESSION_SECRET: FN_SECRET }],
  ])('%s: its own env and the runtime contract, nothing of the platform', async (_label, p, own, values) => {
    const r = await httpCall(`${zeno.gatewayUrl}${p}`);
    expect(r.status).toBe(200);
    const env = JSON.parse(r.body) as Record<string, string>;
    const ok = allowed(own);
    // Node's runtime may set a few of its own (e.g. NODE_* it sets for the handler); none may come from the platform.
    const extra = Object.keys(env).filter((k) => !ok.has(k));
    for (const k of extra) expect(k, `${k} leaked into the function`).not.toMatch(/^ZENO|TOKEN|SECRET|PASSWORD|KEY|DATABASE/);
    for (const [k, v] of Object.entries(PLATFORM_SECRETS)) expect([k, env[k]]).toEqual([k, undefined]);
    expect(env.ZENO_TEST_SECRET).toBeUndefined();
    for (const [k, v] of Object.entries(values)) expect(env[k]).toBe(v);
  });

  it('the processes\' environment blocks hold none of the platform\'s secrets', async () => {
    const pids = [...pidsWithEnv('K_SERVICE', 'envdump'), ...pidsWithEnv('K_SERVICE', 'fnenv')];
    expect(pids.length).toBeGreaterThanOrEqual(1);
    for (const pid of pids) {
      const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
      for (const v of [...Object.values(PLATFORM_SECRETS), zeno.token, 'platform-only']) expect(environ).not.toContain(v);
    }
  });
});

describe('secrets never in listings or logs', () => {
  it('zeno get -o yaml / -o json show the values redacted', async () => {
    for (const args of [['get', 'service', 'envdump', '-o', 'yaml'], ['get', 'services', '-o', 'json'], ['get', 'function', 'fnenv', '-o', 'yaml'], ['get', 'revisions', '-o', 'yaml'], ['describe', 'service', 'envdump']]) {
      const r = await runCli(args, zeno.dataDir);
      expect([args.join(' '), r.code]).toEqual([args.join(' '), 0]);
      expect(r.stdout).not.toContain(SVC_TOKEN);
      expect(r.stdout).not.toContain(FN_SECRET);
    }
    const y = await runCli(['get', 'service', 'envdump', '-o', 'yaml'], zeno.dataDir);
    expect(y.stdout).toContain('<redacted>');
    expect(y.stdout).toContain('value: hi');
  });

  it('what zeno get -o yaml printed applies again without wiping the secret', async () => {
    const y = await runCli(['get', 'service', 'envdump', '-o', 'yaml'], zeno.dataDir);
    expect(y.code, y.stderr).toBe(0);
    const file = writeYaml(work, 'roundtrip.yaml', y.stdout);
    const again = await runCli(['apply', '-f', file], zeno.dataDir);
    expect(again.code, again.stderr).toBe(0);
    const env = JSON.parse((await httpCall(`${zeno.gatewayUrl}/function/envdump/`)).body) as Record<string, string>;
    expect(env.API_TOKEN).toBe(SVC_TOKEN);
  });

  it('admin API GETs show the values redacted', async () => {
    for (const p of ['/apis/serving.knative.dev/v1/services', '/apis/serving.knative.dev/v1/revisions', '/apis/zeno.dev/v1/functions', '/apis/serving.knative.dev/v1/configurations', '/ui/api/state']) {
      const r = await zeno.admin('GET', p);
      expect([p, r.status]).toEqual([p, 200]);
      const text = JSON.stringify(r.json);
      expect(text).not.toContain(SVC_TOKEN);
      expect(text).not.toContain(FN_SECRET);
    }
  });

  it('the platform\'s own output (log and access log) holds no secret', async () => {
    await httpCall(`${zeno.gatewayUrl}/function/envdump/?token=query-tok-3333&x=1`);
    await waitFor(() => zeno.output().includes('"path":"/function/envdump/?token=<redacted>&x=1"'), 5_000, { message: 'the access log line' });
    const out = zeno.output();
    for (const v of [SVC_TOKEN, FN_SECRET, 'query-tok-3333', zeno.token, ...Object.values(PLATFORM_SECRETS)]) expect(out).not.toContain(v);
  });
});

describe('memory limits (resources.limits.memory) on local processes', () => {
  it('a Node function gets a heap cap from the limit', async () => {
    const r = await httpCall(`${zeno.gatewayUrl}/function/memhog/env`);
    expect([r.status, r.body]).toEqual([200, '--max-old-space-size=72']);
  });

  it('a Function with a handler and a limit runs with the heap cap too (not from the warm pool)', async () => {
    const env = JSON.parse((await httpCall(`${zeno.gatewayUrl}/function/fnmem/`)).body) as Record<string, string>;
    expect(env.NODE_OPTIONS).toBe('--max-old-space-size=192');
  });

  it('a process past its limit is killed and the Revision says OOMKilled', async () => {
    const r = await httpCall(`${zeno.gatewayUrl}/function/memhog/hog?mode=buffer`);
    expect(r.status).toBeGreaterThanOrEqual(500);
    type Cond = { type: string; status: string; reason?: string; message?: string };
    let healthy: Cond | undefined;
    await waitFor(async () => {
      const revs = await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions');
      const rev = (revs.json.items as { metadata: { name: string }; status?: { conditions?: Cond[] } }[]).find((x) => x.metadata.name.startsWith('memhog-'));
      healthy = rev?.status?.conditions?.find((c) => c.type === 'ContainerHealthy');
      return healthy?.reason === 'OOMKilled';
    }, 15_000, { message: 'ContainerHealthy OOMKilled' });
    expect(healthy).toMatchObject({ status: 'False', reason: 'OOMKilled' });
    expect(healthy!.message).toMatch(/over its limit of 96Mi/);
    // The pod restarts (with backoff, as kubelet does) and serves again.
    await waitFor(async () => (await httpCall(`${zeno.gatewayUrl}/function/memhog/`)).status === 200, 15_000, { message: 'memhog serving again' });
  });
});
