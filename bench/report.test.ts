import { describe, expect, it } from 'vitest';
import { backendRows, percentile, summarize, warmRoundRows } from './report.js';

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
  const load = (rps: number, p50Ms: number) => ({ rps, p50Ms, p99Ms: p50Ms * 2, requests: rps, errors: 0, non2xx: 0 });
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

  it('has no rows without rounds, and no nginx figures without nginx', () => {
    expect(warmRoundRows({ gateway: load(1, 1), direct: load(1, 1), nginx: undefined })).toEqual([]);
    const noNginx = { ...round(1, 1, [0.3, 0.1, 0]), nginx: undefined, light: { gateway: load(1, 0.3), direct: load(1, 0.1), nginx: undefined } };
    const rows = warmRoundRows({ ...noNginx, rounds: [noNginx] });
    expect(rows.map((r) => r[0]!.startsWith('warm throughput ÷ nginx'))).toEqual([false, false]);
    expect(rows[0]![2]).toBe('—');
  });
});
