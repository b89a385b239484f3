/**
 * Asynchronous calls end to end: a real `zeno up`, a real function
 * (fixtures/functions/async.js) and a real callback receiver on loopback.
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

let zeno: RunningZeno;
let work: string;
let receiver: http.Server;
let cbBase: string;
const received: Received[] = [];
const failedOnce = new Set<string>();

/** The async fixture; fast retries so the tests take seconds. */
function fn(name: string, extra: Record<string, string> = {}): string {
  return serviceYaml(name, {
    annotations: {
      'autoscaling.knative.dev/min-scale': '1',
      'com.openfaas.retry.attempts': '3',
      'com.openfaas.retry.min_wait': '100ms',
      'com.openfaas.retry.max_wait': '2s',
      ...extra,
    },
    command: ['node', 'async.js'],
    workingDir: path.join(ROOT, 'test/fixtures/functions'),
  });
}

const post = (p: string, opts: { body?: string | Buffer; headers?: Record<string, string> } = {}) =>
  httpCall(`${zeno.gatewayUrl}/async-function/${p}`, { method: 'POST', body: opts.body ?? '', headers: opts.headers ?? {} });

const del = (p: string) => httpCall(`${zeno.gatewayUrl}/async-function/${p}`, { method: 'DELETE' });

/** Posts with a callback to the receiver; returns the call id. */
async function call(p: string, opts: { body?: string; headers?: Record<string, string>; cb?: string } = {}): Promise<string> {
  const r = await post(p, { body: opts.body ?? '', headers: { 'x-callback-url': `${cbBase}${opts.cb ?? '/cb'}`, ...opts.headers } });
  expect(r.status, r.body).toBe(202);
  const id = r.headers['x-call-id'] as string;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(JSON.parse(r.body)).toEqual({ callId: id });
  return id;
}

const callbacksOf = (id: string) => received.filter((c) => c.headers['x-call-id'] === id);

async function callback(id: string, timeoutMs = 15_000): Promise<Received> {
  await waitFor(() => callbacksOf(id).some((c) => c.status === 200), timeoutMs, { message: `callback for ${id}` });
  return callbacksOf(id).find((c) => c.status === 200)!;
}

async function seen(name: string): Promise<Record<string, number[]>> {
  const r = await httpCall(`${zeno.gatewayUrl}/function/${name}/seen`);
  return JSON.parse(r.body) as Record<string, number[]>;
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['x-call-id']);
      // /fail-once answers 500 to a call's first callback.
      const status = req.url === '/fail-once' && !failedOnce.has(id) ? 500 : 200;
      if (status === 500) failedOnce.add(id);
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString(), status });
      res.writeHead(status);
      res.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  cbBase = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

  work = tempDir('zeno-async-');
  zeno = await startZeno({ dataDir: path.join(work, 'data') });
  const f = writeYaml(work, 'fns.yaml', [fn('afn'), fn('serial', { 'zeno.dev/async-max-inflight': '1' })].join('---\n'));
  const r = await runCli(['apply', '-f', f], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await zeno?.stop();
  receiver?.close();
});

