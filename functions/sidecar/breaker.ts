/**
 * queue-proxy's breaker (knative/serving pkg/queue/breaker.go), as a pure
 * state machine: no timers, no sockets. With containerConcurrency CC ≥ 1 a
 * pod runs at most CC requests at once and holds at most queueDepth more
 * (queue-proxy sizes it 10 × CC, main.go buildBreaker); anything beyond is
 * refused at once. Waiting requests are served first come, first served.
 * The caller owns time: it cancels a ticket whose deadline passed.
 */
export type Admission = 'run' | 'queued' | 'rejected';

export class Breaker<T> {
  private running = 0;
  private readonly waiting: T[] = [];

  /**
   * @param capacity requests that run at once (containerConcurrency, ≥ 1)
   * @param queueDepth requests that may wait for a slot (queue-proxy: 10 × capacity)
   */
  constructor(
    readonly capacity: number,
    readonly queueDepth: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`breaker capacity must be an integer ≥ 1, got ${capacity}`);
    if (!Number.isInteger(queueDepth) || queueDepth < 0) throw new RangeError(`breaker queue depth must be an integer ≥ 0, got ${queueDepth}`);
  }

  /** Running plus waiting: breaker.go's inFlight, bounded by capacity + queueDepth (its totalSlots). */
  get inFlight(): number {
    return this.running + this.waiting.length;
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** A request arrives: it runs now, waits for a slot, or is refused (the queue is full). */
  admit(ticket: T): Admission {
    if (this.running < this.capacity && this.waiting.length === 0) {
      this.running++;
      return 'run';
    }
    if (this.waiting.length >= this.queueDepth) return 'rejected';
    this.waiting.push(ticket);
    return 'queued';
  }

  /** A running request finished: its slot goes to the oldest waiter, which is returned (it runs now). */
  release(): T | undefined {
    if (this.running === 0) throw new Error('breaker: release without a running request');
    const next = this.waiting.shift();
    if (next === undefined) this.running--;
    return next;
  }

  /** A waiting request gave up (client gone, deadline passed). False when it was not waiting. */
  cancel(ticket: T): boolean {
    const i = this.waiting.indexOf(ticket);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }
}

/**
 * queue-proxy's Drainer (knative/pkg network/handlers/drain.go), as a pure
 * decision: once draining, the pod stops when `quietMs` passed with no new
 * request (every request resets the timer) and nothing is in flight.
 * Returns how long to wait before asking again; 0 means drained.
 */
export function drainWaitMs(s: { nowMs: number; drainStartedMs: number; lastRequestMs: number | undefined; quietMs: number; inFlight: number }): number {
  const since = Math.max(s.drainStartedMs, s.lastRequestMs ?? s.drainStartedMs);
  const left = since + s.quietMs - s.nowMs;
  if (left > 0) return left;
  // Quiet long enough, but a request is still running: ask again when it ends (or soon).
  return s.inFlight > 0 ? Math.min(s.quietMs, 100) || 100 : 0;
}
