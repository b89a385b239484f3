import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KObject } from '../core/types.js';
import { BASE_DIR_ANNOTATION, formatIssues, loadAndValidate, manifestPaths, prepareItems, type ManifestDoc } from './manifests.js';

const service = (ns?: string, annotations?: Record<string, string>): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', ...(ns ? { namespace: ns } : {}), ...(annotations ? { annotations } : {}) },
  spec: { template: { spec: { containers: [{ command: ['node', 'index.js'], workingDir: '.' }] } } },
});
const configMap = (ns?: string): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler', ...(ns ? { namespace: ns } : {}) }, data: { 'stable-window': '30s' } });
const broker: KObject = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name: 'default' } };
const doc = (object: KObject, baseDir = '/srv/app'): ManifestDoc => ({ file: 'app/service.yaml', object, baseDir });

describe('prepareItems', () => {
  const cases: { label: string; input: [ManifestDoc[], string | undefined]; want: { namespace?: string; baseDir?: string | undefined }[] }[] = [
    { label: 'a service gets namespace default and its folder', input: [[doc(service())], undefined], want: [{ namespace: 'default', baseDir: '/srv/app' }] },
    { label: 'a namespace in the manifest wins over -n', input: [[doc(service('team-a'))], 'other'], want: [{ namespace: 'team-a', baseDir: '/srv/app' }] },
    { label: '-n fills in missing namespaces', input: [[doc(service()), doc(configMap())], 'team-b'], want: [{ namespace: 'team-b', baseDir: '/srv/app' }, { namespace: 'team-b', baseDir: undefined }] },
    { label: 'a configmap defaults to knative-serving and gets no folder', input: [[doc(configMap())], undefined], want: [{ namespace: 'knative-serving', baseDir: undefined }] },
    { label: 'other kinds default to default and get no folder', input: [[doc(broker)], undefined], want: [{ namespace: 'default', baseDir: undefined }] },
    { label: 'a relative folder becomes absolute', input: [[doc(service(), 'rel/dir')], undefined], want: [{ namespace: 'default', baseDir: resolve('rel/dir') }] },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    const got = prepareItems(...input).map((o) => ({ namespace: o.metadata.namespace, baseDir: o.metadata.annotations?.[BASE_DIR_ANNOTATION] }));
    expect(got).toEqual(want);
  });

  it('keeps the user annotations and does not modify the input', () => {
    const original = service(undefined, { 'autoscaling.knative.dev/min-scale': '1', [BASE_DIR_ANNOTATION]: '/elsewhere' });
    const before = structuredClone(original);
    const [got] = prepareItems([doc(original)]);
    expect(got!.metadata.annotations).toEqual({ 'autoscaling.knative.dev/min-scale': '1', [BASE_DIR_ANNOTATION]: '/srv/app' });
    expect(got!.spec).toEqual(original.spec);
    expect(original).toEqual(before);
  });
});

describe('formatIssues', () => {
  it('prints file:line:col: path: message, ordered by file and position', () => {
    const got = formatIssues([
      { file: 'b.yaml', line: 3, column: 5, path: 'spec.template.spec.containers[0].command', message: 'required' },
      { file: 'a.yaml', line: 9, column: 1, path: 'metadata.name', message: 'must be a DNS-1035 label' },
      { file: 'a.yaml', line: 2, column: 7, path: 'kind', message: 'unknown kind' },
    ]);
    expect(got).toBe(
      [
        'a.yaml:2:7: kind: unknown kind',
        'a.yaml:9:1: metadata.name: must be a DNS-1035 label',
        'b.yaml:3:5: spec.template.spec.containers[0].command: required',
        '',
      ].join('\n'),
    );
  });
});

describe('manifestPaths', () => {
  it('keeps paths as typed when the CLI runs in the process folder', () => {
    expect(manifestPaths(['hello/service.yaml', '/abs/x.yaml'], process.cwd())).toEqual(['hello/service.yaml', '/abs/x.yaml']);
  });

  it('resolves against another folder', () => {
    expect(manifestPaths(['x.yaml'], '/tmp/elsewhere').map((p) => resolve(p))).toEqual(['/tmp/elsewhere/x.yaml']);
  });
});

describe('loadAndValidate: the platform runtime decides what a container needs', () => {
  const text = [
    'apiVersion: serving.knative.dev/v1',
    'kind: Service',
    'metadata:',
    '  name: img',
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    '        - image: ghcr.io/zeno/hello:1',
    '          env:',
    '            - name: A',
    '              value: 1',
    '',
  ].join('\n');
  const file = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-lv-'));
    const f = join(dir, 'svc.yaml');
    writeFileSync(f, text);
    return f;
  };
  it.each<[string, 'local' | 'kubernetes' | 'unknown' | undefined, string[]]>([
    // Line 9 is the container (`- image:`): a missing field is reported at its parent.
    ['local (the default): image only is refused, at file, line and field', undefined, [':9:11: spec.template.spec.containers[0].command:', ':12:15: spec.template.spec.containers[0].env[0].value:']],
    ['local: the same', 'local', [':9:11: spec.template.spec.containers[0].command:', ':12:15: spec.template.spec.containers[0].env[0].value:']],
    ['kubernetes: image only is valid; the other problem stays', 'kubernetes', [':12:15: spec.template.spec.containers[0].env[0].value:']],
    ['runtime unknown (platform unreachable): only what is wrong everywhere', 'unknown', [':12:15: spec.template.spec.containers[0].env[0].value:']],
  ])('%s', async (_label, runtime, want) => {
    const f = file();
    const { issues } = await loadAndValidate([f], { validate: true, ...(runtime ? { runtime } : {}) });
    const lines = formatIssues(issues).trim().split('\n');
    expect(lines).toHaveLength(want.length);
    lines.forEach((l, i) => expect(l.startsWith(`${f}${want[i]}`), l).toBe(true));
  });
});
