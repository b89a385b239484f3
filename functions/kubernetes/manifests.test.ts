import { describe, expect, it } from 'vitest';
import { manifestProblems } from '../../test/support/fake-kube/validate.js';
import type { PodTemplate } from '../runtime.js';
import { DEFAULT_AUTOSCALER_CONFIG, resolveHpaSettings, type HpaSettings } from '../../core/config/autoscaler.js';
import { buildDeployment, buildHpa, buildService, containerEnv, HPA_MAX_REPLICAS, preStopSeconds, quantity, readinessProbe } from './manifests.js';

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

describe('buildDeployment with the sidecar (cluster mode)', () => {
  const sidecar = { image: 'ghcr.io/example/zeno:1' };
  const build = (over: Partial<PodTemplate> = {}) => {
    const built = buildDeployment(template(over), 0, { sidecar });
    if (!built.ok) throw new Error('unreachable');
    return built.object.spec.template.spec;
  };

  it("puts Knative's queue-proxy shape in the pod: user container first, sidecar second", () => {
    const pod = build({ containerConcurrency: 4, timeoutSeconds: 20, readinessProbe: { httpGet: { path: '/ready' }, periodSeconds: 2 } });
    expect(pod.containers.map((c: { name: string }) => c.name)).toEqual(['user-container', 'queue-proxy']);
    const [user, qp] = pod.containers;
    // The user container serves on its own port, has no probe of its own, and waits for the drain in preStop.
    expect(user.ports).toEqual([{ name: 'user-port', containerPort: 8080, protocol: 'TCP' }]);
    expect(user).not.toHaveProperty('readinessProbe');
    expect(user.lifecycle).toEqual({ preStop: { httpGet: { path: '/wait-for-drain', port: 8022 } } });
    expect(user.env).toContainEqual({ name: 'PORT', value: '8080' });
    expect(qp).toMatchObject({
      image: 'ghcr.io/example/zeno:1',
      command: ['node', 'dist/functions/sidecar/main.js'],
      ports: [
        { name: 'http1', containerPort: 8012, protocol: 'TCP' },
        { name: 'http-queueadm', containerPort: 8022, protocol: 'TCP' },
      ],
      readinessProbe: { httpGet: { path: '/', port: 8012, httpHeaders: [{ name: 'K-Network-Probe', value: 'queue' }] }, periodSeconds: 2 },
    });
    expect(qp.env).toEqual([
      { name: 'QUEUE_SERVING_PORT', value: '8012' },
      { name: 'QUEUE_ADMIN_PORT', value: '8022' },
      { name: 'USER_PORT', value: '8080' },
      { name: 'CONTAINER_CONCURRENCY', value: '4' },
      { name: 'REVISION_TIMEOUT_SECONDS', value: '20' },
      { name: 'ZENO_DRAIN_QUIET_SECONDS', value: '20' },
      { name: 'SERVING_READINESS_PROBE', value: '{"httpGet":{"path":"/ready"},"periodSeconds":2}' },
    ]);
    expect(pod.terminationGracePeriodSeconds).toBe(20);
  });

  it('CC defaults to 0 (unlimited), no probe env without a probe, a custom command', () => {
    const built = buildDeployment(template(), 0, { sidecar: { image: 'z:1', command: ['/app/zeno-sidecar'] } });
    if (!built.ok) throw new Error('unreachable');
    const qp = built.object.spec.template.spec.containers[1];
    expect(qp.command).toEqual(['/app/zeno-sidecar']);
    expect(qp.env).toContainEqual({ name: 'CONTAINER_CONCURRENCY', value: '0' });
    expect(qp.env.map((e: { name: string }) => e.name)).not.toContain('SERVING_READINESS_PROBE');
  });

  it("the Service sends traffic to the sidecar's port", () => {
    expect(buildService(template(), { sidecar }).spec.ports).toEqual([{ name: 'http1', port: 80, targetPort: 8012, protocol: 'TCP' }]);
    expect(buildService(template()).spec.ports[0].targetPort).toBe(8080);
  });
});

describe('quantity (canonical Kubernetes quantities)', () => {
  it.each<[number, 'binary' | 'decimal', string]>([
    [100 * 1024 * 1024, 'binary', '100Mi'],
    [1024 * 1024 * 1024, 'binary', '1Gi'],
    [1500 * 1024 * 1024, 'binary', '1500Mi'],
    [1000, 'binary', '1000'],
    [0, 'binary', '0'],
    [100, 'decimal', '100'],
    [2000, 'decimal', '2k'],
    [3_000_000, 'decimal', '3M'],
    [12.7, 'decimal', '12'],
  ])('%d (%s) → %s', (n, base, want) => expect(quantity(n, base)).toBe(want));
});

