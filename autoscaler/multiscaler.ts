/**
 * The autoscaler's I/O loop (knative/serving pkg/autoscaler/scaling/
 * multiscaler.go plus the parts of the KPA reconciler that apply a scale).
 * Every stats period it moves each revision's RequestStats into its stable
 * and panic windows; every tick (2 s) it runs the pure decider and calls
 * scale() when the count changes. All timing comes from the injected Clock.
 */
import type { Clock, TimerHandle } from '../core/clock.js';
import type { RevisionId } from '../core/types.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { HPA_CLASS, resolveRevisionScaling, type AutoscalerConfig, type RevisionScaling } from '../core/config/autoscaler.js';
import { decide, initialDeciderState, type DeciderState } from './decider.js';
import { RequestStats, type RequestStatsReport } from './request-stats.js';
import { BucketWindow } from './window.js';

export interface DecisionReport {
  desired: number;
  inPanic: boolean;
  stableAverage: number;
  panicAverage: number;
  excessBurstCapacity: number;
  /** What the averages measure: the revision's autoscaling.knative.dev/metric. */
  metric: 'concurrency' | 'rps';
}

export interface MultiscalerDeps {
  clock: Clock;
  /** Read at every tick, so a new config-autoscaler takes effect at the next tick. */
  config: () => AutoscalerConfig;
  /** Asks the runtime for this many pods. Called only when the count changes. */
  scale: (rev: RevisionId, replicas: number) => void;
  readyPods: (rev: RevisionId) => number;
  /** @default PLATFORM_DEFAULTS.autoscalerTickMs (2000, Knative's tickInterval) */
  tickMs?: number;
  /** @default PLATFORM_DEFAULTS.statsPeriodMs (1000, queue-proxy's report period) */
  statsPeriodMs?: number;
  /** Every valid decision, for status, metrics and logs. */
  onDecision?: (rev: RevisionId, d: DecisionReport) => void;
  /**
   * Stats from data-plane replicas (autoscaler/stats-aggregator.ts's
   * StatsAggregator fits): added to this process's own RequestStats each
   * period, and to its in-flight count when poked.
   */
  remote?: RemoteStats;
}

/** Other senders' stats for the revisions this multiscaler scales. */
export interface RemoteStats {
  /** Ends a stats period: per revision, what the other senders reported in it. */
  take(nowMs: number): Map<RevisionId, RequestStatsReport>;
  /** Requests the other senders have in flight for the revision. */
  inFlight(rev: RevisionId, nowMs: number): number;
}

export interface RevisionScalingOptions {
  annotations?: Record<string, string>;
  containerConcurrency: number;
  /** Referenced by a route: min-scale applies only then. */
  routed: boolean;
  /**
   * The revision already reached its initial scale once (e.g. before a
   * platform restart): start from min-scale instead, since Knative applies
   * initial-scale only to a new revision.
   */
  initialScaleReached?: boolean;
}

export interface Multiscaler {
  /** Starts scaling a revision (applying its initial scale at once), or updates its settings. */
  upsert(rev: RevisionId, opts: RevisionScalingOptions): void;
  remove(rev: RevisionId): void;
  /** The revision's request counters; the gateway and activator call begin/end on them. */
  statsFor(rev: RevisionId): RequestStats;
  /** A request is waiting for a revision with no ready pod: scale from zero now, not at the next tick. */
  poke(rev: RevisionId): void;
  /** The last count passed to scale() for this revision. */
  desired(rev: RevisionId): number | undefined;
  /**
   * Leader election (cluster mode): while inactive, no decision is applied
   * (stats are still collected). On becoming active again every revision's
   * next decision is applied even if it equals the last one this instance
   * sent, since another leader may have scaled it meanwhile.
   * @default active
   */
  setActive(active: boolean): void;
  close(): void;
}

interface Entry {
  opts: RevisionScalingOptions;
  spec: RevisionScaling;
  stable: BucketWindow;
  panic: BucketWindow;
  hasData: boolean;
  lastReportMs: number;
  state: DeciderState;
  /** Last count passed to scale(). */
  applied: number | undefined;
  /** When the revision last went from 0 (or nothing) to some pods: Knative's PA turning Active. */
  activeSinceMs: number | undefined;
  /** When a 0 was first decided after the active period: Knative's PA turning Inactive. */
  inactiveSinceMs: number | undefined;
}

