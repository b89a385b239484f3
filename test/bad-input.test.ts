/**
 * HTTP oddities against a real `zeno up`: each is answered with a status and
 * a code (never a crash or a hang), the platform still serves a normal
 * request afterwards, and no file descriptor is left behind.
 * Property-based fuzzing of the parsers sits next to them
 * (controller/manifest.fuzz.test.ts, eventing/cloudevents/http.fuzz.test.ts).
 */
import net from 'node:net';
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fdCount, fdListing, rawExchange } from './support/raw-http.js';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let gwPort: number;
let adminPort: number;
let baselineFds: number;
let baselineListing: string;

const HEADERS_TIMEOUT_MS = 1_000;

/** A normal request through the gateway to the echo function. */
async function stillServes(): Promise<void> {
  const r = await httpCall(`${zeno.gatewayUrl}/function/echo/ok`);
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body).url).toBe('/ok');
}

const req = (lines: string[], body = ''): string => `${lines.join('\r\n')}\r\n\r\n${body}`;

beforeAll(async () => {
  const work = tempDir('zeno-bad-input-');
  zeno = await startZeno({ dataDir: path.join(work, 'data'), extraArgs: ['--headers-timeout', `${HEADERS_TIMEOUT_MS}ms`] });
  gwPort = Number(new URL(zeno.gatewayUrl).port);
  adminPort = Number(new URL(zeno.adminUrl).port);
  const f = writeYaml(work, 'echo.yaml', serviceYaml('echo', {
    annotations: { 'autoscaling.knative.dev/min-scale': '1' },
    command: ['node', 'echo.js'],
    workingDir: path.join(ROOT, 'test/fixtures/functions'),
  }));
  const r = await runCli(['apply', '-f', f], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
  const broker = await zeno.admin('POST', '/apis/zeno.dev/v1/apply', { items: [{ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default' }, spec: {} }] });
  expect(broker.status).toBe(200);
  // Warm the paths used below, then take the platform's fd count at rest.
  await stillServes();
  await httpCall(`${zeno.adminUrl}/healthz`);
  // An event and an async call written to the durable log, so that files the log opens
  // at its first write (SQLite's -wal and -shm, the fsync handle) count in the rest state.
  const ev = await httpCall(`${zeno.gatewayUrl}/brokers/default/default`, {
    method: 'POST',
    body: '{}',
    headers: { 'ce-specversion': '1.0', 'ce-id': 'warm-up', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' },
  });
  expect(ev.status, ev.body).toBe(202);
  const call = await httpCall(`${zeno.gatewayUrl}/async-function/echo`, { method: 'POST', body: 'warm-up' });
  expect(call.status, call.body).toBe(202);
  baselineFds = fdCount(zeno.proc.pid!);
  baselineListing = fdListing(zeno.proc.pid!);
});

afterAll(async () => {
  await zeno?.stop();
});

describe('HTTP oddities on the gateway', () => {
  it('huge headers: 431 ZENO_ERR_HEADERS_TOO_LARGE', async () => {
    const r = await rawExchange(gwPort, [req(['GET /function/echo/ HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20 * 1024)}`])]);
    expect([r.status, r.code, r.closed]).toEqual([431, 'ZENO_ERR_HEADERS_TOO_LARGE', true]);
    await stillServes();
  });

  it('many headers adding up past the limit: 431', async () => {
    const many = Array.from({ length: 400 }, (_, i) => `X-H${i}: ${'v'.repeat(40)}`);
    const r = await rawExchange(gwPort, [req(['GET /function/echo/ HTTP/1.1', 'Host: x', ...many])]);
    expect([r.status, r.code]).toEqual([431, 'ZENO_ERR_HEADERS_TOO_LARGE']);
    await stillServes();
  });

  it('huge declared body: 413 ZENO_ERR_BODY_TOO_LARGE before it is sent', async () => {
    const r = await rawExchange(gwPort, [req(['POST /function/echo/ HTTP/1.1', 'Host: x', `Content-Length: ${11 * 1024 * 1024}`, 'Expect: 100-continue'])]);
    expect([r.status, r.code]).toEqual([413, 'ZENO_ERR_BODY_TOO_LARGE']);
    await stillServes();
  });

  it('huge chunked body: 413 once the limit is passed', async () => {
    const big = Buffer.alloc(11 * 1024 * 1024, 'x');
    const r = await httpCall(`${zeno.gatewayUrl}/function/echo/`, { method: 'POST', body: big, chunked: true, headers: { 'transfer-encoding': 'chunked' } }).catch((e: Error) => ({ status: -1, body: e.message }));
    // The gateway answers 413 or, for a client that keeps sending, cuts the connection.
    if (r.status !== -1) {
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body).code).toBe('ZENO_ERR_BODY_TOO_LARGE');
    } else {
      expect(r.body).toMatch(/socket|ECONNRESET|EPIPE|closed/i);
    }
    await stillServes();
  });

  it('invalid chunked encoding: 400 ZENO_ERR_BAD_REQUEST', async () => {
    for (const body of ['zz\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n', '-1\r\n\r\n', `${'f'.repeat(20)}\r\n`]) {
      const r = await rawExchange(gwPort, [req(['POST /function/echo/ HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked'], body)]);
      expect([body, r.status, r.code, r.closed]).toEqual([body, 400, 'ZENO_ERR_BAD_REQUEST', true]);
    }
    await stillServes();
  });

  it('request smuggling (Content-Length with Transfer-Encoding, or two lengths): 400, and the hidden request never runs', async () => {
    const smuggled = req(['GET /function/echo/smuggled HTTP/1.1', 'Host: x']);
    const attempts = [
      // CL.TE and TE.CL: one message, two framings.
      req(['POST /function/echo/ HTTP/1.1', 'Host: x', `Content-Length: ${5 + smuggled.length}`, 'Transfer-Encoding: chunked'], `0\r\n\r\n${smuggled}`),
      req(['POST /function/echo/ HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 3'], `0\r\n\r\n${smuggled}`),
      // Obfuscated Transfer-Encoding.
      req(['POST /function/echo/ HTTP/1.1', 'Host: x', 'Transfer-Encoding: xchunked', 'Content-Length: 3'], `abc${smuggled}`),
      req(['POST /function/echo/ HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked, identity'], `0\r\n\r\n${smuggled}`),
      // Conflicting lengths.
      req(['POST /function/echo/ HTTP/1.1', 'Host: x', 'Content-Length: 3', 'Content-Length: 40'], `abc${smuggled}`),
    ];
    for (const a of attempts) {
      const r = await rawExchange(gwPort, [a]);
      expect([a.split('\r\n').slice(2, 4).join(' | '), r.status, r.code, r.responses, r.text.includes('/smuggled')]).toEqual([a.split('\r\n').slice(2, 4).join(' | '), 400, 'ZENO_ERR_BAD_REQUEST', 1, false]);
    }
    await stillServes();
  });

  it('HTTP/1.1 without Host: 400 with a code; an unknown or odd Host: 404 ZENO_ERR_FUNCTION_NOT_FOUND', async () => {
    const none = await rawExchange(gwPort, [req(['GET / HTTP/1.1', 'Connection: close'])]);
    expect([none.status, none.code]).toEqual([400, 'ZENO_ERR_BAD_REQUEST']);
    for (const host of ['nope.default.localhost', 'a b', '..', '[::1]:1', 'echo.default.localhost.evil', `127.0.0.1:${adminPort}`, '%2e%2e', '']) {
      const r = await rawExchange(gwPort, [req(['GET / HTTP/1.1', `Host: ${host}`, 'Connection: close'])]);
      expect([host, r.status, r.code]).toEqual([host, 404, 'ZENO_ERR_FUNCTION_NOT_FOUND']);
    }
    await stillServes();
  });

  it('a request line that is not HTTP: 400, and a bare newline flood does not crash it', async () => {
    for (const junk of ['\x00\x01\x02garbage\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', `GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n`]) {
      const r = await rawExchange(gwPort, [junk]);
      expect([JSON.stringify(junk), r.status, r.closed]).toEqual([JSON.stringify(junk), 400, true]);
    }
    await stillServes();
  });

  it('slowloris: trickled headers are cut after --headers-timeout (408) while other clients are served', async () => {
    const slow = Array.from({ length: 20 }, () => {
      const pieces = ['GET /function/echo/ HTTP/1.1\r\n', 'Host: x\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: y\r\n`)];
      return rawExchange(gwPort, pieces, { gapMs: 200, timeoutMs: 15_000 });
    });
    // Meanwhile, normal requests are served at once.
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) await stillServes();
    expect(Date.now() - t0).toBeLessThan(HEADERS_TIMEOUT_MS * 3);
    const results = await Promise.all(slow);
    for (const r of results) {
      expect(r.closed).toBe(true);
      expect([r.status, r.code]).toEqual([408, 'ZENO_ERR_CLIENT_TIMEOUT']);
    }
    await stillServes();
  });

  it('slowloris clients that never read nor close are cut too: their sockets are freed', async () => {
    const before = fdCount(zeno.proc.pid!);
    const socks: net.Socket[] = [];
    for (let i = 0; i < 50; i++) {
      const s = net.connect({ host: '127.0.0.1', port: gwPort });
      s.on('error', () => undefined);
      // No 'data' listener: the client reads nothing, so it never sees the FIN either.
      s.write('GET /function/echo/ HTTP/1.1\r\nHost: x\r\n');
      socks.push(s);
    }
    try {
      await waitFor(() => fdCount(zeno.proc.pid!) >= before + 40, 10_000, { message: 'the connections to be accepted' });
      // headers timeout (1 s) + check interval (≤ 1 s) + linger for the answer (2 s), on a busy machine
      await waitFor(() => fdCount(zeno.proc.pid!) <= before, 15_000, { message: `fds back to ${before}` });
    } finally {
      for (const s of socks) s.destroy();
    }
    await stillServes();
  });

  it('an idle connection that sends nothing is closed after the headers timeout', async () => {
    const r = await rawExchange(gwPort, [], { timeoutMs: 10_000 });
    expect(r.closed).toBe(true);
    expect([0, 408]).toContain(r.status);
  });

  it('CONNECT is refused with 405: the gateway is no tunnel', async () => {
    const r = await rawExchange(gwPort, [req([`CONNECT 127.0.0.1:${adminPort} HTTP/1.1`, `Host: 127.0.0.1:${adminPort}`])]);
    expect([r.status, r.code, r.closed]).toEqual([405, 'ZENO_ERR_METHOD_NOT_ALLOWED', true]);
    await stillServes();
  });

  it('a client that disconnects mid-body leaves nothing behind', async () => {
    for (let i = 0; i < 10; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: gwPort }, () => {
          s.write(req(['POST /function/echo/ HTTP/1.1', 'Host: x', 'Content-Length: 100000'], 'partial'));
          setTimeout(() => {
            s.destroy();
            resolve();
          }, 20);
        });
        s.on('error', () => resolve());
      });
    }
    await stillServes();
  });
});

describe('HTTP oddities on the admin port', () => {
  it('huge headers: 431; huge body: 413; slow head: 408; no Host: 400 — each with a code', async () => {
    const big = await rawExchange(adminPort, [req(['GET /healthz HTTP/1.1', 'Host: x', `X-Big: ${'a'.repeat(20 * 1024)}`])]);
    expect([big.status, big.code]).toEqual([431, 'ZENO_ERR_HEADERS_TOO_LARGE']);

    // A declared length over the limit is refused before the body is read.
    const body = await rawExchange(adminPort, [req(['POST /apis/zeno.dev/v1/apply HTTP/1.1', 'Host: x', `Authorization: Bearer ${zeno.token}`, 'Content-Type: application/json', `Content-Length: ${11 * 1024 * 1024}`], '{"items":[')]);
    expect([body.status, body.code]).toEqual([413, 'ZENO_ERR_BODY_TOO_LARGE']);

    const slow = await rawExchange(adminPort, ['GET /healthz HTTP/1.1\r\n', ...Array.from({ length: 30 }, (_, i) => `X-S${i}: y\r\n`)], { gapMs: 200, timeoutMs: 15_000 });
    expect([slow.status, slow.code, slow.closed]).toEqual([408, 'ZENO_ERR_CLIENT_TIMEOUT', true]);

    const noHost = await rawExchange(adminPort, [req(['GET /healthz HTTP/1.1', 'Connection: close'])]);
    expect([noHost.status, noHost.code]).toEqual([400, 'ZENO_ERR_BAD_REQUEST']);

    const chunked = await rawExchange(adminPort, [req(['POST /apis/zeno.dev/v1/apply HTTP/1.1', 'Host: x', 'Transfer-Encoding: chunked', 'Content-Length: 4'], '0\r\n\r\n')]);
    expect([chunked.status, chunked.code]).toEqual([400, 'ZENO_ERR_BAD_REQUEST']);

    expect((await fetch(`${zeno.adminUrl}/healthz`)).status).toBe(200);
  });
});

describe('deeply nested JSON', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  it('an admin body or an event nested 100,000 levels deep: 400 with a code, and the platform lives', async () => {
    const apply = await fetch(`${zeno.adminUrl}/apis/zeno.dev/v1/apply`, {
      method: 'POST',
      headers: { authorization: `Bearer ${zeno.token}`, 'content-type': 'application/json' },
      body: `{"items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"data":{"x":${deep(100_000)}}}]}`,
    });
    expect([apply.status, ((await apply.json()) as { code: string }).code]).toEqual([400, 'ZENO_ERR_BAD_REQUEST']);
    const ev = await httpCall(`${zeno.gatewayUrl}/brokers/default/default`, {
      body: deep(100_000),
      headers: { 'ce-specversion': '1.0', 'ce-id': 'deep', 'ce-source': '/s', 'ce-type': 't', 'content-type': 'application/json' },
    });
    expect([ev.status, JSON.parse(ev.body).code]).toEqual([400, 'ZENO_ERR_INVALID_EVENT']);
    await stillServes();
  });
});

describe('random requests against every gateway surface', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
  const seg = fc.oneof(
    fc.constantFrom('', '.', '..', '%2e%2e', '%2F', '%00', '%', '%zz', 'echo', 'echo.default', 'default', 'x'.repeat(300), '\u00e9', '*', '@', ':', ';', '?', '#'),
    fc.stringMatching(/^[a-z0-9._~%-]{0,10}$/),
  );
  const path = fc.tuple(
    fc.constantFrom('/function/', '/async-function/', '/brokers/', '/channels/', '/metrics', '/healthz', '/', '/ui/', '/apis/'),
    fc.array(seg, { maxLength: 4 }),
    fc.option(fc.stringMatching(/^[a-z0-9=&%._-]{0,20}$/), { nil: undefined }),
  ).map(([prefix, segs, q]) => `${prefix}${segs.join('/')}${q !== undefined ? `?${q}` : ''}`);
  const headerValue = fc.stringMatching(/^[ -~]{0,40}$/).map((v) => v.trim());
  const headers = fc.array(fc.oneof(
    fc.tuple(fc.constantFrom('host', 'content-type', 'ce-specversion', 'ce-id', 'ce-source', 'ce-type', 'x-callback-url', 'knative-serving-tag', 'expect', 'transfer-encoding', 'content-length', 'connection', 'upgrade', 'traceparent', 'x-request-id', 'authorization', 'cookie', 'range'), headerValue),
    fc.tuple(token, headerValue),
  ), { maxLength: 6 });

  it('any method, target, headers and body: an answer with a code for every platform error, never 500, never a crash', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE'), token),
        path,
        headers,
        fc.oneof(fc.constant(''), fc.stringMatching(/^[ -~]{0,60}$/), fc.constant('{"specversion":"1.0","id":"1","source":"/s","type":"t"}')),
        async (method, target, hs, body) => {
          const lines = [`${method} ${target} HTTP/1.1`, ...hs.map(([k, v]) => `${k}: ${v}`)];
          if (!hs.some(([k]) => k === 'host')) lines.push('Host: x');
          if (!hs.some(([k]) => k === 'content-length' || k === 'transfer-encoding')) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
          lines.push('Connection: close');
          const r = await rawExchange(gwPort, [req(lines, body)], { timeoutMs: 15_000 });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 500) throw new Error(`500 for ${JSON.stringify(lines)}: ${r.text}`);
          // A platform answer (not the function's) carries a code; the echo function answers 200 JSON.
          if (r.status >= 400 && method !== 'HEAD') expect(r.code, r.text).toMatch(/^ZENO_ERR_/);
        },
      ),
      { numRuns: Number(process.env.ZENO_FUZZ_RUNS ?? 400) },
    );
    expect(zeno.proc.exitCode).toBeNull();
    await stillServes();
    // Not everything was refused: the property reached functions and handlers too.
    expect([...statuses.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
  });
});

