import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { KObject } from '../core/types.js';
import { resolveKind } from './kinds.js';
import { eventAge, parseOutputFormat, renderDescribe, renderDescribeData, renderObjects, renderTable } from './output.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const svcKind = resolveKind('ksvc')!;
const revKind = resolveKind('rev')!;
const routeKind = resolveKind('rt')!;
const cfgKind = resolveKind('cfg')!;
const cmKind = resolveKind('cm')!;

function service(name: string, ns: string, ready: 'True' | 'False' | 'Unknown', reason?: string): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: ns, generation: 1, creationTimestamp: '2026-01-01T00:05:00Z' },
    spec: { template: { spec: { containers: [{ command: ['node', 'index.js'] }] } } },
    status: {
      url: `http://${name}.${ns}.localhost:8080`,
      latestReadyRevisionName: `${name}-00001`,
      latestCreatedRevisionName: `${name}-00002`,
      conditions: [
        { type: 'ConfigurationsReady', status: 'True' },
        { type: 'Ready', status: ready, ...(reason ? { reason } : {}) },
        { type: 'RoutesReady', status: 'True' },
      ],
    },
  };
}

const revision: KObject = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: {
    name: 'hello-00001',
    namespace: 'default',
    creationTimestamp: '2026-01-01T00:09:00Z',
    labels: { 'serving.knative.dev/service': 'hello', 'serving.knative.dev/configuration': 'hello', 'serving.knative.dev/configurationGeneration': '1' },
    annotations: { 'autoscaling.knative.dev/min-scale': '1' },
  },
  spec: { containerConcurrency: 0, timeoutSeconds: 300, containers: [{ command: ['node', 'my app.js'], workingDir: '/srv/hello', env: [{ name: 'A', value: '1' }] }] },
  status: { actualReplicas: 1, desiredReplicas: 2, conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Deploying' }] },
};

describe('parseOutputFormat', () => {
  const cases: { label: string; input: string | undefined; want: string | undefined }[] = [
    { label: 'default is a table', input: undefined, want: 'table' },
    { label: 'json', input: 'json', want: 'json' },
    { label: 'YAML in capitals', input: 'YAML', want: 'yaml' },
    { label: 'wide', input: 'wide', want: 'wide' },
    { label: 'unknown', input: 'xml', want: undefined },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(parseOutputFormat(input)).toBe(want);
  });
});

describe('renderTable', () => {
  it('prints services like kn, sorted by name', () => {
    const got = renderTable(svcKind, [service('zeta', 'default', 'False', 'RevisionFailed'), service('hello', 'default', 'True')], { nowMs: NOW });
    expect(got.split('\n')).toEqual([
      'NAME    URL                                   LATEST        AGE   READY   REASON',
      'hello   http://hello.default.localhost:8080   hello-00001   5m    True',
      'zeta    http://zeta.default.localhost:8080    zeta-00001    5m    False   RevisionFailed',
      '',
    ]);
  });

  it('prints ApiServerSources like kn source apiserver list', () => {
    const src: KObject = {
      apiVersion: 'sources.knative.dev/v1',
      kind: 'ApiServerSource',
      metadata: { name: 'cms', namespace: 'default', creationTimestamp: '2026-01-01T00:05:00Z' },
      spec: { mode: 'Reference', resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }, { apiVersion: 'apps/v1', kind: 'Deployment' }], sink: { uri: 'http://x.example/' } },
      status: {
        sinkUri: 'http://x.example/',
        conditions: [
          { type: 'Deployed', status: 'False', reason: 'NoKubernetesAPI' },
          { type: 'Ready', status: 'False', reason: 'NoKubernetesAPI' },
          { type: 'SinkProvided', status: 'True' },
        ],
      },
    };
    const rows = renderTable(resolveKind('apiserversources')!, [src], { nowMs: NOW }).trimEnd().split('\n').map((l) => l.split(/\s{2,}/));
    expect(rows).toEqual([
      ['NAME', 'RESOURCES', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON'],
      ['cms', 'ConfigMap:v1,Deployment:apps/v1', 'http://x.example/', '5m', '1 OK / 3', 'False', 'NoKubernetesAPI'],
    ]);
  });

  it('adds a NAMESPACE column with -A, sorted by namespace then name', () => {
    const got = renderTable(svcKind, [service('b', 'x', 'True'), service('a', 'y', 'True'), service('c', 'x', 'True')], { nowMs: NOW, allNamespaces: true });
    const rows = got.trimEnd().split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' '));
    expect(rows).toEqual(['NAMESPACE NAME', 'x b', 'x c', 'y a']);
  });

  it('adds latest-created and a conditions summary with -o wide', () => {
    const got = renderTable(svcKind, [service('hello', 'default', 'True')], { nowMs: NOW, wide: true });
    expect(got.split('\n')[0]).toMatch(/LATESTCREATED\s+CONDITIONS$/);
    expect(got.split('\n')[1]).toMatch(/hello-00002\s+3 OK \/ 3$/);
  });

  it('prints revisions with service, generation and replicas', () => {
    const got = renderTable(revKind, [revision], { nowMs: NOW });
    expect(got.split('\n').slice(0, 2)).toEqual([
      'NAME          SERVICE   GENERATION   AGE   READY     ACTUAL   DESIRED   REASON',
      'hello-00001   hello     1            60s   Unknown   1        2         Deploying',
    ]);
  });

  it('prints routes, configurations and configmaps', () => {
    const route: KObject = { apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { name: 'hello' }, status: { url: 'http://hello.default.localhost:8080', conditions: [{ type: 'Ready', status: 'True' }] } };
    expect(renderTable(routeKind, [route], { nowMs: NOW })).toBe('NAME    URL                                   AGE   READY   REASON\nhello   http://hello.default.localhost:8080         True\n');
    const cfg: KObject = { apiVersion: 'serving.knative.dev/v1', kind: 'Configuration', metadata: { name: 'hello' }, status: { latestCreatedRevisionName: 'hello-00002', latestReadyRevisionName: 'hello-00001' } };
    expect(renderTable(cfgKind, [cfg], { nowMs: NOW }).split('\n')[1]).toBe('hello   hello-00002     hello-00001');
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler' }, data: { 'stable-window': '30s', 'max-scale': '3' } };
    expect(renderTable(cmKind, [cm], { nowMs: NOW })).toBe('NAME                DATA   AGE\nconfig-autoscaler   2\n');
  });
});

