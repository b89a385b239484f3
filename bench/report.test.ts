import { describe, expect, it } from 'vitest';
import type { LoadResult } from './load.js';
import { backendRows, eventingRows, keepRecordedSections, percentile, summarize, warmRoundRows } from './report.js';

const thirty = Array.from({ length: 30 }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  it.each([
    { label: 'p50 of 30 is the 15th', input: { values: thirty, p: 50 }, want: 15 },
    { label: 'p99 of 30 is the slowest', input: { values: thirty, p: 99 }, want: 30 },
    { label: 'p99 of 1000 is the 990th', input: { values: Array.from({ length: 1000 }, (_, i) => i + 1), p: 99 }, want: 990 },
    { label: 'p0 is the smallest', input: { values: thirty, p: 0 }, want: 1 },
    { label: 'one value', input: { values: [7], p: 50 }, want: 7 },
    { label: 'no values', input: { values: [], p: 50 }, want: NaN },
  ])('$label', ({ input, want }) => {
    expect(percentile(input.values, input.p)).toEqual(want);
  });

  it('summarize sorts before ranking', () => {
    expect(summarize([5, 1, 4, 2, 3])).toEqual({ n: 5, p50: 3, p99: 5, min: 1, max: 5 });
  });
});

describe('backendRows', () => {
  it('puts JetStream beside SQLite: medians, ranges and the ratio of the medians', () => {
    const rows = backendRows({
      events: 2000, calls: 1000, runs: 3,
      sqlite: { eventsPerSecond: [1000, 1200, 900], callsPerSecond: [400, 500, 300] },
      jetstream: { eventsPerSecond: [500, 700, 600], callsPerSecond: [200, 100, 150] },
    });
    expect(rows).toHaveLength(4);
    expect(rows[0]!.slice(1)).toEqual(['1,000/s (900–1,200)', 'none (the baseline of the row below)', '—']);
    // Per run: 500/1000, 700/1200, 600/900; 200/400, 100/500, 150/300.
    expect(rows[1]!.slice(1)).toEqual(['600/s (500–700)', '1,000/s (900–1,200) SQLite', '0.60× (0.50–0.67 per run)']);
    expect(rows[3]!.slice(1)).toEqual(['150/s (100–200)', '400/s (300–500) SQLite', '0.38× (0.20–0.50 per run)']);
  });

  it('says so when NATS did not answer', () => {
    const rows = backendRows({ events: 10, calls: 10, runs: 1, sqlite: { eventsPerSecond: [10], callsPerSecond: [5] } });
    expect(rows[1]!.slice(1)).toEqual(['NATS did not answer', '10/s SQLite', '—']);
  });
});

describe('warmRoundRows', () => {
  const load = (rps: number, p50Ms: number): LoadResult => ({ rps, p50Ms, p99Ms: p50Ms * 2, requests: rps, errors: 0, non2xx: 0 });
  const round = (gw: number, ng: number, light: [number, number, number]) => ({
    gateway: load(gw, 3), direct: load(30_000, 1), nginx: load(ng, 2),
    light: { gateway: load(1, light[0]), direct: load(1, light[1]), nginx: load(1, light[2]) },
  });

  it('gives the per-round gateway ÷ nginx throughput and the one-connection added latency as median (range)', () => {
    const rounds = [round(6_000, 10_000, [0.3, 0.1, 0.2]), round(9_000, 12_000, [0.25, 0.1, 0.15]), round(5_000, 10_000, [0.5, 0.2, 0.3])];
    const rows = warmRoundRows({ ...rounds[0]!, rounds });
    expect(rows.map((r) => r[1])).toEqual(['0.60× (0.50× to 0.75×)', '+0.20 ms (+0.15 ms to +0.30 ms)', '0.30 ms (0.25 ms to 0.50 ms)']);
    expect(rows[1]![2]).toBe('+0.10 ms (+0.05 ms to +0.10 ms) nginx − direct');
  });

  it('adds CPU per request rows when the rounds measured it', () => {
    const withCpu = (gwUs: number, ngUs: number) => {
      const r = round(6_000, 10_000, [0.3, 0.1, 0.2]);
      r.gateway.cpuUsPerRequest = { proxy: gwUs, fn: 25 };
      r.nginx.cpuUsPerRequest = { proxy: ngUs, fn: 20 };
      r.direct.cpuUsPerRequest = { fn: 15 };
      return r;
    };
    const rounds = [withCpu(40, 20), withCpu(60, 20), withCpu(45, 15)];
    const rows = warmRoundRows({ ...rounds[0]!, rounds });
    const cpu = rows.find((r) => r[0]!.startsWith('CPU per request under load'))!;
    expect(cpu.slice(1)).toEqual(['45.0 µs (40.0 µs to 60.0 µs)', '20.0 µs (15.0 µs to 20.0 µs) nginx', '3.00× (2.00× to 3.00×)']);
    const fn = rows.find((r) => r[0]!.startsWith('CPU per request of the function'))!;
    expect(fn.slice(1, 3)).toEqual(['25.0 µs (25.0 µs to 25.0 µs)', '20.0 µs (20.0 µs to 20.0 µs) behind nginx, 15.0 µs (15.0 µs to 15.0 µs) direct']);
  });

  it('has no rows without rounds, and no nginx figures without nginx', () => {
    expect(warmRoundRows({ gateway: load(1, 1), direct: load(1, 1), nginx: undefined })).toEqual([]);
    const noNginx = { ...round(1, 1, [0.3, 0.1, 0]), nginx: undefined, light: { gateway: load(1, 0.3), direct: load(1, 0.1), nginx: undefined } };
    const rows = warmRoundRows({ ...noNginx, rounds: [noNginx] });
    expect(rows.map((r) => r[0]!.startsWith('warm throughput ÷ nginx'))).toEqual([false, false]);
    expect(rows[0]![2]).toBe('—');
  });
});

