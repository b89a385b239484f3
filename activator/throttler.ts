import type { Clock, TimerHandle } from '../core/clock.js';
import { ZenoError } from '../core/errors.js';

/** A ready pod as the data plane sees it. */
export interface Backend {
  id: string;
  url: string;
}

/** One admitted request's hold on a pod slot; release exactly once. */
export interface Lease {
  readonly backend: Backend;
  release(): void;
  /** The pod is (still) an early one: listening, its handler not loaded yet (see updateBackends). */
  onEarlyPod(): boolean;
}

interface Waiter {
  resolve: (l: Lease) => void;
  reject: (e: unknown) => void;
  timer: TimerHandle | undefined;
  done: boolean;
}

interface PodSlot {
  backend: Backend;
  inFlight: number;
  /** Still routable; false once the pod leaves routing (its in-flight requests finish). */
  active: boolean;
  /** Out of the rotation for a moment after refusing a connection. */
  paused?: boolean;
  /** An early pod: listens and holds requests until it can serve them, not ready yet. */
  early?: boolean;
  drainWaiters: (() => void)[];
}

export interface ThrottlerOptions {
  clock: Clock;
  /** containerConcurrency: 0 = unlimited per pod. */
  containerConcurrency: number;
  /** Pending-request queue bound (Knative activator: 10000). */
  queueDepth: number;
  retryAfterSeconds: number;
  /** Called when a request has to wait because no pod can take it (the autoscaler poke). */
  onQueued: () => void;
  random?: () => number;
}

/**
 * Per-revision admission: picks a pod with a free slot or queues the request
 * until one appears (the activator's job). Serve mode and proxy mode share it
 * in the embedded platform, because both live in one process.
 *
 * Load balancing follows Knative's lb_policy.go: CC 0 → power of two random
 * choices by in-flight count; CC 1–3 → first pod with a free slot; CC > 3 →
 * round robin over pods with a free slot.
 */
export class RevisionThrottler {
  private slots = new Map<string, PodSlot>();
  private active: PodSlot[] = [];
  /** Early pods, used only while no pod is ready. */
  private early: PodSlot[] = [];
  private queue: Waiter[] = [];
  private queueHead = 0;
  /** Live waiters (timed-out ones may still sit in the array until compacted). */
  private waiting = 0;
  private cc: number;
  /** Next pod to try for round robin (CC > 3). */
  private rr = 0;
  private readonly random: () => number;

  constructor(private readonly opts: ThrottlerOptions) {
    this.cc = opts.containerConcurrency;
    this.random = opts.random ?? Math.random;
  }

  /** Requests waiting for a slot. */
  queued(): number {
    return this.waiting;
  }

  inFlight(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.inFlight;
    return n;
  }

  podInFlight(podId: string): number {
    return this.slots.get(podId)?.inFlight ?? 0;
  }

  setContainerConcurrency(cc: number): void {
    this.cc = cc;
    this.dispatch();
  }

  /** Whether any ready pod is routable now (early pods do not count). */
  hasBackends(): boolean {
    return this.active.length > 0;
  }

  /**
   * Takes a pod out of the rotation for `ms` (it refused a connection); the
   * runtime's probe decides for good, this only stops sending it requests
   * until then.
   */
  pause(podId: string, ms: number): void {
    const s = this.slots.get(podId);
    if (!s || s.paused) return;
    s.paused = true;
    this.rebuild();
    this.opts.clock.setTimeout(() => {
      s.paused = false;
      this.rebuild();
      this.dispatch();
    }, ms);
  }

  private rebuild(): void {
    const usable = [...this.slots.values()].filter((s) => s.active && !s.paused);
    this.active = usable.filter((s) => !s.early);
    this.early = usable.filter((s) => s.early);
  }

  /**
   * Replaces the set of routable pods; removed pods keep their in-flight
   * requests until done. `early` pods are not ready but already listen and
   * hold every request until they can serve it (a specialized warm process
   * importing its handler): requests go to them only while no pod is ready,
   * so the first request of a cold start travels while the handler loads.
   * A pod in both lists is ready.
   */
  updateBackends(backends: Backend[], early: readonly Backend[] = []): void {
    const keep = new Set(backends.map((b) => b.id));
    for (const b of early) keep.add(b.id);
    for (const s of this.slots.values()) {
      if (!keep.has(s.backend.id)) {
        s.active = false;
        if (s.inFlight === 0) this.forget(s);
      }
    }
    const ready = new Set<string>();
    for (const b of backends) {
      ready.add(b.id);
      const s = this.slots.get(b.id);
      if (s) {
        s.active = true;
        s.early = false;
        s.backend = b;
      } else {
        this.slots.set(b.id, { backend: b, inFlight: 0, active: true, drainWaiters: [] });
      }
    }
    for (const b of early) {
      if (ready.has(b.id)) continue;
      const s = this.slots.get(b.id);
      if (s) {
        s.active = true;
        s.early = true;
        s.backend = b;
      } else {
        this.slots.set(b.id, { backend: b, inFlight: 0, active: true, early: true, drainWaiters: [] });
      }
    }
    this.rebuild();
    this.dispatch();
  }

