/**
 * Knative's `config-autoscaler` ConfigMap and the per-revision
 * `autoscaling.knative.dev/*` annotations: names, defaults, ranges and the
 * effective per-revision settings the KPA decider runs on.
 *
 * Sources (knative/serving): config/core/configmaps/autoscaler.yaml,
 * pkg/autoscaler/config/config.go (defaults and validate()),
 * pkg/apis/autoscaling/annotation_validation.go and register.go (annotations),
 * pkg/reconciler/autoscaling/resources/target.go and metric.go (targets and
 * windows). See /work/shared/reference/knative-serving.md §1.1, §1.2, §1.4.
 */
import type { FieldIssue } from '../errors.js';
import { formatDuration, parseDuration } from '../duration.js';

/** Knative's autoscalerconfig.ConfigName. */
export const AUTOSCALER_CONFIG_NAME = 'config-autoscaler';
export const AUTOSCALING_GROUP = 'autoscaling.knative.dev';
export const KPA_CLASS = 'kpa.autoscaling.knative.dev';
export const HPA_CLASS = 'hpa.autoscaling.knative.dev';

/** Knative's TargetMin: the smallest per-pod target (autoscaling/register.go). */
export const TARGET_MIN = 0.01;
/** Knative's WindowMin / WindowMax for the stable window and delays. */
export const WINDOW_MIN_MS = 6_000;
export const WINDOW_MAX_MS = 3_600_000;
/** Aggregation bucket size (config.BucketSize); the panic window is at least one bucket. */
export const BUCKET_MS = 1_000;

/** `config-autoscaler` as parsed: Knative's keys in camelCase, durations in ms. */
export interface AutoscalerConfig {
  /** Percent of the per-pod capacity the autoscaler aims for. A ConfigMap value ≤1 is read as a fraction. @default 70 */
  readonly containerConcurrencyTargetPercentage: number;
  /** Per-pod concurrency capacity when containerConcurrency is 0. @default 100 */
  readonly containerConcurrencyTargetDefault: number;
  /** Per-pod RPS capacity for metric=rps. @default 200 */
  readonly requestsPerSecondTargetDefault: number;
  /** Spare concurrency kept before the activator leaves the path; -1 = activator always in path. @default 211 */
  readonly targetBurstCapacity: number;
  /** @default 60_000 (60s) */
  readonly stableWindowMs: number;
  /** Panic window as a percent of the stable window. @default 10 */
  readonly panicWindowPercentage: number;
  /** Panic when panic-window demand reaches this percent of ready capacity. @default 200 */
  readonly panicThresholdPercentage: number;
  /** @default 1000 */
  readonly maxScaleUpRate: number;
  /** @default 2 */
  readonly maxScaleDownRate: number;
  /** @default true */
  readonly enableScaleToZero: boolean;
  /** @default 30_000 (30s) */
  readonly scaleToZeroGracePeriodMs: number;
  /** @default 0 */
  readonly scaleToZeroPodRetentionPeriodMs: number;
  /** @default 0 */
  readonly scaleDownDelayMs: number;
  /** @default 'kpa.autoscaling.knative.dev' */
  readonly podAutoscalerClass: string;
  /** Concurrent requests one activator is sized for. @default 100 */
  readonly activatorCapacity: number;
  /** @default 1 */
  readonly initialScale: number;
  /** @default false */
  readonly allowZeroInitialScale: boolean;
  /** @default 0 */
  readonly minScale: number;
  /** 0 = unlimited. @default 0 */
  readonly maxScale: number;
  /** 0 = no cap on max-scale annotations. @default 0 */
  readonly maxScaleLimit: number;
}

