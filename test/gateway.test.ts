/**
 * Gateway behaviour through a real `zeno up` and a real echo function:
 * what is forwarded, what is dropped, and each error status with its code.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, httpCall, runCli, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;

function echoService(name: string, extra = ''): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/min-scale: "1"
    spec:
${extra}      containers:
        - command: [node, echo.js]
          workingDir: ${path.join(ROOT, 'test/fixtures/functions')}
`;
}

const echo = (p: string, opts: Parameters<typeof httpCall>[1] = {}) => httpCall(`${zeno.gatewayUrl}${p}`, { host: 'echo.default.localhost', ...opts });

beforeAll(async () => {
  work = tempDir('zeno-gateway-');
  zeno = await startZeno({ dataDir: path.join(work, 'data') });
  const f = writeYaml(work, 'echo.yaml', `${echoService('echo')}---\n${echoService('echo-timeout', '      timeoutSeconds: 1\n')}`);
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