describe('eventingRows', () => {
  const lat = { n: 3, p50: 3, p99: 9, min: 1, max: 9 };
  const broker = (triggers: number, eventsPerSecond: number) => ({
    triggers, events: 5000, producer: 'wrk' as const, eventsPerSecond, ingressPerSecond: eventsPerSecond, rate: 1000, rateSeconds: 3, latencyMs: lat,
    cpu: { zenoUs: 150, consumerUs: 40, producerUs: 60, ceilingPerSecond: 8000 },
  });
  const dispatcher = (subscriptions: number, eventsPerSecond: number) => ({
    subscriptions, events: 5000, deliveries: 5000 * subscriptions, seconds: 1, eventsPerSecond, deliveriesPerSecond: eventsPerSecond * subscriptions, latencyMs: lat,
  });

  it('puts each broker figure beside the dispatcher alone with as many subscriptions, and adds CPU per event', () => {
    const rows = eventingRows([broker(1, 3000), broker(10, 500)], [dispatcher(1, 6000), dispatcher(10, 1000)]);
    expect(rows).toHaveLength(6);
    expect(rows[0]![0]).toBe('broker → 1 trigger(s) → function, events/s end to end (durable, n=5000, wrk producer)');
    expect(rows[0]!.slice(1)).toEqual(['3,000 events/s', '6,000 events/s dispatcher alone (log → 1 subscription(s) → loopback subscriber)', '0.50×']);
    expect(rows[2]!.slice(1)).toEqual(['150 µs + 40 µs + 60 µs = 250 µs', 'all cores would carry 8,000 events/s', '—']);
    expect(rows[3]![1]).toBe('500 events/s (5,000 deliveries/s)');
    expect(rows[3]![3]).toBe('0.50×');
  });

  it('says there is no baseline without a dispatcher run, and skips CPU it did not measure', () => {
    const { cpu: _cpu, ...old } = broker(1, 2000);
    const rows = eventingRows([old as ReturnType<typeof broker>], []);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.slice(2)).toEqual(['none (no baseline; Knative publishes ~800–1,500/s per in-memory channel pod)', '—']);
  });
});

describe('keepRecordedSections', () => {
  const generated = '# Benchmarks\n\n| table |\n\n## How each figure is taken\n\n- new text\n';
  it('keeps the previous sections the generator does not write, in order, and drops the regenerated ones', () => {
    const previous = '# Benchmarks\n\n| old table |\n\n## How each figure is taken\n\n- old text\n\n## Load and scale\n\n| a |\n\n## Eventing before and after\n\nrounds\n';
    expect(keepRecordedSections(previous, generated)).toBe(
      '# Benchmarks\n\n| table |\n\n## How each figure is taken\n\n- new text\n\n## Load and scale\n\n| a |\n\n## Eventing before and after\n\nrounds\n',
    );
  });
  it('is the generated doc when there was none, or nothing recorded', () => {
    expect(keepRecordedSections(undefined, generated)).toBe(generated);
    expect(keepRecordedSections('# Benchmarks\n\n## How each figure is taken\n\nold\n', generated)).toBe(generated);
  });
});
