import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { createTracer, encodeOtlpTraceRequest, otelSettingsFromEnv, otlpTraceRequest, parentOf, parseKeyValues, SPAN_KIND, unixNano, type OtelSettings, type SendFn } from './otel.js';

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('unixNano', () => {
  it.each([
    [0, '0'],
    [1, '1000000'],
    [1_765_000_000_123, '1765000000123000000'],
    [1_765_000_000_123.25, '1765000000123250000'],
  ])('%d ms → %s ns', (ms, want) => {
    expect(unixNano(ms)).toBe(want);
  });
});

describe('otelSettingsFromEnv', () => {
  it('is off without an endpoint, or with OTEL_SDK_DISABLED=true', () => {
    expect(otelSettingsFromEnv({})).toBeUndefined();
    expect(otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  });

  it.each([
    { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }, url: 'http://c:4318/v1/traces' },
    { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/base' }, url: 'http://c:4318/base/v1/traces' },
    { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:9/spans' }, url: 'http://t:9/spans' },
  ])('endpoint $env → $url', ({ env, url }) => {
    expect(otelSettingsFromEnv(env)?.url).toBe(url);
  });

  it('reads headers, service name, resource attributes and timeout, and warns about what it cannot do', () => {
    const s = otelSettingsFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b, x=1',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=dev,service.name=ignored',
      OTEL_SERVICE_NAME: 'zeno-dev',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TIMEOUT: 'soon',
    })!;
    expect(s.headers).toEqual({ 'api-key': 'a b', x: '1' });
    expect(s.serviceName).toBe('zeno-dev');
    expect(s.resource).toEqual({ 'deployment.environment': 'dev', 'service.name': 'zeno-dev' });
    expect(s.timeoutMs).toBe(10_000);
    expect(s.warnings).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf is not supported; sending http/json',
      'OTEL_EXPORTER_OTLP_TIMEOUT=soon is not a number of ms; using 10000',
    ]);
    expect(otelSettingsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toMatchObject({ timeoutMs: 2500, warnings: [], serviceName: 'zeno' });
  });

  it('parses k=v lists, skipping malformed parts', () => {
    expect(parseKeyValues('a=1,,=x,b,c=%E0%A4')).toEqual({ a: '1', c: '%E0%A4' });
  });
});

describe('parentOf', () => {
  it('reads trace id, span id and the sampled flag of a valid traceparent only', () => {
    expect(parentOf(PARENT)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true });
    expect(parentOf(PARENT.replace(/-01$/, '-00'))?.sampled).toBe(false);
    expect(parentOf('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parentOf(undefined)).toBeUndefined();
  });
});

describe('otlpTraceRequest', () => {
  it('encodes spans as OTLP/JSON: hex ids, numeric kinds, nanosecond strings, typed attributes, status', () => {
    const body = otlpTraceRequest({ 'service.name': 'zeno' }, { name: 'zeno', version: '0.1.0' }, [
      { traceId: 't'.repeat(32), spanId: 's'.repeat(16), parentSpanId: 'p'.repeat(16), name: 'gateway default/hello-00001', kind: SPAN_KIND.server, startMs: 1000, endMs: 1002.5, attributes: { 'http.response.status_code': 200, 'zeno.cold_start': true, ratio: 0.5, 'url.path': '/' }, error: undefined },
      { traceId: 't'.repeat(32), spanId: 'q'.repeat(16), parentSpanId: undefined, name: 'x', kind: SPAN_KIND.client, startMs: 5, endMs: 4, attributes: {}, error: 'HTTP 503' },
    ]);
    expect(body).toEqual({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'zeno' } }] },
        scopeSpans: [{
          scope: { name: 'zeno', version: '0.1.0' },
          spans: [
            {
              traceId: 't'.repeat(32), spanId: 's'.repeat(16), parentSpanId: 'p'.repeat(16), name: 'gateway default/hello-00001', kind: 2,
              startTimeUnixNano: '1000000000', endTimeUnixNano: '1002500000',
              attributes: [
                { key: 'http.response.status_code', value: { intValue: '200' } },
                { key: 'zeno.cold_start', value: { boolValue: true } },
                { key: 'ratio', value: { doubleValue: 0.5 } },
                { key: 'url.path', value: { stringValue: '/' } },
              ],
              status: { code: 0 },
            },
            { traceId: 't'.repeat(32), spanId: 'q'.repeat(16), name: 'x', kind: 3, startTimeUnixNano: '5000000', endTimeUnixNano: '5000000', attributes: [], status: { code: 2, message: 'HTTP 503' } },
          ],
        }],
      }],
    });
  });
});

