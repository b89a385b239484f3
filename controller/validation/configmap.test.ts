import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../../core/config/defaults.js';
import type { KObject } from '../../core/types.js';
import { configsFromConfigMaps, validateConfigMap } from './configmap.js';
import { DEFAULT_GC_CONFIG } from '../../core/config/gc.js';
import { DEFAULT_BR_DEFAULTS_CONFIG } from '../../eventing/resources/br-defaults.js';

function cm(name: string, data?: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'knative-serving' }, ...(data ? { data } : {}) };
}

describe('validateConfigMap', () => {
  const table: { label: string; input: unknown; want: string[]; message?: RegExp }[] = [
    { label: 'config-defaults ok', input: cm('config-defaults', { 'revision-timeout-seconds': '120' }), want: [] },
    { label: 'config-autoscaler ok', input: cm('config-autoscaler', { 'stable-window': '30s', 'enable-scale-to-zero': 'true' }), want: [] },
    { label: 'config-domain ok', input: cm('config-domain', { 'example.com': '' }), want: [] },
    { label: 'no data', input: cm('config-defaults'), want: [] },
    { label: 'unknown name', input: cm('config-network', {}), want: ['metadata.name'], message: /config-autoscaler, config-defaults, config-domain/ },
    { label: 'number value', input: cm('config-defaults', { 'container-concurrency': 10 }), want: ['data.container-concurrency'], message: /must be a string/ },
    { label: 'defaults value out of range', input: cm('config-defaults', { 'container-concurrency': '5000' }), want: ['data.container-concurrency'] },
    { label: 'autoscaler value out of range', input: cm('config-autoscaler', { 'stable-window': '1s' }), want: ['data.stable-window'] },
    { label: 'domain invalid', input: cm('config-domain', { 'Bad_Domain': '' }), want: ['data.Bad_Domain'] },
    { label: 'wrong apiVersion', input: { ...cm('config-defaults'), apiVersion: 'v2' }, want: ['apiVersion'] },
    { label: 'binaryData', input: { ...cm('config-defaults'), binaryData: { a: 'AA==' } }, want: ['binaryData'] },
    { label: 'data not a mapping', input: { ...cm('config-defaults'), data: ['a'] }, want: ['data'] },
    { label: 'unknown field', input: { ...cm('config-defaults'), spec: {} }, want: ['spec'] },
  ];
  it.each(table)('$label', ({ input, want, message }) => {
    const issues = validateConfigMap(input);
    expect(issues.map((i) => i.path)).toEqual(want);
    if (message) expect(issues[0]!.message).toMatch(message);
  });
});

describe('configsFromConfigMaps', () => {
  it('reads the three Knative ConfigMaps', () => {
    const got = configsFromConfigMaps([
      cm('config-defaults', { 'revision-timeout-seconds': '120' }),
      cm('config-autoscaler', { 'container-concurrency-target-default': '50' }),
      cm('config-domain', { 'zeno.test': '' }),
    ] as unknown as KObject[]);
    expect(got.defaults.revisionTimeoutSeconds).toBe(120);
    expect(got.autoscaler.containerConcurrencyTargetDefault).toBe(50);
    expect(got.domain.domain).toBe('zeno.test');
  });

  it('ignores ConfigMaps with bad values and gives defaults without any', () => {
    const got = configsFromConfigMaps([cm('config-defaults', { 'revision-timeout-seconds': 'x' })] as unknown as KObject[]);
    expect(got).toEqual({ defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG, domain: { domain: 'localhost' }, gc: DEFAULT_GC_CONFIG, brDefaults: DEFAULT_BR_DEFAULTS_CONFIG });
  });

  // Found by cli/manifests.fuzz.test.ts: `metadata: null` in a ConfigMap made zeno apply throw a TypeError.
  it.each([
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: null, data: { 'revision-timeout-seconds': '120' } }],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: 'config-defaults' }],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-defaults' }, data: null }],
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-defaults' }, data: 'revision-timeout-seconds' }],
  ])('ignores a malformed ConfigMap %j instead of throwing', (obj) => {
    expect(configsFromConfigMaps([obj] as unknown as KObject[]).defaults).toEqual(DEFAULT_DEFAULTS_CONFIG);
  });
});
