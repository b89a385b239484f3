import { describe, it, expect, afterEach } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { DEFAULT_AUTOSCALER_CONFIG, type AutoscalerConfig } from '../core/config/autoscaler.js';
import { createMultiscaler, type DecisionReport, type Multiscaler } from './multiscaler.js';

const REV = 'default/hello-00001';
const A = (name: string) => `autoscaling.knative.dev/${name}`;

/** A multiscaler over a fake runtime whose pods are ready as soon as they are asked for. */
function setup(opts: { config?: Partial<AutoscalerConfig>; ready?: (rev: string) => number } = {}) {
  const clock = new FakeClock();
  const t0 = clock.now();
  let config: AutoscalerConfig = { ...DEFAULT_AUTOSCALER_CONFIG, ...opts.config };
  const replicas = new Map<string, number>();
  const calls: { rev: string; n: number; atS: number }[] = [];
  const decisions: DecisionReport[] = [];
  const ms = createMultiscaler({
    clock,
    config: () => config,
    scale: (rev, n) => {
      replicas.set(rev, n);
      calls.push({ rev, n, atS: (clock.now() - t0) / 1000 });
    },
    readyPods: opts.ready ?? ((rev) => replicas.get(rev) ?? 0),
    onDecision: (_rev, d) => decisions.push(d),
  });
  live.push(ms);
  return {
    clock, ms, calls, decisions, replicas,
    setConfig: (c: Partial<AutoscalerConfig>) => { config = { ...config, ...c }; },
    /** Seconds since start. */
    elapsedS: () => (clock.now() - t0) / 1000,
  };
}

