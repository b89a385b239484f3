/**
 * The KPA decision, a pure function of (spec, observed load, ready pods, now,
 * previous state). It follows knative/serving pkg/autoscaler/scaling/
 * autoscaler.go Scale() (reference §1.4) and then applies the bounds the
 * KPA reconciler applies in pkg/reconciler/autoscaling/kpa/scaler.go
 * (reference §1.5). Scale-to-zero timing (grace, retention) is not here: it
 * is about when to apply a 0, which the multiscaler owns.
 */
import type { RevisionScaling } from '../core/config/autoscaler.js';

/** Knative's tickInterval: the scale-down-delay window keeps one value per 2 s. */
export const DELAY_WINDOW_GRANULARITY_MS = 2_000;

/** One bucket of the scale-down-delay max window (Knative's max.TimeWindow). */
export interface DelayEntry {
  readonly index: number;
  readonly value: number;
}

export interface DeciderState {
  /** The unbounded decision of the last valid run; −1 before the first (Knative's initial DesiredScale). */
  readonly desiredScale: number;
  /** When the last over-threshold panic reading was seen; undefined = not panicking (Go's zero time). */
  readonly panicTimeMs: number | undefined;
  /** The highest count decided while panicking: panic only ever scales up. */
  readonly maxPanicPods: number;
  /** Descending-max deque over the last scale-down-delay, in 2 s buckets. */
  readonly delayWindow: readonly DelayEntry[];
  /** Set once ready pods first reach max(min-scale, initial-scale); until then initial-scale is a floor. */
  readonly scaleTargetInitialized: boolean;
}

export interface DeciderInput {
  nowMs: number;
  /** Ready pods right now. */
  readyPods: number;
  /** Window averages of the revision's metric (concurrency or RPS), whole revision. */
  stableAverage: number;
  panicAverage: number;
  /** Referenced by a route (Knative's Reachable): min-scale applies, and scale down is rate-limited. */
  routed: boolean;
  /** False before any stats were recorded (Knative's ErrNoData): the decision is invalid. @default true */
  hasData?: boolean;
}

export interface Decision {
  /** False when there is no data: apply nothing. */
  valid: boolean;
  /** The pod count to ask for, after bounds; −1 when not valid. */
  desired: number;
  /** The decider's count before bounds (Knative's DesiredScale). */
  rawDesired: number;
  /** Spare capacity beyond target-burst-capacity; <0 keeps the activator in the path; −1 when TBC is unlimited. */
  excessBurstCapacity: number;
  inPanic: boolean;
  state: DeciderState;
}

/**
 * The state of a new decider. Knative starts a new autoscaler in panic
 * when it finds more than one ready pod, holding that count, so a restart
 * (which loses the metric history) does not scale the revision down.
 */
export function initialDeciderState(nowMs: number, readyPods: number): DeciderState {
  const panic = readyPods > 1;
  return {
    desiredScale: -1,
    panicTimeMs: panic ? nowMs : undefined,
    maxPanicPods: panic ? readyPods : 0,
    delayWindow: [],
    scaleTargetInitialized: false,
  };
}

/**
 * Records value at nowMs into the scale-down-delay window and returns the
 * window's max (Knative's max.TimeWindow Record + Current). Entries whose
 * bucket fell out of the window are dropped from the front; entries not
 * larger than the new value can never be the max again and are dropped from
 * the back.
 */
function recordDelay(window: readonly DelayEntry[], delayMs: number, nowMs: number, value: number): { window: DelayEntry[]; max: number } {
  const buckets = Math.ceil(delayMs / DELAY_WINDOW_GRANULARITY_MS);
  const index = Math.floor(Math.floor(nowMs / 1000) / (DELAY_WINDOW_GRANULARITY_MS / 1000));
  const next = window.filter((e) => e.index > index - buckets);
  while (next.length > 0 && next[next.length - 1]!.value <= value) next.pop();
  next.push({ index, value });
  return { window: next, max: next[0]!.value };
}

/**
 * One KPA decision. Worked example with defaults (target 70 per pod,
 * max-scale-up-rate 1000, max-scale-down-rate 2, panic threshold 2.0):
 * 1 ready pod, stable average 100, panic average 350 →
 * dspc = ceil(100/70) = 2, dppc = ceil(350/70) = 5, maxUp = ceil(1000×1) = 1000,
 * maxDown = floor(1/2) = 0; 5/1 ≥ 2 → panic; desired = max(2, 5) = 5.
 * EBC with CC=0 (total 100), TBC 211: floor(1×100 − 211 − 350) = −461.
 */
