/**
 * OpenTelemetry export through a real `zeno up` with
 * OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector on loopback (a plain
 * HTTP server that keeps what is POSTed to /v1/traces): a cold request gives
 * a gateway SERVER span under the client's traceparent and an activator span
 * under it, and the function sees the gateway span as its parent; a broker
 * delivery gives a CLIENT span under the event's traceparent; an async call
 * gives a CONSUMER span with the gateway's span under it. Needs `npm run build`.
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number; message?: string };
}

let zeno: RunningZeno;
let collector: http.Server;
const requests: { path: string; contentType: string | undefined; body: any }[] = [];
const spans = (): OtlpSpan[] => requests.flatMap((r) => (r.body.resourceSpans ?? []).flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans as OtlpSpan[])));
const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
};

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';
const fixture = { command: ['node', 'echo.js'], workingDir: path.join(ROOT, 'test/fixtures/functions') };

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const port = (collector.address() as { port: number }).port;
  const work = tempDir('zeno-otel-');
  zeno = await startZeno({
    dataDir: path.join(work, 'data'),
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'zeno-test' },
  });
  const f = writeYaml(work, 'all.yaml', [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\ndata:\n  allow-zero-initial-scale: "true"\n',
    serviceYaml('cold', { ...fixture, annotations: { 'autoscaling.knative.dev/initial-scale': '0' } }),
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n',
    'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: to-cold\nspec:\n  broker: default\n  subscriber:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: cold\n',
  ].join('---\n'));
  const r = await runCli(['apply', '-f', f], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  await zeno?.stop();
  await new Promise<void>((r) => collector?.close(() => r()));
});

describe('OpenTelemetry export (OTLP/HTTP JSON)', () => {
  it('exports a gateway span under the client trace, an activator span for the cold start, and makes the gateway the function parent', async () => {
    const res = await httpCall(`${zeno.gatewayUrl}/hello`, { host: 'cold.default.localhost', headers: { traceparent: `00-${TRACE}-${CLIENT_SPAN}-01` } });
    expect(res.status).toBe(200);
    const seen = (JSON.parse(res.body.toString()) as { headers: Record<string, string> }).headers.traceparent!;
    let gw: OtlpSpan | undefined;
    await waitFor(() => (gw = spans().find((s) => s.traceId === TRACE && s.kind === 2)) !== undefined, 10_000, { message: 'the gateway span at the collector' });
    expect(requests[0]!.path).toBe('/v1/traces');
    expect(requests[0]!.contentType).toBe('application/json');
    expect(requests[0]!.body.resourceSpans[0].resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'zeno-test' } });
    expect(gw).toMatchObject({ name: 'gateway default/cold-00001', parentSpanId: CLIENT_SPAN, status: { code: 0 } });
    expect(attr(gw!, 'http.response.status_code')).toBe('200');
    expect(attr(gw!, 'url.path')).toBe('/hello');
    expect(Number(attr(gw!, 'zeno.cold_start_ms'))).toBeGreaterThan(0);
    expect(BigInt(gw!.endTimeUnixNano)).toBeGreaterThan(BigInt(gw!.startTimeUnixNano));
    // The function got the gateway's span as its parent, in the same trace.
    expect(seen).toBe(`00-${TRACE}-${gw!.spanId}-01`);
    const wait = spans().find((s) => s.name === 'activator wait' && s.traceId === TRACE);
    expect(wait).toMatchObject({ kind: 1, parentSpanId: gw!.spanId });
    expect(attr(wait!, 'zeno.cold_start')).toBe(true);
  });

  it('exports a delivery span under the event traceparent', async () => {
    const eventTrace = '1bf92f3577b34da6a3ce929d0e0e4736';
    const producerSpan = '10f067aa0ba902b7';
    const r = await httpCall(`${zeno.gatewayUrl}/brokers/default/default`, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'otel-1', 'ce-type': 'com.example.otel', 'ce-source': '/test', 'content-type': 'application/json', traceparent: `00-${eventTrace}-${producerSpan}-01` },
      body: '{"a":1}',
    });
    expect(r.status).toBe(202);
    let deliver: OtlpSpan | undefined;
    await waitFor(() => (deliver = spans().find((s) => s.traceId === eventTrace && s.kind === 3)) !== undefined, 10_000, { message: 'the delivery span' });
    expect(deliver).toMatchObject({ name: 'deliver', parentSpanId: producerSpan, status: { code: 0 } });
    expect(attr(deliver!, 'zeno.subscription')).toMatch(/^trigger:default\/to-cold\//);
    expect(attr(deliver!, 'cloudevents.event_id')).toBe('otel-1');
    expect(attr(deliver!, 'http.response.status_code')).toBe('200');
    // The delivery reached the function through the gateway, in the event's trace.
    await waitFor(() => spans().some((s) => s.traceId === eventTrace && s.kind === 2), 10_000, { message: 'the gateway span of the delivery' });
  });

  it('exports an async call span with the gateway span under it', async () => {
    const asyncTrace = '2bf92f3577b34da6a3ce929d0e0e4736';
    const r = await httpCall(`${zeno.gatewayUrl}/async-function/cold`, { method: 'POST', headers: { traceparent: `00-${asyncTrace}-20f067aa0ba902b7-01` }, body: 'x' });
    expect(r.status).toBe(202);
    let consumer: OtlpSpan | undefined;
    let gw: OtlpSpan | undefined;
    await waitFor(() => {
      consumer = spans().find((s) => s.traceId === asyncTrace && s.kind === 5);
      gw = spans().find((s) => s.traceId === asyncTrace && s.kind === 2 && s.parentSpanId === consumer?.spanId);
      return consumer !== undefined && gw !== undefined;
    }, 10_000, { message: 'the async span and its gateway child' });
    expect(consumer).toMatchObject({ name: 'async cold', parentSpanId: '20f067aa0ba902b7', status: { code: 0 } });
    expect(attr(consumer!, 'http.response.status_code')).toBe('200');
  });
});
