import { describe, expect, it } from 'vitest';
import { ReconcileQueue } from './reconcile-queue.js';

/** A queue over a fixed key list that records every pass: which keys it reconciled, in order. */
function harness(all: string[] = [], failOn = new Set<string>()) {
  const passes: string[][] = [];
  const errors: string[] = [];
  let current: string[] | undefined;
  const q = new ReconcileQueue({
    allKeys: () => all,
    reconcile: (k) => {
      current ??= [];
      current.push(k);
      if (failOn.has(k)) throw new Error(`bad ${k}`);
    },
    onError: (k, e) => errors.push(`${k}: ${e.message}`),
    afterPass: () => {
      passes.push(current ?? []);
      current = undefined;
    },
  });
  return { q, passes, errors };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('ReconcileQueue', () => {
  const cases: { name: string; act: (q: ReconcileQueue) => void; all?: string[]; passes: string[][] }[] = [
    { name: 'nothing marked: no pass', act: () => undefined, passes: [] },
    { name: 'marks of one turn share a pass, each key once', act: (q) => ['a', 'b', 'a'].forEach((k) => q.add(k)), passes: [['a', 'b']] },
    { name: 'addAll adds every key beside the marked ones', act: (q) => (q.add('x'), q.addAll()), all: ['a', 'x', 'b'], passes: [['x', 'a', 'b']] },
    { name: 'poke runs a pass with no keys (afterPass still runs)', act: (q) => q.poke(), passes: [[]] },
    { name: 'stop before the pass: it never runs', act: (q) => (q.add('a'), q.stop()), passes: [] },
    { name: 'stopped: marks are ignored', act: (q) => (q.stop(), q.add('a'), q.addAll()), all: ['b'], passes: [] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const h = harness(c.all);
      c.act(h.q);
      expect(h.passes).toEqual([]); // nothing runs synchronously
      await settle();
      expect(h.passes).toEqual(c.passes);
    });
  }

  it('a key marked during a pass runs in a pass of its own after it', async () => {
    const seen: string[] = [];
    let passes = 0;
    const q: ReconcileQueue = new ReconcileQueue({
      allKeys: () => [],
      reconcile: (k) => {
        seen.push(`${passes}:${k}`);
        if (k === 'a') q.add('b');
      },
      onError: () => undefined,
      afterPass: () => passes++,
    });
    q.add('a');
    await settle();
    expect(seen).toEqual(['0:a', '1:b']);
    expect(passes).toBe(2);
  });

  it('a reconcile that throws is reported and does not stop the others', async () => {
    const h = harness([], new Set(['b']));
    for (const k of ['a', 'b', 'c']) h.q.add(k);
    await settle();
    expect(h.passes).toEqual([['a', 'b', 'c']]);
    expect(h.errors).toEqual(['b: bad b']);
  });
});
