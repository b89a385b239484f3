import { describe, expect, it } from 'vitest';
import { createMetrics, LATENCY_BUCKETS_MS, statusClass, type RevisionLabels } from './metrics.js';

const hello: RevisionLabels = { namespace: 'default', service: 'hello', configuration: 'hello', revision: 'hello-00001' };
const REV = 'namespace_name="default",service_name="hello",configuration_name="hello",revision_name="hello-00001"';

/** The value of one exposition line, by its exact name and label string. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('statusClass', () => {
  it.each([
    [100, '1xx'], [200, '2xx'], [204, '2xx'], [302, '3xx'], [404, '4xx'], [499, '4xx'],
    [500, '5xx'], [504, '5xx'],
    // Knative: any other code is reported as 5xx.
    [0, '5xx'], [99, '5xx'], [600, '5xx'], [-1, '5xx'],
  ])('%i → %s', (code, want) => {
    expect(statusClass(code)).toBe(want);
  });
});

describe('request metrics', () => {
  it('counts per revision and status class, with Knative label names', async () => {
    const m = createMetrics();
    const r = m.revision(hello);
    r.record(200, 3);
    r.record(201, 7);
    r.record(404, 1);
    r.record(0, 12); // no response at all: 5xx
    const text = await m.render();
    expect(sample(text, `zeno_request_count{${REV},response_code_class="2xx"}`)).toBe(2);
    expect(sample(text, `zeno_request_count{${REV},response_code_class="4xx"}`)).toBe(1);
    expect(sample(text, `zeno_request_count{${REV},response_code_class="5xx"}`)).toBe(1);
    // A class with no request has no series.
    expect(text).not.toContain('response_code_class="3xx"');
    expect(text).toContain('# TYPE zeno_request_count counter');
  });

  it('keeps a cumulative latency histogram in ms with sum and count', async () => {
    const m = createMetrics();
    const r = m.revision(hello);
    for (const ms of [0, 1, 3, 40, 40, 2_000, 999_999]) r.record(200, ms);
    const text = await m.render();
    const b = (le: string) => sample(text, `zeno_request_latencies_bucket{${REV},response_code_class="2xx",le="${le}"}`);
    expect(b('1')).toBe(2); // 0 and 1 (bounds are inclusive)
    expect(b('2')).toBe(2);
    expect(b('5')).toBe(3);
    expect(b('50')).toBe(5);
    expect(b('2500')).toBe(6);
    expect(b(String(LATENCY_BUCKETS_MS.at(-1)))).toBe(6);
    expect(b('+Inf')).toBe(7);
    expect(sample(text, `zeno_request_latencies_sum{${REV},response_code_class="2xx"}`)).toBe(0 + 1 + 3 + 40 + 40 + 2_000 + 999_999);
    expect(sample(text, `zeno_request_latencies_count{${REV},response_code_class="2xx"}`)).toBe(7);
    expect(text).toContain('# TYPE zeno_request_latencies histogram');
  });

  it('hands out one cached recorder per revision and forgets a deleted one', async () => {
    const m = createMetrics();
    expect(m.revision(hello)).toBe(m.revision({ ...hello }));
    m.revision(hello).record(200, 1);
    m.revision(hello).coldStart(250);
    m.forget(hello);
    const text = await m.render();
    expect(text).not.toContain('revision_name="hello-00001"');
    // A new recorder starts from zero.
    m.revision(hello).record(500, 1);
    expect(sample(await m.render(), `zeno_request_count{${REV},response_code_class="2xx"}`)).toBeUndefined();
  });

  it('tells activity listeners about cold starts and 5xx answers, not other classes', () => {
    const m = createMetrics();
    const seen: unknown[] = [];
    const off = m.onActivity((a) => seen.push(a));
    const r = m.revision(hello);
    r.record(200, 1);
    r.record(404, 1);
    r.record(504, 30_000, 'ZENO_ERR_REQUEST_TIMEOUT');
    r.record(0, 5);
    r.coldStart(80);
    off();
    r.record(500, 1);
    expect(seen).toEqual([
      { kind: 'error', labels: hello, status: 504, durationMs: 30_000, error: 'ZENO_ERR_REQUEST_TIMEOUT' },
      { kind: 'error', labels: hello, status: 0, durationMs: 5, error: undefined },
      { kind: 'cold-start', labels: hello, waitMs: 80 },
    ]);
  });

  it('escapes label values', async () => {
    const m = createMetrics();
    m.revision({ ...hello, service: 'a"b\\c' }).record(200, 1);
    expect(await m.render()).toContain('service_name="a\\"b\\\\c"');
  });
});

describe('serving gauges and cold starts', () => {
  it('reads queue depth, in flight, ready and requested pods from the source at scrape time', async () => {
    const m = createMetrics();
    let queued = 3;
    m.setServingSource(() => [{ labels: hello, queueDepth: queued, inFlight: 2, readyPods: 1, requestedPods: 4 }]);
    let text = await m.render();
    expect(sample(text, `zeno_activator_queue_depth{${REV}}`)).toBe(3);
    expect(sample(text, `zeno_request_concurrency{${REV}}`)).toBe(2);
    expect(sample(text, `zeno_actual_pods{${REV}}`)).toBe(1);
    expect(sample(text, `zeno_requested_pods{${REV}}`)).toBe(4);
    queued = 0;
    text = await m.render();
    expect(sample(text, `zeno_activator_queue_depth{${REV}}`)).toBe(0);
    // A revision that left the source leaves the gauges.
    m.setServingSource(() => []);
    expect(await m.render()).not.toContain(`zeno_actual_pods{${REV}}`);
  });

  it('counts cold starts with their wait and pod starts', async () => {
    const m = createMetrics();
    m.revision(hello).coldStart(120);
    m.revision(hello).coldStart(30);
    m.recordPodStart(hello, 80);
    const text = await m.render();
    expect(sample(text, `zeno_cold_start_count{${REV}}`)).toBe(2);
    expect(sample(text, `zeno_cold_start_latencies_sum{${REV}}`)).toBe(150);
    expect(sample(text, `zeno_cold_start_latencies_bucket{le="250",${REV}}`)).toBe(2);
    expect(sample(text, `zeno_cold_start_latencies_bucket{le="100",${REV}}`)).toBe(1);
    expect(sample(text, `zeno_pod_start_latencies_count{${REV}}`)).toBe(1);
  });
});

describe('autoscaler gauges', () => {
  it.each([
    { metric: 'concurrency' as const, stable: 'zeno_stable_request_concurrency', panic: 'zeno_panic_request_concurrency', other: 'zeno_stable_requests_per_second' },
    { metric: 'rps' as const, stable: 'zeno_stable_requests_per_second', panic: 'zeno_panic_requests_per_second', other: 'zeno_stable_request_concurrency' },
  ])('records a $metric decision under Knative names', async ({ metric, stable, panic, other }) => {
    const m = createMetrics();
    m.recordDecision(hello, { desired: 3, inPanic: true, stableAverage: 1.5, panicAverage: 9, excessBurstCapacity: -4, metric });
    const text = await m.render();
    expect(sample(text, `zeno_desired_pods{${REV}}`)).toBe(3);
    expect(sample(text, `zeno_panic_mode{${REV}}`)).toBe(1);
    expect(sample(text, `${stable}{${REV}}`)).toBe(1.5);
    expect(sample(text, `${panic}{${REV}}`)).toBe(9);
    expect(sample(text, `zeno_excess_burst_capacity{${REV}}`)).toBe(-4);
    expect(sample(text, `${other}{${REV}}`)).toBeUndefined();
    m.recordDecision(hello, { desired: 0, inPanic: false, stableAverage: 0, panicAverage: 0, excessBurstCapacity: 0, metric });
    expect(sample(await m.render(), `zeno_panic_mode{${REV}}`)).toBe(0);
  });
});

describe('eventing and async hooks', () => {
  it('records broker, trigger and async outcomes with their labels', async () => {
    const m = createMetrics();
    m.eventing.brokerEvent({ namespace: 'default', broker: 'default', eventType: 'dev.example', code: 202, latencyMs: 4 });
    m.eventing.brokerEvent({ namespace: 'default', broker: 'default', eventType: 'dev.example', code: 400, latencyMs: 1 });
    const t = { namespace: 'default', broker: 'default', trigger: 't1' };
    m.eventing.triggerDispatch({ ...t, code: 503, latencyMs: 20 });
    m.eventing.triggerRetry(t);
    m.eventing.triggerDispatch({ ...t, code: 0, latencyMs: 20 });
    m.eventing.triggerDeadLettered(t);
    m.eventing.triggerDispatch({ ...t, code: 200, latencyMs: 2 });
    m.eventing.triggerDelivered(t);
    m.eventing.triggerDropped(t);
    m.async.queueDepth({ namespace: 'default', service: 'slow', depth: 5 });
    m.async.outcome({ namespace: 'default', service: 'slow', outcome: 'accepted' });
    m.async.outcome({ namespace: 'default', service: 'slow', outcome: 'succeeded', latencyMs: 300 });
    const text = await m.render();
    const B = 'namespace_name="default",broker_name="default"';
    expect(sample(text, `zeno_broker_event_count{${B},event_type="dev.example",response_code_class="2xx"}`)).toBe(1);
    expect(sample(text, `zeno_broker_event_count{${B},event_type="dev.example",response_code_class="4xx"}`)).toBe(1);
    expect(sample(text, `zeno_broker_event_dispatch_latencies_count{${B},event_type="dev.example",response_code_class="2xx"}`)).toBe(1);
    const T = `${B},trigger_name="t1"`;
    expect(sample(text, `zeno_trigger_event_count{${T},response_code_class="5xx"}`)).toBe(2);
    expect(sample(text, `zeno_trigger_event_count{${T},response_code_class="2xx"}`)).toBe(1);
    expect(sample(text, `zeno_trigger_event_dispatch_latencies_sum{${T},response_code_class="5xx"}`)).toBe(40);
    expect(sample(text, `zeno_trigger_event_retry_count{${T}}`)).toBe(1);
    expect(sample(text, `zeno_trigger_event_delivered_count{${T}}`)).toBe(1);
    expect(sample(text, `zeno_trigger_event_dead_letter_count{${T}}`)).toBe(1);
    expect(sample(text, `zeno_trigger_event_dropped_count{${T}}`)).toBe(1);
    expect(sample(text, 'zeno_async_queue_depth{namespace_name="default",service_name="slow"}')).toBe(5);
    expect(sample(text, 'zeno_async_call_count{namespace_name="default",service_name="slow",outcome="accepted"}')).toBe(1);
    expect(sample(text, 'zeno_async_call_latencies_sum{namespace_name="default",service_name="slow",outcome="succeeded"}')).toBe(300);
  });

  it('keeps two platforms\' registries apart', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.revision(hello).record(200, 1);
    expect(await b.render()).not.toContain('revision_name="hello-00001"');
  });
});
