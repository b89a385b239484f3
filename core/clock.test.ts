import { describe, expect, it } from 'vitest';
import { FakeClock, realClock } from './clock.js';

const T0 = Date.UTC(2026, 0, 1);

describe('FakeClock', () => {
  it('starts at the given time and moves only on advance()', () => {
    const c = new FakeClock(T0);
    expect(c.now()).toBe(T0);
    c.advance(1500);
    expect(c.now()).toBe(T0 + 1500);
    expect(new FakeClock().now()).toBe(T0);
  });

  it('fires timers in due order, each seeing its own due time', () => {
    const c = new FakeClock(T0);
    const fired: [string, number][] = [];
    c.setTimeout(() => fired.push(['c', c.now() - T0]), 300);
    c.setTimeout(() => fired.push(['a', c.now() - T0]), 100);
    c.setTimeout(() => fired.push(['b', c.now() - T0]), 200);
    c.setTimeout(() => fired.push(['late', c.now() - T0]), 1000);
    c.advance(300);
    expect(fired).toEqual([['a', 100], ['b', 200], ['c', 300]]);
    expect(c.pending()).toBe(1);
    c.advance(699);
    expect(fired).toHaveLength(3);
    c.advance(1);
    expect(fired.at(-1)).toEqual(['late', 1000]);
    expect(c.pending()).toBe(0);
  });

  it('fires timers due at the same time in scheduling order', () => {
    const c = new FakeClock(T0);
    const fired: number[] = [];
    for (const n of [1, 2, 3]) c.setTimeout(() => fired.push(n), 50);
    c.advance(50);
    expect(fired).toEqual([1, 2, 3]);
  });

  it('treats a negative delay as zero', () => {
    const c = new FakeClock(T0);
    let at = -1;
    c.setTimeout(() => (at = c.now()), -10);
    c.advance(0);
    expect(at).toBe(T0);
  });

  it('fires an interval once per period, interleaved with timeouts', () => {
    const c = new FakeClock(T0);
    const fired: string[] = [];
    const h = c.setInterval(() => fired.push(`i${c.now() - T0}`), 100);
    c.setTimeout(() => fired.push(`t${c.now() - T0}`), 250);
    c.advance(350);
    expect(fired).toEqual(['i100', 'i200', 't250', 'i300']);
    c.clearInterval(h);
    c.advance(1000);
    expect(fired).toHaveLength(4);
    expect(c.pending()).toBe(0);
  });

  it('lets an interval clear itself from its own callback', () => {
    const c = new FakeClock(T0);
    let n = 0;
    const h = c.setInterval(() => {
      n++;
      if (n === 3) c.clearInterval(h);
    }, 10);
    c.advance(1000);
    expect(n).toBe(3);
  });

  it('fires a timer scheduled by a firing timer within the same advance, if due', () => {
    const c = new FakeClock(T0);
    const fired: [string, number][] = [];
    c.setTimeout(() => {
      fired.push(['outer', c.now() - T0]);
      c.setTimeout(() => fired.push(['inner', c.now() - T0]), 40);
      c.setTimeout(() => fired.push(['beyond', c.now() - T0]), 500);
    }, 50);
    c.advance(100);
    expect(fired).toEqual([['outer', 50], ['inner', 90]]);
    expect(c.now()).toBe(T0 + 100);
    c.advance(450);
    expect(fired.at(-1)).toEqual(['beyond', 550]);
  });

  it('clearTimeout cancels a pending timer, including one cleared by an earlier timer', () => {
    const c = new FakeClock(T0);
    const fired: string[] = [];
    const a = c.setTimeout(() => fired.push('a'), 10);
    const b = c.setTimeout(() => fired.push('b'), 30);
    c.setTimeout(() => c.clearTimeout(b), 20);
    c.clearTimeout(a);
    c.clearTimeout(undefined);
    c.advance(100);
    expect(fired).toEqual([]);
    expect(c.pending()).toBe(0);
  });

  it('sleep resolves once the time has passed, not before', async () => {
    const c = new FakeClock(T0);
    let done = false;
    const p = c.sleep(1000).then(() => (done = true));
    await c.advanceAsync(999);
    expect(done).toBe(false);
    await c.advanceAsync(1);
    await p;
    expect(done).toBe(true);
    expect(c.pending()).toBe(0);
  });

  it('sleep rejects with the abort reason and leaves no timer behind', async () => {
    const c = new FakeClock(T0);
    const ac = new AbortController();
    const p = c.sleep(1000, ac.signal);
    expect(c.pending()).toBe(1);
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(c.pending()).toBe(0);
  });

  it('sleep rejects at once on an already aborted signal without scheduling', async () => {
    const c = new FakeClock(T0);
    const reason = new Error('already');
    await expect(c.sleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(c.pending()).toBe(0);
  });

  it('advanceAsync runs promise continuations between steps', async () => {
    const c = new FakeClock(T0);
    const seen: number[] = [];
    // Each wake-up schedules the next sleep from a continuation, so this only
    // works when continuations run before the next step.
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await c.sleep(100);
        seen.push(c.now() - T0);
      }
    })();
    await c.advanceAsync(300, 100);
    expect(seen).toEqual([100, 200, 300]);
  });
});

describe('realClock', () => {
  it('sleep rejects with the abort reason when aborted', async () => {
    const ac = new AbortController();
    const p = realClock.sleep(60_000, ac.signal);
    const reason = new Error('abort');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
  });

  it('sleep rejects at once on an already aborted signal', async () => {
    const reason = new Error('already');
    await expect(realClock.sleep(60_000, AbortSignal.abort(reason))).rejects.toBe(reason);
  });

  it('sleep(0) resolves and clearTimeout on a fired or unknown handle is harmless', async () => {
    await realClock.sleep(0);
    const h = realClock.setTimeout(() => undefined, 0);
    realClock.clearTimeout(h);
    realClock.clearTimeout({ id: -1 });
    realClock.clearInterval(undefined);
    expect(Math.abs(realClock.now() - Date.now())).toBeLessThan(1000);
  });
});
