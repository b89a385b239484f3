/**
 * Knative's bucketed time window (pkg/autoscaler/aggregation/bucketing.go,
 * TimedFloat64Buckets), reference §1.3:
 * - buckets are `granularityMs` wide (1 s); values recorded in the same
 *   bucket are summed (the pods' and the activator's stats add up);
 * - average = total ÷ number of buckets since the first write, so a window
 *   that has not filled yet averages over what it has seen;
 * - nothing written for longer than one window → average 0, and the next
 *   write starts afresh.
 *
 * Time is an argument (record(nowMs, v), average(nowMs)), never read here.
 */
export class BucketWindow {
  private buckets: Float64Array;
  private windowMs: number;
  private readonly granularityMs: number;
  /** Bucket indices (ms / granularity) of the first and last write; undefined before any. */
  private firstIdx: number | undefined;
  private lastIdx: number | undefined;

  constructor(windowMs: number, granularityMs = 1000) {
    this.granularityMs = granularityMs;
    this.windowMs = windowMs;
    this.buckets = new Float64Array(Math.max(1, Math.ceil(windowMs / granularityMs)));
  }

  /** The window length in ms. */
  get lengthMs(): number {
    return this.windowMs;
  }

  private index(ms: number): number {
    return Math.floor(ms / this.granularityMs);
  }

  private slot(idx: number): number {
    const n = this.buckets.length;
    return ((idx % n) + n) % n;
  }

  /** Adds value to the bucket of nowMs. */
  record(nowMs: number, value: number): void {
    const idx = this.index(nowMs);
    const n = this.buckets.length;
    if (this.lastIdx === undefined || this.firstIdx === undefined || (idx - this.lastIdx) * this.granularityMs > this.windowMs) {
      // First write, or silent for longer than a window: start afresh.
      this.buckets.fill(0);
      this.firstIdx = idx;
      this.lastIdx = idx;
    } else if (idx > this.lastIdx) {
      // Clear the buckets skipped since the last write: they now stand for new seconds.
      const from = Math.max(this.lastIdx + 1, idx - n + 1);
      for (let i = from; i <= idx; i++) this.buckets[this.slot(i)] = 0;
      this.lastIdx = idx;
    } else if (idx <= this.lastIdx - n) {
      // A late value older than the window: it no longer counts.
      return;
    } else if (idx < this.firstIdx) {
      // A late value inside the window (Knative would move lastWrite back; we keep it).
      this.firstIdx = idx;
    }
    this.buckets[this.slot(idx)]! += value;
  }

  /**
   * Average per bucket at nowMs. Knative's WindowAverage: when time has moved
   * past the last write (but by less than a window), the buckets that fell
   * out of the window are dropped and the divisor shrinks with them.
   * E.g. a 60 s window written at t=0..9 s with 1 each: at t=9 → 10/10 = 1;
   * at t=15 → still 10/min(10, 60−6) = 1; at t=70 → 0.
   */
  average(nowMs: number): number {
    if (this.lastIdx === undefined || this.firstIdx === undefined) return 0;
    const n = this.buckets.length;
    const nowIdx = this.index(nowMs);
    const gap = nowIdx - this.lastIdx;
    if (gap * this.granularityMs >= this.windowMs) return 0;
    const stale = Math.max(0, gap);
    const written = Math.min(this.lastIdx - this.firstIdx + 1, n);
    const numBuckets = Math.min(written, n - stale);
    // Sum the live buckets (indices (nowIdx − n, lastIdx]) afresh rather than
    // keeping a running total: subtracting floats leaves residue like 5e-17,
    // and ceil(5e-17 / target) = 1 pod would block scale to zero.
    let sum = 0;
    for (let i = Math.max(this.lastIdx - n + 1 + stale, this.firstIdx); i <= this.lastIdx; i++) sum += this.buckets[this.slot(i)]!;
    return numBuckets > 0 ? sum / numBuckets : 0;
  }

  /** True when nothing was written in the last window (Knative's IsEmpty, the ErrNoData case). */
  isEmpty(nowMs: number): boolean {
    if (this.lastIdx === undefined) return true;
    return (this.index(nowMs) - this.lastIdx) * this.granularityMs > this.windowMs;
  }

  /** Changes the window length, keeping the most recent buckets that still fit (Knative's ResizeWindow). */
  resize(windowMs: number): void {
    if (windowMs === this.windowMs) return;
    const old = this.buckets;
    const oldN = old.length;
    const n = Math.max(1, Math.ceil(windowMs / this.granularityMs));
    const next = new Float64Array(n);
    if (this.lastIdx !== undefined && this.firstIdx !== undefined) {
      const from = Math.max(this.lastIdx - Math.min(n, oldN) + 1, this.firstIdx);
      for (let i = from; i <= this.lastIdx; i++) next[((i % n) + n) % n] = old[((i % oldN) + oldN) % oldN]!;
      // Only the copied buckets hold data now; the divisor counts from there.
      this.firstIdx = from;
    }
    this.buckets = next;
    this.windowMs = windowMs;
  }
}
