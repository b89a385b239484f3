import { describe, it, expect } from 'vitest';
import { RequestStats } from './request-stats.js';

type Ev = ['begin' | 'end', number];

describe('RequestStats', () => {
  const cases: { label: string; input: { events: Ev[]; reportAt: number }; want: { averageConcurrency: number; requestCount: number; inFlight: number } }[] = [
    { label: 'idle period', input: { events: [], reportAt: 1000 }, want: { averageConcurrency: 0, requestCount: 0, inFlight: 0 } },
    { label: 'one request for the whole period', input: { events: [['begin', 0]], reportAt: 1000 }, want: { averageConcurrency: 1, requestCount: 1, inFlight: 1 } },
    { label: 'one request for half the period', input: { events: [['begin', 0], ['end', 500]], reportAt: 1000 }, want: { averageConcurrency: 0.5, requestCount: 1, inFlight: 0 } },
    {
      label: 'overlapping requests are time-weighted',
      // 0–250: 1, 250–500: 2, 500–750: 3, 750–1000: 2 → (1+2+3+2)/4 = 2
      input: { events: [['begin', 0], ['begin', 250], ['begin', 500], ['end', 750]], reportAt: 1000 },
      want: { averageConcurrency: 2, requestCount: 3, inFlight: 2 },
    },
    {
      label: 'many short requests',
      input: { events: Array.from({ length: 10 }, (_, i) => [['begin', i * 100], ['end', i * 100 + 10]] as Ev[]).flat(), reportAt: 1000 },
      want: { averageConcurrency: 0.1, requestCount: 10, inFlight: 0 },
    },
    { label: 'unmatched end does not go negative', input: { events: [['end', 100], ['begin', 500]], reportAt: 1000 }, want: { averageConcurrency: 0.5, requestCount: 1, inFlight: 1 } },
    { label: 'report at the start instant', input: { events: [['begin', 0]], reportAt: 0 }, want: { averageConcurrency: 0, requestCount: 1, inFlight: 1 } },
  ];

  it.each(cases)('$label', ({ input, want }) => {
    const st = new RequestStats(0);
    for (const [kind, t] of input.events) st[kind](t);
    const r = st.report(input.reportAt);
    expect({ ...r, inFlight: st.inFlight() }).toEqual(want);
  });

  it('report resets the period but keeps requests in flight', () => {
    const st = new RequestStats(0);
    st.begin(0);
    st.begin(0);
    expect(st.report(1000)).toEqual({ averageConcurrency: 2, requestCount: 2 });
    st.end(1500);
    // 1000–1500: 2, 1500–2000: 1
    expect(st.report(2000)).toEqual({ averageConcurrency: 1.5, requestCount: 0 });
    st.end(2000);
    expect(st.report(3000)).toEqual({ averageConcurrency: 0, requestCount: 0 });
    expect(st.inFlight()).toBe(0);
  });

  it('periods of different lengths are averaged over their own length', () => {
    const st = new RequestStats(0);
    st.begin(0);
    st.report(1000);
    st.end(1250);
    expect(st.report(3000).averageConcurrency).toBeCloseTo(250 / 2000, 12);
  });
});