describe('resolveHpaSettings (which revisions get an HPA, with what)', () => {
  const A = (k: string) => `autoscaling.knative.dev/${k}`;
  const HPA = { [A('class')]: 'hpa.autoscaling.knative.dev' };
  it.each<{ label: string; ann: Record<string, string>; config?: Partial<typeof DEFAULT_AUTOSCALER_CONFIG>; want: HpaSettings | undefined }>([
    { label: 'KPA (the default): none', ann: {}, want: undefined },
    { label: 'explicit KPA class: none', ann: { [A('class')]: 'kpa.autoscaling.knative.dev' }, want: undefined },
    { label: 'HPA class: metric defaults to cpu, no target, min/max 0', ann: HPA, want: { metric: 'cpu', minScale: 0, maxScale: 0, initialScale: 1 } },
    { label: 'config-autoscaler pod-autoscaler-class hpa applies without the annotation', ann: {}, config: { podAutoscalerClass: 'hpa.autoscaling.knative.dev' }, want: { metric: 'cpu', minScale: 0, maxScale: 0, initialScale: 1 } },
    { label: 'the annotation beats the config class', ann: { [A('class')]: 'kpa.autoscaling.knative.dev' }, config: { podAutoscalerClass: 'hpa.autoscaling.knative.dev' }, want: undefined },
    {
      label: 'memory, target, min/max (aliases accepted), window',
      ann: { ...HPA, [A('metric')]: 'memory', [A('target')]: '150', [A('minScale')]: '2', [A('max-scale')]: '8', [A('window')]: '2m' },
      want: { metric: 'memory', target: 150, minScale: 2, maxScale: 8, windowSeconds: 120, initialScale: 1 },
    },
    { label: 'min/max from config-autoscaler', ann: HPA, config: { minScale: 3, maxScale: 9 }, want: { metric: 'cpu', minScale: 3, maxScale: 9, initialScale: 1 } },
    { label: 'initial-scale from the annotation; 0 only when allowed', ann: { ...HPA, [A('initial-scale')]: '4' }, want: { metric: 'cpu', minScale: 0, maxScale: 0, initialScale: 4 } },
    { label: 'initial-scale 0 refused without allow-zero-initial-scale', ann: { ...HPA, [A('initial-scale')]: '0' }, want: { metric: 'cpu', minScale: 0, maxScale: 0, initialScale: 1 } },
    { label: 'initial-scale 0 with allow-zero-initial-scale', ann: { ...HPA, [A('initial-scale')]: '0' }, config: { allowZeroInitialScale: true }, want: { metric: 'cpu', minScale: 0, maxScale: 0, initialScale: 0 } },
    { label: 'an invalid target or window is left out', ann: { ...HPA, [A('target')]: 'x', [A('window')]: '1s' }, want: { metric: 'cpu', minScale: 0, maxScale: 0, initialScale: 1 } },
  ])('$label', ({ ann, config, want }) => {
    expect(resolveHpaSettings({ ...DEFAULT_AUTOSCALER_CONFIG, ...config }, ann)).toEqual(want);
  });
});

describe("buildHpa (Knative's MakeHPA on autoscaling/v2)", () => {
  const base: HpaSettings = { metric: 'cpu', minScale: 0, maxScale: 0, initialScale: 1 };
  it.each<{ label: string; hpa: HpaSettings; want: Record<string, unknown> }>([
    { label: 'no target: no metrics (the HPA default, 80 % CPU); min 0 → 1; max 0 → MaxInt32', hpa: base, want: { minReplicas: 1, maxReplicas: HPA_MAX_REPLICAS } },
    {
      label: 'cpu: Utilization, ceil(target)',
      hpa: { ...base, target: 70.2, minScale: 2, maxScale: 10 },
      want: { minReplicas: 2, maxReplicas: 10, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 71 } } }] },
    },
    {
      label: 'memory: AverageValue in Mi',
      hpa: { ...base, metric: 'memory', target: 100 },
      want: { metrics: [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } }] },
    },
    {
      label: 'a custom metric: a Pods metric with AverageValue',
      hpa: { ...base, metric: 'requests_per_second', target: 50 },
      want: { metrics: [{ type: 'Pods', pods: { metric: { name: 'requests_per_second' }, target: { type: 'AverageValue', averageValue: '50' } } }] },
    },
    {
      label: 'a window sets both stabilization windows',
      hpa: { ...base, windowSeconds: 120 },
      want: { behavior: { scaleDown: { stabilizationWindowSeconds: 120 }, scaleUp: { stabilizationWindowSeconds: 120 } } },
    },
  ])('$label', ({ hpa, want }) => {
    const h = buildHpa(template(), hpa);
    expect(h.apiVersion).toBe('autoscaling/v2');
    expect(h.metadata).toMatchObject({ name: 'hello-00002', namespace: 'shop', labels: { 'serving.knative.dev/revision': 'hello-00002' } });
    expect(h.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'hello-00002-deployment' });
    expect(h.spec).toMatchObject(want);
    if (!('metrics' in want)) expect(h.spec).not.toHaveProperty('metrics');
    expect(manifestProblems(h)).toEqual([]);
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
  it.each(variants)('Deployment with the sidecar (%s) is valid and has no unknown fields', (_l, over) => {
    const built = buildDeployment(template({ containerConcurrency: 10, ...over }), 0, { sidecar: { image: 'z:1' } });
    expect(built.ok).toBe(true);
    if (built.ok) expect(manifestProblems(built.object)).toEqual([]);
    expect(manifestProblems(buildService(template(over), { sidecar: { image: 'z:1' } }))).toEqual([]);
  });
  it('the HPA check catches a broken HPA', () => {
    const h = structuredClone(buildHpa(template(), { metric: 'cpu', minScale: 0, maxScale: 0, target: 50, initialScale: 1 }));
    h.spec.maxReplicas = 'ten';
    h.spec.metrics[0].resource.targetAverageUtilization = 50;
    const problems = manifestProblems(h);
    expect(problems.some((p) => p.includes('maxReplicas'))).toBe(true);
    expect(problems).toContain('unknown field spec.metrics[0].resource.targetAverageUtilization');
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
