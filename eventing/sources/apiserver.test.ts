import { describe, expect, it } from 'vitest';
import { apiServerEvent, apiServerEventType, guessPlural, normalizeApiServerSource, ownerMatches, selectorString, subjectOf, validateApiServerSource } from './apiserver.js';

describe('ApiServerSource event shape (knative/eventing pkg/adapter/apiserver/events)', () => {
  it.each([
    ['Reference', 'add', 'dev.knative.apiserver.ref.add'],
    ['Reference', 'update', 'dev.knative.apiserver.ref.update'],
    ['Reference', 'delete', 'dev.knative.apiserver.ref.delete'],
    ['Resource', 'add', 'dev.knative.apiserver.resource.add'],
    ['Resource', 'update', 'dev.knative.apiserver.resource.update'],
    ['Resource', 'delete', 'dev.knative.apiserver.resource.delete'],
  ] as const)('%s %s → %s', (mode, op, want) => expect(apiServerEventType(mode, op)).toBe(want));

  it.each([
    ['Pod', 'pods'],
    ['ConfigMap', 'configmaps'],
    ['Ingress', 'ingresses'],
    ['NetworkPolicy', 'networkpolicies'],
    ['Endpoints', 'endpointses'],
    ['', ''],
  ])('guessPlural(%s) = %s (client-go UnsafeGuessKindToResource)', (kind, want) => expect(guessPlural(kind)).toBe(want));

  it.each([
    [{ apiVersion: 'v1', kind: 'Pod', namespace: 'ns', name: 'p' }, '/apis/v1/namespaces/ns/pods/p'],
    [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'ns', name: 'd' }, '/apis/apps/v1/namespaces/ns/deployments/d'],
    // createSelfLink's quirk: a group without a version.
    [{ apiVersion: 'example.com', kind: 'Widget', namespace: 'ns', name: 'w' }, '/apis/example.com/versionUnknown/namespaces/ns/widgets/w'],
    [{ apiVersion: 'v1', kind: 'Namespace', namespace: '', name: 'x' }, '/apis/v1/namespaces//namespaces/x'],
  ])('subjectOf(%o) = %s', (o, want) => expect(subjectOf(o)).toBe(want));

  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns', resourceVersion: '7' }, data: { a: 'b' } };
  it('Reference mode: the object reference as JSON data, extensions kind/apiversion/name/namespace', () => {
    const e = apiServerEvent({ source: 'https://10.0.0.1:443', mode: 'Reference', op: 'update', obj: cm, resource: { apiVersion: 'v1', kind: 'ConfigMap' }, id: 'id-1', timeIso: '2026-01-01T00:00:00.000Z' });
    expect(e.toJSON()).toMatchObject({
      specversion: '1.0',
      id: 'id-1',
      type: 'dev.knative.apiserver.ref.update',
      source: 'https://10.0.0.1:443',
      subject: '/apis/v1/namespaces/ns/configmaps/c',
      datacontenttype: 'application/json',
      kind: 'ConfigMap',
      apiversion: 'v1',
      name: 'c',
      namespace: 'ns',
      data: { kind: 'ConfigMap', namespace: 'ns', name: 'c', apiVersion: 'v1' },
    });
  });

  it('Resource mode: the whole object; kind and apiVersion filled from the watched resource; ceOverrides extensions added', () => {
    const { apiVersion: _a, kind: _k, ...bare } = cm;
    const e = apiServerEvent({ source: 's', mode: 'Resource', op: 'add', obj: bare, resource: { apiVersion: 'v1', kind: 'ConfigMap' }, id: 'i', timeIso: '2026-01-01T00:00:00.000Z', extensions: { team: 'a' } });
    expect(e.type).toBe('dev.knative.apiserver.resource.add');
    expect(e.data).toEqual(cm);
    expect(e.team).toBe('a');
  });

  it.each([
    ['no owner filter', undefined, [], true],
    ['matching controller', { apiVersion: 'apps/v1', kind: 'ReplicaSet' }, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet' }], true],
    ['another kind', { apiVersion: 'apps/v1', kind: 'ReplicaSet' }, [{ apiVersion: 'apps/v1', kind: 'Deployment' }], false],
    ['another version', { apiVersion: 'apps/v1', kind: 'ReplicaSet' }, [{ apiVersion: 'apps/v1beta1', kind: 'ReplicaSet' }], false],
    ['no owners at all', { apiVersion: 'apps/v1', kind: 'ReplicaSet' }, [], false],
    ['kind only', { kind: 'Job' }, [{ apiVersion: 'batch/v1', kind: 'Job' }], true],
  ])('ownerMatches: %s', (_l, owner, refs, want) => {
    expect(ownerMatches({ metadata: { ownerReferences: refs } }, owner)).toBe(want);
  });

  it.each([
    [undefined, undefined],
    [{}, undefined],
    [{ matchLabels: { app: 'x', tier: 'web' } }, 'app=x,tier=web'],
    [{ matchExpressions: [{ key: 'env', operator: 'In' as const, values: ['a', 'b'] }, { key: 'x', operator: 'Exists' as const }, { key: 'y', operator: 'DoesNotExist' as const }, { key: 'z', operator: 'NotIn' as const, values: ['q'] }] }, 'env in (a,b),x,!y,z notin (q)'],
  ])('selectorString(%o) = %s', (sel, want) => expect(selectorString(sel)).toBe(want));
});

