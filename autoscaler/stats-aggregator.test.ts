import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { DEFAULT_AUTOSCALER_CONFIG } from '../core/config/autoscaler.js';
import { createMultiscaler, type Multiscaler } from './multiscaler.js';
import { StatsAggregator, type ReplicaStat } from './stats-aggregator.js';

const A = 'default/a-00001';
const B = 'default/b-00001';
const stat = (revision: string, averageConcurrency: number, requestCount = 0, inFlight = 0): ReplicaStat => ({ revision, averageConcurrency, requestCount, inFlight });

/** One step of a table: at `atMs` (since start), a report from a replica, a poke, or a take whose result is checked. */
type Step =
  | { atMs: number; report: string; stats: ReplicaStat[] }
  | { atMs: number; poke: string; revision: string; inFlight: number }
  | { atMs: number; take: Record<string, [number, number]> }
  | { atMs: number; inFlight: string; want: number }
  | { atMs: number; live: string[] };

const TABLE: { name: string; steps: Step[] }[] = [
  {
    name: 'sums the latest report of every replica per revision',
    steps: [
      { atMs: 100, report: 'r1', stats: [stat(A, 3, 5), stat(B, 1, 2)] },
      { atMs: 300, report: 'r2', stats: [stat(A, 4, 7)] },
      { atMs: 1000, take: { [A]: [7, 12], [B]: [1, 2] } },
    ],
  },
  {
    name: 'two reports of one replica in one period: concurrency averaged, counts added',
    steps: [
      { atMs: 50, report: 'r1', stats: [stat(A, 2, 4)] },
      { atMs: 990, report: 'r1', stats: [stat(A, 4, 6)] },
      { atMs: 1000, take: { [A]: [3, 10] } },
    ],
  },
  {
    name: 'a period no report landed in carries the last concurrency, with no requests counted twice',
    steps: [
      { atMs: 990, report: 'r1', stats: [stat(A, 5, 9)] },
      { atMs: 1000, take: { [A]: [5, 9] } },
      { atMs: 2000, take: { [A]: [5, 0] } },
      { atMs: 2010, report: 'r1', stats: [stat(A, 5, 8)] },
      { atMs: 3000, take: { [A]: [5, 8] } },
    ],
  },
  {
    name: 'a revision left out of a report counts 0 from then on, and is forgotten once idle',
    steps: [
      { atMs: 100, report: 'r1', stats: [stat(A, 2, 3, 2)] },
      { atMs: 1000, take: { [A]: [2, 3] } },
      { atMs: 1100, report: 'r1', stats: [] },
      { atMs: 2000, take: { [A]: [0, 0] } },
      { atMs: 3000, take: {} },
    ],
  },
  {
    name: 'a replica that stops reporting is dropped after staleAfterMs; the others keep counting',
    steps: [
      { atMs: 0, report: 'r1', stats: [stat(A, 4, 4, 4)] },
      { atMs: 0, report: 'r2', stats: [stat(A, 6, 6, 6)] },
      { atMs: 1000, take: { [A]: [10, 10] } },
      { atMs: 1000, report: 'r2', stats: [stat(A, 6, 6, 6)] },
      { atMs: 2000, report: 'r2', stats: [stat(A, 6, 6, 6)] },
      { atMs: 3000, inFlight: A, want: 10 },
      { atMs: 3000, report: 'r2', stats: [stat(A, 6, 6, 6)] },
      // r1 last reported at 0: at 3001 it has been silent longer than 3000 ms.
      { atMs: 3001, live: ['r2'] },
      { atMs: 3001, inFlight: A, want: 6 },
      // r2's three reports since the last take: concurrency averaged, counts added.
      { atMs: 3001, take: { [A]: [6, 18] } },
    ],
  },
  {
    name: 'a dropped replica that reports again counts again',
    steps: [
      { atMs: 0, report: 'r1', stats: [stat(A, 1, 1)] },
      { atMs: 5000, live: [] },
      { atMs: 5000, take: {} },
      { atMs: 5500, report: 'r1', stats: [stat(A, 2, 2)] },
      { atMs: 6000, take: { [A]: [2, 2] } },
    ],
  },
  {
    name: 'a poke sets the replica in-flight count between reports, without averages',
    steps: [
      { atMs: 10, poke: 'r1', revision: A, inFlight: 3 },
      { atMs: 20, poke: 'r2', revision: A, inFlight: 2 },
      { atMs: 30, inFlight: A, want: 5 },
      { atMs: 30, inFlight: B, want: 0 },
      { atMs: 1000, take: { [A]: [0, 0] } },
    ],
  },
];

