import { describe, it, expect } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG, resolveRevisionScaling, type RevisionScaling } from '../core/config/autoscaler.js';
import { decide, initialDeciderState, type DeciderInput, type DeciderState } from './decider.js';
import { BucketWindow } from './window.js';

const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, an even second
const sec = (s: number) => T0 + s * 1000;

/** Defaults (CC=0 → total 100, target 70) with overrides. */
function spec(over: Partial<RevisionScaling> = {}): RevisionScaling {
  return { ...resolveRevisionScaling(DEFAULT_AUTOSCALER_CONFIG, undefined, 0), ...over };
}
/** Target 10 per pod (total 10, TU 100%) for round arithmetic. */
const ten = (over: Partial<RevisionScaling> = {}) => spec({ totalValue: 10, targetValue: 10, targetUtilization: 1, ...over });

const fresh = (): DeciderState => initialDeciderState(T0, 0);
const input = (over: Partial<DeciderInput>): DeciderInput => ({
  nowMs: T0, readyPods: 1, stableAverage: 0, panicAverage: 0, routed: true, ...over,
});

describe('decide: one decision', () => {
  const cases: {
    label: string;
    input: { spec: RevisionScaling; in: Partial<DeciderInput>; state?: DeciderState };
    want: { desired: number; excessBurstCapacity?: number; inPanic?: boolean; rawDesired?: number };
  }[] = [
    { label: 'no load, 1 pod → 0', input: { spec: spec(), in: {} }, want: { desired: 0, inPanic: false } },
    { label: 'stable 100 / target 70 → ceil(1.43) = 2', input: { spec: spec(), in: { stableAverage: 100, panicAverage: 100 } }, want: { desired: 2, inPanic: true } },
    { label: 'stable 140 with 2 pods: exactly on target → 2', input: { spec: spec(), in: { readyPods: 2, stableAverage: 140, panicAverage: 140 } }, want: { desired: 2, inPanic: false } },
    {
      label: 'worked example: dspc 2, dppc 5, panic, EBC −461',
      input: { spec: spec(), in: { stableAverage: 100, panicAverage: 350 } },
      want: { desired: 5, inPanic: true, excessBurstCapacity: -461 },
    },
    { label: 'maxDown: 10 ready, no load, routed → floor(10/2) = 5', input: { spec: spec(), in: { readyPods: 10 } }, want: { desired: 5 } },
    { label: 'unrouted may drop straight to 0', input: { spec: spec(), in: { readyPods: 10, routed: false } }, want: { desired: 0 } },
    { label: 'maxDown with rate 4: floor(10/4) = 2', input: { spec: spec({ maxScaleDownRate: 4 }), in: { readyPods: 10 } }, want: { desired: 2 } },
    {
      // Knative's comment: MSUR=1.1, OCC=3, RPC=2, TV=1 => OCC/TV=3, MSU=2.2 → ceil = 3 pods, not 2.
      label: 'maxUp ceil lets a slow rate still add a pod',
      input: { spec: spec({ targetValue: 1, maxScaleUpRate: 1.1 }), in: { readyPods: 2, stableAverage: 3, panicAverage: 3 } },
      want: { desired: 3 },
    },
    { label: 'maxUp: 1000 × max(1, 0 ready)', input: { spec: ten(), in: { readyPods: 0, stableAverage: 100_000, panicAverage: 100_000 } }, want: { desired: 1000 } },
    { label: 'zero ready pods count as 1 for rates', input: { spec: ten(), in: { readyPods: 0, stableAverage: 5, panicAverage: 5 } }, want: { desired: 1, inPanic: false } },
    { label: 'EBC: TBC 0 → 0', input: { spec: spec({ targetBurstCapacity: 0 }), in: { readyPods: 3 } }, want: { desired: 1, excessBurstCapacity: 0 } },
    { label: 'EBC: TBC −1 → −1', input: { spec: spec({ targetBurstCapacity: -1 }), in: { readyPods: 3 } }, want: { desired: 1, excessBurstCapacity: -1 } },
    { label: 'EBC: 3 pods × 100 − 211 − 50 = 39', input: { spec: spec(), in: { readyPods: 3, stableAverage: 50, panicAverage: 50 } }, want: { desired: 1, excessBurstCapacity: 39 } },
    { label: 'EBC: 2 pods × 100 − 211 − 0 = −11 (activator stays in path)', input: { spec: spec(), in: { readyPods: 2 } }, want: { desired: 1, excessBurstCapacity: -11 } },
    { label: 'EBC uses real ready count, not max(1, ready)', input: { spec: spec(), in: { readyPods: 0 } }, want: { desired: 0, excessBurstCapacity: -211 } },
    { label: 'activation-scale 3 with some demand → 3', input: { spec: ten({ activationScale: 3 }), in: { stableAverage: 1, panicAverage: 1 } }, want: { desired: 3 } },
    { label: 'activation-scale does not block zero', input: { spec: ten({ activationScale: 3 }), in: {} }, want: { desired: 0 } },
    { label: 'activation-scale below the demand is moot', input: { spec: ten({ activationScale: 3 }), in: { readyPods: 5, stableAverage: 50, panicAverage: 50 } }, want: { desired: 5 } },
    { label: 'min-scale while routed', input: { spec: spec({ minScale: 2 }), in: {} }, want: { desired: 2, rawDesired: 0 } },
    { label: 'min-scale ignored when not routed', input: { spec: spec({ minScale: 2 }), in: { routed: false } }, want: { desired: 0 } },
    { label: 'max-scale caps', input: { spec: ten({ maxScale: 3 }), in: { stableAverage: 1000, panicAverage: 1000 } }, want: { desired: 3, rawDesired: 100 } },
    { label: 'max-scale 0 is unlimited', input: { spec: ten({ maxScale: 0 }), in: { stableAverage: 1000, panicAverage: 1000 } }, want: { desired: 100 } },
    { label: 'enable-scale-to-zero false → floor 1', input: { spec: spec({ enableScaleToZero: false }), in: {} }, want: { desired: 1, rawDesired: 0 } },
    { label: 'initial-scale 3 is a floor until reached', input: { spec: spec({ initialScale: 3 }), in: { readyPods: 1 } }, want: { desired: 3 } },
    { label: 'initial-scale 3 reached → no floor', input: { spec: spec({ initialScale: 3 }), in: { readyPods: 3 } }, want: { desired: 1 } },
    { label: 'initial-scale 1 sets no floor', input: { spec: spec({ initialScale: 1 }), in: { readyPods: 0 } }, want: { desired: 0 } },
    {
      label: 'a restarted decider with 5 ready pods starts in panic and holds 5',
      input: { spec: spec(), in: { readyPods: 5 }, state: initialDeciderState(T0, 5) },
      want: { desired: 5, inPanic: true },
    },
    { label: 'a new decider with 1 ready pod does not panic', input: { spec: spec(), in: {}, state: initialDeciderState(T0, 1) }, want: { desired: 0, inPanic: false } },
    { label: 'rps metric uses the same arithmetic (target 140)', input: { spec: spec({ metric: 'rps', totalValue: 200, targetValue: 140 }), in: { stableAverage: 141, panicAverage: 141 } }, want: { desired: 2 } },
  ];
  it.each(cases)('$label', ({ input: c, want }) => {
    const d = decide(c.spec, input(c.in), c.state ?? fresh());
    expect(d.valid).toBe(true);
    expect(d).toMatchObject(want);
  });

  it('no data → invalid, nothing to apply, state kept', () => {
    const s = fresh();
    const d = decide(spec(), input({ hasData: false, stableAverage: 500 }), s);
    expect(d.valid).toBe(false);
    expect(d.desired).toBe(-1);
    expect(d.state.desiredScale).toBe(-1);
  });

  it('a new decider starts with DesiredScale −1', () => {
    expect(initialDeciderState(T0, 0).desiredScale).toBe(-1);
    expect(decide(spec(), input({ stableAverage: 100 }), fresh()).state.desiredScale).toBe(2);
  });

  it('does not mutate the state it is given', () => {
    const s = initialDeciderState(T0, 3);
    const copy = structuredClone(s);
    decide(spec({ scaleDownDelayMs: 10_000 }), input({ readyPods: 3, stableAverage: 500, panicAverage: 900 }), s);
    expect(s).toEqual(copy);
  });
});