describe('validateApiServerSource', () => {
  const base = () => ({
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    metadata: { name: 'watch', namespace: 'default' },
    spec: { mode: 'Reference', resources: [{ apiVersion: 'v1', kind: 'ConfigMap', selector: { matchLabels: { app: 'x' } } }], sink: { uri: 'http://example.com/' } } as Record<string, unknown>,
  });
  it('accepts a valid source, and normalize defaults mode to Reference', () => {
    expect(validateApiServerSource(base())).toEqual([]);
    const o = base();
    delete o.spec.mode;
    expect(validateApiServerSource(o)).toEqual([]);
    expect(normalizeApiServerSource(o as never).spec).toMatchObject({ mode: 'Reference' });
  });
  it.each<[string, (s: Record<string, unknown>) => void, string]>([
    ['a bad mode', (s) => (s.mode = 'Ref'), 'spec.mode'],
    ['no resources', (s) => delete s.resources, 'spec.resources'],
    ['empty resources', (s) => (s.resources = []), 'spec.resources'],
    ['a resource without kind', (s) => (s.resources = [{ apiVersion: 'v1' }]), 'spec.resources[0].kind'],
    ['a bad apiVersion', (s) => (s.resources = [{ apiVersion: 'apps/v1/x', kind: 'Deployment' }]), 'spec.resources[0].apiVersion'],
    ['a bad selector operator', (s) => (s.resources = [{ apiVersion: 'v1', kind: 'Pod', selector: { matchExpressions: [{ key: 'a', operator: 'Has' }] } }]), 'spec.resources[0].selector.matchExpressions[0].operator'],
    ['an unknown resource field', (s) => (s.resources = [{ apiVersion: 'v1', kind: 'Pod', labelSelector: 'a=b' }]), 'spec.resources[0].labelSelector'],
    ['no sink', (s) => delete s.sink, 'spec.sink'],
    ['namespaceSelector (not supported)', (s) => (s.namespaceSelector = { matchLabels: { a: 'b' } }), 'spec.namespaceSelector'],
    ['filters (not supported)', (s) => (s.filters = [{ exact: { type: 'x' } }]), 'spec.filters'],
    ['an unknown spec field', (s) => (s.resource = []), 'spec.resource'],
  ])('refuses %s', (_l, mutate, path) => {
    const o = base();
    mutate(o.spec);
    expect(validateApiServerSource(o).map((i) => i.path)).toContain(path);
  });
});

describe('ApiServerSource is an applyable kind', () => {
  it('the admin API and zeno apply validate and default it (controller/resource-kinds.ts)', async () => {
    const { ALL_KINDS, GENERIC_KINDS } = await import('../../controller/resource-kinds.js');
    const { validateObject } = await import('../../controller/validation/index.js');
    const { DEFAULT_DEFAULTS_CONFIG } = await import('../../core/config/defaults.js');
    const { DEFAULT_AUTOSCALER_CONFIG } = await import('../../core/config/autoscaler.js');
    const ctx = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };
    const obj = { apiVersion: 'sources.knative.dev/v1', kind: 'ApiServerSource', metadata: { name: 'a', namespace: 'default' }, spec: { resources: [{ apiVersion: 'v1', kind: 'Pod' }], sink: { uri: 'http://x.example/' } } };
    expect(validateObject(obj, ctx, ALL_KINDS)).toEqual([]);
    expect(validateObject({ ...obj, spec: { ...obj.spec, mode: 'Everything' } }, ctx, ALL_KINDS).map((i) => i.path)).toEqual(['spec.mode']);
    const kind = GENERIC_KINDS.find((k) => k.kind === 'ApiServerSource')!;
    expect(kind.plural).toBe('apiserversources');
    expect(kind.normalize!(obj as never, {} as never).spec).toMatchObject({ mode: 'Reference' });
  });
});