export function decide(spec: RevisionScaling, input: DeciderInput, state: DeciderState): Decision {
  const { nowMs, routed } = input;
  const originalReady = Math.max(0, Math.floor(input.readyPods));

  // Knative marks the scale target initialized once it has reached
  // max(min, initial) ready pods (kpa.go activeThreshold); min counts only while routed.
  const minScale = routed ? spec.minScale : 0;
  const scaleTargetInitialized = state.scaleTargetInitialized || originalReady >= Math.max(minScale, spec.initialScale);

  if (input.hasData === false) {
    return {
      valid: false,
      desired: -1,
      rawDesired: state.desiredScale,
      excessBurstCapacity: 0,
      inPanic: state.panicTimeMs !== undefined,
      state: { ...state, scaleTargetInitialized },
    };
  }

  // Use 1 if there are no ready pods, so rates and the panic ratio stay finite.
  const ready = Math.max(1, originalReady);
  // The ceil lets a conservative rate still grow by one pod: MSUR=1.1, ready=2
  // → maxUp = ceil(2.2) = 3 rather than 2.
  const maxUp = Math.ceil(spec.maxScaleUpRate * ready);
  // An unrouted revision may drop straight to zero.
  const maxDown = routed ? Math.floor(ready / spec.maxScaleDownRate) : 0;

  const dspc = Math.ceil(input.stableAverage / spec.targetValue);
  const dppc = Math.ceil(input.panicAverage / spec.targetValue);
  let stablePods = Math.min(Math.max(dspc, maxDown), maxUp);
  let panicPods = Math.min(Math.max(dppc, maxDown), maxUp);

  // activation-scale: once there is any demand, start at least this many.
  if (spec.activationScale > 1) {
    if (dspc > 0 && spec.activationScale > stablePods) stablePods = spec.activationScale;
    if (dppc > 0 && spec.activationScale > panicPods) panicPods = spec.activationScale;
  }

  // Panic is judged on the unclamped panic count against ready capacity.
  const overThreshold = dppc / ready >= spec.panicThreshold;
  let panicTimeMs = state.panicTimeMs;
  let maxPanicPods = state.maxPanicPods;
  if (overThreshold) {
    // Enter, or extend: the stable window restarts from the latest surge.
    panicTimeMs = nowMs;
  } else if (panicTimeMs !== undefined && panicTimeMs + spec.stableWindowMs < nowMs) {
    // The surge has made its way into the stable window: leave panic.
    panicTimeMs = undefined;
    maxPanicPods = 0;
  }

  let desired = stablePods;
  if (panicTimeMs !== undefined) {
    // The stable figure can exceed the panic one in edge cases; provision for the larger.
    desired = Math.max(desired, panicPods);
    // Never scale down while panicking, only up.
    maxPanicPods = Math.max(maxPanicPods, desired);
    desired = maxPanicPods;
  }

  let delayWindow = state.delayWindow;
  if (spec.scaleDownDelayMs > 0) {
    const r = recordDelay(state.delayWindow, spec.scaleDownDelayMs, nowMs, desired);
    delayWindow = r.window;
    desired = r.max;
  } else if (delayWindow.length > 0) {
    delayWindow = [];
  }

  // EBC = total capacity − target burst capacity − observed panic load,
  // judged on the panic window so the activator does not flap in and out.
  let excessBurstCapacity = -1;
  if (spec.targetBurstCapacity === 0) excessBurstCapacity = 0;
  else if (spec.targetBurstCapacity > 0) {
    excessBurstCapacity = Math.floor(originalReady * spec.totalValue - spec.targetBurstCapacity - input.panicAverage);
  }

  return {
    valid: true,
    desired: applyBounds(spec, desired, routed, scaleTargetInitialized),
    rawDesired: desired,
    excessBurstCapacity,
    inPanic: panicTimeMs !== undefined,
    state: { desiredScale: desired, panicTimeMs, maxPanicPods, delayWindow, scaleTargetInitialized },
  };
}

/**
 * The KPA reconciler's bounds (kpa/scaler.go): min-scale only while routed,
 * initial-scale (>1) as a floor until first reached, max-scale always
 * (0 = unlimited), and no zero when enable-scale-to-zero is false.
 */
function applyBounds(spec: RevisionScaling, x: number, routed: boolean, initialized: boolean): number {
  let min = routed ? spec.minScale : 0;
  // An initial scale of 1 needs no floor: the first pod exists from the start.
  if (!initialized && spec.initialScale > 1) min = Math.max(min, spec.initialScale);
  let out = x < min ? min : x;
  if (spec.maxScale > 0 && out > spec.maxScale) out = spec.maxScale;
  if (out === 0 && !spec.enableScaleToZero) out = 1;
  return out;
}