/** Knative's defaultConfig() (pkg/autoscaler/config/config.go), TBC 211 since PR #12774. */
export const DEFAULT_AUTOSCALER_CONFIG: AutoscalerConfig = Object.freeze({
  containerConcurrencyTargetPercentage: 70,
  containerConcurrencyTargetDefault: 100,
  requestsPerSecondTargetDefault: 200,
  targetBurstCapacity: 211,
  stableWindowMs: 60_000,
  panicWindowPercentage: 10,
  panicThresholdPercentage: 200,
  maxScaleUpRate: 1000,
  maxScaleDownRate: 2,
  enableScaleToZero: true,
  scaleToZeroGracePeriodMs: 30_000,
  scaleToZeroPodRetentionPeriodMs: 0,
  scaleDownDelayMs: 0,
  podAutoscalerClass: KPA_CLASS,
  activatorCapacity: 100,
  initialScale: 1,
  allowZeroInitialScale: false,
  minScale: 0,
  maxScale: 0,
  maxScaleLimit: 0,
});

// ---------------------------------------------------------------------------
// Scalar parsers with Go's strconv semantics (what Knative's cm.As* use).

const FLOAT_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const INT_RE = /^[+-]?\d+$/;
const INT32_MAX = 2_147_483_647;

function parseFloat64(v: string): number | undefined {
  const s = v.trim();
  return FLOAT_RE.test(s) ? Number(s) : undefined;
}

/** strconv.ParseInt(v, 10, 32): undefined when malformed, ±Infinity-free. */
function parseInt32(v: string): number | undefined {
  const s = v.trim();
  if (!INT_RE.test(s)) return undefined;
  const n = Number(s);
  return Math.abs(n) > INT32_MAX ? undefined : n;
}

/** strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  const s = v.trim();
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

const isWholeSeconds = (ms: number): boolean => ms % 1000 === 0;

// ---------------------------------------------------------------------------
// The ConfigMap.

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

type Kind = 'float' | 'int' | 'bool' | 'duration' | 'string';

/** ConfigMap key → field and scalar kind (NewConfigFromMap's cm.As* list). */
const CONFIG_KEYS: Record<string, [keyof AutoscalerConfig, Kind]> = {
  'container-concurrency-target-percentage': ['containerConcurrencyTargetPercentage', 'float'],
  'container-concurrency-target-default': ['containerConcurrencyTargetDefault', 'float'],
  'requests-per-second-target-default': ['requestsPerSecondTargetDefault', 'float'],
  'target-burst-capacity': ['targetBurstCapacity', 'float'],
  'stable-window': ['stableWindowMs', 'duration'],
  'panic-window-percentage': ['panicWindowPercentage', 'float'],
  'panic-threshold-percentage': ['panicThresholdPercentage', 'float'],
  'max-scale-up-rate': ['maxScaleUpRate', 'float'],
  'max-scale-down-rate': ['maxScaleDownRate', 'float'],
  'enable-scale-to-zero': ['enableScaleToZero', 'bool'],
  'scale-to-zero-grace-period': ['scaleToZeroGracePeriodMs', 'duration'],
  'scale-to-zero-pod-retention-period': ['scaleToZeroPodRetentionPeriodMs', 'duration'],
  'scale-down-delay': ['scaleDownDelayMs', 'duration'],
  'pod-autoscaler-class': ['podAutoscalerClass', 'string'],
  'activator-capacity': ['activatorCapacity', 'float'],
  'initial-scale': ['initialScale', 'int'],
  'allow-zero-initial-scale': ['allowZeroInitialScale', 'bool'],
  'min-scale': ['minScale', 'int'],
  'max-scale': ['maxScale', 'int'],
  'max-scale-limit': ['maxScaleLimit', 'int'],
};

const KIND_TEXT: Record<Kind, string> = {
  float: 'a number',
  int: 'a 32-bit integer',
  bool: 'true or false',
  duration: 'a duration like "30s" or "1m30s"',
  string: 'a string',
};

/**
 * Parses `config-autoscaler` data. Unknown keys and `_example` are ignored,
 * as Knative does. Knative rejects the whole ConfigMap when a value is bad;
 * here every bad key is reported (path `data.<key>`) and falls back to its
 * default, so callers that must reject should check `issues.length`.
 */