const live: Multiscaler[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

/** n requests in flight from now on. */
function load(ms: Multiscaler, clock: FakeClock, n: number): () => void {
  const st = ms.statsFor(REV);
  for (let i = 0; i < n; i++) st.begin(clock.now());
  return () => { for (let i = 0; i < n; i++) st.end(clock.now()); };
}

describe('createMultiscaler', () => {
  it('leaves revisions of the HPA class alone: no initial scale, no decisions, no pokes (annotation or config class)', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 1, routed: true, annotations: { [A('class')]: 'hpa.autoscaling.knative.dev', [A('min-scale')]: '2' } });
    const done = load(a.ms, a.clock, 50);
    a.ms.poke(REV);
    a.clock.advance(30_000);
    done();
    expect(a.calls).toEqual([]);
    expect(a.decisions).toEqual([]);
    expect(a.ms.desired(REV)).toBeUndefined();
    const b = setup({ config: { podAutoscalerClass: 'hpa.autoscaling.knative.dev' } });
    b.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    b.clock.advance(10_000);
    expect(b.calls).toEqual([]);
  });

  it('applies the initial scale on upsert: max(min-scale if routed, initial-scale)', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    a.ms.upsert('default/other-00001', { containerConcurrency: 0, routed: true, annotations: { [A('min-scale')]: '3' } });
    a.ms.upsert('default/old-00001', { containerConcurrency: 0, routed: false, annotations: { [A('min-scale')]: '3' } });
    expect(a.calls.map((c) => [c.rev, c.n, c.atS])).toEqual([
      [REV, 1, 0],
      ['default/other-00001', 3, 0],
      ['default/old-00001', 1, 0],
    ]);
    expect(a.ms.desired(REV)).toBe(1);
    expect(a.ms.desired('default/none')).toBeUndefined();
  });

  it('a burst scales up at the next tick: 350 concurrent / 70 per pod = 5', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    load(a.ms, a.clock, 350);
    a.clock.advance(1999);
    expect(a.calls.map((c) => c.n)).toEqual([1]);
    a.clock.advance(1);
    expect(a.calls.map((c) => [c.n, c.atS])).toEqual([[1, 0], [5, 2]]);
    expect(a.decisions.at(-1)).toMatchObject({ desired: 5, inPanic: true, stableAverage: 350, panicAverage: 350 });
    expect(a.ms.desired(REV)).toBe(5);
  });

  it('containerConcurrency sets the per-pod target: CC=10 → 7 per pod, 35 concurrent → 5', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 10, routed: true });
    load(a.ms, a.clock, 35);
    a.clock.advance(2000);
    expect(a.ms.desired(REV)).toBe(5);
  });

  it('max-scale caps the burst', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true, annotations: { [A('max-scale')]: '3' } });
    load(a.ms, a.clock, 1000);
    a.clock.advance(10_000);
    expect(Math.max(...a.calls.map((c) => c.n))).toBe(3);
    expect(a.ms.desired(REV)).toBe(3);
  });

  it('idle after traffic → zero after the stable window empties plus the grace period', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    const done = load(a.ms, a.clock, 1);
    a.clock.advance(1000);
    done(); // last request ends at 1 s; its bucket leaves the 60 s window at 61 s
    a.clock.advance(91_000);
    // The first 0 is decided at the 62 s tick (active ≥ 60 s already), held 30 s.
    expect(a.calls.map((c) => [c.n, c.atS])).toEqual([[1, 0], [0, 92]]);
  });

  it('a revision that never gets traffic goes to zero after stable window + grace (active ≥ stable window first)', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    a.clock.advance(89_999);
    expect(a.replicas.get(REV)).toBe(1);
    a.clock.advance(1);
    expect(a.calls.map((c) => [c.n, c.atS])).toEqual([[1, 0], [0, 90]]);
  });

  it('scale-to-zero waits for max(grace, pod retention)', () => {
    const a = setup({ config: { scaleToZeroGracePeriodMs: 10_000 } });
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true, annotations: { [A('scale-to-zero-pod-retention-period')]: '45s' } });
    a.clock.advance(200_000);
    // inactive from 60 s, held 45 s, applied at the next 2 s tick
    expect(a.calls.map((c) => [c.n, c.atS])).toEqual([[1, 0], [0, 106]]);
  });

  it('a new request during the grace period cancels the countdown', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    a.clock.advance(80_000); // inactive since 60 s
    const done = load(a.ms, a.clock, 1);
    a.clock.advance(2000);
    done();
    a.clock.advance(60_000); // 142 s: a 0 again only from ~144 s, held 30 s
    expect(a.replicas.get(REV)).toBe(1);
    a.clock.advance(40_000);
    expect(a.calls.map((c) => c.n)).toEqual([1, 0]);
    expect(a.calls[1]!.atS).toBeGreaterThan(170);
  });

  it('min-scale 1 never goes below 1 while routed, and is dropped when unrouted', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true, annotations: { [A('min-scale')]: '1' } });
    a.clock.advance(10 * 60_000);
    expect(a.calls.map((c) => c.n)).toEqual([1]);
    a.ms.upsert(REV, { containerConcurrency: 0, routed: false, annotations: { [A('min-scale')]: '1' } });
    a.clock.advance(32_000);
    expect(a.calls.map((c) => c.n)).toEqual([1, 0]);
  });

  it('a revision restored after a restart starts at min-scale, not initial-scale, and stays there idle', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true, initialScaleReached: true });
    a.ms.upsert('default/min-00001', { containerConcurrency: 0, routed: true, initialScaleReached: true, annotations: { [A('min-scale')]: '2' } });
    a.clock.advance(5 * 60_000);
    expect(a.calls.map((c) => [c.rev, c.n])).toEqual([[REV, 0], ['default/min-00001', 2]]);
  });

  it('enable-scale-to-zero false keeps one pod', () => {
    const a = setup({ config: { enableScaleToZero: false } });
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    a.clock.advance(10 * 60_000);
    expect(a.calls.map((c) => c.n)).toEqual([1]);
  });

  it('poke scales from zero at once when a request waits', () => {
    const a = setup({ config: { allowZeroInitialScale: true, initialScale: 0 } });
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    expect(a.calls.map((c) => c.n)).toEqual([0]);
    a.clock.advance(500);
    a.ms.poke(REV); // nothing in flight: no-op
    expect(a.calls.map((c) => c.n)).toEqual([0]);
    load(a.ms, a.clock, 1);
    a.ms.poke(REV);
    expect(a.calls.map((c) => [c.n, c.atS])).toEqual([[0, 0], [1, 0.5]]);
    // Already scaling: a second poke does nothing more.
    load(a.ms, a.clock, 200);
    a.ms.poke(REV);
    expect(a.calls.map((c) => c.n)).toEqual([0, 1]);
  });

  it('poke after a scale to zero, once the windows have gone quiet, sizes for the whole burst', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    a.clock.advance(91_000);
    expect(a.ms.desired(REV)).toBe(0);
    a.clock.advance(70_000); // nothing recorded at zero: the windows empty out
    load(a.ms, a.clock, 140);
    a.ms.poke(REV);
    // The first pod before the decision; 140 waiting starts the windows afresh: ceil(140/70) = 2, right now.
    expect(a.calls.map((c) => [c.n, c.atS])).toEqual([[1, 0], [0, 90], [1, 161], [2, 161]]);
  });

  it('poke just after a scale to zero: the idle seconds still in the window dilute the stat (as in Knative)', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    a.clock.advance(91_000);
    load(a.ms, a.clock, 140);
    a.ms.poke(REV);
    // stable 140/60, panic 140/6 → 1 pod now; the panic window catches up at the next ticks.
    expect(a.calls.map((c) => [c.n, c.atS])).toEqual([[1, 0], [0, 90], [1, 91]]);
    a.clock.advance(6000);
    expect(a.ms.desired(REV)).toBe(2);
  });

  it('poke asks for the first pod before the decision runs (the decider reads the ready pods then)', () => {
    let scaledWhenDecided: number | undefined;
    const clock = new FakeClock();
    const scaled: number[] = [];
    const ms = createMultiscaler({
      clock,
      config: () => ({ ...DEFAULT_AUTOSCALER_CONFIG, allowZeroInitialScale: true, initialScale: 0 }),
      scale: (_rev, n) => scaled.push(n),
      readyPods: () => {
        scaledWhenDecided = scaled.at(-1);
        return 0;
      },
    });
    live.push(ms);
    ms.upsert(REV, { containerConcurrency: 0, routed: true });
    scaledWhenDecided = undefined;
    load(ms, clock, 1);
    ms.poke(REV);
    expect(scaledWhenDecided).toBe(1);
    expect(scaled).toEqual([0, 1]);
  });

  it('poke is ignored for unknown revisions', () => {
    const a = setup();
    a.ms.statsFor('default/ghost').begin(a.clock.now());
    a.ms.poke('default/ghost');
    expect(a.calls).toEqual([]);
  });

  it('a config change takes effect at the next tick', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    load(a.ms, a.clock, 350);
    a.clock.advance(2000);
    expect(a.ms.desired(REV)).toBe(5);
    a.setConfig({ containerConcurrencyTargetDefault: 10 }); // target 7 per pod
    a.clock.advance(1999);
    expect(a.ms.desired(REV)).toBe(5);
    a.clock.advance(1);
    expect(a.ms.desired(REV)).toBe(50);
  });

  it('stats taken before upsert are adopted', () => {
    const a = setup();
    const st = a.ms.statsFor(REV);
    st.begin(a.clock.now());
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    expect(a.ms.statsFor(REV)).toBe(st);
    expect(a.ms.statsFor(REV).inFlight()).toBe(1);
  });

  it('rps metric: requests per second against 140 per pod', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true, annotations: { [A('metric')]: 'rps' } });
    const st = a.ms.statsFor(REV);
    for (let s = 0; s < 2; s++) {
      for (let i = 0; i < 300; i++) { st.begin(a.clock.now()); st.end(a.clock.now()); }
      a.clock.advance(1000);
    }
    expect(a.decisions.at(-1)).toMatchObject({ stableAverage: 300 });
    expect(a.ms.desired(REV)).toBe(3); // ceil(300/140)
  });

  it('remove stops scaling a revision; close stops every timer', () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 0, routed: true });
    a.ms.remove(REV);
    load(a.ms, a.clock, 500);
    a.clock.advance(10_000);
    expect(a.calls.map((c) => c.n)).toEqual([1]);
    expect(a.ms.desired(REV)).toBeUndefined();
    a.ms.close();
    expect(a.clock.pending()).toBe(0);
  });
});

describe('setActive (leader election)', () => {
  it('applies nothing while inactive (ticks and pokes), then re-sends the next decision even if it equals the last one sent', async () => {
    const a = setup();
    a.ms.upsert(REV, { containerConcurrency: 1, routed: true, annotations: { [A('min-scale')]: '2' } });
    expect(a.calls.map((c) => c.n)).toEqual([2]);
    a.ms.setActive(false);
    const done = load(a.ms, a.clock, 10);
    await a.clock.advance(10_000);
    // Ten requests at concurrency 1 want 10 pods, but this instance does not lead.
    expect(a.calls.map((c) => c.n)).toEqual([2]);
    done();
    await a.clock.advance(120_000);
    a.ms.poke(REV);
    expect(a.calls.map((c) => c.n)).toEqual([2]);
    a.ms.setActive(true);
    await a.clock.advance(2_000);
    // The first tick as leader writes the decision (min-scale 2) although 2 was the last count this instance sent.
    expect(a.calls.map((c) => c.n)).toEqual([2, 2]);
    await a.clock.advance(2_000);
    expect(a.calls.map((c) => c.n)).toEqual([2, 2]);
  });
});