  /** Resolves once the pod has no request in flight (call after it left routing). */
  waitForDrain(podId: string, signal?: AbortSignal): Promise<void> {
    const s = this.slots.get(podId);
    if (!s || s.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => resolve();
      s.drainWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** A Lease when a pod has a free slot and nobody is queued ahead; otherwise undefined. */
  tryAcquire(): Lease | undefined {
    if (this.queued() > 0) return undefined;
    const slot = this.pick();
    return slot ? this.lease(slot) : undefined;
  }

  /**
   * Admits a request: a Lease at once when a pod has a free slot, otherwise a
   * promise that settles when one does, or rejects with ZENO_ERR_QUEUE_FULL
   * (503, at once) or ZENO_ERR_REQUEST_TIMEOUT (504, after timeoutMs), or
   * with the signal's reason when the caller aborts while queued.
   */
  acquire(timeoutMs: number, signal?: AbortSignal): Lease | Promise<Lease> {
    const now = this.tryAcquire();
    if (now) return now;
    if (this.queued() >= this.opts.queueDepth) {
      throw new ZenoError('ZENO_ERR_QUEUE_FULL', 'pending request queue full', { retryAfter: this.opts.retryAfterSeconds });
    }
    return new Promise<Lease>((resolve, reject) => {
      const w: Waiter = { resolve, reject, timer: undefined, done: false };
      w.timer = this.opts.clock.setTimeout(() => {
        if (w.done) return;
        w.done = true;
        this.waiting--;
        reject(new ZenoError('ZENO_ERR_REQUEST_TIMEOUT', 'activator request timeout: no pod became available in time'));
        this.compact();
      }, timeoutMs);
      this.queue.push(w);
      this.waiting++;
      // A client that gives up leaves the queue at once instead of holding a place.
      signal?.addEventListener('abort', () => {
        if (w.done) return;
        w.done = true;
        this.waiting--;
        this.opts.clock.clearTimeout(w.timer);
        reject(signal.reason ?? new Error('aborted'));
        this.compact();
      }, { once: true });
      this.opts.onQueued();
    });
  }

  /** Rejects every queued request (revision deleted or platform stopping). */
  failAll(err: ZenoError): void {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const w = this.queue[i]!;
      if (w.done) continue;
      w.done = true;
      this.opts.clock.clearTimeout(w.timer);
      w.reject(err);
    }
    this.queue = [];
    this.queueHead = 0;
    this.waiting = 0;
  }

  private lease(slot: PodSlot): Lease {
    slot.inFlight++;
    let released = false;
    return {
      backend: slot.backend,
      onEarlyPod: () => slot.early === true,
      release: () => {
        if (released) return;
        released = true;
        slot.inFlight--;
        if (!slot.active) {
          if (slot.inFlight === 0) this.forget(slot);
          return;
        }
        if (this.queued() > 0) this.dispatch();
      },
    };
  }

  private forget(slot: PodSlot): void {
    this.slots.delete(slot.backend.id);
    const ws = slot.drainWaiters;
    slot.drainWaiters = [];
    for (const w of ws) w();
  }

  private hasRoom(s: PodSlot): boolean {
    return this.cc <= 0 || s.inFlight < this.cc;
  }

  private pick(): PodSlot | undefined {
    const pods = this.active.length > 0 ? this.active : this.early;
    const n = pods.length;
    if (n === 0) return undefined;
    if (this.cc <= 0) {
      if (n === 1) return pods[0];
      // Power of two random choices: two distinct pods, the less loaded wins.
      const i = Math.floor(this.random() * n);
      let j = Math.floor(this.random() * (n - 1));
      if (j >= i) j++;
      const a = pods[i]!;
      const b = pods[j]!;
      return b.inFlight < a.inFlight ? b : a;
    }
    if (this.cc <= 3) {
      // Small CC: first pod with a free slot, packing requests densely.
      for (const s of pods) if (this.hasRoom(s)) return s;
      return undefined;
    }
    // CC > 3: round robin over the pods' slots.
    for (let k = 0; k < n; k++) {
      const s = pods[(this.rr + k) % n]!;
      if (this.hasRoom(s)) {
        this.rr = (this.rr + k + 1) % n;
        return s;
      }
    }
    return undefined;
  }

  private dispatch(): void {
    while (this.queueHead < this.queue.length) {
      const w = this.queue[this.queueHead]!;
      if (w.done) {
        this.queueHead++;
        continue;
      }
      const slot = this.pick();
      if (!slot) break;
      this.queueHead++;
      w.done = true;
      this.waiting--;
      this.opts.clock.clearTimeout(w.timer);
      w.resolve(this.lease(slot));
    }
    this.compact();
  }

  private compact(): void {
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    if (this.queueHead === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
  }
}