export function parseAutoscalerConfigMap(data: Record<string, string>): { config: AutoscalerConfig; issues: FieldIssue[] } {
  const c: Mutable<AutoscalerConfig> = { ...DEFAULT_AUTOSCALER_CONFIG };
  const issues: FieldIssue[] = [];
  const bad = (key: string, message: string): void => {
    issues.push({ path: `data.${key}`, message });
    const field = CONFIG_KEYS[key]?.[0];
    if (field) (c as Record<string, unknown>)[field] = DEFAULT_AUTOSCALER_CONFIG[field];
  };

  for (const [key, [field, kind]] of Object.entries(CONFIG_KEYS)) {
    const raw = data[key];
    if (raw === undefined) continue;
    let v: number | boolean | string | undefined;
    if (kind === 'float') v = parseFloat64(raw);
    else if (kind === 'int') v = parseInt32(raw);
    else if (kind === 'bool') v = parseBool(raw);
    else if (kind === 'duration') v = parseDuration(raw);
    else v = raw.trim();
    if (v === undefined) {
      issues.push({ path: `data.${key}`, message: `${key} must be ${KIND_TEXT[kind]}, got ${JSON.stringify(raw)}` });
      continue;
    }
    (c as Record<string, unknown>)[field] = v;
  }

  // Legacy: a percentage in (0, 1] is a fraction (config.go). Stored as percent.
  if (c.containerConcurrencyTargetPercentage > 0 && c.containerConcurrencyTargetPercentage <= 1) {
    c.containerConcurrencyTargetPercentage *= 100;
  }

  // validate(), in Knative's order, with the same ranges.
  if (c.scaleToZeroGracePeriodMs <= 0) {
    bad('scale-to-zero-grace-period', `scale-to-zero-grace-period must be positive, got ${formatDuration(c.scaleToZeroGracePeriodMs)}`);
  }
  if (c.scaleDownDelayMs < 0 || !isWholeSeconds(c.scaleDownDelayMs)) {
    bad('scale-down-delay', `scale-down-delay must be ≥0s in whole seconds, got ${formatDuration(c.scaleDownDelayMs)}`);
  }
  if (c.scaleToZeroPodRetentionPeriodMs < 0) {
    bad('scale-to-zero-pod-retention-period', `scale-to-zero-pod-retention-period must be ≥0s, got ${formatDuration(c.scaleToZeroPodRetentionPeriodMs)}`);
  }
  if (c.targetBurstCapacity < 0 && c.targetBurstCapacity !== -1) {
    bad('target-burst-capacity', `target-burst-capacity must be ≥0, or -1 for unlimited, got ${c.targetBurstCapacity}`);
  }
  if (c.containerConcurrencyTargetPercentage <= 0 || c.containerConcurrencyTargetPercentage > 100) {
    bad('container-concurrency-target-percentage', `container-concurrency-target-percentage must be in (0, 100], got ${c.containerConcurrencyTargetPercentage}`);
  }
  {
    const x = (c.containerConcurrencyTargetPercentage / 100) * c.containerConcurrencyTargetDefault;
    if (x < TARGET_MIN) {
      bad('container-concurrency-target-default', `container-concurrency-target-default × container-concurrency-target-percentage must be ≥${TARGET_MIN}, got ${x}`);
    }
  }
  if (c.requestsPerSecondTargetDefault < TARGET_MIN) {
    bad('requests-per-second-target-default', `requests-per-second-target-default must be ≥${TARGET_MIN}, got ${c.requestsPerSecondTargetDefault}`);
  }
  if (c.activatorCapacity < 1) {
    bad('activator-capacity', `activator-capacity must be ≥1, got ${c.activatorCapacity}`);
  }
  if (c.maxScaleUpRate <= 1) bad('max-scale-up-rate', `max-scale-up-rate must be >1, got ${c.maxScaleUpRate}`);
  if (c.maxScaleDownRate <= 1) bad('max-scale-down-rate', `max-scale-down-rate must be >1, got ${c.maxScaleDownRate}`);
  if (c.stableWindowMs < WINDOW_MIN_MS || c.stableWindowMs > WINDOW_MAX_MS || !isWholeSeconds(c.stableWindowMs)) {
    bad('stable-window', `stable-window must be in [6s, 1h] in whole seconds, got ${formatDuration(c.stableWindowMs)}`);
  }
  if (c.panicWindowPercentage < 1 || c.panicWindowPercentage > 100) {
    bad('panic-window-percentage', `panic-window-percentage must be in [1, 100], got ${c.panicWindowPercentage}`);
  }
  // Knative leaves the ConfigMap value unchecked; below 100 would mean
  // permanent panic, so the annotation's range [110, 1000] applies here too.
  if (c.panicThresholdPercentage < 110 || c.panicThresholdPercentage > 1000) {
    bad('panic-threshold-percentage', `panic-threshold-percentage must be in [110, 1000], got ${c.panicThresholdPercentage}`);
  }
  if (c.podAutoscalerClass !== KPA_CLASS && c.podAutoscalerClass !== HPA_CLASS) {
    bad('pod-autoscaler-class', `pod-autoscaler-class must be ${KPA_CLASS} or ${HPA_CLASS}, got ${JSON.stringify(c.podAutoscalerClass)}`);
  }
  if (c.initialScale < 0 || (c.initialScale === 0 && !c.allowZeroInitialScale)) {
    bad('initial-scale', `initial-scale must be ≥1 (≥0 when allow-zero-initial-scale is true), got ${c.initialScale}`);
  }
  if (c.maxScaleLimit < 0) bad('max-scale-limit', `max-scale-limit must be ≥0, got ${c.maxScaleLimit}`);
  {
    // A default max-scale is required once max-scale-limit is set.
    const lo = c.maxScaleLimit > 0 ? 1 : 0;
    if (c.maxScale < lo || (c.maxScaleLimit > 0 && c.maxScale > c.maxScaleLimit)) {
      const hi = c.maxScaleLimit > 0 ? String(c.maxScaleLimit) : 'unlimited';
      bad('max-scale', `max-scale must be in [${lo}, ${hi}] (max-scale-limit ${c.maxScaleLimit}), got ${c.maxScale}`);
    }
  }
  if (c.minScale < 0 || (c.maxScale > 0 && c.minScale > c.maxScale)) {
    bad('min-scale', `min-scale must be in [0, max-scale(${c.maxScale || 'unlimited'})], got ${c.minScale}`);
  }

  return { config: Object.freeze(c), issues };
}

