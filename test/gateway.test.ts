/**
 * Gateway behaviour through a real `zeno up` and a real echo function:
 * what is forwarded, what is dropped, and each error status with its code.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;

/** The echo fixture as a Service; min-scale 1 unless other annotations are given. */
function echoService(name: string, spec: string[] = [], annotations: Record<string, string> = { 'autoscaling.knative.dev/min-scale': '1' }, cc = 0): string {
  return serviceYaml(name, { annotations, spec, cc, command: ['node', 'echo.js'], workingDir: path.join(ROOT, 'test/fixtures/functions') });
}

const echo = (p: string, opts: Parameters<typeof httpCall>[1] = {}) => httpCall(`${zeno.gatewayUrl}${p}`, { host: 'echo.default.localhost', ...opts });

beforeAll(async () => {
  work = tempDir('zeno-gateway-');
  zeno = await startZeno({ dataDir: path.join(work, 'data') });
  const f = writeYaml(work, 'echo.yaml', [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\ndata:\n  allow-zero-initial-scale: "true"\n',
    echoService('echo'),
    echoService('echo-timeout', ['timeoutSeconds: 1']),
    echoService('echo-start', ['timeoutSeconds: 30', 'responseStartTimeoutSeconds: 1']),
    echoService('echo-idle', ['timeoutSeconds: 30', 'idleTimeoutSeconds: 1']),
    echoService('echo-two', [], { 'autoscaling.knative.dev/min-scale': '2', 'autoscaling.knative.dev/max-scale': '2' }),
    echoService('echo-cc1', [], { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' }, 1),
    echoService('echo-cold', [], { 'autoscaling.knative.dev/initial-scale': '0' }, 1),
  ].join('---\n'));
  const r = await runCli(['apply', '-f', f], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await zeno?.stop();
});

describe('gateway', () => {
  it('forwards method, path, query, headers and body, with Forwarded and X-Forwarded-*', async () => {
    const r = await echo('/a/b?x=1&y=2', { method: 'PUT', body: 'hello body', headers: { 'x-custom': 'v', forwarded: 'for=10.0.0.1' } });
    expect(r.status).toBe(200);
    const got = JSON.parse(r.body);
    expect(got.method).toBe('PUT');
    expect(got.url).toBe('/a/b?x=1&y=2');
    expect(got.body).toBe('hello body');
    expect(got.headers['x-custom']).toBe('v');
    expect(got.headers.host).toBe('echo.default.localhost');
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(got.headers['x-forwarded-proto']).toBe('http');
    expect(got.headers['x-forwarded-host']).toBe('echo.default.localhost');
    expect(got.headers.forwarded).toBe('for=10.0.0.1, for=127.0.0.1;proto=http;host=echo.default.localhost');
  });

  it('forwards a GET (the warm path client) with the same headers, and the body byte for byte', async () => {
    const r = await echo('/a?x=1', { headers: { 'x-custom': 'v', forwarded: 'for=10.0.0.1' } });
    expect(r.status).toBe(200);
    const got = JSON.parse(r.body);
    expect(got.method).toBe('GET');
    expect(got.url).toBe('/a?x=1');
    expect(got.headers['x-custom']).toBe('v');
    expect(got.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(got.headers.forwarded).toBe('for=10.0.0.1, for=127.0.0.1;proto=http;host=echo.default.localhost');
    expect(got.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const bytes = await echo('/bytes');
    expect(bytes.raw.equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(true);
    expect(bytes.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    const head = await echo('/bytes', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('256');
    expect(head.raw.length).toBe(0);
  });

  it("answers /healthz itself, but forwards a function's /healthz by its Host", async () => {
    const platform = await httpCall(`${zeno.gatewayUrl}/healthz`);
    expect([platform.status, platform.body]).toEqual([200, 'ok']);
    const fn = await echo('/healthz');
    expect(fn.status).toBe(200);
    expect(JSON.parse(fn.body).url).toBe('/healthz');
  });

  it('strips the /function/NAME prefix', async () => {
    const r = await httpCall(`${zeno.gatewayUrl}/function/echo/x/y?z=1`);
    expect(JSON.parse(r.body).url).toBe('/x/y?z=1');
  });

  it('drops hop-by-hop headers both ways, including those named in Connection', async () => {
    const r = await echo('/', { headers: { connection: 'keep-alive, x-secret-hop', 'x-secret-hop': 'no', 'keep-alive': 'timeout=5', te: 'trailers', 'proxy-authorization': 'Basic x' } });
    const got = JSON.parse(r.body);
    for (const h of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization']) expect(got.headers[h], h).toBeUndefined();
    expect(r.headers['x-hop']).toBeUndefined();
  });

  it('passes redirects through instead of following them', async () => {
    const r = await echo('/redirect');
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('/elsewhere');
  });

  it('streams large responses and request bodies', async () => {
    const r = await echo('/big?kb=4096');
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(4096 * 1024);
    const body = Buffer.alloc(5 * 1024 * 1024, 'q');
    const up = await echo('/', { body, chunked: true });
    expect(JSON.parse(up.body).bodyLength).toBe(body.length);
  });

  it('answers 413 with a code for chunked bodies over the limit, and stays healthy', async () => {
    const r = await echo('/', { body: Buffer.alloc(10 * 1024 * 1024 + 1, 'q'), chunked: true });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_BODY_TOO_LARGE');
    expect((await echo('/')).status).toBe(200);
  });

  it('answers 504 with a code after timeoutSeconds', async () => {
    const r = await httpCall(`${zeno.gatewayUrl}/sleep?ms=3000`, { host: 'echo-timeout.default.localhost' });
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_REQUEST_TIMEOUT');
  });

  it('answers 504 when responseStartTimeoutSeconds passes before the head, but not for a slow body', async () => {
    const r = await httpCall(`${zeno.gatewayUrl}/sleep?ms=3000`, { host: 'echo-start.default.localhost' });
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_REQUEST_TIMEOUT');
    expect(JSON.parse(r.body).message).toContain('responseStartTimeoutSeconds');
    // The head came at once: only timeoutSeconds (30 s) applies to the rest.
    const ok = await httpCall(`${zeno.gatewayUrl}/stall?ms=1500`, { host: 'echo-start.default.localhost' });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('first\nlast\n');
  });

  it('cuts a response off when idleTimeoutSeconds passes between writes', async () => {
    const fast = await httpCall(`${zeno.gatewayUrl}/stall?ms=200`, { host: 'echo-idle.default.localhost' });
    expect(fast.body).toBe('first\nlast\n');
    // Headers were already sent, so the 504 cannot be: the response is cut off.
    const cut = await httpCall(`${zeno.gatewayUrl}/stall?ms=3000`, { host: 'echo-idle.default.localhost' }).then(
      (r) => `complete ${r.status} ${JSON.stringify(r.body)}`,
      (e: Error) => `cut: ${e.message}`,
    );
    expect(cut).toMatch(/^cut: /);
    const before = await httpCall(`${zeno.gatewayUrl}/sleep?ms=3000`, { host: 'echo-idle.default.localhost' });
    expect(before.status).toBe(504);
    expect(JSON.parse(before.body).message).toContain('idleTimeoutSeconds');
  });

  it('sends a request that a pod refused to another pod instead of answering 502', async () => {
    const two = (p: string) => httpCall(`${zeno.gatewayUrl}${p}`, { host: 'echo-two.default.localhost' });
    await waitFor(async () => (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/echo-two-00001')).json.status?.actualReplicas === 2, 20_000, { message: 'two echo-two pods' });
    expect((await two('/unlisten')).status).toBe(200);
    // Until its probe notices (about 3 s), one of the two pods refuses connections.
    const results = await Promise.all(Array.from({ length: 40 }, () => two('/')));
    expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  });

  it('fails requests fast with a clear error when the revision cannot start', async () => {
    const f = writeYaml(work, 'crash.yaml', `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: crash
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - command: [node, crasher.js]
          workingDir: ${path.join(ROOT, 'test/fixtures/functions')}
`);
    const cfg = writeYaml(work, 'allow-zero.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\ndata:\n  allow-zero-initial-scale: "true"\n');
    expect((await runCli(['apply', '-f', cfg, '-f', f], zeno.dataDir)).code).toBe(0);
    const started = Date.now();
    // Default timeoutSeconds is 300: without the fast failure these would wait that long.
    const rs = await Promise.all(Array.from({ length: 5 }, () => httpCall(`${zeno.gatewayUrl}/`, { host: 'crash.default.localhost' })));
    expect(Date.now() - started).toBeLessThan(30_000);
    for (const r of rs) {
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('1');
      const body = JSON.parse(r.body);
      expect(body.code).toBe('ZENO_ERR_REVISION_FAILED');
      expect(body.message).toContain('ExitCode3');
    }
    const rev = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/crash-00001')).json;
    const healthy = rev.status.conditions.find((c: { type: string }) => c.type === 'ContainerHealthy');
    expect(healthy).toMatchObject({ status: 'False', reason: 'ExitCode3' });
    expect(healthy.message).toContain('cannot connect to the database');
  });

  it('containerConcurrency 1 never lets the function see two requests at once', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => httpCall(`${zeno.gatewayUrl}/sleep?ms=30`, { host: 'echo-cc1.default.localhost' })));
    expect(rs.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await httpCall(`${zeno.gatewayUrl}/max`, { host: 'echo-cc1.default.localhost' })).body).toBe('1\n');
  });

  it('100 concurrent slow requests at CC 1 to a revision at zero all get 200', async () => {
    const rev = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/echo-cold-00001')).json;
    expect(rev.status.actualReplicas).toBe(0);
    const rs = await Promise.all(Array.from({ length: 100 }, () => httpCall(`${zeno.gatewayUrl}/sleep?ms=100`, { host: 'echo-cold.default.localhost' })));
    expect(rs.filter((r) => r.status === 200).length).toBe(100);
  });

  it('answers 502 with a code when the function fails the request', async () => {
    const r = await echo('/crash');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_UPSTREAM_FAILED');
  });

  it('answers 400 for a malformed request and 431 for huge headers', async () => {
    const net = await import('node:net');
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const u = new URL(zeno.gatewayUrl);
        const s = net.connect(Number(u.port), u.hostname, () => s.end(text));
        let out = '';
        s.on('data', (d) => (out += d.toString()));
        s.on('close', () => resolve(out));
      });
    expect(await raw('NOT HTTP\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 .*ZENO_ERR_BAD_REQUEST/s);
    expect(await raw(`GET / HTTP/1.1\r\nHost: echo.default.localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 .*ZENO_ERR_HEADERS_TOO_LARGE/s);
  });
});