describe('encodeOtlpTraceRequest', () => {
  it('writes the same document as otlpTraceRequest, escaping what needs it', () => {
    const spans = [
      { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), parentSpanId: 'c'.repeat(16), name: 'gateway "x"\n', kind: SPAN_KIND.server, startMs: 1.5, endMs: 3, attributes: { s: 'é"\\', i: 7, d: 0.25, b: false }, error: 'bad "thing"' },
      { traceId: 'a'.repeat(32), spanId: 'd'.repeat(16), parentSpanId: undefined, name: 'n', kind: SPAN_KIND.consumer, startMs: 10, endMs: 9, attributes: {}, error: undefined },
    ] as const;
    const resource = { 'service.name': 'zeno', 'k"': 'v' };
    const scope = { name: 'zeno', version: '0.1.0' };
    expect(JSON.parse(encodeOtlpTraceRequest(resource, scope, [...spans]))).toEqual(otlpTraceRequest(resource, scope, [...spans]));
    expect(JSON.parse(encodeOtlpTraceRequest(resource, scope, []))).toEqual(otlpTraceRequest(resource, scope, []));
  });
});

describe('createTracer', () => {
  const settings: OtelSettings = { url: 'http://collector/v1/traces', headers: { 'api-key': 'k' }, serviceName: 'zeno', resource: { 'service.name': 'zeno' }, timeoutMs: 1000, warnings: [] };
  function harness(opts: { fail?: boolean; maxQueue?: number } = {}) {
    const clock = new FakeClock(1_000_000);
    const sent: { url: string; headers: Record<string, string>; body: any }[] = [];
    const logs: string[] = [];
    let failing = opts.fail ?? false;
    const send: SendFn = async (url, init) => {
      sent.push({ url, headers: init.headers, body: JSON.parse(init.body) });
      return failing ? { ok: false, status: 503 } : { ok: true, status: 200 };
    };
    const tracer = createTracer({ settings, clock, now: () => clock.now(), send, log: (l) => logs.push(l), flushMs: 1000, ...(opts.maxQueue ? { maxQueue: opts.maxQueue } : {}) });
    const spans = () => sent.flatMap((r) => r.body.resourceSpans[0].scopeSpans[0].spans);
    return { clock, tracer, sent, logs, spans, setFailing: (f: boolean) => (failing = f) };
  }
  const settle = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };

  it('continues the caller trace, parents children on the span, and exports on the flush interval', async () => {
    const h = harness();
    const server = h.tracer.start('gateway default/hello-00001', SPAN_KIND.server, PARENT, { 'http.request.method': 'GET' });
    expect(server.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server.traceparent()).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${server.spanId}-01`);
    const wait = h.tracer.start('activator wait', SPAN_KIND.internal, server.traceparent());
    h.clock.advance(80);
    wait.end();
    server.set('http.response.status_code', 200);
    server.set('ignored', undefined);
    h.clock.advance(5);
    server.end();
    server.end();
    expect(h.sent).toEqual([]);
    h.clock.advance(1000);
    await settle();
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.url).toBe('http://collector/v1/traces');
    expect(h.sent[0]!.headers).toEqual({ 'content-type': 'application/json', 'api-key': 'k' });
    const [w, s] = h.spans();
    expect(w).toMatchObject({ name: 'activator wait', kind: 1, parentSpanId: server.spanId, traceId: server.traceId, startTimeUnixNano: '1000000000000', endTimeUnixNano: '1000080000000' });
    expect(s).toMatchObject({ name: 'gateway default/hello-00001', kind: 2, parentSpanId: '00f067aa0ba902b7', endTimeUnixNano: '1000085000000' });
    expect(s.attributes).toEqual([{ key: 'http.request.method', value: { stringValue: 'GET' } }, { key: 'http.response.status_code', value: { intValue: '200' } }]);
    await h.tracer.close();
    expect(h.clock.pending()).toBe(0);
  });

  it('starts a new trace without a valid parent, and does not export a trace the caller did not sample', async () => {
    const h = harness();
    const root = h.tracer.start('gateway x', SPAN_KIND.server, 'garbage');
    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    root.end();
    const unsampled = h.tracer.start('gateway x', SPAN_KIND.server, PARENT.replace(/-01$/, '-00'));
    expect(unsampled.traceparent()).toMatch(/-00$/);
    unsampled.end();
    await h.tracer.close();
    expect(h.spans().map((s: { traceId: string; parentSpanId?: string }) => [s.traceId, s.parentSpanId])).toEqual([[root.traceId, undefined]]);
  });

  it('drops spans while the collector fails, saying so once, and again when it recovers', async () => {
    const h = harness({ fail: true });
    h.tracer.start('a', SPAN_KIND.server).end();
    h.clock.advance(1000);
    await settle();
    h.tracer.start('b', SPAN_KIND.server).end();
    h.clock.advance(1000);
    await settle();
    expect(h.logs).toEqual(['otel: cannot export 1 spans to http://collector/v1/traces: HTTP 503; dropping until it answers']);
    h.setFailing(false);
    h.tracer.start('c', SPAN_KIND.server).end();
    await h.tracer.close();
    expect(h.logs.at(-1)).toBe('otel: exporting to http://collector/v1/traces works again');
  });

  it('bounds the queue', async () => {
    const h = harness({ maxQueue: 2 });
    for (let i = 0; i < 5; i++) h.tracer.start(`s${i}`, SPAN_KIND.internal).end();
    await h.tracer.close();
    expect(h.spans().map((s: { name: string }) => s.name)).toEqual(['s0', 's1']);
    expect(h.logs[0]).toBe('otel: export queue full (2); 1 spans dropped');
  });
});
