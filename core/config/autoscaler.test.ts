import { describe, it, expect } from 'vitest';
import {
  DEFAULT_AUTOSCALER_CONFIG,
  parseAutoscalerConfigMap,
  panicWindowMs,
  resolveRevisionScaling,
  validateAutoscalingAnnotations,
  type AutoscalerConfig,
} from './autoscaler.js';

// Knative's config-autoscaler defaults as written in the reference table
// (knative-serving.md §1.1, config/core/configmaps/autoscaler.yaml).
const REFERENCE_DEFAULTS: Record<string, string> = {
  'container-concurrency-target-percentage': '70',
  'container-concurrency-target-default': '100',
  'requests-per-second-target-default': '200',
  'target-burst-capacity': '211',
  'stable-window': '60s',
  'panic-window-percentage': '10.0',
  'panic-threshold-percentage': '200.0',
  'max-scale-up-rate': '1000.0',
  'max-scale-down-rate': '2.0',
  'enable-scale-to-zero': 'true',
  'scale-to-zero-grace-period': '30s',
  'scale-to-zero-pod-retention-period': '0s',
  'scale-down-delay': '0s',
  'pod-autoscaler-class': 'kpa.autoscaling.knative.dev',
  'activator-capacity': '100.0',
  'initial-scale': '1',
  'allow-zero-initial-scale': 'false',
  'min-scale': '0',
  'max-scale': '0',
  'max-scale-limit': '0',
};

describe('DEFAULT_AUTOSCALER_CONFIG', () => {
  it('matches the reference table, field by field', () => {
    expect(DEFAULT_AUTOSCALER_CONFIG).toEqual({
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
      podAutoscalerClass: 'kpa.autoscaling.knative.dev',
      activatorCapacity: 100,
      initialScale: 1,
      allowZeroInitialScale: false,
      minScale: 0,
      maxScale: 0,
      maxScaleLimit: 0,
    });
  });

  it('is what the reference ConfigMap (every key spelt out) parses to', () => {
    const { config, issues } = parseAutoscalerConfigMap(REFERENCE_DEFAULTS);
    expect(issues).toEqual([]);
    expect(config).toEqual(DEFAULT_AUTOSCALER_CONFIG);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(DEFAULT_AUTOSCALER_CONFIG)).toBe(true);
  });
});