/** Replays decisions at the given seconds, threading state; returns each Decision. */
function replay(s: RevisionScaling, steps: [t: number, over: Partial<DeciderInput>][], state = fresh()) {
  const out = [];
  for (const [t, over] of steps) {
    const d = decide(s, input({ nowMs: sec(t), ...over }), state);
    state = d.state;
    out.push(d);
  }
  return out;
}

describe('decide: timelines', () => {
  it('panic: enters at 2× capacity, never scales down inside, leaves a stable window after the last surge', () => {
    const s = ten(); // stable window 60 s, threshold 2.0
    const got = replay(s, [
      [0, { readyPods: 1, stableAverage: 10, panicAverage: 50 }], // dppc 5 / 1 ≥ 2 → panic, 5
      [2, { readyPods: 5, stableAverage: 20, panicAverage: 20 }], // 2/5 < 2, still panicking: hold 5
      [30, { readyPods: 5, stableAverage: 20, panicAverage: 100 }], // 10/5 ≥ 2: extend, up to 10
      [40, { readyPods: 10, stableAverage: 20, panicAverage: 20 }], // hold 10
      [90, { readyPods: 10, stableAverage: 20, panicAverage: 20 }], // 30 + 60 = 90, not before 90: still panic
      [92, { readyPods: 10, stableAverage: 20, panicAverage: 20 }], // leave: stable 2, maxDown floor(10/2) = 5
      [94, { readyPods: 5, stableAverage: 20, panicAverage: 20 }], // stable: max(2, floor(5/2)) = 2
    ]);
    expect(got.map((d) => [d.desired, d.inPanic])).toEqual([
      [5, true], [5, true], [10, true], [10, true], [10, true], [5, false], [2, false],
    ]);
  });

  it('panic: the stable count wins when it is higher', () => {
    const got = replay(ten(), [
      [0, { readyPods: 1, stableAverage: 10, panicAverage: 30 }], // panic 3
      [2, { readyPods: 3, stableAverage: 80, panicAverage: 40 }], // stable 8 > panic 4 → 8
    ]);
    expect(got.map((d) => d.desired)).toEqual([3, 8]);
  });

  it('scale-down-delay 10s: the max over the last 10 s, in 2 s steps', () => {
    const s = ten({ scaleDownDelayMs: 10_000 });
    const steps: [number, Partial<DeciderInput>][] = [[0, { readyPods: 5, stableAverage: 50, panicAverage: 50, routed: false }]];
    for (let t = 2; t <= 12; t += 2) steps.push([t, { readyPods: 5, routed: false }]);
    const got = replay(s, steps);
    // t=0 lands in bucket 0; at t=10 (bucket 5) the window is buckets 1..5.
    expect(got.map((d) => d.desired)).toEqual([5, 5, 5, 5, 5, 0, 0]);
  });

  it('scale-down-delay does not delay scaling up', () => {
    const got = replay(ten({ scaleDownDelayMs: 60_000 }), [
      [0, { readyPods: 1, stableAverage: 10, panicAverage: 10 }],
      [2, { readyPods: 1, stableAverage: 15, panicAverage: 15 }],
    ]);
    expect(got.map((d) => d.desired)).toEqual([1, 2]);
  });

  it('initial-scale floor holds until the pods are first ready, then is forgotten', () => {
    const got = replay(spec({ initialScale: 3 }), [
      [0, { readyPods: 0 }],
      [2, { readyPods: 2 }],
      [4, { readyPods: 3 }], // reached: no floor; maxDown floor(3/2) = 1
      [6, { readyPods: 1 }],
    ]);
    expect(got.map((d) => d.desired)).toEqual([3, 3, 1, 0]);
    expect(got[2]!.state.scaleTargetInitialized).toBe(true);
  });

  it('five minutes pass at reduced concurrency — now we scale down', () => {
    // Replays Knative's collector + decider: stats recorded every second into
    // a 60 s stable and a 6 s panic window, a decision every 2 s, and pods
    // that become ready by the next tick.
    const s = spec(); // target 70 per pod
    const stable = new BucketWindow(s.stableWindowMs);
    const panic = new BucketWindow(s.panicWindowMs);
    let state = fresh();
    let ready = 1;
    const trace: { t: number; desired: number; inPanic: boolean }[] = [];
    const load = (t: number) => (t < 20 ? 700 : t < 320 ? 70 : 0);
    for (let t = 0; t <= 420; t++) {
      stable.record(sec(t), load(t));
      panic.record(sec(t), load(t));
      if (t % 2 !== 0) continue;
      const d = decide(s, { nowMs: sec(t), readyPods: ready, stableAverage: stable.average(sec(t)), panicAverage: panic.average(sec(t)), routed: true }, state);
      state = d.state;
      ready = d.desired;
      trace.push({ t, desired: d.desired, inPanic: d.inPanic });
    }
    const at = (t: number) => trace.find((x) => x.t === t)!;
    // 700 concurrent / 70 per pod: panic straight to 10.
    expect(at(0)).toEqual({ t: 0, desired: 10, inPanic: true });
    // While panicking the count never goes down.
    const panicking = trace.filter((x) => x.inPanic);
    for (let i = 1; i < panicking.length; i++) expect(panicking[i]!.desired).toBeGreaterThanOrEqual(panicking[i - 1]!.desired);
    // Panic ends a stable window after the last over-threshold reading.
    expect(at(100).inPanic).toBe(false);
    // The stable window still holds the burst at t=60 (average > 70): more than 1 pod.
    expect(at(60).desired).toBeGreaterThan(1);
    // Five minutes and two seconds at 70 concurrent: exactly one pod.
    expect(at(302).desired).toBe(1);
    // Load stops at t=320; the stable window empties 60 s later and we go to 0.
    expect(at(378).desired).toBe(1);
    expect(at(380).desired).toBe(0);
  });
});
