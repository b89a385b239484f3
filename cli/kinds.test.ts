import { describe, expect, it } from 'vitest';
import { KINDS, kindOf, objectRef, resolveKind, resourcePath } from './kinds.js';

describe('resolveKind', () => {
  const cases: { label: string; input: string; want: string | undefined }[] = [
    ...['services', 'service', 'svc', 'ksvc', 'kservice', 'Service', 'KSVC', 'services.serving.knative.dev', 'service.serving.knative.dev'].map((input) => ({ label: input, input, want: 'Service' })),
    ...['revisions', 'revision', 'rev', 'Revision'].map((input) => ({ label: input, input, want: 'Revision' })),
    ...['configurations', 'configuration', 'config', 'cfg'].map((input) => ({ label: input, input, want: 'Configuration' })),
    ...['routes', 'route', 'rt'].map((input) => ({ label: input, input, want: 'Route' })),
    ...['configmaps', 'configmap', 'cm', 'ConfigMap'].map((input) => ({ label: input, input, want: 'ConfigMap' })),
    { label: 'unknown', input: 'pods', want: undefined },
    { label: 'core group has no qualified form', input: 'configmaps.', want: undefined },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(resolveKind(input)?.kind).toBe(want);
  });

  it('gives no two kinds the same name', () => {
    const names = KINDS.flatMap((k) => [k.plural, k.singular, ...k.shortNames]);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('resourcePath (docs/admin-api.md)', () => {
  const svc = resolveKind('ksvc')!;
  const cm = resolveKind('cm')!;
  const cases: { label: string; input: [typeof svc, string | undefined, string | undefined]; want: string }[] = [
    { label: 'one service', input: [svc, 'default', 'hello'], want: '/apis/serving.knative.dev/v1/namespaces/default/services/hello' },
    { label: 'services in a namespace', input: [svc, 'team-a', undefined], want: '/apis/serving.knative.dev/v1/namespaces/team-a/services' },
    { label: 'services in all namespaces', input: [svc, undefined, undefined], want: '/apis/serving.knative.dev/v1/services' },
    { label: 'a configmap (core group)', input: [cm, 'knative-serving', 'config-autoscaler'], want: '/api/v1/namespaces/knative-serving/configmaps/config-autoscaler' },
    { label: 'names are escaped', input: [svc, 'a b', 'x/y'], want: '/apis/serving.knative.dev/v1/namespaces/a%20b/services/x%2Fy' },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(resourcePath(...input)).toBe(want);
  });
});

describe('objectRef and kindOf', () => {
  it('names objects the kubectl way', () => {
    expect(objectRef('serving.knative.dev/v1', 'Service', 'hello')).toBe('service.serving.knative.dev/hello');
    expect(objectRef('v1', 'ConfigMap', 'config-autoscaler')).toBe('configmap/config-autoscaler');
    expect(objectRef('eventing.knative.dev/v1', 'Broker', 'default')).toBe('broker.eventing.knative.dev/default');
  });

  it('finds a kind by apiVersion and kind, not by kind alone', () => {
    expect(kindOf({ apiVersion: 'serving.knative.dev/v1', kind: 'Service' })?.plural).toBe('services');
    expect(kindOf({ apiVersion: 'v1', kind: 'Service' })).toBeUndefined();
    expect(kindOf({ apiVersion: 'v1', kind: 'ConfigMap' })?.defaultNamespace).toBe('knative-serving');
  });
});