// ---------------------------------------------------------------------------
// Annotations.

/**
 * Annotation names (after `autoscaling.knative.dev/`), each with the legacy
 * camelCase alias Knative still accepts (register.go kmap.KeyPriority): the
 * kebab-case key wins when both are present.
 */
const ANNOTATIONS = {
  class: [],
  metric: [],
  target: [],
  'target-utilization-percentage': ['targetUtilizationPercentage'],
  'target-burst-capacity': ['targetBurstCapacity'],
  'min-scale': ['minScale'],
  'max-scale': ['maxScale'],
  'initial-scale': ['initialScale'],
  'activation-scale': [],
  'scale-down-delay': ['scaleDownDelay'],
  'scale-to-zero-pod-retention-period': ['scaleToZeroPodRetentionPeriod'],
  window: [],
  'panic-window-percentage': ['panicWindowPercentage'],
  'panic-threshold-percentage': ['panicThresholdPercentage'],
  'metric-aggregation-algorithm': ['metricAggregationAlgorithm'],
} as const satisfies Record<string, readonly string[]>;

export type AutoscalingAnnotation = keyof typeof ANNOTATIONS;

/** The value of an autoscaling annotation and the key it was found under (kebab-case first, then its alias). */
export function getAutoscalingAnnotation(
  annotations: Record<string, string> | undefined,
  name: AutoscalingAnnotation,
): { key: string; value: string } | undefined {
  if (!annotations) return undefined;
  for (const n of [name, ...ANNOTATIONS[name]]) {
    const key = `${AUTOSCALING_GROUP}/${n}`;
    const value = annotations[key];
    if (value !== undefined) return { key, value };
  }
  return undefined;
}

