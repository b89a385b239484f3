import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../core/config/defaults.js';
import type { KObject, Service } from '../core/types.js';
import { functionToService, isOwnedBy, withServiceStatus, type ZenoFunction } from './function-kind.js';
import { defaultService } from './validation/index.js';
import { validateService } from './validation/service.js';

const OPTS = { baseDir: '/srv/fns/hello', runtimeEntry: '/opt/zeno/dist/functions/node/main.js' };

function fn(spec: ZenoFunction['spec'], meta: Partial<ZenoFunction['metadata']> = {}): ZenoFunction {
  return { apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'hello', uid: 'u-1', ...meta }, spec };
}

const OWNER = [{ apiVersion: 'zeno.dev/v1', kind: 'Function', name: 'hello', uid: 'u-1', controller: true }];

describe('functionToService', () => {
  const cases: { label: string; input: ZenoFunction; want: Service }[] = [
    {
      label: 'handler → the Node runtime on the absolute handler path',
      input: fn({ handler: './hello.ts' }),
      want: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'hello', labels: { 'zeno.dev/function': 'hello' }, ownerReferences: OWNER },
        spec: { template: { spec: { containers: [{ command: ['node', OPTS.runtimeEntry], args: ['/srv/fns/hello/hello.ts'] }] } } },
      },
    },
    {
      label: 'handler in a parent folder',
      input: fn({ handler: '../shared/h.mjs' }),
      want: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'hello', labels: { 'zeno.dev/function': 'hello' }, ownerReferences: OWNER },
        spec: { template: { spec: { containers: [{ command: ['node', OPTS.runtimeEntry], args: ['/srv/fns/shared/h.mjs'] }] } } },
      },
    },
    {
      label: 'command form runs in the manifest folder',
      input: fn({ command: ['python3', 'app.py'] }),
      want: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'hello', labels: { 'zeno.dev/function': 'hello' }, ownerReferences: OWNER },
        spec: { template: { spec: { containers: [{ command: ['python3', 'app.py'], workingDir: '/srv/fns/hello' }] } } },
      },
    },
    {
      label: 'env map → env list, in order',
      input: fn({ handler: 'h.js', env: { GREETING: 'hi', B: '' } }),
      want: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'hello', labels: { 'zeno.dev/function': 'hello' }, ownerReferences: OWNER },
        spec: {
          template: {
            spec: {
              containers: [{
                command: ['node', OPTS.runtimeEntry], args: ['/srv/fns/hello/h.js'],
                env: [{ name: 'GREETING', value: 'hi' }, { name: 'B', value: '' }],
              }],
            },
          },
        },
      },
    },
    {
      label: 'namespace, labels, annotations split between Service and template; concurrency and timeout',
      input: fn(
        { command: ['./run'], containerConcurrency: 4, timeoutSeconds: 30 },
        {
          namespace: 'team-a',
          labels: { app: 'web' },
          annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/target': '10', 'zeno.dev/base-dir': '/srv/fns/hello', note: 'x' },
        },
      ),
      want: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: {
          name: 'hello',
          namespace: 'team-a',
          labels: { app: 'web', 'zeno.dev/function': 'hello' },
          annotations: { 'zeno.dev/base-dir': '/srv/fns/hello', note: 'x' },
          ownerReferences: OWNER,
        },
        spec: {
          template: {
            metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/target': '10' } },
            spec: { containerConcurrency: 4, timeoutSeconds: 30, containers: [{ command: ['./run'], workingDir: '/srv/fns/hello' }] },
          },
        },
      },
    },
    {
      label: 'zero values are kept (0 = unlimited concurrency, 0 = default timeout)',
      input: fn({ handler: 'h.js', containerConcurrency: 0, timeoutSeconds: 0 }),
      want: {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'hello', labels: { 'zeno.dev/function': 'hello' }, ownerReferences: OWNER },
        spec: { template: { spec: { containerConcurrency: 0, timeoutSeconds: 0, containers: [{ command: ['node', OPTS.runtimeEntry], args: ['/srv/fns/hello/h.js'] }] } } },
      },
    },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    const before = structuredClone(input);
    expect(functionToService(input, OPTS)).toEqual(want);
    expect(input).toEqual(before);
  });

  it('gives a valid Service that Knative defaulting completes', () => {
    const svc = functionToService(fn({ handler: 'h.ts', env: { A: 'b' } }, { annotations: { 'autoscaling.knative.dev/max-scale': '3' } }), OPTS);
    expect(validateService(svc, { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG })).toEqual([]);
    const d = defaultService(svc, DEFAULT_DEFAULTS_CONFIG);
    expect(d.metadata.namespace).toBe('default');
    expect(d.spec!.template.spec).toMatchObject({ timeoutSeconds: 300, containerConcurrency: 0, containers: [{ name: 'user-container' }] });
    expect(d.spec!.traffic).toEqual([{ latestRevision: true, percent: 100 }]);
  });
});

describe('isOwnedBy and withServiceStatus', () => {
  const svc = (labels: Record<string, string>, owners: KObject['metadata']['ownerReferences']): KObject => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', labels, ownerReferences: owners },
    status: { url: 'http://hello.default.localhost:8080', latestReadyRevisionName: 'hello-00001', observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const cases: { label: string; input: KObject; want: boolean }[] = [
    { label: 'generated', input: svc({ 'zeno.dev/function': 'hello' }, OWNER), want: true },
    { label: 'a plain Service', input: svc({}, undefined), want: false },
    { label: 'label without owner', input: svc({ 'zeno.dev/function': 'hello' }, []), want: false },
    { label: 'another Function', input: svc({ 'zeno.dev/function': 'other' }, [{ ...OWNER[0]!, name: 'other' }]), want: false },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(isOwnedBy(input, 'hello')).toBe(want);
    const shown = withServiceStatus({ ...fn({ handler: 'h.js' }), status: { stale: true } }, input);
    expect(shown.status).toEqual(want
      ? { url: 'http://hello.default.localhost:8080', latestReadyRevisionName: 'hello-00001', conditions: [{ type: 'Ready', status: 'True' }] }
      : undefined);
  });
});