describe('random requests against the admin API (with the token)', () => {
  it('any method, path and JSON body: 2xx or 4xx with a code, never 500', async () => {
    const seg = fc.oneof(
      fc.constantFrom('default', 'services', 'hello', 'echo', 'brokers', 'triggers', 'functions', 'configmaps', 'events', 'revisions', 'logs', 'v1', 'zeno.dev', 'serving.knative.dev', 'eventing.knative.dev', 'sources.knative.dev', 'namespaces', '..', '%2e', '%', '%zz', '', 'x'.repeat(120)),
      fc.stringMatching(/^[a-z0-9.%_-]{0,8}$/),
    );
    const path = fc.tuple(fc.constantFrom('/apis/', '/api/v1/', '/apis/zeno.dev/v1/', '/ui/', '/ui/api/', '/'), fc.array(seg, { maxLength: 6 }), fc.option(fc.constantFrom('tail=-1', 'tail=abc', 'follow=0', 'involvedObject=a/b/c', 'namespace=..&service=%00'), { nil: undefined }))
      .map(([p, segs, q]) => `${p}${segs.join('/')}${q ? `?${q}` : ''}`);
    const body = fc.oneof(
      fc.constant(''),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.record({ items: fc.array(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ apiVersion: fc.constantFrom('v1', 'serving.knative.dev/v1', 'zeno.dev/v1', 'eventing.knative.dev/v1'), kind: fc.constantFrom('ConfigMap', 'Service', 'Function', 'Broker', 'Trigger'), metadata: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ name: seg, namespace: seg })), spec: fc.jsonValue({ maxDepth: 3 }) })), { maxLength: 3 }), dryRun: fc.boolean() }).map((v) => JSON.stringify(v)),
      fc.constantFrom('{', '[]', 'null', '{"items":null}', '{"__proto__":{"x":1}}'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), path, body, fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded'), async (method, p, b, ct) => {
        const send = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE';
        const lines = [`${method} ${p} HTTP/1.1`, 'Host: x', `Authorization: Bearer ${zeno.token}`, 'Connection: close'];
        if (send) lines.push(`Content-Type: ${ct}`, `Content-Length: ${Buffer.byteLength(b)}`);
        const r = await rawExchange(adminPort, [req(lines, send ? b : '')], { timeoutMs: 10_000 });
        if (r.status === 500 || r.status === 0) throw new Error(`${r.status} for ${JSON.stringify(lines)} ${b}: ${r.text.slice(0, 300)}`);
        if (r.status >= 400 && method !== 'HEAD') expect(r.code, r.text).toMatch(/^ZENO_ERR_/);
      }),
      { numRuns: Number(process.env.ZENO_FUZZ_RUNS ?? 300) },
    );
    expect((await fetch(`${zeno.adminUrl}/healthz`)).status).toBe(200);
    await stillServes();
  });
});

describe('after all of it', () => {
  it('the platform is alive, serves, and holds no more file descriptors than at rest', async () => {
    await stillServes();
    expect(zeno.proc.exitCode).toBeNull();
    let now = 0;
    // Upstream keep-alive sockets to the pod may legitimately outlive the
    // fuzzing for up to the gateway agent's 30 s keep-alive: wait past it.
    await waitFor(() => (now = fdCount(zeno.proc.pid!)) <= baselineFds, 35_000, { message: `fd count back to ${baselineFds}` }).catch(() => undefined);
    expect(now, `at rest:\n${baselineListing}\nnow:\n${fdListing(zeno.proc.pid!)}`).toBeLessThanOrEqual(baselineFds);
  });
});
