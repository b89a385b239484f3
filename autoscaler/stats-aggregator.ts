/**
 * Stats from data-plane replicas (`zeno up --role gateway`), summed per
 * revision for the multiscaler. Knative's activators send a StatMessage per
 * revision (averageConcurrency, requestCount) to the autoscaler every
 * second, and the autoscaler adds up what every sender reported
 * (pkg/autoscaler/metrics, reference §1.3). Here each replica POSTs one
 * report per stats period with every revision it saw traffic for; this
 * module keeps them and hands the multiscaler one sum per period.
 *
 * No timers and no I/O: times are passed in, so the rules are table-tested.
 */
import type { RevisionId } from '../core/types.js';
import type { RequestStatsReport } from './request-stats.js';

/** One revision's figures in a replica's report. */
export interface ReplicaStat {
  revision: RevisionId;
  /** Time-weighted concurrency over the replica's period (RequestStats.report). */
  averageConcurrency: number;
  /** Requests begun in the replica's period. */
  requestCount: number;
  /** Requests in flight on the replica when it reported (for the scale-from-zero poke). */
  inFlight: number;
}

/** A replica's periodic report: the whole picture, so a revision it leaves out had no traffic there. */
export interface ReplicaReport {
  replica: string;
  stats: ReplicaStat[];
  /** The last feed change the replica had applied (core/dataplane.ts FeedMessage seq). */
  feedSeq?: number;
  /** Pods with requests in flight from this replica. */
  pods?: { id: string; inFlight: number }[];
}

interface RevisionTrack {
  /** Reports that landed since the last take(): their concurrency summed, and how many. */
  pendingConcurrency: number;
  pendingReports: number;
  pendingCount: number;
  /** The last reported concurrency, carried into a period no report landed in. */
  lastConcurrency: number;
  lastInFlight: number;
}

interface ReplicaTrack {
  lastSeenMs: number;
  revisions: Map<RevisionId, RevisionTrack>;
  /** From the last periodic report (a poke does not say). */
  feedSeq: number;
  podsInFlight: Map<string, number>;
}

export interface StatsAggregatorOptions {
  /** A replica silent for longer than this is dropped (PLATFORM_DEFAULTS.dataPlaneStatsStaleMs). */
  staleAfterMs: number;
}

export class StatsAggregator {
  private readonly replicas = new Map<string, ReplicaTrack>();

  constructor(private readonly opts: StatsAggregatorOptions) {}

  private replica(id: string, nowMs: number): ReplicaTrack {
    let r = this.replicas.get(id);
    if (!r) this.replicas.set(id, (r = { lastSeenMs: nowMs, revisions: new Map(), feedSeq: -1, podsInFlight: new Map() }));
    r.lastSeenMs = nowMs;
    return r;
  }

  /** A replica's periodic report arrived. */
  record(report: ReplicaReport, nowMs: number): void {
    const r = this.replica(report.replica, nowMs);
    if (report.feedSeq !== undefined) r.feedSeq = report.feedSeq;
    r.podsInFlight = new Map((report.pods ?? []).filter((p) => p.inFlight > 0).map((p) => [p.id, p.inFlight]));
    const seen = new Set<RevisionId>();
    for (const s of report.stats) {
      seen.add(s.revision);
      let t = r.revisions.get(s.revision);
      if (!t) r.revisions.set(s.revision, (t = { pendingConcurrency: 0, pendingReports: 0, pendingCount: 0, lastConcurrency: 0, lastInFlight: 0 }));
      t.pendingConcurrency += s.averageConcurrency;
      t.pendingReports++;
      t.pendingCount += s.requestCount;
      t.lastConcurrency = s.averageConcurrency;
      t.lastInFlight = s.inFlight;
    }
    // Left out of the report: no traffic on this replica in its period, an explicit 0.
    for (const [rev, t] of r.revisions) {
      if (seen.has(rev)) continue;
      t.pendingReports++;
      t.lastConcurrency = 0;
      t.lastInFlight = 0;
    }
  }

  /**
   * A replica has requests waiting for a revision with no ready pod (its
   * immediate poke, between periodic reports): only its in-flight count is
   * news; the next periodic report carries the averages.
   */
  poke(replica: string, revision: RevisionId, inFlight: number, nowMs: number): void {
    const r = this.replica(replica, nowMs);
    let t = r.revisions.get(revision);
    if (!t) r.revisions.set(revision, (t = { pendingConcurrency: 0, pendingReports: 0, pendingCount: 0, lastConcurrency: 0, lastInFlight: 0 }));
    t.lastInFlight = inFlight;
  }

  private dropStale(nowMs: number): void {
    for (const [id, r] of this.replicas) if (nowMs - r.lastSeenMs > this.opts.staleAfterMs) this.replicas.delete(id);
  }

  /**
   * Ends the multiscaler's stats period: per revision, the sum over live
   * replicas of their concurrency in the period (the mean of the reports
   * that landed in it, or the last one when none did, since reports and
   * periods are not aligned and one may slip to the next period) and of
   * their request counts. A replica that stopped reporting is dropped first.
   */
  take(nowMs: number): Map<RevisionId, RequestStatsReport> {
    this.dropStale(nowMs);
    const out = new Map<RevisionId, RequestStatsReport>();
    for (const r of this.replicas.values()) {
      for (const [rev, t] of r.revisions) {
        const concurrency = t.pendingReports > 0 ? t.pendingConcurrency / t.pendingReports : t.lastConcurrency;
        const sum = out.get(rev);
        if (sum) {
          sum.averageConcurrency += concurrency;
          sum.requestCount += t.pendingCount;
        } else {
          out.set(rev, { averageConcurrency: concurrency, requestCount: t.pendingCount });
        }
        t.pendingConcurrency = 0;
        t.pendingReports = 0;
        t.pendingCount = 0;
        // Idle here and reported so: nothing left to carry.
        if (t.lastConcurrency === 0 && t.lastInFlight === 0) r.revisions.delete(rev);
      }
    }
    return out;
  }

  /** Requests in flight for the revision on live replicas, as last reported. */
  inFlight(revision: RevisionId, nowMs: number): number {
    this.dropStale(nowMs);
    let n = 0;
    for (const r of this.replicas.values()) n += r.revisions.get(revision)?.lastInFlight ?? 0;
    return n;
  }

  /**
   * Whether no live replica can still send or have requests on the pod:
   * each one has applied the feed up to `seq` (the change that took the pod
   * out of routing) and reports nothing in flight on it. A replica silent
   * for staleAfterMs no longer counts (it died, and its requests with it).
   */
  podDrained(podId: string, seq: number, nowMs: number): boolean {
    this.dropStale(nowMs);
    for (const r of this.replicas.values()) if (r.feedSeq < seq || (r.podsInFlight.get(podId) ?? 0) > 0) return false;
    return true;
  }

  /** Live replicas (reported within staleAfterMs), sorted. */
  live(nowMs: number): string[] {
    this.dropStale(nowMs);
    return [...this.replicas.keys()].sort();
  }

  /** Forgets a revision that was deleted. */
  forget(revision: RevisionId): void {
    for (const r of this.replicas.values()) r.revisions.delete(revision);
  }
}
