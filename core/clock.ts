/**
 * The only place that touches wall-clock time. Everything that waits or
 * ticks takes a Clock, so unit tests drive time with FakeClock instead of
 * sleeping (after Knative's clock.RealClock / fake.Clock split).
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  setInterval(fn: () => void, ms: number): TimerHandle;
  clearInterval(handle: TimerHandle | undefined): void;
  /** Resolves after ms; rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** sleep() in terms of a clock's own timers, shared by both clocks. */
function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const h = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clock.clearTimeout(h);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

let nextRealId = 1;

/** A real timer's handle carries the Node timer itself: no lookup table, no wrapper closure (the gateway arms one per request). */
interface RealTimer extends TimerHandle {
  readonly timer: NodeJS.Timeout;
}

class RealClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const h: RealTimer = { id: nextRealId++, timer: setTimeout(fn, ms) };
    return h;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) clearTimeout((handle as RealTimer).timer);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const t = setInterval(fn, ms);
    t.unref?.();
    const h: RealTimer = { id: nextRealId++, timer: t };
    return h;
  }

  clearInterval(handle: TimerHandle | undefined): void {
    if (handle) clearInterval((handle as RealTimer).timer);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }
}

export const realClock: Clock = new RealClock();

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

/**
 * A manually driven clock for unit tests: nothing fires until advance().
 * Timers fire in due order, and a timer scheduled by a firing timer fires in
 * the same advance() if it falls inside the window.
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 1;
  private timers: FakeTimer[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: FakeTimer = { id: this.seq++, at: this.current + Math.max(0, ms), fn };
    this.timers.push(t);
    return { id: t.id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const every = Math.max(1, ms);
    const t: FakeTimer = { id: this.seq++, at: this.current + every, fn, every };
    this.timers.push(t);
    return { id: t.id };
  }

  clearInterval(handle: TimerHandle | undefined): void {
    this.clearTimeout(handle);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Number of pending timers (for assertions about leaks). */
  pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: FakeTimer | undefined;
      for (const t of this.timers) if (t.at <= end && (!next || t.at < next.at)) next = t;
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      if (next.every) next.at += next.every;
      else this.timers = this.timers.filter((t) => t !== next);
      next.fn();
    }
    this.current = end;
  }

  /** advance(), then let promise continuations run, for async code under test. */
  async advanceAsync(ms: number, stepMs = ms): Promise<void> {
    let left = ms;
    while (left > 0) {
      const step = Math.min(stepMs, left);
      this.advance(step);
      left -= step;
      for (let i = 0; i < 5; i++) await Promise.resolve();
    }
  }
}
