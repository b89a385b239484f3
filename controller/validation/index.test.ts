import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../../core/config/defaults.js';
import type { KindValidator, ValidationContext } from './index.js';
import { BUILTIN_KINDS, defaultService, validateObject } from './index.js';

const ctx: ValidationContext = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };
const svc = () => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello' },
  spec: { template: { spec: { containers: [{ command: ['node', 'server.js'] }] } } },
});

describe('validateObject', () => {
  const table: { label: string; input: unknown; want: string[]; message?: RegExp }[] = [
    { label: 'valid Service', input: svc(), want: [] },
    { label: 'Service dispatches to its rules', input: { ...svc(), metadata: { name: 'Hello' } }, want: ['metadata.name'] },
    { label: 'ConfigMap dispatches to its rules', input: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-x' } }, want: ['metadata.name'] },
    { label: 'not a mapping', input: ['a'], want: [''] },
    { label: 'missing apiVersion and kind', input: { metadata: { name: 'a' } }, want: ['apiVersion', 'kind'] },
    { label: 'unknown kind', input: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a' } }, want: ['kind'], message: /Zeno understands: Service \(serving\.knative\.dev\/v1\), ConfigMap \(v1\)/ },
    { label: 'known kind, wrong version', input: { ...svc(), apiVersion: 'serving.knative.dev/v1alpha1' }, want: ['apiVersion'], message: /served at serving\.knative\.dev\/v1/ },
  ];
  it.each(table)('$label', ({ input, want, message }) => {
    const issues = validateObject(input, ctx);
    expect(issues.map((i) => i.path)).toEqual(want);
    if (message) expect(issues[0]!.message).toMatch(message);
  });

  it('takes extra kinds from other modules', () => {
    const broker: KindValidator = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', validate: () => [{ path: 'spec', message: 'checked' }] };
    const obj = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default' } };
    expect(validateObject(obj, ctx).map((i) => i.path)).toEqual(['kind']);
    expect(validateObject(obj, ctx, [...BUILTIN_KINDS, broker])).toEqual([{ path: 'spec', message: 'checked' }]);
  });
});

describe('defaultService', () => {
  it('applies Knative defaults without touching the input', () => {
    const input = svc();
    const before = structuredClone(input);
    const got = defaultService(input, DEFAULT_DEFAULTS_CONFIG);
    expect(input).toEqual(before);
    expect(got.metadata.namespace).toBe('default');
    expect(got.spec!.template.spec).toEqual({
      timeoutSeconds: 300,
      containerConcurrency: 0,
      containers: [{ name: 'user-container', command: ['node', 'server.js'] }],
    });
    expect(got.spec!.traffic).toEqual([{ latestRevision: true, percent: 100 }]);
  });

  it('keeps what the user set, fills latestRevision from revisionName', () => {
    const input = {
      ...svc(),
      metadata: { name: 'hello', namespace: 'team' },
      spec: {
        template: { spec: { timeoutSeconds: 30, containerConcurrency: 5, containers: [{ name: 'app', command: ['x'] }] } },
        traffic: [{ percent: 60 }, { revisionName: 'hello-00001', percent: 40 }],
      },
    };
    const got = defaultService(input, DEFAULT_DEFAULTS_CONFIG);
    expect(got.metadata.namespace).toBe('team');
    expect(got.spec!.template.spec.timeoutSeconds).toBe(30);
    expect(got.spec!.template.spec.containerConcurrency).toBe(5);
    expect(got.spec!.template.spec.containers[0]!.name).toBe('app');
    expect(got.spec!.traffic).toEqual([
      { percent: 60, latestRevision: true },
      { revisionName: 'hello-00001', percent: 40, latestRevision: false },
    ]);
  });

  it('uses config-defaults: timeout 0 is defaulted, name template sees the Service', () => {
    const input = svc();
    (input.spec.template.spec as Record<string, unknown>).timeoutSeconds = 0;
    const got = defaultService(input, { ...DEFAULT_DEFAULTS_CONFIG, revisionTimeoutSeconds: 42, containerConcurrency: 7, containerNameTemplate: '{{.Name}}-main' });
    expect(got.spec!.template.spec.timeoutSeconds).toBe(42);
    expect(got.spec!.template.spec.containerConcurrency).toBe(7);
    expect(got.spec!.template.spec.containers[0]!.name).toBe('hello-main');
  });

  it('an empty traffic list gets the default', () => {
    const got = defaultService({ ...svc(), spec: { ...svc().spec, traffic: [] } }, DEFAULT_DEFAULTS_CONFIG);
    expect(got.spec!.traffic).toEqual([{ latestRevision: true, percent: 100 }]);
  });
});