describe('parseAutoscalerConfigMap', () => {
  const ok: { label: string; input: Record<string, string>; want: Partial<AutoscalerConfig> }[] = [
    { label: 'empty map gives defaults', input: {}, want: {} },
    { label: '_example and unknown keys are ignored', input: { _example: 'stable-window: 1s', 'no-such-key': 'x' }, want: {} },
    { label: 'percentage ≤1 is a fraction', input: { 'container-concurrency-target-percentage': '0.5' }, want: { containerConcurrencyTargetPercentage: 50 } },
    { label: 'percentage 100', input: { 'container-concurrency-target-percentage': '100' }, want: { containerConcurrencyTargetPercentage: 100 } },
    { label: 'stable-window 6s (lower bound)', input: { 'stable-window': '6s' }, want: { stableWindowMs: 6000 } },
    { label: 'stable-window 1h (upper bound)', input: { 'stable-window': '1h' }, want: { stableWindowMs: 3_600_000 } },
    { label: 'Go durations', input: { 'scale-to-zero-grace-period': '1m30s', 'scale-down-delay': '2m' }, want: { scaleToZeroGracePeriodMs: 90_000, scaleDownDelayMs: 120_000 } },
    { label: 'tbc -1 is unlimited', input: { 'target-burst-capacity': '-1' }, want: { targetBurstCapacity: -1 } },
    { label: 'tbc 0', input: { 'target-burst-capacity': '0' }, want: { targetBurstCapacity: 0 } },
    { label: 'Go bools', input: { 'enable-scale-to-zero': 'F', 'allow-zero-initial-scale': 'TRUE' }, want: { enableScaleToZero: false, allowZeroInitialScale: true } },
    { label: 'initial-scale 0 allowed', input: { 'initial-scale': '0', 'allow-zero-initial-scale': 'true' }, want: { initialScale: 0, allowZeroInitialScale: true } },
    { label: 'max-scale within limit', input: { 'max-scale': '5', 'max-scale-limit': '10' }, want: { maxScale: 5, maxScaleLimit: 10 } },
    { label: 'min-scale ≤ max-scale', input: { 'min-scale': '2', 'max-scale': '2' }, want: { minScale: 2, maxScale: 2 } },
    { label: 'hpa class', input: { 'pod-autoscaler-class': 'hpa.autoscaling.knative.dev' }, want: { podAutoscalerClass: 'hpa.autoscaling.knative.dev' } },
    { label: 'panic threshold 110', input: { 'panic-threshold-percentage': '110' }, want: { panicThresholdPercentage: 110 } },
    { label: 'rates just above 1', input: { 'max-scale-up-rate': '1.1', 'max-scale-down-rate': '1.5' }, want: { maxScaleUpRate: 1.1, maxScaleDownRate: 1.5 } },
  ];
  it.each(ok)('$label', ({ input, want }) => {
    const { config, issues } = parseAutoscalerConfigMap(input);
    expect(issues).toEqual([]);
    expect(config).toEqual({ ...DEFAULT_AUTOSCALER_CONFIG, ...want });
  });

  // Each bad value is reported at data.<key>, names the allowed range, and
  // the key falls back to its default.
  const bad: { label: string; input: Record<string, string>; key: string; range: RegExp }[] = [
    { label: 'not a number', input: { 'max-scale-up-rate': 'fast' }, key: 'max-scale-up-rate', range: /a number/ },
    { label: 'not an int', input: { 'initial-scale': '1.5' }, key: 'initial-scale', range: /integer/ },
    { label: 'not a bool', input: { 'enable-scale-to-zero': 'yes' }, key: 'enable-scale-to-zero', range: /true or false/ },
    { label: 'not a duration', input: { 'stable-window': 'soon' }, key: 'stable-window', range: /duration/ },
    { label: 'grace 0', input: { 'scale-to-zero-grace-period': '0s' }, key: 'scale-to-zero-grace-period', range: /positive/ },
    { label: 'negative delay', input: { 'scale-down-delay': '-1s' }, key: 'scale-down-delay', range: /≥0s/ },
    { label: 'sub-second delay', input: { 'scale-down-delay': '1500ms' }, key: 'scale-down-delay', range: /whole seconds/ },
    { label: 'negative retention', input: { 'scale-to-zero-pod-retention-period': '-5s' }, key: 'scale-to-zero-pod-retention-period', range: /≥0s/ },
    { label: 'tbc -2', input: { 'target-burst-capacity': '-2' }, key: 'target-burst-capacity', range: /-1 for unlimited/ },
    { label: 'percentage 0', input: { 'container-concurrency-target-percentage': '0' }, key: 'container-concurrency-target-percentage', range: /\(0, 100\]/ },
    { label: 'percentage 101', input: { 'container-concurrency-target-percentage': '101' }, key: 'container-concurrency-target-percentage', range: /\(0, 100\]/ },
    { label: 'default × pct < 0.01', input: { 'container-concurrency-target-default': '0.01' }, key: 'container-concurrency-target-default', range: /≥0.01/ },
    { label: 'rps target < 0.01', input: { 'requests-per-second-target-default': '0.001' }, key: 'requests-per-second-target-default', range: /≥0.01/ },
    { label: 'activator capacity < 1', input: { 'activator-capacity': '0.5' }, key: 'activator-capacity', range: /≥1/ },
    { label: 'scale up rate 1', input: { 'max-scale-up-rate': '1' }, key: 'max-scale-up-rate', range: />1/ },
    { label: 'scale down rate 1', input: { 'max-scale-down-rate': '1.0' }, key: 'max-scale-down-rate', range: />1/ },
    { label: 'stable-window 5s', input: { 'stable-window': '5s' }, key: 'stable-window', range: /\[6s, 1h\]/ },
    { label: 'stable-window 61m', input: { 'stable-window': '61m' }, key: 'stable-window', range: /\[6s, 1h\]/ },
    { label: 'stable-window 6.5s', input: { 'stable-window': '6500ms' }, key: 'stable-window', range: /whole seconds/ },
    { label: 'panic window pct 0.5', input: { 'panic-window-percentage': '0.5' }, key: 'panic-window-percentage', range: /\[1, 100\]/ },
    { label: 'panic window pct 101', input: { 'panic-window-percentage': '101' }, key: 'panic-window-percentage', range: /\[1, 100\]/ },
    { label: 'panic threshold 100', input: { 'panic-threshold-percentage': '100' }, key: 'panic-threshold-percentage', range: /\[110, 1000\]/ },
    { label: 'panic threshold 1001', input: { 'panic-threshold-percentage': '1001' }, key: 'panic-threshold-percentage', range: /\[110, 1000\]/ },
    { label: 'unknown class', input: { 'pod-autoscaler-class': 'foo.autoscaling.knative.dev' }, key: 'pod-autoscaler-class', range: /kpa\.autoscaling.*hpa\.autoscaling/ },
    { label: 'initial-scale 0 not allowed', input: { 'initial-scale': '0' }, key: 'initial-scale', range: /≥1/ },
    { label: 'initial-scale negative', input: { 'initial-scale': '-1', 'allow-zero-initial-scale': 'true' }, key: 'initial-scale', range: /≥0/ },
    { label: 'max-scale-limit negative', input: { 'max-scale-limit': '-1' }, key: 'max-scale-limit', range: /≥0/ },
    { label: 'max-scale required with a limit', input: { 'max-scale-limit': '10' }, key: 'max-scale', range: /\[1, 10\]/ },
    { label: 'max-scale over the limit', input: { 'max-scale': '11', 'max-scale-limit': '10' }, key: 'max-scale', range: /\[1, 10\]/ },
    { label: 'min-scale over max-scale', input: { 'min-scale': '3', 'max-scale': '2' }, key: 'min-scale', range: /\[0, max-scale\(2\)\]/ },
    { label: 'min-scale negative', input: { 'min-scale': '-1' }, key: 'min-scale', range: /\[0,/ },
  ];
  it.each(bad)('$label', ({ input, key, range }) => {
    const { config, issues } = parseAutoscalerConfigMap(input);
    expect(issues.map((i) => i.path)).toContain(`data.${key}`);
    const issue = issues.find((i) => i.path === `data.${key}`)!;
    expect(issue.message).toMatch(range);
    const field = Object.keys(DEFAULT_AUTOSCALER_CONFIG).find(
      (f) => f.toLowerCase() === key.replace(/-/g, '').toLowerCase() || f.toLowerCase() === `${key.replace(/-/g, '')}ms`.toLowerCase(),
    ) as keyof AutoscalerConfig;
    expect(field).toBeDefined();
    expect(config[field]).toBe(DEFAULT_AUTOSCALER_CONFIG[field]);
  });

  it('returns a frozen config', () => {
    expect(Object.isFrozen(parseAutoscalerConfigMap({ 'stable-window': '30s' }).config)).toBe(true);
  });
});

describe('validateAutoscalingAnnotations', () => {
  const P = 'spec.template.metadata.annotations';
  const A = (name: string) => `autoscaling.knative.dev/${name}`;
  const path = (name: string) => `${P}["${A(name)}"]`;

  const valid: { label: string; input: Record<string, string>; config?: Partial<AutoscalerConfig> }[] = [
    { label: 'none', input: {} },
    { label: 'unrelated and unknown autoscaling keys', input: { 'example.com/x': 'y', [A('no-such-thing')]: 'z' } },
    { label: 'min/max scale', input: { [A('min-scale')]: '1', [A('max-scale')]: '3' } },
    { label: 'camelCase aliases', input: { [A('minScale')]: '1', [A('maxScale')]: '3', [A('initialScale')]: '2', [A('targetUtilizationPercentage')]: '80', [A('targetBurstCapacity')]: '-1', [A('panicWindowPercentage')]: '20', [A('panicThresholdPercentage')]: '300', [A('scaleDownDelay')]: '10s', [A('scaleToZeroPodRetentionPeriod')]: '1m' } },
    { label: 'max 0 is unlimited, so min may exceed it', input: { [A('min-scale')]: '5', [A('max-scale')]: '0' } },
    { label: 'target at its minimum', input: { [A('target')]: '0.01' } },
    { label: 'utilization bounds', input: { [A('target-utilization-percentage')]: '1' } },
    { label: 'utilization 100', input: { [A('target-utilization-percentage')]: '100' } },
    { label: 'window bounds', input: { [A('window')]: '6s' } },
    { label: 'window 1h', input: { [A('window')]: '1h' } },
    { label: 'panic window pct bounds', input: { [A('panic-window-percentage')]: '1', [A('panic-threshold-percentage')]: '1000' } },
    { label: 'panic threshold 110', input: { [A('panic-threshold-percentage')]: '110' } },
    { label: 'scale-down-delay 0s and 1h', input: { [A('scale-down-delay')]: '1h' } },
    { label: 'activation-scale within bounds', input: { [A('activation-scale')]: '3', [A('min-scale')]: '1', [A('max-scale')]: '5' } },
    { label: 'metric rps', input: { [A('metric')]: 'rps' } },
    { label: 'hpa with cpu', input: { [A('class')]: 'hpa.autoscaling.knative.dev', [A('metric')]: 'cpu' } },
    { label: 'initial-scale 0 when allowed', input: { [A('initial-scale')]: '0' }, config: { allowZeroInitialScale: true } },
    { label: 'max-scale within limit', input: { [A('max-scale')]: '10' }, config: { maxScaleLimit: 10, maxScale: 1 } },
    { label: 'algorithm', input: { [A('metric-aggregation-algorithm')]: 'weighted-exponential' } },
  ];
  it.each(valid)('accepts $label', ({ input, config }) => {
    expect(validateAutoscalingAnnotations(input, P, { ...DEFAULT_AUTOSCALER_CONFIG, ...config })).toEqual([]);
  });

  it('accepts undefined annotations', () => {
    expect(validateAutoscalingAnnotations(undefined, P)).toEqual([]);
  });

  const invalid: { label: string; input: Record<string, string>; config?: Partial<AutoscalerConfig>; want: { path: string; msg: RegExp }[] }[] = [
    { label: 'min-scale negative', input: { [A('min-scale')]: '-1' }, want: [{ path: path('min-scale'), msg: /\[0, 2147483647\]/ }] },
    { label: 'min-scale not an int', input: { [A('min-scale')]: '1.5' }, want: [{ path: path('min-scale'), msg: /integer/ }] },
    { label: 'minScale alias reports its own key', input: { [A('minScale')]: 'x' }, want: [{ path: path('minScale'), msg: /integer/ }] },
    { label: 'max-scale negative', input: { [A('max-scale')]: '-3' }, want: [{ path: path('max-scale'), msg: /\[0, / }] },
    { label: 'max < min', input: { [A('min-scale')]: '4', [A('max-scale')]: '2' }, want: [{ path: path('max-scale'), msg: /max-scale=2 is less than min-scale=4/ }] },
    { label: 'max over max-scale-limit', input: { [A('max-scale')]: '11' }, config: { maxScaleLimit: 10, maxScale: 1 }, want: [{ path: path('max-scale'), msg: /\[1, 10\]/ }] },
    { label: 'max 0 with a limit', input: { [A('max-scale')]: '0' }, config: { maxScaleLimit: 10, maxScale: 1 }, want: [{ path: path('max-scale'), msg: /\[1, 10\]/ }] },
    { label: 'target below 0.01', input: { [A('target')]: '0.001' }, want: [{ path: path('target'), msg: /≥0.01/ }] },
    { label: 'target not a number', input: { [A('target')]: 'ten' }, want: [{ path: path('target'), msg: /number/ }] },
    { label: 'utilization 0', input: { [A('target-utilization-percentage')]: '0.5' }, want: [{ path: path('target-utilization-percentage'), msg: /\[1, 100\]/ }] },
    { label: 'utilization 101', input: { [A('targetUtilizationPercentage')]: '101' }, want: [{ path: path('targetUtilizationPercentage'), msg: /\[1, 100\]/ }] },
    { label: 'tbc -2', input: { [A('target-burst-capacity')]: '-2' }, want: [{ path: path('target-burst-capacity'), msg: /-1 for unlimited/ }] },
    { label: 'window 5s', input: { [A('window')]: '5s' }, want: [{ path: path('window'), msg: /\[6s, 1h\]/ }] },
    { label: 'window 2h', input: { [A('window')]: '2h' }, want: [{ path: path('window'), msg: /\[6s, 1h\]/ }] },
    { label: 'window fractional', input: { [A('window')]: '6500ms' }, want: [{ path: path('window'), msg: /whole seconds/ }] },
    { label: 'window junk', input: { [A('window')]: 'long' }, want: [{ path: path('window'), msg: /duration/ }] },
    { label: 'panic window pct 0', input: { [A('panic-window-percentage')]: '0' }, want: [{ path: path('panic-window-percentage'), msg: /\[1, 100\]/ }] },
    { label: 'panic window pct 101', input: { [A('panic-window-percentage')]: '101' }, want: [{ path: path('panic-window-percentage'), msg: /\[1, 100\]/ }] },
    { label: 'panic threshold 109', input: { [A('panic-threshold-percentage')]: '109' }, want: [{ path: path('panic-threshold-percentage'), msg: /\[110, 1000\]/ }] },
    { label: 'panic threshold 1001', input: { [A('panicThresholdPercentage')]: '1001' }, want: [{ path: path('panicThresholdPercentage'), msg: /\[110, 1000\]/ }] },
    { label: 'scale-down-delay over 1h', input: { [A('scale-down-delay')]: '61m' }, want: [{ path: path('scale-down-delay'), msg: /\[0s, 1h\]/ }] },
    { label: 'scale-down-delay negative', input: { [A('scale-down-delay')]: '-1s' }, want: [{ path: path('scale-down-delay'), msg: /\[0s, 1h\]/ }] },
    { label: 'scale-down-delay fractional', input: { [A('scale-down-delay')]: '1.5s' }, want: [{ path: path('scale-down-delay'), msg: /whole seconds/ }] },
    { label: 'retention over 1h', input: { [A('scale-to-zero-pod-retention-period')]: '2h' }, want: [{ path: path('scale-to-zero-pod-retention-period'), msg: /\[0s, 1h\]/ }] },
    { label: 'activation-scale 1', input: { [A('activation-scale')]: '1' }, want: [{ path: path('activation-scale'), msg: /≥2/ }] },
    { label: 'activation-scale below min', input: { [A('activation-scale')]: '2', [A('min-scale')]: '3' }, want: [{ path: path('activation-scale'), msg: /min-scale=3 is greater than activation-scale=2/ }] },
    { label: 'activation-scale above max', input: { [A('activation-scale')]: '6', [A('max-scale')]: '5' }, want: [{ path: path('activation-scale'), msg: /max-scale=5 is less than activation-scale=6/ }] },
    { label: 'metric cpu on kpa', input: { [A('metric')]: 'cpu' }, want: [{ path: path('metric'), msg: /concurrency or rps/ }] },
    { label: 'class unknown', input: { [A('class')]: 'kpa' }, want: [{ path: path('class'), msg: /kpa\.autoscaling\.knative\.dev or hpa/ }] },
    { label: 'algorithm unknown', input: { [A('metric-aggregation-algorithm')]: 'median' }, want: [{ path: path('metric-aggregation-algorithm'), msg: /linear or weighted-exponential/ }] },
    { label: 'initial-scale 0 not allowed', input: { [A('initial-scale')]: '0' }, want: [{ path: path('initial-scale'), msg: /allow-zero-initial-scale/ }] },
    { label: 'initial-scale negative', input: { [A('initialScale')]: '-2' }, want: [{ path: path('initialScale'), msg: /≥0/ }] },
    {
      label: 'several at once',
      input: { [A('min-scale')]: '-1', [A('window')]: '1s', [A('metric')]: 'bogus' },
      want: [
        { path: path('min-scale'), msg: /\[0,/ },
        { path: path('window'), msg: /\[6s, 1h\]/ },
        { path: path('metric'), msg: /concurrency or rps/ },
      ],
    },
  ];
  it.each(invalid)('rejects $label', ({ input, config, want }) => {
    const got = validateAutoscalingAnnotations(input, P, { ...DEFAULT_AUTOSCALER_CONFIG, ...config });
    expect(got.map((i) => i.path)).toEqual(want.map((w) => w.path));
    got.forEach((issue, i) => expect(issue.message).toMatch(want[i]!.msg));
  });
});

describe('resolveRevisionScaling', () => {
  const A = (name: string) => `autoscaling.knative.dev/${name}`;
  const D = DEFAULT_AUTOSCALER_CONFIG;
  const cases: { label: string; input: { annotations?: Record<string, string>; cc: number; config?: Partial<AutoscalerConfig> }; want: Record<string, unknown> }[] = [
    { label: 'defaults, CC=0: 100 × 0.7 = 70 per pod', input: { cc: 0 }, want: { metric: 'concurrency', totalValue: 100, targetValue: 70, targetUtilization: 0.7, panicWindowMs: 6000, panicThreshold: 2, stableWindowMs: 60_000, targetBurstCapacity: 211, minScale: 0, maxScale: 0, initialScale: 1, activationScale: 1 } },
    { label: 'CC=10: total 10, target 7', input: { cc: 10 }, want: { totalValue: 10, targetValue: 7 } },
    { label: 'annotation target overrides default', input: { cc: 0, annotations: { [A('target')]: '50' } }, want: { totalValue: 50, targetValue: 35 } },
    { label: 'annotation target capped at CC', input: { cc: 10, annotations: { [A('target')]: '50' } }, want: { totalValue: 10, targetValue: 7 } },
    { label: 'annotation target below CC', input: { cc: 10, annotations: { [A('target')]: '4', [A('target-utilization-percentage')]: '50' } }, want: { totalValue: 4, targetValue: 2 } },
    { label: 'rps: 200 × 0.7 = 140', input: { cc: 10, annotations: { [A('metric')]: 'rps' } }, want: { metric: 'rps', totalValue: 200, targetValue: 140 } },
    { label: 'rps target not capped at CC', input: { cc: 10, annotations: { [A('metric')]: 'rps', [A('target')]: '50' } }, want: { totalValue: 50, targetValue: 35 } },
    { label: 'target floored at 0.01', input: { cc: 0, annotations: { [A('target')]: '0.01' } }, want: { targetValue: 0.01 } },
    { label: 'window and panic percentage', input: { cc: 0, annotations: { [A('window')]: '30s', [A('panic-window-percentage')]: '50', [A('panic-threshold-percentage')]: '150' } }, want: { stableWindowMs: 30_000, panicWindowMs: 15_000, panicThreshold: 1.5 } },
    { label: 'panic window at least 1s', input: { cc: 0, annotations: { [A('window')]: '6s', [A('panic-window-percentage')]: '1' } }, want: { panicWindowMs: 1000 } },
    { label: 'aliases', input: { cc: 0, annotations: { [A('minScale')]: '2', [A('maxScale')]: '4', [A('initialScale')]: '3', [A('scaleDownDelay')]: '10s', [A('targetBurstCapacity')]: '-1' } }, want: { minScale: 2, maxScale: 4, initialScale: 3, scaleDownDelayMs: 10_000, targetBurstCapacity: -1 } },
    { label: 'kebab wins over alias', input: { cc: 0, annotations: { [A('min-scale')]: '1', [A('minScale')]: '5' } }, want: { minScale: 1 } },
    { label: 'config bounds apply without annotations', input: { cc: 0, config: { minScale: 1, maxScale: 9, initialScale: 2, enableScaleToZero: false } }, want: { minScale: 1, maxScale: 9, initialScale: 2, enableScaleToZero: false } },
    { label: 'activation scale and retention', input: { cc: 0, annotations: { [A('activation-scale')]: '3', [A('scale-to-zero-pod-retention-period')]: '1m' } }, want: { activationScale: 3, scaleToZeroPodRetentionPeriodMs: 60_000, scaleToZeroGracePeriodMs: 30_000 } },
    { label: 'invalid annotation falls back to config', input: { cc: 0, annotations: { [A('window')]: '1s', [A('min-scale')]: '-1' } }, want: { stableWindowMs: 60_000, minScale: 0 } },
    { label: 'initial-scale 0 ignored unless allowed', input: { cc: 0, annotations: { [A('initial-scale')]: '0' } }, want: { initialScale: 1 } },
    { label: 'initial-scale 0 when allowed', input: { cc: 0, annotations: { [A('initial-scale')]: '0' }, config: { allowZeroInitialScale: true } }, want: { initialScale: 0 } },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    const got = resolveRevisionScaling({ ...D, ...input.config }, input.annotations, input.cc);
    expect(got).toMatchObject(want);
  });

  it('panic window: 60s × 10% = 6s, rounds to whole seconds', () => {
    expect(panicWindowMs(60_000, 10)).toBe(6000);
    expect(panicWindowMs(61_000, 10)).toBe(6000);
    expect(panicWindowMs(65_000, 10)).toBe(7000);
    expect(panicWindowMs(6000, 1)).toBe(1000);
  });
});