export function createMultiscaler(deps: MultiscalerDeps): Multiscaler {
  const { clock } = deps;
  const tickMs = deps.tickMs ?? PLATFORM_DEFAULTS.autoscalerTickMs;
  const statsPeriodMs = deps.statsPeriodMs ?? PLATFORM_DEFAULTS.statsPeriodMs;
  const entries = new Map<RevisionId, Entry>();
  // Stats may be asked for before upsert (a request can race the reconciler); upsert adopts them.
  const stats = new Map<RevisionId, RequestStats>();
  let closed = false;
  let active = true;

  const statsFor = (rev: RevisionId): RequestStats => {
    let s = stats.get(rev);
    if (!s) {
      s = new RequestStats(clock.now());
      stats.set(rev, s);
    }
    return s;
  };

  const setScale = (rev: RevisionId, e: Entry, n: number, nowMs: number): void => {
    if (!active) return;
    if (n > 0 && !(e.applied !== undefined && e.applied > 0)) e.activeSinceMs = nowMs;
    if (n > 0) e.inactiveSinceMs = undefined;
    if (e.applied === n) return;
    e.applied = n;
    deps.scale(rev, n);
  };

  /**
   * Applies a bounded decision. A 0 is where Knative's KPA reconciler runs
   * its Active → Inactive dance (kpa/scaler.go handleScaleToZero, reference
   * §1.5). Simplified here, since the activator is always in Zeno's path
   * when a revision has no pods and there is no SKS to reprogram:
   * - while the revision has been active for less than the stable window,
   *   a 0 is applied as 1 (Knative scales "down to at most 1" then);
   * - after that, the 0 must hold continuously for
   *   max(scale-to-zero-grace-period, scale-to-zero-pod-retention-period)
   *   before it is applied (Knative: Inactive for that long). Meanwhile
   *   the current count is kept. Knative's fast path (SKS already in proxy
   *   mode for the grace period) and the activator probe are not modelled.
   */
  const apply = (rev: RevisionId, e: Entry, want: number, nowMs: number): void => {
    if (want > 0) return setScale(rev, e, want, nowMs);
    if (e.applied === undefined || e.applied === 0) return setScale(rev, e, 0, nowMs);
    const activeFor = nowMs - (e.activeSinceMs ?? nowMs);
    if (activeFor < e.spec.stableWindowMs) {
      e.inactiveSinceMs = undefined;
      if (e.applied > 1) setScale(rev, e, 1, nowMs);
      return;
    }
    e.inactiveSinceMs ??= nowMs;
    const holdMs = Math.max(e.spec.scaleToZeroGracePeriodMs, e.spec.scaleToZeroPodRetentionPeriodMs);
    if (nowMs - e.inactiveSinceMs >= holdMs) setScale(rev, e, 0, nowMs);
  };

  const resolve = (e: Entry): void => {
    e.spec = resolveRevisionScaling(deps.config(), e.opts.annotations, e.opts.containerConcurrency);
    e.stable.resize(e.spec.stableWindowMs);
    e.panic.resize(e.spec.panicWindowMs);
  };

  const runDecision = (rev: RevisionId, e: Entry, nowMs: number): number | undefined => {
    const stableAverage = e.stable.average(nowMs);
    const panicAverage = e.panic.average(nowMs);
    const d = decide(
      e.spec,
      { nowMs, readyPods: deps.readyPods(rev), stableAverage, panicAverage, routed: e.opts.routed, hasData: e.hasData },
      e.state,
    );
    e.state = d.state;
    if (!d.valid) return undefined;
    deps.onDecision?.(rev, { desired: d.desired, inPanic: d.inPanic, stableAverage, panicAverage, excessBurstCapacity: d.excessBurstCapacity, metric: e.spec.metric === 'rps' ? 'rps' : 'concurrency' });
    return d.desired;
  };

  const collect = (): void => {
    const now = clock.now();
    const remote = deps.remote?.take(now);
    for (const [rev, e] of entries) {
      const r = statsFor(rev).report(now);
      // The replicas' share (Knative sums every activator's and pod's stat).
      const other = remote?.get(rev);
      if (other) {
        r.averageConcurrency += other.averageConcurrency;
        r.requestCount += other.requestCount;
      }
      // At zero with no requests Knative records nothing: there is no pod to
      // scrape and the activator reports only revisions with traffic. So after
      // a window of silence the first stat of a cold start starts the windows
      // afresh and counts in full (140 waiting → 140/1 → 2 pods, not 140/60).
      if ((e.applied ?? 0) === 0 && r.requestCount === 0 && r.averageConcurrency === 0) {
        e.lastReportMs = now;
        continue;
      }
      // RPS is the count over the period actually covered (normally 1 s).
      const periodS = Math.max(now - e.lastReportMs, 1) / 1000;
      const value = e.spec.metric === 'rps' ? r.requestCount / periodS : r.averageConcurrency;
      e.lastReportMs = now;
      e.stable.record(now, value);
      e.panic.record(now, value);
      e.hasData = true;
    }
  };

  const tick = (): void => {
    if (!active) return;
    const now = clock.now();
    for (const [rev, e] of entries) {
      resolve(e);
      // The HPA class: a HorizontalPodAutoscaler scales the revision, the KPA leaves it alone.
      if (e.spec.class === HPA_CLASS) continue;
      const want = runDecision(rev, e, now);
      if (want !== undefined) apply(rev, e, want, now);
    }
  };

  const statsTimer: TimerHandle = clock.setInterval(collect, statsPeriodMs);
  const tickTimer: TimerHandle = clock.setInterval(tick, tickMs);

  return {
    upsert(rev, opts) {
      if (closed) return;
      const existing = entries.get(rev);
      if (existing) {
        const gotRoute = opts.routed && !existing.opts.routed;
        existing.opts = { ...opts };
        // min-scale applies while the revision is routed (reference §1.5, kpa/scaler.go): a
        // revision that just got its route (it turned Ready at an initial scale below min)
        // gets it now, not at its first decision, which needs traffic.
        if (gotRoute) {
          resolve(existing);
          if ((existing.applied ?? 0) < existing.spec.minScale) setScale(rev, existing, existing.spec.minScale, clock.now());
        }
        return;
      }
      const now = clock.now();
      const spec = resolveRevisionScaling(deps.config(), opts.annotations, opts.containerConcurrency);
      const e: Entry = {
        opts: { ...opts },
        spec,
        stable: new BucketWindow(spec.stableWindowMs),
        panic: new BucketWindow(spec.panicWindowMs),
        hasData: false,
        lastReportMs: now,
        state: opts.initialScaleReached
          ? { ...initialDeciderState(now, deps.readyPods(rev)), scaleTargetInitialized: true }
          : initialDeciderState(now, deps.readyPods(rev)),
        applied: undefined,
        activeSinceMs: undefined,
        inactiveSinceMs: undefined,
      };
      entries.set(rev, e);
      statsFor(rev);
      // Knative creates the Deployment at the initial scale; min-scale counts only when routed.
      const initial = opts.initialScaleReached ? 0 : spec.initialScale;
      if (spec.class === HPA_CLASS) return;
      setScale(rev, e, Math.max(opts.routed ? spec.minScale : 0, initial), now);
    },

    remove(rev) {
      entries.delete(rev);
      stats.delete(rev);
    },

    statsFor,

    poke(rev) {
      const e = entries.get(rev);
      if (!e || closed || !active || e.spec.class === HPA_CLASS) return;
      const now = clock.now();
      // Waiting here and on the data-plane replicas alike.
      const inFlight = statsFor(rev).inFlight() + (deps.remote?.inFlight(rev, now) ?? 0);
      // Knative pokes only when the last desired scale was 0 and there is load.
      if ((e.applied ?? 0) !== 0 || inFlight === 0) return;
      // At least one pod whatever the windows say: a request is waiting. Asked
      // for before the decision is computed (config, windows, decider, its
      // report: ~0.2 ms of a pooled cold start of ~5 ms), so the first pod
      // starts that much sooner; the decision may then ask for more.
      setScale(rev, e, 1, now);
      resolve(e);
      // Like the activator's immediate first stat ({concurrency: n, count: n}),
      // recorded into the same buckets the periodic reports go to.
      e.stable.record(now, inFlight);
      e.panic.record(now, inFlight);
      e.hasData = true;
      const want = runDecision(rev, e, now);
      if (want !== undefined && want > 1) setScale(rev, e, want, now);
    },

    desired(rev) {
      return entries.get(rev)?.applied;
    },

    setActive(on) {
      if (on && !active) for (const e of entries.values()) e.applied = undefined;
      active = on;
    },

    close() {
      closed = true;
      clock.clearInterval(statsTimer);
      clock.clearInterval(tickTimer);
      entries.clear();
      stats.clear();
    },
  };
}
