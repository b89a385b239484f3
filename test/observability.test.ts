/**
 * Metrics and tracing through a real `zeno up --access-log` and the real
 * echo function: counters and histograms move with the right labels after
 * real traffic (including a cold start), a traceparent reaches the function
 * unchanged, and one is generated when the client sent none.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;

const fixture = { command: ['node', 'echo.js'], workingDir: path.join(ROOT, 'test/fixtures/functions') };
const labels = (svc: string) => `namespace_name="default",service_name="${svc}",configuration_name="${svc}",revision_name="${svc}-00001"`;

/** One sample of the exposition text, by exact series name and labels. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const scrape = async (): Promise<string> => {
  const res = await fetch(`${zeno.gatewayUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
};

const call = (svc: string, p = '/', headers: Record<string, string> = {}) => httpCall(`${zeno.gatewayUrl}${p}`, { host: `${svc}.default.localhost`, headers });

/** Access-log lines printed so far, parsed. */
const accessLog = (): Record<string, unknown>[] =>
  zeno.output().split('\n').filter((l) => l.startsWith('{"time"')).map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  const work = tempDir('zeno-observe-');
  zeno = await startZeno({ dataDir: path.join(work, 'data'), extraArgs: ['--access-log'] });
  const f = writeYaml(work, 'svc.yaml', [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\ndata:\n  allow-zero-initial-scale: "true"\n',
    serviceYaml('warm', { ...fixture, annotations: { 'autoscaling.knative.dev/min-scale': '1' } }),
    serviceYaml('cold', { ...fixture, annotations: { 'autoscaling.knative.dev/initial-scale': '0' } }),
  ].join('---\n'));
  const r = await runCli(['apply', '-f', f], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await zeno?.stop();
});

describe('metrics', () => {
  it('counts requests per revision and status class, with a latency histogram', async () => {
    const before = await scrape();
    expect(sample(before, `zeno_request_count{${labels('warm')},response_code_class="2xx"}`)).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await call('warm')).status).toBe(200);
    expect((await call('warm', '/redirect')).status).toBe(302);
    const text = await scrape();
    expect(sample(text, `zeno_request_count{${labels('warm')},response_code_class="2xx"}`)).toBe(3);
    expect(sample(text, `zeno_request_count{${labels('warm')},response_code_class="3xx"}`)).toBe(1);
    expect(sample(text, `zeno_request_latencies_count{${labels('warm')},response_code_class="2xx"}`)).toBe(3);
    expect(sample(text, `zeno_request_latencies_bucket{${labels('warm')},response_code_class="2xx",le="+Inf"}`)).toBe(3);
    expect(sample(text, `zeno_actual_pods{${labels('warm')}}`)).toBe(1);
    expect(sample(text, `zeno_activator_queue_depth{${labels('warm')}}`)).toBe(0);
    // The pod that min-scale started passed readiness once.
    expect(sample(text, `zeno_pod_start_latencies_count{${labels('warm')}}`)).toBeGreaterThanOrEqual(1);
  });

  it('counts a cold start and how long the request waited for the pod', async () => {
    const before = await scrape();
    expect(sample(before, `zeno_actual_pods{${labels('cold')}}`)).toBe(0);
    expect(sample(before, `zeno_cold_start_count{${labels('cold')}}`)).toBeUndefined();
    const r = await call('cold', '/', { 'x-request-id': 'cold-req-1' });
    expect(r.status).toBe(200);
    const text = await scrape();
    expect(sample(text, `zeno_cold_start_count{${labels('cold')}}`)).toBe(1);
    expect(sample(text, `zeno_cold_start_latencies_count{${labels('cold')}}`)).toBe(1);
    const waited = sample(text, `zeno_cold_start_latencies_sum{${labels('cold')}}`)!;
    expect(waited).toBeGreaterThan(0);
    // The request took at least as long as it waited for its pod.
    expect(sample(text, `zeno_request_latencies_sum{${labels('cold')},response_code_class="2xx"}`)).toBeGreaterThanOrEqual(waited);
    expect(sample(text, `zeno_actual_pods{${labels('cold')}}`)).toBe(1);
    // A warm request is not a cold start.
    expect((await call('cold')).status).toBe(200);
    expect(sample(await scrape(), `zeno_cold_start_count{${labels('cold')}}`)).toBe(1);
    // The access log says which request was cold.
    const line = accessLog().find((l) => l.requestId === 'cold-req-1');
    expect(line).toMatchObject({ status: 200, revision: 'default/cold-00001', coldStartMs: waited });
  });

  it('reports the autoscaler decisions under Knative names', async () => {
    await waitFor(async () => sample(await scrape(), `zeno_desired_pods{${labels('warm')}}`) !== undefined, 10_000, { message: 'a decision for warm' });
    const text = await scrape();
    expect(sample(text, `zeno_desired_pods{${labels('warm')}}`)).toBe(1);
    expect(sample(text, `zeno_panic_mode{${labels('warm')}}`)).toBe(0);
    expect(sample(text, `zeno_stable_request_concurrency{${labels('warm')}}`)).toBeGreaterThanOrEqual(0);
    expect(sample(text, `zeno_requested_pods{${labels('warm')}}`)).toBe(1);
  });

  it('serves the same metrics on the admin port, with the token', async () => {
    const anon = await fetch(`${zeno.adminUrl}/metrics`);
    expect(anon.status).toBe(401);
    const res = await fetch(`${zeno.adminUrl}/metrics`, { headers: { authorization: `Bearer ${zeno.token}` } });
    expect(res.status).toBe(200);
    expect(sample(await res.text(), `zeno_request_count{${labels('warm')},response_code_class="3xx"}`)).toBe(1);
  });

  it('counts a request that got no answer from the function as 5xx', async () => {
    // The echo fixture exits on /crash before answering: the gateway answers 502.
    const r = await call('warm', '/crash');
    expect(r.status).toBe(502);
    expect(sample(await scrape(), `zeno_request_count{${labels('warm')},response_code_class="5xx"}`)).toBe(1);
    await waitFor(async () => (await call('warm')).status === 200, 20_000, { message: 'warm restarted' });
  });
});