describe('async calls', () => {
  it('answers 202 with X-Call-Id, runs the request and posts the result with the OpenFaaS headers', async () => {
    const id = await call('afn/ok?x=1&y=2', { body: 'hello async', headers: { 'content-type': 'text/plain', 'x-custom': 'v' } });
    const cb = await callback(id);
    expect(cb.path).toBe('/cb');
    expect(cb.headers['x-function-status']).toBe('200');
    expect(cb.headers['x-function-name']).toBe('afn');
    expect(cb.headers['x-duration-seconds']).toMatch(/^\d+\.\d{6}$/);
    expect(cb.headers['x-fn-header']).toBe('yes');
    expect(cb.headers['content-type']).toBe('application/json');
    const got = JSON.parse(cb.body);
    expect(got).toMatchObject({ method: 'POST', url: '/ok?x=1&y=2', callId: id, body: 'hello async', callbackUrl: `${cbBase}/cb`, contentType: 'text/plain' });
  });

  it('counts calls in /metrics', async () => {
    const m = await httpCall(`${zeno.gatewayUrl}/metrics`);
    const line = (outcome: string) => m.body.split('\n').find((l) => l.includes('async_call_count{') && l.includes('service_name="afn"') && l.includes(`outcome="${outcome}"`));
    expect(line('accepted')).toMatch(/ [1-9]\d*$/);
    expect(line('succeeded')).toMatch(/ [1-9]\d*$/);
  });

  it('names the function as the caller did (NAME.NAMESPACE) and runs a call without a callback', async () => {
    const id = await call('afn.default/ok');
    expect((await callback(id)).headers['x-function-name']).toBe('afn.default');
    const r = await post('afn/ok', { body: 'no callback' });
    expect(r.status).toBe(202);
    const quiet = r.headers['x-call-id'] as string;
    await waitFor(async () => (await seen('afn'))[quiet] !== undefined, 10_000, { message: 'the call without callback to run' });
  });

  it('retries 5xx with backoff until the function succeeds', async () => {
    const id = await call('afn/flaky?fail=2&status=503');
    const cb = await callback(id);
    expect(cb.headers['x-function-status']).toBe('200');
    expect(cb.headers['x-attempt']).toBe('3');
    expect(callbacksOf(id)).toHaveLength(1);
  });

  it('gives up after the attempts cap and reports the last failure; does not retry a 400', async () => {
    const id = await call('afn/always?status=502');
    const cb = await callback(id);
    expect(cb.headers['x-function-status']).toBe('502');
    expect(cb.headers['x-attempt']).toBe('3');
    expect(cb.body).toBe('failure 3\n');
    expect((await seen('afn'))[id]).toHaveLength(3);

    const bad = await call('afn/always?status=400');
    expect((await callback(bad)).headers['x-function-status']).toBe('400');
    expect((await seen('afn'))[bad]).toHaveLength(1);
  });

  it('honours Retry-After on 429 over the shorter backoff', async () => {
    const id = await call('afn/limited?after=1');
    expect((await callback(id)).headers['x-function-status']).toBe('200');
    const [first, second] = (await seen('afn'))[id]!;
    // min_wait is 100ms: without Retry-After the retry would come after 50-100 ms.
    expect(second! - first!).toBeGreaterThanOrEqual(950);
  });

  it('retries a failed callback', async () => {
    const id = await call('afn/ok', { cb: '/fail-once' });
    await callback(id);
    expect(callbacksOf(id).map((c) => c.status)).toEqual([500, 200]);
  });

  it('cancels a queued call (202), refuses a running one (409) and unknown or settled ids (404)', async () => {
    const running = await call('serial/slow?ms=1500');
    const queued = await call('serial/ok');
    const after = await call('serial/ok');
    await waitFor(async () => (await seen('serial'))[running] !== undefined, 10_000, { message: 'the slow call to start' });

    const ok = await del(queued);
    expect(ok.status, ok.body).toBe(202);
    const busy = await del(running);
    expect([busy.status, JSON.parse(busy.body).code]).toEqual([409, 'ZENO_ERR_CALL_RUNNING']);
    for (const p of [queued, 'no-such-call', `afn/${after}`]) {
      const r = await del(p);
      expect([p, r.status, JSON.parse(r.body).code]).toEqual([p, 404, 'ZENO_ERR_CALL_NOT_FOUND']);
    }
    // OpenFaaS Pro's form names the function.
    const named = await call('serial/ok');
    expect((await del(`serial/${named}`)).status).toBe(202);

    // The queue is FIFO with one in flight: once `after` is done, the cancelled ones were passed over.
    await callback(running);
    await callback(after);
    const s = await seen('serial');
    expect(s[queued]).toBeUndefined();
    expect(s[named]).toBeUndefined();
    expect(callbacksOf(queued)).toEqual([]);
    // Settled right after its callback: then it is no longer known.
    await waitFor(async () => (await del(after)).status === 404, 5_000, { message: 'a finished call to be unknown' });
  });

  it('refuses bad input with a code: callback URL 400, unknown function 404, body 413, other methods 405', async () => {
    for (const url of ['not a url', 'ftp://127.0.0.1/x', '/relative', 'http://user:pw@127.0.0.1/']) {
      const r = await post('afn/ok', { headers: { 'x-callback-url': url } });
      expect([url, r.status, JSON.parse(r.body).code]).toEqual([url, 400, 'ZENO_ERR_INVALID_CALLBACK_URL']);
    }
    for (const p of ['nope', 'afn.other-ns', 'Bad_Name']) {
      const r = await post(p);
      expect([p, r.status, JSON.parse(r.body).code]).toEqual([p, 404, 'ZENO_ERR_FUNCTION_NOT_FOUND']);
    }
    const big = await post('afn/ok', { body: Buffer.alloc(10 * 1024 * 1024 + 1, 'a') });
    expect([big.status, JSON.parse(big.body).code]).toEqual([413, 'ZENO_ERR_BODY_TOO_LARGE']);
    const get = await httpCall(`${zeno.gatewayUrl}/async-function/afn/ok`);
    expect([get.status, get.headers.allow, JSON.parse(get.body).code]).toEqual([405, 'POST, DELETE', 'ZENO_ERR_METHOD_NOT_ALLOWED']);
  });

  it('zeno invoke --async prints the call id and the callback arrives', async () => {
    const r = await runCli(['invoke', 'afn', '--async', '--callback', `${cbBase}/cli`, '--path', '/ok', '--data', 'from cli'], zeno.dataDir);
    expect(r.code, r.stderr).toBe(0);
    const id = r.stdout.trim();
    const cb = await callback(id);
    expect(cb.path).toBe('/cli');
    expect(JSON.parse(cb.body).body).toBe('from cli');
  });

  it('runs every accepted call after the platform is killed with SIGKILL and restarted', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await call('serial/slow?ms=300'));
    await zeno.kill();
    const before = ids.filter((id) => callbacksOf(id).length > 0).length;
    expect(before).toBeLessThan(ids.length);
    zeno = await startZeno({ dataDir: zeno.dataDir });
    for (const id of ids) await callback(id, 20_000);
  });
});
