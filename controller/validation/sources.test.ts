import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../../core/config/defaults.js';
import type { ValidationContext } from './context.js';
import { validateContainerSource, validatePingSource, validateSinkBinding } from './sources.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ctx: ValidationContext = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };
const sink = () => ({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' } });

const ping = (): Obj => ({
  apiVersion: 'sources.knative.dev/v1', kind: 'PingSource', metadata: { name: 'beat', namespace: 'default' },
  spec: { schedule: '*/2 * * * *', timezone: 'Europe/Madrid', contentType: 'application/json', data: '{"message":"hi"}', sink: sink(), ceOverrides: { extensions: { team: 'a1' } } },
});
const container = (): Obj => ({
  apiVersion: 'sources.knative.dev/v1', kind: 'ContainerSource', metadata: { name: 'heartbeat' },
  spec: { template: { spec: { containers: [{ name: 'beat', image: 'x/heartbeat:1', command: ['node', 'beat.js'], env: [{ name: 'PERIOD', value: '1' }] }] } }, sink: { uri: 'http://127.0.0.1:9999/' } },
});
const binding = (): Obj => ({
  apiVersion: 'sources.knative.dev/v1', kind: 'SinkBinding', metadata: { name: 'bind', namespace: 'team' },
  spec: { subject: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'producer' }, sink: sink() },
});

type Row = { label: string; mutate: (o: Obj) => void; want: string[]; message?: RegExp };
function runTable(name: string, make: () => Obj, validate: (o: Obj) => { path: string; message: string }[], rows: Row[]): void {
  describe(name, () => {
    it('accepts the valid base object', () => expect(validate(make())).toEqual([]));
    it.each(rows)('$label', ({ mutate, want, message }) => {
      const o = make();
      mutate(o);
      const issues = validate(o);
      expect(issues.map((i) => i.path).sort()).toEqual([...want].sort());
      if (message) expect(issues.map((i) => i.message).join('\n')).toMatch(message);
    });
  });
}

runTable('validatePingSource', ping, validatePingSource, [
  { label: 'schedule may be omitted (defaulted)', mutate: (o) => { delete o.spec.schedule; }, want: [] },
  { label: 'seconds field accepted', mutate: (o) => { o.spec.schedule = '* * * * * *'; }, want: [] },
  { label: 'bad schedule', mutate: (o) => { o.spec.schedule = '* * *'; }, want: ['spec.schedule'], message: /expected 5 to 6 fields/ },
  { label: '@every refused', mutate: (o) => { o.spec.schedule = '@every 1m'; }, want: ['spec.schedule'], message: /unsupported descriptor @every/ },
  { label: 'bad timezone', mutate: (o) => { o.spec.timezone = 'Europe/Atlantis'; }, want: ['spec.timezone'], message: /bad location/ },
  { label: 'data and dataBase64', mutate: (o) => { o.spec.dataBase64 = 'e30='; }, want: ['spec.data'], message: /expected exactly one, got both/ },
  { label: 'data not a JSON object under application/json', mutate: (o) => { o.spec.data = '[1,2]'; }, want: ['spec.data'], message: /not a JSON object/ },
  { label: 'plain text data with text/plain', mutate: (o) => { o.spec.contentType = 'text/plain'; o.spec.data = 'hello'; }, want: [] },
  { label: 'dataBase64 not base64', mutate: (o) => { delete o.spec.data; o.spec.dataBase64 = 'not base64!'; }, want: ['spec.dataBase64'], message: /illegal base64/ },
  { label: 'dataBase64 decoding to non-JSON under application/json', mutate: (o) => { delete o.spec.data; o.spec.dataBase64 = Buffer.from('nope').toString('base64'); }, want: ['spec.dataBase64'] },
  { label: 'dataBase64 of a JSON object', mutate: (o) => { delete o.spec.data; o.spec.dataBase64 = Buffer.from('{"a":1}').toString('base64'); }, want: [] },
  { label: 'sink missing', mutate: (o) => { delete o.spec.sink; }, want: ['spec.sink'], message: /expected at least one, got none: ref, uri/ },
  { label: 'sink empty', mutate: (o) => { o.spec.sink = {}; }, want: ['spec.sink'] },
  { label: 'sink uri relative without ref', mutate: (o) => { o.spec.sink = { uri: '/path' }; }, want: ['spec.sink.uri'], message: /absolute URI/ },
  { label: 'sink ref with absolute uri', mutate: (o) => { o.spec.sink.uri = 'http://x/'; }, want: ['spec.sink.uri'], message: /relative/ },
  { label: 'sink ref with relative uri', mutate: (o) => { o.spec.sink.uri = '/extra'; }, want: [] },
  { label: 'sink ref without apiVersion', mutate: (o) => { delete o.spec.sink.ref.apiVersion; }, want: ['spec.sink.ref.apiVersion'] },
  { label: 'sink ref without name', mutate: (o) => { delete o.spec.sink.ref.name; }, want: ['spec.sink.ref.name'] },
  { label: 'sink typo', mutate: (o) => { o.spec.sink.url = 'http://x'; }, want: ['spec.sink.url'], message: /unknown field/ },
  { label: 'ceOverrides key not alphanumeric', mutate: (o) => { o.spec.ceOverrides.extensions['Team-Name'] = 'x'; }, want: ['spec.ceOverrides.extensions["Team-Name"]'], message: /alphanumeric/ },
  { label: 'ceOverrides value not a string', mutate: (o) => { o.spec.ceOverrides.extensions.count = 3; }, want: ['spec.ceOverrides.extensions["count"]'] },
  { label: 'ceOverrides typo', mutate: (o) => { o.spec.ceOverrides = { extension: {} }; }, want: ['spec.ceOverrides.extension'] },
  { label: 'spec typo', mutate: (o) => { o.spec.shedule = '* * * * *'; }, want: ['spec.shedule'] },
  { label: 'name invalid', mutate: (o) => { o.metadata.name = 'Beat'; }, want: ['metadata.name'] },
  { label: 'spec missing', mutate: (o) => { delete o.spec; }, want: ['spec'] },
]);

runTable('validateContainerSource', container, (o) => validateContainerSource(o, ctx), [
  { label: 'no containers', mutate: (o) => { o.spec.template.spec.containers = []; }, want: ['spec.template.spec.containers'] },
  { label: 'container without name', mutate: (o) => { delete o.spec.template.spec.containers[0].name; }, want: ['spec.template.spec.containers[0].name'] },
  { label: 'container without command (local)', mutate: (o) => { delete o.spec.template.spec.containers[0].command; }, want: ['spec.template.spec.containers[0].command'] },
  { label: 'two containers', mutate: (o) => { o.spec.template.spec.containers.push({ name: 'b', command: ['x'] }); }, want: ['spec.template.spec.containers'] },
  { label: 'bad env name', mutate: (o) => { o.spec.template.spec.containers[0].env[0].name = '1X'; }, want: ['spec.template.spec.containers[0].env[0].name'] },
  { label: 'template missing', mutate: (o) => { delete o.spec.template; }, want: ['spec.template'] },
  { label: 'pod spec typo', mutate: (o) => { o.spec.template.spec.contianers = []; }, want: ['spec.template.spec.contianers'] },
  { label: 'sink missing', mutate: (o) => { delete o.spec.sink; }, want: ['spec.sink'] },
  { label: 'ceOverrides ok', mutate: (o) => { o.spec.ceOverrides = { extensions: { a: 'b' } }; }, want: [] },
]);

runTable('validateSinkBinding', binding, validateSinkBinding, [
  { label: 'selector instead of name', mutate: (o) => { delete o.spec.subject.name; o.spec.subject.selector = { matchLabels: { app: 'p' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] }; }, want: [] },
  { label: 'both name and selector', mutate: (o) => { o.spec.subject.selector = { matchLabels: { app: 'p' } }; }, want: ['spec.subject'], message: /got both: name, selector/ },
  { label: 'neither name nor selector', mutate: (o) => { delete o.spec.subject.name; }, want: ['spec.subject'], message: /got neither/ },
  { label: 'subject in another namespace', mutate: (o) => { o.spec.subject.namespace = 'other'; }, want: ['spec.subject.namespace'] },
  { label: 'subject in its own namespace', mutate: (o) => { o.spec.subject.namespace = 'team'; }, want: [] },
  { label: 'subject not a Knative Service', mutate: (o) => { o.spec.subject = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' }; }, want: ['spec.subject'], message: /Service subjects only/ },
  { label: 'subject without kind', mutate: (o) => { delete o.spec.subject.kind; }, want: ['spec.subject.kind'] },
  { label: 'selector bad operator', mutate: (o) => { delete o.spec.subject.name; o.spec.subject.selector = { matchExpressions: [{ key: 'a', operator: 'Near' }] }; }, want: ['spec.subject.selector.matchExpressions[0].operator'] },
  { label: 'selector In without values', mutate: (o) => { delete o.spec.subject.name; o.spec.subject.selector = { matchExpressions: [{ key: 'a', operator: 'In' }] }; }, want: ['spec.subject.selector.matchExpressions[0].values'] },
  { label: 'subject missing', mutate: (o) => { delete o.spec.subject; }, want: ['spec.subject'] },
  { label: 'sink missing', mutate: (o) => { delete o.spec.sink; }, want: ['spec.sink'] },
]);

it('the generic registry validates and defaults these kinds', async () => {
  const { GENERIC_KINDS } = await import('../resource-kinds.js');
  const kinds = GENERIC_KINDS.map((k) => k.kind);
  expect(kinds).toEqual(expect.arrayContaining(['PingSource', 'ContainerSource', 'SinkBinding', 'Channel', 'Subscription', 'Sequence', 'Parallel']));
  const p = GENERIC_KINDS.find((k) => k.kind === 'PingSource')!;
  const o = ping();
  delete o.spec.schedule;
  expect(p.normalize!(o as never, {} as never).spec?.schedule).toBe('* * * * *');
});

it('a ContainerSource runs beside the platform on every runtime, so it needs a command even when functions run on Kubernetes', () => {
  const o = container();
  delete o.spec.template.spec.containers[0].command;
  for (const runtime of ['local', 'kubernetes'] as const) {
    expect(validateContainerSource(o, { ...ctx, runtime }).map((i) => i.path)).toEqual(['spec.template.spec.containers[0].command']);
  }
});