describe('StatsAggregator', () => {
  for (const row of TABLE) {
    it(row.name, () => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const agg = new StatsAggregator({ staleAfterMs: 3000 });
      for (const step of row.steps) {
        clock.advance(t0 + step.atMs - clock.now());
        const now = clock.now();
        if ('report' in step) agg.record({ replica: step.report, stats: step.stats }, now);
        else if ('poke' in step) agg.poke(step.poke, step.revision, step.inFlight, now);
        else if ('take' in step) {
          const got = Object.fromEntries([...agg.take(now)].map(([rev, r]) => [rev, [r.averageConcurrency, r.requestCount]]));
          expect(got, `take at ${step.atMs} ms`).toEqual(step.take);
        } else if ('inFlight' in step) expect(agg.inFlight(step.inFlight, now), `inFlight at ${step.atMs} ms`).toBe(step.want);
        else expect(agg.live(now), `live at ${step.atMs} ms`).toEqual(step.live);
      }
    });
  }

  it.each<{ name: string; reports: { replica: string; atMs: number; feedSeq?: number; pods?: { id: string; inFlight: number }[] }[]; atMs: number; want: boolean }>([
    { name: 'no replica at all', reports: [], atMs: 0, want: true },
    { name: 'every replica past the change, nothing on the pod', reports: [{ replica: 'r1', atMs: 0, feedSeq: 5 }, { replica: 'r2', atMs: 0, feedSeq: 6, pods: [{ id: 'other', inFlight: 3 }] }], atMs: 100, want: true },
    { name: 'a replica that has not applied the change yet', reports: [{ replica: 'r1', atMs: 0, feedSeq: 5 }, { replica: 'r2', atMs: 0, feedSeq: 4 }], atMs: 100, want: false },
    { name: 'a replica with a request still on the pod', reports: [{ replica: 'r1', atMs: 0, feedSeq: 9, pods: [{ id: 'p1', inFlight: 1 }] }], atMs: 100, want: false },
    { name: 'a later report with the request finished', reports: [{ replica: 'r1', atMs: 0, feedSeq: 9, pods: [{ id: 'p1', inFlight: 1 }] }, { replica: 'r1', atMs: 1000, feedSeq: 9, pods: [] }], atMs: 1000, want: true },
    { name: 'a replica that never said where its feed is', reports: [{ replica: 'r1', atMs: 0 }], atMs: 100, want: false },
    { name: 'the replica holding the pod died (silent for 3 s)', reports: [{ replica: 'r1', atMs: 0, feedSeq: 1, pods: [{ id: 'p1', inFlight: 4 }] }, { replica: 'r2', atMs: 3000, feedSeq: 5 }], atMs: 3001, want: true },
  ])('podDrained(p1, seq 5): $name → $want', ({ reports, atMs, want }) => {
    const agg = new StatsAggregator({ staleAfterMs: 3000 });
    for (const r of reports) agg.record({ replica: r.replica, stats: [], ...(r.feedSeq !== undefined ? { feedSeq: r.feedSeq } : {}), ...(r.pods ? { pods: r.pods } : {}) }, r.atMs);
    expect(agg.podDrained('p1', 5, atMs)).toBe(want);
  });

  it('forget() drops a deleted revision from every replica', () => {
    const agg = new StatsAggregator({ staleAfterMs: 3000 });
    agg.record({ replica: 'r1', stats: [stat(A, 1, 1, 1), stat(B, 2, 2, 2)] }, 0);
    agg.forget(A);
    expect([...agg.take(1000).keys()]).toEqual([B]);
    expect(agg.inFlight(A, 1000)).toBe(0);
  });
});

describe('multiscaler with replica stats', () => {
  const live: Multiscaler[] = [];
  afterEach(() => {
    for (const m of live.splice(0)) m.close();
  });

  function setup() {
    const clock = new FakeClock();
    const agg = new StatsAggregator({ staleAfterMs: 3000 });
    const replicas = new Map<string, number>();
    const ms = createMultiscaler({
      clock,
      config: () => ({ ...DEFAULT_AUTOSCALER_CONFIG, stableWindowMs: 6000, allowZeroInitialScale: true }),
      scale: (rev, n) => replicas.set(rev, n),
      readyPods: (rev) => replicas.get(rev) ?? 0,
      remote: agg,
    });
    live.push(ms);
    return { clock, agg, ms, replicas };
  }

  /** Every replica in `perReplica` reports its concurrency for A each second, just before the multiscaler collects. */
  function reportFor(s: ReturnType<typeof setup>, seconds: number, perReplica: Record<string, number>): void {
    for (let i = 0; i < seconds; i++) {
      s.clock.advance(990);
      for (const [replica, c] of Object.entries(perReplica)) s.agg.record({ replica, stats: [stat(A, c, c, c)] }, s.clock.now());
      s.clock.advance(10);
    }
  }

  it('a poke from a replica scales from zero at once: the requests wait there, not here', () => {
    const s = setup();
    s.ms.upsert(A, { containerConcurrency: 1, routed: true, annotations: { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.knative.dev/target-utilization-percentage': '100' } });
    expect(s.ms.desired(A)).toBe(0);
    s.ms.poke(A);
    expect(s.ms.desired(A), 'nothing waits anywhere: no poke').toBe(0);
    s.agg.poke('r1', A, 3, s.clock.now());
    s.ms.poke(A);
    expect(s.ms.desired(A)).toBe(3);
  });

  it('decides for the sum of the replicas concurrency, and for the survivor alone once one stops reporting', () => {
    const s = setup();
    // containerConcurrency 1 at 100% utilization: one pod per request in flight.
    s.ms.upsert(A, { containerConcurrency: 1, routed: true, annotations: { 'autoscaling.knative.dev/target-utilization-percentage': '100' } });
    reportFor(s, 8, { r1: 3, r2: 3 });
    expect(s.ms.desired(A)).toBe(6);
    // r2 dies: after staleAfterMs its 3 stop counting; the stable window (6 s) then holds r1's 3 only.
    reportFor(s, 10, { r1: 3 });
    expect(s.ms.desired(A)).toBe(3);
  });

  it('adds its own RequestStats to the replicas (role all serves traffic too)', () => {
    const s = setup();
    s.ms.upsert(A, { containerConcurrency: 1, routed: true, annotations: { 'autoscaling.knative.dev/target-utilization-percentage': '100' } });
    const st = s.ms.statsFor(A);
    st.begin(s.clock.now());
    st.begin(s.clock.now());
    reportFor(s, 8, { r1: 3 });
    expect(s.ms.desired(A)).toBe(5);
  });
});