describe('tracing', () => {
  const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('passes a client traceparent to the function unchanged', async () => {
    const r = await call('warm', '/', { traceparent: TP, tracestate: 'vendor=1', 'x-request-id': 'trace-req-1' });
    expect(r.status).toBe(200);
    const got = JSON.parse(r.body) as { headers: Record<string, string> };
    expect(got.headers.traceparent).toBe(TP);
    expect(got.headers.tracestate).toBe('vendor=1');
    expect(got.headers['x-request-id']).toBe('trace-req-1');
    await waitFor(() => accessLog().some((l) => l.requestId === 'trace-req-1'), 5_000, { message: 'access log line' });
    expect(accessLog().find((l) => l.requestId === 'trace-req-1')).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', status: 200, method: 'GET', path: '/' });
  });

  it('generates a traceparent (and a request id) when the client sent none, or an invalid one', async () => {
    const cases: Record<string, string>[] = [{}, { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }];
    for (const headers of cases) {
      const r = await call('warm', '/', headers);
      const got = JSON.parse(r.body) as { headers: Record<string, string> };
      expect(got.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(got.headers.traceparent).not.toContain('00000000000000000000000000000000');
      const rid = got.headers['x-request-id']!;
      expect(rid).toMatch(/^[0-9a-f]{32}$/);
      await waitFor(() => accessLog().some((l) => l.requestId === rid), 5_000, { message: 'access log line' });
      // The access log names the trace the function saw.
      expect(accessLog().find((l) => l.requestId === rid)!.traceId).toBe(got.headers.traceparent!.slice(3, 35));
    }
    // Two requests, two traces.
    const a = JSON.parse((await call('warm')).body).headers.traceparent;
    const b = JSON.parse((await call('warm')).body).headers.traceparent;
    expect(a).not.toBe(b);
  });
});
