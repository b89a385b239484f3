import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { DEFAULT_AUTOSCALER_CONFIG } from '../core/config/autoscaler.js';
import { createMultiscaler, type Multiscaler } from './multiscaler.js';

const live: Multiscaler[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

function setup() {
  const clock = new FakeClock();
  const calls: [string, number][] = [];
  const replicas = new Map<string, number>();
  const ms = createMultiscaler({
    clock,
    config: () => ({ ...DEFAULT_AUTOSCALER_CONFIG, allowZeroInitialScale: true }),
    scale: (rev, n) => {
      replicas.set(rev, n);
      calls.push([rev, n]);
    },
    readyPods: (rev) => replicas.get(rev) ?? 0,
  });
  live.push(ms);
  return { clock, ms, calls };
}

describe('min-scale once a revision gets its route', () => {
  const annotations = { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.knative.dev/min-scale': '2' };

  it('scales a revision that turned Ready at initial-scale 0 up to min-scale when it becomes routed, without traffic', () => {
    const { clock, ms, calls } = setup();
    ms.upsert('default/a-00002', { containerConcurrency: 0, routed: false, annotations });
    expect(calls).toEqual([['default/a-00002', 0]]);
    clock.advance(10_000);
    expect(calls).toEqual([['default/a-00002', 0]]);
    ms.upsert('default/a-00002', { containerConcurrency: 0, routed: true, annotations });
    expect(calls).toEqual([['default/a-00002', 0], ['default/a-00002', 2]]);
    // Upserts that change nothing about the route scale nothing.
    ms.upsert('default/a-00002', { containerConcurrency: 0, routed: true, annotations });
    expect(calls).toHaveLength(2);
  });

  it('leaves a revision already at or above min-scale alone', () => {
    const { ms, calls } = setup();
    const a = { 'autoscaling.knative.dev/min-scale': '1' };
    ms.upsert('default/b-00001', { containerConcurrency: 0, routed: false, annotations: a });
    expect(calls).toEqual([['default/b-00001', 1]]);
    ms.upsert('default/b-00001', { containerConcurrency: 0, routed: true, annotations: a });
    expect(calls).toEqual([['default/b-00001', 1]]);
  });
});
