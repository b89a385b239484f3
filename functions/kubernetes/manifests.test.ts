import { describe, expect, it } from 'vitest';
import { manifestProblems } from '../../test/support/fake-kube/validate.js';
import type { PodTemplate } from '../runtime.js';
import { buildDeployment, buildService, containerEnv, preStopSeconds, readinessProbe } from './manifests.js';

function template(over: Partial<PodTemplate> = {}): PodTemplate {
  return {
    id: 'shop/hello-00002',
    namespace: 'shop',
    service: 'hello',
    configuration: 'hello',
    revision: 'hello-00002',
    image: 'ghcr.io/example/hello:1.0',
    command: [],
    args: [],
    workingDir: '/home/me/project',
    env: {},
    containerPort: 8080,
    timeoutSeconds: 300,
    ...over,
  };
}

describe('readinessProbe', () => {
  it.each([
    ['none: TCP on the container port', undefined, 8080, { tcpSocket: { port: 8080 }, periodSeconds: 1, successThreshold: 1, failureThreshold: 3 }],
    ['httpGet without a port', { httpGet: { path: '/ready' } }, 9000, { httpGet: { path: '/ready', port: 9000 }, periodSeconds: 1, successThreshold: 1, failureThreshold: 3 }],
    [
      'httpGet with everything',
      { httpGet: { path: '/r', port: 'http1', scheme: 'https', httpHeaders: [{ name: 'X', value: 'y' }] }, periodSeconds: 5, timeoutSeconds: 2, initialDelaySeconds: 3, failureThreshold: 1 },
      8080,
      { httpGet: { path: '/r', port: 'http1', scheme: 'HTTPS', httpHeaders: [{ name: 'X', value: 'y' }] }, periodSeconds: 5, timeoutSeconds: 2, initialDelaySeconds: 3, successThreshold: 1, failureThreshold: 1 },
    ],
    ['Knative periodSeconds 0 becomes the kubelet minimum', { tcpSocket: {}, periodSeconds: 0 }, 8080, { tcpSocket: { port: 8080 }, periodSeconds: 1, successThreshold: 1, failureThreshold: 3 }],
    ['httpGet defaults its path', { httpGet: {} }, 8080, { httpGet: { path: '/', port: 8080 }, periodSeconds: 1, successThreshold: 1, failureThreshold: 3 }],
  ])('%s', (_label, probe, port, want) => {
    expect(readinessProbe(probe, port)).toEqual(want);
  });
});

describe('containerEnv', () => {
  it('puts the runtime contract last, overriding reserved names, user env sorted', () => {
    expect(containerEnv(template({ env: { PORT: '1', ZED: 'z', ALPHA: 'a', K_REVISION: 'fake' } }))).toEqual([
      { name: 'ALPHA', value: 'a' },
      { name: 'ZED', value: 'z' },
      { name: 'PORT', value: '8080' },
      { name: 'K_SERVICE', value: 'hello' },
      { name: 'K_CONFIGURATION', value: 'hello' },
      { name: 'K_REVISION', value: 'hello-00002' },
    ]);
  });
});

describe('preStopSeconds', () => {
  it.each([
    [300, 30],
    [30, 30],
    [10, 10],
    [1, 1],
    [0, 1],
  ])('timeoutSeconds %i → %i', (timeout, want) => expect(preStopSeconds(timeout)).toBe(want));
});

describe('buildDeployment', () => {
  it('builds a Deployment Knative-shaped: labels, zero replicas, grace = timeoutSeconds, preStop, probe, contract env', () => {
    const built = buildDeployment(template({ command: ['node'], args: ['server.js'], env: { GREETING: 'hi' }, timeoutSeconds: 45 }));
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    const d = built.object;
    expect(d.metadata).toEqual({
      name: 'hello-00002-deployment',
      namespace: 'shop',
      labels: {
        app: 'hello-00002',
        'serving.knative.dev/service': 'hello',
        'serving.knative.dev/configuration': 'hello',
        'serving.knative.dev/revision': 'hello-00002',
        'app.kubernetes.io/managed-by': 'zeno',
      },
    });
    expect(d.spec.replicas).toBe(0);
    expect(d.spec.selector).toEqual({ matchLabels: { 'serving.knative.dev/revision': 'hello-00002' } });
    expect(d.spec.template.metadata.labels).toEqual(d.metadata.labels);
    const pod = d.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBe(45);
    expect(pod.enableServiceLinks).toBe(false);
    const c = pod.containers[0];
    expect(c).toMatchObject({
      name: 'user-container',
      image: 'ghcr.io/example/hello:1.0',
      command: ['node'],
      args: ['server.js'],
      ports: [{ name: 'http1', containerPort: 8080, protocol: 'TCP' }],
      readinessProbe: { tcpSocket: { port: 8080 } },
      lifecycle: { preStop: { sleep: { seconds: 30 } } },
    });
    expect(c.env).toContainEqual({ name: 'GREETING', value: 'hi' });
    expect(c.workingDir).toBeUndefined();
  });

  it('leaves out command and args when the container has none (the image entrypoint runs)', () => {
    const built = buildDeployment(template());
    expect(built.ok && built.object.spec.template.spec.containers[0]).not.toHaveProperty('command');
  });

  it('fails the revision with ImageRequired when there is no image', () => {
    const built = buildDeployment(template({ image: undefined as unknown as string }));
    expect(built).toMatchObject({ ok: false, failure: { reason: 'ImageRequired' } });
  });
});

describe('generated manifests against the official Kubernetes schemas', () => {
  const variants: [string, Partial<PodTemplate>][] = [
    ['defaults', {}],
    ['http probe and env', { readinessProbe: { httpGet: { path: '/ready', httpHeaders: [{ name: 'X', value: 'y' }] }, periodSeconds: 0 }, env: { A: 'b' } }],
    ['command, args, another port', { command: ['python3'], args: ['server.py'], containerPort: 5000, timeoutSeconds: 600 }],
    ['tcp probe with host', { readinessProbe: { tcpSocket: { port: 5000, host: '127.0.0.1' } } }],
  ];
  it.each(variants)('Deployment (%s) is valid and has no unknown fields', (_l, over) => {
    const built = buildDeployment(template(over));
    expect(built.ok).toBe(true);
    if (built.ok) expect(manifestProblems(built.object)).toEqual([]);
  });
  it.each(variants)('Service (%s) is valid and has no unknown fields', (_l, over) => {
    expect(manifestProblems(buildService(template(over)))).toEqual([]);
  });

  it('the checks catch a broken manifest (wrong type, unknown field)', () => {
    const built = buildDeployment(template());
    if (!built.ok) throw new Error('unreachable');
    const d = structuredClone(built.object);
    d.spec.template.spec.containers[0].ports[0].containerPort = '8080';
    d.spec.template.spec.containers[0].readinesProbe = {};
    const problems = manifestProblems(d);
    expect(problems.some((p) => p.includes('containerPort'))).toBe(true);
    expect(problems).toContain('unknown field spec.template.spec.containers[0].readinesProbe');
  });
});
