/**
 * Per-revision request statistics, after queue-proxy's RequestStats
 * (knative.dev/networking pkg/http/stats/request.go), reference §1.3:
 * concurrency is time-weighted, Σ(c·dt)/Σdt over the report period, so a
 * request in flight for half of a 1 s period counts 0.5; requests begun in the
 * period are counted for RPS. report() ends the period and starts the next.
 *
 * On the hot path (begin/end once per proxied request): constant time,
 * no allocation. Time is passed in so callers reuse their one clock read.
 */
export interface RequestStatsReport {
  /** Σ(concurrency × dt) / Σdt since the previous report; 0 for an empty period. */
  averageConcurrency: number;
  /** Requests begun since the previous report. */
  requestCount: number;
}

export class RequestStats {
  private concurrency = 0;
  private lastChangeMs: number;
  /** Σ(c·dt) in request·ms, and Σdt in ms, for the current period. */
  private weightedMs = 0;
  private elapsedMs = 0;
  private count = 0;

  constructor(nowMs: number) {
    this.lastChangeMs = nowMs;
  }

  /** Integrates the current concurrency up to nowMs (time never runs backwards here). */
  private advance(nowMs: number): void {
    const dt = nowMs - this.lastChangeMs;
    if (dt > 0) {
      this.weightedMs += this.concurrency * dt;
      this.elapsedMs += dt;
      this.lastChangeMs = nowMs;
    }
  }

  /** A request started. */
  begin(nowMs: number): void {
    this.advance(nowMs);
    this.concurrency++;
    this.count++;
  }

  /** A request finished (answered, failed or abandoned). */
  end(nowMs: number): void {
    this.advance(nowMs);
    // An unmatched end() must not drive concurrency negative and hide real load.
    if (this.concurrency > 0) this.concurrency--;
  }

  /** Requests in flight right now. */
  inFlight(): number {
    return this.concurrency;
  }

  /** Closes the period at nowMs and returns its averages; the next period starts at nowMs. */
  report(nowMs: number): RequestStatsReport {
    this.advance(nowMs);
    const out: RequestStatsReport = {
      averageConcurrency: this.elapsedMs > 0 ? this.weightedMs / this.elapsedMs : 0,
      requestCount: this.count,
    };
    this.weightedMs = 0;
    this.elapsedMs = 0;
    this.count = 0;
    return out;
  }
}
