import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../../core/config/defaults.js';
import type { ValidationContext } from './context.js';
import { validateService } from './service.js';

const ctx: ValidationContext = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };
const C = 'spec.template.spec.containers[0]';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function base(): Obj {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: 'default', labels: { app: 'hello' }, annotations: { owner: 'me' } },
    spec: {
      template: {
        metadata: { name: 'hello-v1', annotations: { 'autoscaling.knative.dev/min-scale': '1' } },
        spec: {
          containerConcurrency: 10,
          timeoutSeconds: 60,
          containers: [{
            image: 'ghcr.io/acme/hello:1.0',
            command: ['node', 'server.js'],
            args: ['--quiet'],
            workingDir: './hello',
            env: [{ name: 'GREETING', value: 'hi' }],
            ports: [{ containerPort: 8081 }],
            readinessProbe: { httpGet: { path: '/healthz' }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3 },
          }],
        },
      },
      traffic: [
        { latestRevision: true, percent: 80 },
        { revisionName: 'hello-v0', percent: 20, tag: 'old' },
      ],
    },
  };
}

function paths(o: unknown, c: ValidationContext = ctx): string[] {
  return validateService(o, c).map((i) => i.path);
}

describe('validateService', () => {
  it('accepts a full valid Service', () => {
    expect(validateService(base(), ctx)).toEqual([]);
  });

  it('accepts the smallest Service (command only, no traffic)', () => {
    const o = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'a' }, spec: { template: { spec: { containers: [{ command: ['node', 'a.js'] }] } } } };
    expect(validateService(o, ctx)).toEqual([]);
  });

  // Each row breaks one rule of a valid Service; `want` is every path reported.
  const rules: { label: string; mutate: (o: Obj) => void; want: string[]; message?: RegExp }[] = [
    { label: 'wrong apiVersion', mutate: (o) => { o.apiVersion = 'serving.knative.dev/v1beta1'; }, want: ['apiVersion'] },
    { label: 'unknown top-level field', mutate: (o) => { o.sepc = {}; }, want: ['sepc'], message: /unknown field "sepc"/ },
    { label: 'name missing', mutate: (o) => { delete o.metadata.name; }, want: ['metadata.name'], message: /name is required/ },
    { label: 'name not DNS-1035 (digit first)', mutate: (o) => { o.metadata.name = '1hello'; o.spec.template.metadata.name = '1hello-v1'; }, want: ['metadata.name', 'spec.template.metadata.name'], message: /DNS 1035/ },
    { label: 'name too long', mutate: (o) => { o.metadata.name = `a${'b'.repeat(63)}`; delete o.spec.template.metadata.name; o.spec.traffic[1].tag = undefined; }, want: ['metadata.name'], message: /no more than 63/ },
    { label: 'namespace invalid', mutate: (o) => { o.metadata.namespace = 'Prod'; }, want: ['metadata.namespace'] },
    { label: 'serving.knative.dev label', mutate: (o) => { o.metadata.labels['serving.knative.dev/service'] = 'x'; }, want: ['metadata.labels["serving.knative.dev/service"]'] },
    { label: 'visibility label must be cluster-local', mutate: (o) => { o.metadata.labels['networking.knative.dev/visibility'] = 'public'; }, want: ['metadata.labels["networking.knative.dev/visibility"]'] },
    { label: 'spec missing', mutate: (o) => { delete o.spec; }, want: ['spec'], message: /missing/ },
    { label: 'template missing', mutate: (o) => { delete o.spec.template; }, want: ['spec.template'] },
    { label: 'revision spec missing', mutate: (o) => { delete o.spec.template.spec; }, want: ['spec.template.spec'] },
    { label: 'template name without service prefix', mutate: (o) => { o.spec.template.metadata.name = 'other-v1'; }, want: ['spec.template.metadata.name'], message: /"other-v1" must have prefix "hello-"/ },
    { label: 'template name equal to service name', mutate: (o) => { o.spec.template.metadata.name = 'hello'; }, want: ['spec.template.metadata.name'] },
    { label: 'template metadata typo', mutate: (o) => { o.spec.template.metadata.anotations = {}; }, want: ['spec.template.metadata.anotations'] },
    { label: 'containerConcurrency above max limit', mutate: (o) => { o.spec.template.spec.containerConcurrency = 1001; }, want: ['spec.template.spec.containerConcurrency'], message: /expected 0 <= 1001 <= 1000/ },
    { label: 'containerConcurrency negative', mutate: (o) => { o.spec.template.spec.containerConcurrency = -1; }, want: ['spec.template.spec.containerConcurrency'] },
    { label: 'containerConcurrency not an integer', mutate: (o) => { o.spec.template.spec.containerConcurrency = '10'; }, want: ['spec.template.spec.containerConcurrency'], message: /integer/ },
    { label: 'timeoutSeconds above max', mutate: (o) => { o.spec.template.spec.timeoutSeconds = 601; }, want: ['spec.template.spec.timeoutSeconds'], message: /expected 0 <= 601 <= 600/ },
    { label: 'timeoutSeconds negative', mutate: (o) => { o.spec.template.spec.timeoutSeconds = -5; }, want: ['spec.template.spec.timeoutSeconds'] },
    { label: 'responseStartTimeoutSeconds above timeout', mutate: (o) => { o.spec.template.spec.responseStartTimeoutSeconds = 61; }, want: ['spec.template.spec.responseStartTimeoutSeconds'] },
    { label: 'idleTimeoutSeconds negative', mutate: (o) => { o.spec.template.spec.idleTimeoutSeconds = -1; }, want: ['spec.template.spec.idleTimeoutSeconds'] },
    { label: 'revision spec typo', mutate: (o) => { o.spec.template.spec.containerconcurrency = 1; }, want: ['spec.template.spec.containerconcurrency'] },
    { label: 'no containers', mutate: (o) => { o.spec.template.spec.containers = []; }, want: ['spec.template.spec.containers'] },
    { label: 'two containers', mutate: (o) => { o.spec.template.spec.containers.push({ command: ['x'] }); }, want: ['spec.template.spec.containers'], message: /exactly one container/ },
    { label: 'empty container', mutate: (o) => { o.spec.template.spec.containers = [{}]; }, want: [C] },
    { label: 'neither command nor image', mutate: (o) => { delete o.spec.template.spec.containers[0].command; delete o.spec.template.spec.containers[0].image; }, want: [C], message: /set `command`/ },
    { label: 'image only cannot run locally', mutate: (o) => { delete o.spec.template.spec.containers[0].command; }, want: [`${C}.command`], message: /add `command`/ },
    { label: 'bad image reference', mutate: (o) => { o.spec.template.spec.containers[0].image = 'Not An Image'; }, want: [`${C}.image`], message: /Failed to parse image reference/ },
    { label: 'command not a list', mutate: (o) => { o.spec.template.spec.containers[0].command = 'node server.js'; }, want: [`${C}.command`] },
    { label: 'args with a number', mutate: (o) => { o.spec.template.spec.containers[0].args = ['--port', 8080]; }, want: [`${C}.args[1]`] },
    { label: 'container field typo', mutate: (o) => { o.spec.template.spec.containers[0].comand = ['x']; }, want: [`${C}.comand`] },
    { label: 'container name reserved', mutate: (o) => { o.spec.template.spec.containers[0].name = 'queue-proxy'; }, want: [`${C}.name`], message: /reserved container name/ },
    { label: 'container name invalid', mutate: (o) => { o.spec.template.spec.containers[0].name = 'User_Container'; }, want: [`${C}.name`] },
    { label: 'env name not a C identifier', mutate: (o) => { o.spec.template.spec.containers[0].env[0].name = 'MY-VAR'; }, want: [`${C}.env[0].name`], message: /C identifier/ },
    { label: 'env name missing', mutate: (o) => { o.spec.template.spec.containers[0].env = [{ value: 'x' }]; }, want: [`${C}.env[0].name`] },
    ...['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION'].map((n) => ({
      label: `reserved env ${n}`, mutate: (o: Obj) => { o.spec.template.spec.containers[0].env.push({ name: n, value: '1' }); }, want: [`${C}.env[1].name`], message: /is a reserved environment variable/,
    })),
    { label: 'env value a number', mutate: (o) => { o.spec.template.spec.containers[0].env[0].value = 3; }, want: [`${C}.env[0].value`] },
    { label: 'env valueFrom locally', mutate: (o) => { o.spec.template.spec.containers[0].env[0] = { name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }; }, want: [`${C}.env[0].valueFrom`] },
    { label: 'two ports', mutate: (o) => { o.spec.template.spec.containers[0].ports.push({ containerPort: 9000 }); }, want: [`${C}.ports`], message: /more than one container port/ },
    { label: 'port 0', mutate: (o) => { o.spec.template.spec.containers[0].ports[0].containerPort = 0; }, want: [`${C}.ports[0].containerPort`] },
    { label: 'port 65536', mutate: (o) => { o.spec.template.spec.containers[0].ports[0].containerPort = 65536; }, want: [`${C}.ports[0].containerPort`], message: /expected 1 <= 65536 <= 65535/ },
    ...[8012, 8013, 8022, 9090, 9091].map((p) => ({
      label: `reserved port ${p}`, mutate: (o: Obj) => { o.spec.template.spec.containers[0].ports[0].containerPort = p; delete o.spec.template.spec.containers[0].readinessProbe; }, want: [`${C}.ports[0].containerPort`], message: /is a reserved port/,
    })),
    { label: 'port name not allowed', mutate: (o) => { o.spec.template.spec.containers[0].ports[0].name = 'web'; }, want: [`${C}.ports[0].name`] },
    { label: 'port protocol UDP', mutate: (o) => { o.spec.template.spec.containers[0].ports[0].protocol = 'UDP'; }, want: [`${C}.ports[0].protocol`] },
    { label: 'hostPort disallowed', mutate: (o) => { o.spec.template.spec.containers[0].ports[0].hostPort = 80; }, want: [`${C}.ports[0].hostPort`] },
    { label: 'probe without handler', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe = { periodSeconds: 1 }; }, want: [`${C}.readinessProbe`], message: /got neither/ },
    { label: 'probe with two handlers', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.tcpSocket = {}; }, want: [`${C}.readinessProbe`], message: /got both: httpGet, tcpSocket/ },
    { label: 'probe exec locally', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe = { exec: { command: ['true'] } }; }, want: [`${C}.readinessProbe.exec`] },
    { label: 'probe port other than the container port', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.httpGet.port = 9999; }, want: [`${C}.readinessProbe.httpGet.port`], message: /must match container port/ },
    { label: 'probe port name unknown', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.httpGet.port = 'web'; }, want: [`${C}.readinessProbe.httpGet.port`] },
    { label: 'probe path without slash', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.httpGet.path = 'healthz'; }, want: [`${C}.readinessProbe.httpGet.path`] },
    { label: 'probe periodSeconds negative', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.periodSeconds = -1; }, want: [`${C}.readinessProbe.periodSeconds`] },
    { label: 'probe successThreshold 0', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.successThreshold = 0; }, want: [`${C}.readinessProbe.successThreshold`] },
    { label: 'probe timeoutSeconds 0 with a period', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.timeoutSeconds = 0; }, want: [`${C}.readinessProbe.timeoutSeconds`] },
    { label: 'probe failureThreshold with period 0', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.periodSeconds = 0; delete o.spec.template.spec.containers[0].readinessProbe.timeoutSeconds; }, want: [`${C}.readinessProbe.failureThreshold`], message: /disallowed when periodSeconds is zero/ },
    { label: 'probe initialDelaySeconds negative', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe.initialDelaySeconds = -1; }, want: [`${C}.readinessProbe.initialDelaySeconds`] },
    { label: 'traffic sums to 90', mutate: (o) => { o.spec.traffic[0].percent = 70; }, want: ['spec.traffic'], message: /Traffic targets sum to 90, want 100/ },
    { label: 'traffic percent above 100', mutate: (o) => { o.spec.traffic = [{ latestRevision: true, percent: 101 }]; }, want: ['spec.traffic[0].percent', 'spec.traffic'] },
    { label: 'traffic percent negative', mutate: (o) => { o.spec.traffic[0].percent = 120; o.spec.traffic[1].percent = -20; }, want: ['spec.traffic[0].percent', 'spec.traffic[1].percent'] },
    { label: 'latestRevision true with revisionName', mutate: (o) => { o.spec.traffic[1].latestRevision = true; }, want: ['spec.traffic[1].latestRevision'], message: /may not set revisionName "hello-v0" when latestRevision is true/ },
    { label: 'latestRevision false without revisionName', mutate: (o) => { o.spec.traffic[0].latestRevision = false; }, want: ['spec.traffic[0].latestRevision'] },
    { label: 'duplicate tags', mutate: (o) => { o.spec.traffic[0].tag = 'old'; }, want: ['spec.traffic[1].tag'], message: /Multiple definitions for "old"/ },
    { label: 'tag not DNS-1035', mutate: (o) => { o.spec.traffic[1].tag = 'v1.0'; }, want: ['spec.traffic[1].tag'] },
    { label: 'tag URL label too long', mutate: (o) => { o.spec.traffic[1].tag = `t${'a'.repeat(60)}`; }, want: ['spec.traffic[1].tag'], message: /no more than 63/ },
    { label: 'configurationName in a Service', mutate: (o) => { o.spec.traffic[0].configurationName = 'hello'; }, want: ['spec.traffic[0].configurationName'] },
    { label: 'url in spec', mutate: (o) => { o.spec.traffic[1].url = 'http://old-hello.default.localhost'; }, want: ['spec.traffic[1].url'] },
    { label: 'revisionName invalid', mutate: (o) => { o.spec.traffic[1].revisionName = 'bad name'; }, want: ['spec.traffic[1].revisionName'] },
    { label: 'traffic not a list', mutate: (o) => { o.spec.traffic = { percent: 100 }; }, want: ['spec.traffic'] },
    { label: 'template autoscaling annotation out of range', mutate: (o) => { o.spec.template.metadata.annotations['autoscaling.knative.dev/target-utilization-percentage'] = '150'; }, want: ['spec.template.metadata.annotations["autoscaling.knative.dev/target-utilization-percentage"]'] },
    { label: 'service autoscaling annotation invalid', mutate: (o) => { o.metadata.annotations['autoscaling.knative.dev/min-scale'] = '-1'; }, want: ['metadata.annotations["autoscaling.knative.dev/min-scale"]'] },
    { label: 'async retry annotation invalid', mutate: (o) => { o.metadata.annotations['com.openfaas.retry.attempts'] = '0'; }, want: ['metadata.annotations["com.openfaas.retry.attempts"]'] },
    { label: 'template async in-flight annotation invalid', mutate: (o) => { o.spec.template.metadata.annotations['zeno.dev/async-max-inflight'] = 'lots'; }, want: ['spec.template.metadata.annotations["zeno.dev/async-max-inflight"]'] },
  ];

  it.each(rules)('rejects: $label', ({ mutate, want, message }) => {
    const o = base();
    mutate(o);
    const issues = validateService(o, ctx);
    expect(issues.map((i) => i.path)).toEqual(want);
    if (message) expect(issues[0]!.message).toMatch(message);
  });

  const allowed: { label: string; mutate: (o: Obj) => void }[] = [
    { label: 'timeoutSeconds 0 (defaulted)', mutate: (o) => { o.spec.template.spec.timeoutSeconds = 0; } },
    { label: 'timeoutSeconds at max', mutate: (o) => { o.spec.template.spec.timeoutSeconds = 600; } },
    { label: 'containerConcurrency 0 (unlimited)', mutate: (o) => { o.spec.template.spec.containerConcurrency = 0; } },
    { label: 'containerConcurrency at max limit', mutate: (o) => { o.spec.template.spec.containerConcurrency = 1000; } },
    { label: 'revisionName of this service with latestRevision false', mutate: (o) => { o.spec.traffic[1] = { revisionName: 'hello-00001', latestRevision: false, percent: 20 }; } },
    { label: 'empty traffic list (defaulted)', mutate: (o) => { o.spec.traffic = []; } },
    { label: 'no ports (8080)', mutate: (o) => { delete o.spec.template.spec.containers[0].ports; o.spec.template.spec.containers[0].readinessProbe.httpGet.port = 8080; } },
    { label: 'probe with period and no timeout (Kubernetes defaults)', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe = { tcpSocket: {}, periodSeconds: 2 }; } },
    { label: 'probe with period 0 (aggressive)', mutate: (o) => { o.spec.template.spec.containers[0].readinessProbe = { httpGet: { path: '/' } }; } },
    { label: 'probe by port name', mutate: (o) => { o.spec.template.spec.containers[0].ports[0].name = 'h2c'; o.spec.template.spec.containers[0].readinessProbe.httpGet.port = 'h2c'; } },
    { label: 'template generateName', mutate: (o) => { delete o.spec.template.metadata.name; o.spec.template.metadata.generateName = 'hello-'; } },
    { label: 'kn export noise', mutate: (o) => { o.spec.template.metadata.creationTimestamp = null; o.status = {}; } },
    { label: 'missing namespace', mutate: (o) => { delete o.metadata.namespace; } },
    { label: 'command only (no image)', mutate: (o) => { delete o.spec.template.spec.containers[0].image; } },
  ];
  it.each(allowed)('accepts: $label', ({ mutate }) => {
    const o = base();
    mutate(o);
    expect(validateService(o, ctx)).toEqual([]);
  });

  describe('with the kubernetes runtime', () => {
    const k8s: ValidationContext = { ...ctx, runtime: 'kubernetes' };
    it('accepts image only', () => {
      const o = base();
      delete o.spec.template.spec.containers[0].command;
      expect(paths(o, k8s)).toEqual([]);
    });
    it('requires an image', () => {
      const o = base();
      delete o.spec.template.spec.containers[0].image;
      expect(paths(o, k8s)).toEqual([`${C}.image`]);
    });
    it('refuses exec probes and valueFrom, which the Kubernetes runtime cannot carry into the pod yet (rather than dropping them)', () => {
      const o = base();
      o.spec.template.spec.containers[0].readinessProbe = { exec: { command: ['true'] } };
      o.spec.template.spec.containers[0].env = [{ name: 'S', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }];
      expect(validateService(o, k8s)).toEqual([
        { path: `${C}.env[0].valueFrom`, message: 'the Kubernetes runtime does not pass valueFrom to the pod yet: use `value`' },
        { path: `${C}.readinessProbe.exec`, message: 'the Kubernetes runtime cannot run exec probes: use httpGet or tcpSocket' },
      ]);
    });
    it('the local runtime still refuses image only, naming the command field', () => {
      const o = base();
      delete o.spec.template.spec.containers[0].command;
      expect(paths(o, ctx)).toEqual([`${C}.command`]);
      expect(paths(o, { ...ctx, runtime: 'local' })).toEqual([`${C}.command`]);
    });
  });

  describe('against config-defaults', () => {
    it('uses max-revision-timeout-seconds and container-concurrency-max-limit', () => {
      const o = base();
      o.spec.template.spec.timeoutSeconds = 900;
      o.spec.template.spec.containerConcurrency = 2000;
      expect(paths(o)).toEqual(['spec.template.spec.containerConcurrency', 'spec.template.spec.timeoutSeconds']);
      const wide: ValidationContext = { ...ctx, defaults: { ...DEFAULT_DEFAULTS_CONFIG, maxRevisionTimeoutSeconds: 1000, containerConcurrencyMaxLimit: 5000 } };
      expect(paths(o, wide)).toEqual([]);
    });
    it('rejects containerConcurrency 0 when allow-container-concurrency-zero is false', () => {
      const o = base();
      o.spec.template.spec.containerConcurrency = 0;
      const strict: ValidationContext = { ...ctx, defaults: { ...DEFAULT_DEFAULTS_CONFIG, allowContainerConcurrencyZero: false } };
      expect(validateService(o, strict)).toEqual([{ path: 'spec.template.spec.containerConcurrency', message: 'expected 1 <= 0 <= 1000' }]);
    });
  });
});