/**
 * Knative's ValidateAnnotations: every `autoscaling.knative.dev/*`
 * annotation Zeno reads, with Knative's ranges. Unknown autoscaling keys are
 * ignored, as Knative does. Paths are `${pathPrefix}["<key>"]` with the key
 * as written (kebab-case or alias).
 */
export function validateAutoscalingAnnotations(
  annotations: Record<string, string> | undefined,
  pathPrefix: string,
  config: AutoscalerConfig = DEFAULT_AUTOSCALER_CONFIG,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!annotations) return issues;
  const get = (name: AutoscalingAnnotation) => getAutoscalingAnnotation(annotations, name);
  const add = (key: string, message: string): void => {
    issues.push({ path: `${pathPrefix}["${key}"]`, message });
  };

  // class: only the two Knative classes (Zeno has no other autoscaler).
  const cls = get('class');
  const klass = cls ? cls.value : KPA_CLASS;
  if (cls && cls.value !== KPA_CLASS && cls.value !== HPA_CLASS) {
    add(cls.key, `must be ${KPA_CLASS} or ${HPA_CLASS}, got ${JSON.stringify(cls.value)}`);
  }

  // min-scale / max-scale: int32 ≥0; min ≤ max when max > 0; max within max-scale-limit.
  const intGE0 = (name: AutoscalingAnnotation): number => {
    const a = get(name);
    if (!a) return 0;
    const n = parseInt32(a.value);
    if (n === undefined || n < 0) {
      add(a.key, `must be an integer in [0, ${INT32_MAX}], got ${JSON.stringify(a.value)}`);
      return 0;
    }
    return n;
  };
  const min = intGE0('min-scale');
  const max = intGE0('max-scale');
  const maxA = get('max-scale');
  if (max !== 0 && max < min && maxA) {
    add(maxA.key, `max-scale=${max} is less than min-scale=${min}`);
  }
  if (maxA && config.maxScaleLimit > 0) {
    if (max > config.maxScaleLimit) add(maxA.key, `must be in [1, ${config.maxScaleLimit}] (max-scale-limit), got ${max}`);
    if (max === 0) add(maxA.key, `max-scale=0 (unlimited) is not allowed: must be in [1, ${config.maxScaleLimit}] (max-scale-limit)`);
  }

  // activation-scale: ≥2 and min ≤ activation ≤ max.
  const act = get('activation-scale');
  if (act) {
    const n = parseInt32(act.value);
    if (n === undefined) add(act.key, `must be an integer ≥2, got ${JSON.stringify(act.value)}`);
    else if (min > n) add(act.key, `min-scale=${min} is greater than activation-scale=${n}`);
    else if (max !== 0 && max < n) add(act.key, `max-scale=${max} is less than activation-scale=${n}`);
    else if (n < 2) add(act.key, `must be ≥2, got ${n}`);
  }

  // Floats.
  const float = (name: AutoscalingAnnotation, check: (v: number) => string | undefined): void => {
    const a = get(name);
    if (!a) return;
    const v = parseFloat64(a.value);
    const problem = v === undefined ? 'must be a number' : check(v);
    if (problem) add(a.key, `${problem}, got ${JSON.stringify(a.value)}`);
  };
  float('panic-window-percentage', (v) => (v < 1 || v > 100 ? 'must be in [1, 100]' : undefined));
  float('panic-threshold-percentage', (v) => (v < 110 || v > 1000 ? 'must be in [110, 1000]' : undefined));
  float('target', (v) => (v < TARGET_MIN ? `must be ≥${TARGET_MIN}` : undefined));
  float('target-utilization-percentage', (v) => (v < 1 || v > 100 ? 'must be in [1, 100]' : undefined));
  float('target-burst-capacity', (v) => (v < 0 && v !== -1 ? 'must be ≥0, or -1 for unlimited' : undefined));

  // Durations.
  const duration = (name: AutoscalingAnnotation, loMs: number, whole: boolean): void => {
    const a = get(name);
    if (!a) return;
    const d = parseDuration(a.value);
    const range = `[${formatDuration(loMs)}, 1h]`;
    if (d === undefined) add(a.key, `must be a duration in ${range}, got ${JSON.stringify(a.value)}`);
    else if (d < loMs || d > WINDOW_MAX_MS) add(a.key, `must be in ${range}, got ${JSON.stringify(a.value)}`);
    else if (whole && !isWholeSeconds(d)) add(a.key, `must be whole seconds, got ${JSON.stringify(a.value)}`);
  };
  duration('window', WINDOW_MIN_MS, true);
  duration('scale-to-zero-pod-retention-period', 0, false);
  duration('scale-down-delay', 0, true);

  // metric: KPA scales on concurrency or rps; HPA takes cpu, memory or a custom metric.
  const metric = get('metric');
  if (metric) {
    const ok = klass === KPA_CLASS ? metric.value === 'concurrency' || metric.value === 'rps' : metric.value !== '';
    if (!ok) add(metric.key, klass === KPA_CLASS ? `must be concurrency or rps, got ${JSON.stringify(metric.value)}` : 'must not be empty');
  }

  const algo = get('metric-aggregation-algorithm');
  if (algo && klass === KPA_CLASS && !['linear', 'weighted-exponential', 'weightedExponential'].includes(algo.value)) {
    add(algo.key, `must be linear or weighted-exponential, got ${JSON.stringify(algo.value)}`);
  }

  // initial-scale: int ≥0; 0 only when the cluster allows it.
  const init = get('initial-scale');
  if (init) {
    const n = parseInt32(init.value);
    if (n === undefined || n < 0) add(init.key, `must be an integer ≥0, got ${JSON.stringify(init.value)}`);
    else if (n === 0 && !config.allowZeroInitialScale) add(init.key, 'initial-scale=0 is not allowed: allow-zero-initial-scale is false');
  }

  return issues;
}