describe('renderObjects', () => {
  it('prints one object as it is in JSON', () => {
    const s = service('hello', 'default', 'True');
    expect(JSON.parse(renderObjects(svcKind, s, 'json'))).toEqual(s);
  });

  it('wraps several in a kubectl List and fills in apiVersion and kind', () => {
    const bare = { metadata: { name: 'hello-00001' } } as KObject;
    const got = parseYaml(renderObjects(revKind, [bare], 'yaml')) as { apiVersion: string; kind: string; items: KObject[] };
    expect(got).toEqual({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Revision', metadata: { name: 'hello-00001' } }] });
  });

  it('prints an empty list, not nothing', () => {
    expect(JSON.parse(renderObjects(svcKind, [], 'json'))).toEqual({ apiVersion: 'v1', kind: 'List', items: [] });
  });
});

describe('renderDescribe', () => {
  it('shows metadata, template, status, traffic, conditions and events of a service', () => {
    const s = service('hello', 'default', 'False', 'RevisionFailed');
    (s.status as { traffic: unknown[] }).traffic = [{ latestRevision: true, revisionName: 'hello-00001', percent: 90 }, { revisionName: 'hello-00000', percent: 10, tag: 'old', url: 'http://old-hello.default.localhost:8080' }];
    const conds = (s.status as { conditions: { message?: string; lastTransitionTime?: string }[] }).conditions;
    conds[1]!.message = 'exit code 1';
    conds[1]!.lastTransitionTime = '2026-01-01T00:09:30Z';
    const out = renderDescribe(svcKind, s, [{ type: 'Warning', reason: 'ExitCode1', message: 'pod exited', lastTimestamp: '2026-01-01T00:09:50Z' }], NOW);
    expect(out).toContain('Name:         hello\n');
    expect(out).toContain('Namespace:    default\n');
    expect(out).toContain('Kind:         Service (serving.knative.dev/v1)\n');
    expect(out).toContain('Created:      5m ago (2026-01-01T00:05:00Z)\n');
    expect(out).toContain('URL:          http://hello.default.localhost:8080\n');
    expect(out).toContain('    Command:      node index.js\n');
    expect(out).toContain('  Latest ready:         hello-00001\n');
    expect(out).toMatch(/Traffic:\n  PERCENT   REVISION                TAG   URL\n  90%       @latest \(hello-00001\)\n  10%       hello-00000             old   http:\/\/old-hello/);
    expect(out).toMatch(/Conditions:\n  TYPE\s+STATUS\s+REASON\s+MESSAGE\s+AGE\n/);
    expect(out).toMatch(/  Ready\s+False\s+RevisionFailed\s+exit code 1\s+30s\n/);
    expect(out).toMatch(/Events:\n  TYPE\s+REASON\s+AGE\s+MESSAGE\n  Warning\s+ExitCode1\s+10s\s+pod exited\n$/);
  });

  it('shows a revision spec with quoted commands, env, scaling and replicas', () => {
    const out = renderDescribe(revKind, revision, [], NOW);
    expect(out).toContain("    Command:      node 'my app.js'\n");
    expect(out).toContain('    Working dir:  /srv/hello\n');
    expect(out).toContain('    Env:          A=1\n');
    expect(out).toContain('  Concurrency:  0 (unlimited)\n');
    expect(out).toContain('  Autoscaling:  min-scale=1\n');
    expect(out).toContain('  Replicas:       1 actual / 2 desired\n');
    expect(out).toContain('Events:  <none>\n');
  });

  it('says why events are missing instead of failing', () => {
    expect(renderDescribe(revKind, revision, 'HTTP 404', NOW)).toContain('Events:  <unavailable: HTTP 404>');
  });

  it('shows configmap data and aligns multi-line labels', () => {
    const cm: KObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler', namespace: 'knative-serving', labels: { a: '1', b: '2' } }, data: { 'stable-window': '30s', _example: 'line1\nline2' } };
    const out = renderDescribe(cmKind, cm, [], NOW);
    expect(out).toContain('Labels:       a=1\n              b=2\n');
    expect(out).toContain('Data:\n  stable-window:\n    30s\n  _example:\n    line1\n    line2\n');
    expect(out).not.toContain('Conditions');
  });
});

describe('describe: events, eventing kinds and -o', () => {
  it.each([
    [{ lastTimestamp: '2026-01-01T00:09:55Z' }, '5s'],
    [{ lastTimestamp: '2026-01-01T00:09:55Z', count: 1, firstTimestamp: '2026-01-01T00:09:55Z' }, '5s'],
    [{ lastTimestamp: '2026-01-01T00:09:55Z', count: 3, firstTimestamp: '2026-01-01T00:07:30Z' }, '5s (x3 over 2m30s)'],
    [{ lastTimestamp: '2026-01-01T00:09:55Z', count: 4 }, '5s (x4)'],
    [{}, ''],
  ])('event age %j → %s', (e, want) => {
    expect(eventAge(e, NOW)).toBe(want);
  });

  const trigger: KObject = {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Trigger',
    metadata: { name: 'orders', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      broker: 'default',
      filter: { attributes: { type: 'com.example.order' } },
      subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'shop' } },
      delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S', deadLetterSink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'dlq' } } },
    },
    status: {
      subscriberUri: 'http://shop.default.localhost:8080',
      deliveryStats: { delivered: 5, retried: 2, deadLettered: 1, failed: 0, inFlight: 0 },
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:09:00Z' }],
    },
  };

  it('shows a trigger with its filter, subscriber, delivery, counters, conditions and repeated events', () => {
    const out = renderDescribe(resolveKind('trigger')!, trigger, [
      { type: 'Normal', reason: 'Ready', message: 'Trigger is Ready', lastTimestamp: '2026-01-01T00:09:00Z' },
      { type: 'Warning', reason: 'DeliveryFailed', message: 'subscriber answered 500', count: 3, firstTimestamp: '2026-01-01T00:09:10Z', lastTimestamp: '2026-01-01T00:09:50Z' },
    ], NOW);
    expect(out).toMatch(/  Broker:\s+default\n/);
    expect(out).toMatch(/  Filter:\s+type=com\.example\.order\n/);
    expect(out).toMatch(/  Subscriber:\s+ksvc:shop\n/);
    expect(out).toMatch(/  Delivery:\s+dead letter sink ksvc:dlq, retry 3, backoff exponential PT0\.2S\n/);
    expect(out).toMatch(/  Deliveries:\s+delivered 5, retried 2, deadLettered 1, failed 0, inFlight 0\n/);
    expect(out).toMatch(/  Ready\s+True\s+60s\n/);
    expect(out).toMatch(/  Warning\s+DeliveryFailed\s+10s \(x3 over 50s\)\s+subscriber answered 500\n$/);
  });

  it('shows a broker address', () => {
    const broker: KObject = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default', namespace: 'default' }, status: { address: { url: 'http://127.0.0.1:8080/brokers/default/default' }, conditions: [] } };
    expect(renderDescribe(resolveKind('broker')!, broker, [], NOW)).toMatch(/Status:\n  Address:\s+http:\/\/127\.0\.0\.1:8080\/brokers\/default\/default\n/);
  });

  it('-o json and yaml hold the object, its conditions and events', () => {
    const events = [{ type: 'Normal', reason: 'Ready', message: 'Trigger is Ready', lastTimestamp: '2026-01-01T00:09:00Z' }];
    const json = JSON.parse(renderDescribeData(resolveKind('trigger')!, trigger, events, 'json'));
    expect(json.object.metadata.name).toBe('orders');
    expect(json.conditions).toEqual([{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:09:00Z' }]);
    expect(json.events).toEqual(events);
    expect(parseYaml(renderDescribeData(resolveKind('trigger')!, trigger, 'HTTP 500', 'yaml'))).toMatchObject({ events: [], eventsError: 'HTTP 500' });
  });
});

describe('autoscalerLines', () => {
  it('shows the autoscaler view of a revision, and nothing without one', async () => {
    const { autoscalerLines } = await import('./output.js');
    expect(autoscalerLines(undefined)).toEqual([]);
    const lines = autoscalerLines({ desiredScale: 3, actualScale: 2, panicMode: true, observedStableValue: 150.5, observedPanicValue: 300, excessBurstCapacity: -211, mode: 'Proxy' }).join('\n');
    expect(lines).toMatch(/Desired \/ actual:\s+3 \/ 2/);
    expect(lines).toMatch(/Panic mode:\s+yes/);
    expect(lines).toMatch(/Observed \(stable\):\s+150.5/);
    expect(lines).toMatch(/Excess burst capacity:\s+-211/);
    expect(lines).toMatch(/Mode:\s+Proxy/);
  });
});