// ---------------------------------------------------------------------------
// Effective per-revision settings.

export type ScalingMetric = 'concurrency' | 'rps';

/** What the KPA decider and the multiscaler run on for one revision. */
export interface RevisionScaling {
  readonly class: string;
  readonly metric: ScalingMetric;
  /** Per-pod capacity before utilization (Knative's TotalValue). */
  readonly totalValue: number;
  /** Per-pod target = max(0.01, total × TU) (Knative's TargetValue). */
  readonly targetValue: number;
  /** Target utilization as a fraction (0.7 by default). */
  readonly targetUtilization: number;
  /** -1 = unlimited (activator always in path). */
  readonly targetBurstCapacity: number;
  readonly stableWindowMs: number;
  /** round(stable × pct/100) to whole seconds, at least one bucket (1 s). */
  readonly panicWindowMs: number;
  /** As a ratio: 200% → 2.0. */
  readonly panicThreshold: number;
  readonly maxScaleUpRate: number;
  readonly maxScaleDownRate: number;
  readonly minScale: number;
  /** 0 = unlimited. */
  readonly maxScale: number;
  readonly initialScale: number;
  /** 1 = off. */
  readonly activationScale: number;
  readonly scaleDownDelayMs: number;
  readonly scaleToZeroGracePeriodMs: number;
  readonly scaleToZeroPodRetentionPeriodMs: number;
  readonly enableScaleToZero: boolean;
  /** 0 = unlimited. */
  readonly containerConcurrency: number;
}

/**
 * Resolves the effective scaling settings of one revision: annotations over
 * `config-autoscaler`. Values that fail validation fall back to the config
 * (validation reports them; this never throws).
 *
 * Target (resources/target.go ResolveMetricTarget), e.g. CC=10 with
 * target=50: total = min(50, 10) = 10, target = 10 × 0.7 = 7 per pod.
 */
export function resolveRevisionScaling(
  config: AutoscalerConfig,
  annotations: Record<string, string> | undefined,
  containerConcurrency: number,
): RevisionScaling {
  const str = (name: AutoscalingAnnotation): string | undefined => getAutoscalingAnnotation(annotations, name)?.value;
  const num = (name: AutoscalingAnnotation, ok: (v: number) => boolean): number | undefined => {
    const s = str(name);
    const v = s === undefined ? undefined : parseFloat64(s);
    return v !== undefined && ok(v) ? v : undefined;
  };
  const int = (name: AutoscalingAnnotation, ok: (v: number) => boolean): number | undefined => {
    const s = str(name);
    const v = s === undefined ? undefined : parseInt32(s);
    return v !== undefined && ok(v) ? v : undefined;
  };
  const dur = (name: AutoscalingAnnotation, ok: (v: number) => boolean): number | undefined => {
    const s = str(name);
    const v = s === undefined ? undefined : parseDuration(s);
    return v !== undefined && ok(v) ? v : undefined;
  };

  const cc = Math.max(0, Math.floor(containerConcurrency || 0));
  const klass = str('class') === HPA_CLASS || str('class') === KPA_CLASS ? str('class')! : config.podAutoscalerClass;
  const metric: ScalingMetric = str('metric') === 'rps' ? 'rps' : 'concurrency';

  let total = metric === 'rps' ? config.requestsPerSecondTargetDefault : cc || config.containerConcurrencyTargetDefault;
  const annTarget = num('target', (v) => v >= TARGET_MIN);
  if (annTarget !== undefined) total = metric === 'concurrency' && cc > 0 ? Math.min(annTarget, cc) : annTarget;
  const tuPct = num('target-utilization-percentage', (v) => v >= 1 && v <= 100) ?? config.containerConcurrencyTargetPercentage;
  const targetUtilization = tuPct / 100;

  const stableWindowMs = dur('window', (v) => v >= WINDOW_MIN_MS && v <= WINDOW_MAX_MS && isWholeSeconds(v)) ?? config.stableWindowMs;
  const panicPct = num('panic-window-percentage', (v) => v >= 1 && v <= 100) ?? config.panicWindowPercentage;
  const panicThresholdPct = num('panic-threshold-percentage', (v) => v >= 110 && v <= 1000) ?? config.panicThresholdPercentage;

  const minScale = int('min-scale', (v) => v >= 0) ?? config.minScale;
  const maxScale = int('max-scale', (v) => v >= 0) ?? config.maxScale;
  const initialScale = int('initial-scale', (v) => v > 0 || (v === 0 && config.allowZeroInitialScale)) ?? config.initialScale;

  return Object.freeze({
    class: klass,
    metric,
    totalValue: total,
    targetValue: Math.max(TARGET_MIN, total * targetUtilization),
    targetUtilization,
    targetBurstCapacity: num('target-burst-capacity', (v) => v >= 0 || v === -1) ?? config.targetBurstCapacity,
    stableWindowMs,
    panicWindowMs: panicWindowMs(stableWindowMs, panicPct),
    panicThreshold: panicThresholdPct / 100,
    maxScaleUpRate: config.maxScaleUpRate,
    maxScaleDownRate: config.maxScaleDownRate,
    minScale,
    maxScale,
    initialScale,
    activationScale: int('activation-scale', (v) => v >= 2) ?? 1,
    scaleDownDelayMs: dur('scale-down-delay', (v) => v >= 0 && v <= WINDOW_MAX_MS && isWholeSeconds(v)) ?? config.scaleDownDelayMs,
    scaleToZeroGracePeriodMs: config.scaleToZeroGracePeriodMs,
    scaleToZeroPodRetentionPeriodMs:
      dur('scale-to-zero-pod-retention-period', (v) => v >= 0 && v <= WINDOW_MAX_MS) ?? config.scaleToZeroPodRetentionPeriodMs,
    enableScaleToZero: config.enableScaleToZero,
    containerConcurrency: cc,
  });
}

/**
 * Panic window = stable × pct/100 rounded to the bucket size, at least one
 * bucket (resources/metric.go): 60s × 10% = 6s; 6s × 1% = 0.06s → 1s.
 */
export function panicWindowMs(stableWindowMs: number, panicWindowPercentage: number): number {
  const raw = (stableWindowMs * panicWindowPercentage) / 100;
  return Math.max(BUCKET_MS, Math.round(raw / BUCKET_MS) * BUCKET_MS);
}

// ---------------------------------------------------------------------------
// The HPA class.

/** What the Kubernetes runtime's HorizontalPodAutoscaler is built from (functions/kubernetes/manifests.ts buildHpa). */
export interface HpaSettings {
  /** `cpu` (Knative's default for the HPA class), `memory`, or a custom per-pod metric name. */
  readonly metric: string;
  /** autoscaling.knative.dev/target when set: CPU percent, memory MiB, or the custom metric's per-pod value. */
  readonly target?: number;
  /** min-scale (annotation over config-autoscaler): 0 means the HPA's own minimum, 1. */
  readonly minScale: number;
  /** max-scale: 0 means unlimited. */
  readonly maxScale: number;
  /** autoscaling.knative.dev/window in whole seconds, when set: both stabilization windows. */
  readonly windowSeconds?: number;
  /** initial-scale (annotation over config-autoscaler; 0 only when allowed): the Deployment starts at max(1, min-scale, this). */
  readonly initialScale: number;
}

/**
 * The revision's HPA settings when its class is hpa.autoscaling.knative.dev
 * (annotation, else config-autoscaler's pod-autoscaler-class), else
 * undefined. After Knative: the PodAutoscaler defaults the HPA class's metric
 * to cpu (pa_defaults.go); the target and the window are taken only from the
 * annotations (PodAutoscaler.Target(), Window()); min and max come from
 * ScaleBounds (annotation over config-autoscaler); the initial scale as the
 * revision's Deployment is created with it, and the HPA reconciler counts
 * the scale target initialized at max(min-scale, initial-scale) replicas.
 */
export function resolveHpaSettings(config: AutoscalerConfig, annotations: Record<string, string> | undefined): HpaSettings | undefined {
  const str = (name: AutoscalingAnnotation): string | undefined => getAutoscalingAnnotation(annotations, name)?.value;
  const klass = str('class') === HPA_CLASS || str('class') === KPA_CLASS ? str('class')! : config.podAutoscalerClass;
  if (klass !== HPA_CLASS) return undefined;
  const rawTarget = str('target');
  const target = rawTarget === undefined ? undefined : parseFloat64(rawTarget);
  const min = str('min-scale');
  const max = str('max-scale');
  const minScale = (min === undefined ? undefined : parseInt32(min)) ?? config.minScale;
  const maxScale = (max === undefined ? undefined : parseInt32(max)) ?? config.maxScale;
  const rawWindow = str('window');
  const windowMs = rawWindow === undefined ? undefined : parseDuration(rawWindow);
  // getInitialScale (hpa.go / kpa.go): the annotation, unless it is 0 and zero is not allowed.
  const init = str('initial-scale');
  const initParsed = init === undefined ? undefined : parseInt32(init);
  const initialScale = initParsed === undefined || initParsed < 0 || (initParsed === 0 && !config.allowZeroInitialScale) ? config.initialScale : initParsed;
  const out: { -readonly [K in keyof HpaSettings]: HpaSettings[K] } = {
    metric: str('metric') || 'cpu',
    minScale: Math.max(0, minScale),
    maxScale: Math.max(0, maxScale),
    initialScale,
  };
  if (target !== undefined && target >= TARGET_MIN) out.target = target;
  if (windowMs !== undefined && windowMs >= WINDOW_MIN_MS && windowMs <= WINDOW_MAX_MS) out.windowSeconds = Math.floor(windowMs / 1000);
  return Object.freeze(out);
}
