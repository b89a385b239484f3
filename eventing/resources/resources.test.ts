import { describe, expect, it } from 'vitest';
import type { KObject } from '../../core/types.js';
import { BR_DEFAULTS_KEY, DEFAULT_BR_DEFAULTS_CONFIG, brokerDefaultsFor, parseBrDefaultsConfigMap } from './br-defaults.js';
import { BROKER_CLASS_ANNOTATION, normalizeBroker, validateBroker, validateBrokerUpdate } from './broker.js';
import { BROKER_LABEL, normalizeTrigger, parseDependency, validateTrigger, validateTriggerUpdate } from './trigger.js';

const API = 'eventing.knative.dev/v1';
const broker = (spec?: unknown, meta: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: API, kind: 'Broker', metadata: { name: 'default', ...meta }, ...(spec === undefined ? {} : { spec }),
});
const SUB = { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'consumer' } };
const trigger = (spec: Record<string, unknown>, meta: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: API, kind: 'Trigger', metadata: { name: 't1', ...meta }, spec: { broker: 'default', subscriber: SUB, ...spec },
});
const paths = (issues: { path: string }[]) => issues.map((i) => i.path);

describe('validateBroker', () => {
  const cases: { name: string; obj: Record<string, unknown>; want: string[] }[] = [
    { name: 'minimal', obj: broker(), want: [] },
    { name: 'empty spec', obj: broker({}), want: [] },
    { name: 'any class', obj: broker({}, { annotations: { [BROKER_CLASS_ANNOTATION]: 'Kafka' } }), want: [] },
    { name: 'empty class', obj: broker({}, { annotations: { [BROKER_CLASS_ANNOTATION]: '' } }), want: [`metadata.annotations["${BROKER_CLASS_ANNOTATION}"]`] },
    { name: 'bad name', obj: broker({}, { name: 'Bad_Name' }), want: ['metadata.name'] },
    { name: 'bad namespace', obj: broker({}, { namespace: 'NS!' }), want: ['metadata.namespace'] },
    { name: 'config ref', obj: broker({ config: { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'y' } }), want: [] },
    { name: 'config ref without name', obj: broker({ config: { apiVersion: 'v1', kind: 'ConfigMap' } }), want: ['spec.config.name'] },
    { name: 'unknown spec field', obj: broker({ deliveryy: {} }), want: ['spec.deliveryy'] },
    { name: 'delivery ok', obj: broker({ delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT0.1S', timeout: 'PT1S', deadLetterSink: { uri: 'http://127.0.0.1:1/dls' } } }), want: [] },
    { name: 'delivery retry negative', obj: broker({ delivery: { retry: -1 } }), want: ['spec.delivery.retry'] },
    { name: 'delivery retry a string', obj: broker({ delivery: { retry: '3' } }), want: ['spec.delivery.retry'] },
    { name: 'delivery bad policy', obj: broker({ delivery: { backoffPolicy: 'fibonacci' } }), want: ['spec.delivery.backoffPolicy'] },
    { name: 'delivery bad duration', obj: broker({ delivery: { backoffDelay: '200ms' } }), want: ['spec.delivery.backoffDelay'] },
    { name: 'delivery zero timeout', obj: broker({ delivery: { timeout: 'PT0S' } }), want: ['spec.delivery.timeout'] },
    { name: 'delivery unsupported retryAfterMax', obj: broker({ delivery: { retryAfterMax: 'PT1S' } }), want: ['spec.delivery.retryAfterMax'] },
    { name: 'dls relative uri alone', obj: broker({ delivery: { deadLetterSink: { uri: '/dls' } } }), want: ['spec.delivery.deadLetterSink.uri'] },
    { name: 'dls ref without apiVersion', obj: broker({ delivery: { deadLetterSink: { ref: { kind: 'Service', name: 'd' } } } }), want: ['spec.delivery.deadLetterSink.ref.apiVersion'] },
    { name: 'dls CACerts', obj: broker({ delivery: { deadLetterSink: { uri: 'https://x/', CACerts: 'pem' } } }), want: ['spec.delivery.deadLetterSink.CACerts'] },
  ];
  it.each(cases)('$name', ({ obj, want }) => expect(paths(validateBroker(obj))).toEqual(want));
});

describe('validateTrigger', () => {
  const cases: { name: string; obj: Record<string, unknown>; want: string[] }[] = [
    { name: 'minimal', obj: trigger({}), want: [] },
    { name: 'no spec', obj: { apiVersion: API, kind: 'Trigger', metadata: { name: 't' } }, want: ['spec'] },
    { name: 'no broker', obj: trigger({ broker: undefined }), want: ['spec.broker'] },
    { name: 'brokerRef refused', obj: trigger({ brokerRef: { name: 'x' } }), want: ['spec.brokerRef'] },
    { name: 'no subscriber', obj: trigger({ subscriber: undefined }), want: ['spec.subscriber'] },
    { name: 'subscriber uri', obj: trigger({ subscriber: { uri: 'http://127.0.0.1:9/x' } }), want: [] },
    { name: 'subscriber ref + relative uri', obj: trigger({ subscriber: { ...SUB, uri: '/path' } }), want: [] },
    { name: 'subscriber ref + absolute uri', obj: trigger({ subscriber: { ...SUB, uri: 'http://x/path' } }), want: ['spec.subscriber.uri'] },
    { name: 'subscriber empty', obj: trigger({ subscriber: {} }), want: ['spec.subscriber'] },
    { name: 'subscriber ref missing name', obj: trigger({ subscriber: { ref: { apiVersion: 'v1', kind: 'Service' } } }), want: ['spec.subscriber.ref.name'] },
    { name: 'legacy filter', obj: trigger({ filter: { attributes: { type: 'a', myext: '' } } }), want: [] },
    // rekt control plane: invalid filter keys SOURCE, s-pace, 123 (and emoji) are rejected.
    { name: 'filter key upper case', obj: trigger({ filter: { attributes: { SOURCE: 'a' } } }), want: ['spec.filter.attributes['] },
    { name: 'filter key with dash', obj: trigger({ filter: { attributes: { 's-pace': 'a' } } }), want: ['spec.filter.attributes['] },
    { name: 'filter key digits', obj: trigger({ filter: { attributes: { 123: 'a' } } }), want: ['spec.filter.attributes['] },
    { name: 'filter key emoji', obj: trigger({ filter: { attributes: { '😀': 'a' } } }), want: ['spec.filter.attributes['] },
    { name: 'filter value not a string', obj: trigger({ filter: { attributes: { type: 1 } } }), want: ['spec.filter.attributes["type"]'] },
    { name: 'filters dialects', obj: trigger({ filters: [{ exact: { type: 'a' } }, { prefix: { source: '/x' } }, { not: { suffix: { type: '.b' } } }, { cesql: "type LIKE 'a%'" }] }), want: [] },
    { name: 'filters two dialects in one element', obj: trigger({ filters: [{ exact: { type: 'a' }, suffix: { type: 'b' } }] }), want: ['spec.filters[0]'] },
    { name: 'filters bad cesql', obj: trigger({ filters: [{ cesql: 'type = ' }] }), want: ['spec.filters[0].cesql'] },
    { name: 'filters not a list', obj: trigger({ filters: { exact: {} } }), want: ['spec.filters'] },
    { name: 'delivery', obj: trigger({ delivery: { retry: 2, deadLetterSink: { uri: 'http://127.0.0.1:1/dls' } } }), want: [] },
    { name: 'delivery bad', obj: trigger({ delivery: { backoffPolicy: 'x' } }), want: ['spec.delivery.backoffPolicy'] },
    { name: 'dependency annotation ok', obj: trigger({}, { annotations: { 'knative.dev/dependency': '{"kind":"PingSource","name":"p","apiVersion":"sources.knative.dev/v1"}' } }), want: [] },
    { name: 'dependency annotation bad', obj: trigger({}, { annotations: { 'knative.dev/dependency': 'ping' } }), want: ['metadata.annotations["knative.dev/dependency"]'] },
    { name: 'unknown field', obj: { ...trigger({}), extra: 1 }, want: ['extra'] },
  ];
  it.each(cases)('$name', ({ obj, want }) => {
    const got = paths(validateTrigger(obj));
    // Each case names where the problem is; a filter issue may carry a deeper path.
    expect(got.length).toBe(want.length);
    want.forEach((w, i) => expect(got[i]!.startsWith(w)).toBe(true));
  });
});

describe('immutable fields', () => {
  const stored = (o: Record<string, unknown>) => o as unknown as KObject;
  it('a Trigger keeps its broker', () => {
    expect(validateTriggerUpdate(stored(trigger({})), stored(trigger({})))).toEqual([]);
    expect(paths(validateTriggerUpdate(stored(trigger({})), stored(trigger({ broker: 'other' }))))).toEqual(['spec.broker']);
  });
  it('a Broker keeps its class and config; leaving the class out keeps it', () => {
    const prev = stored(broker({ config: { kind: 'ConfigMap', name: 'a' } }, { annotations: { [BROKER_CLASS_ANNOTATION]: 'MTChannelBasedBroker' } }));
    expect(validateBrokerUpdate(prev, stored(broker({ config: { kind: 'ConfigMap', name: 'a' } })))).toEqual([]);
    expect(paths(validateBrokerUpdate(prev, stored(broker({ config: { kind: 'ConfigMap', name: 'b' } }))))).toEqual(['spec.config']);
    expect(paths(validateBrokerUpdate(prev, stored(broker({ config: { kind: 'ConfigMap', name: 'a' } }, { annotations: { [BROKER_CLASS_ANNOTATION]: 'Kafka' } })))))
      .toEqual([`metadata.annotations["${BROKER_CLASS_ANNOTATION}"]`]);
    const normalized = normalizeBroker(stored(broker({})), DEFAULT_BR_DEFAULTS_CONFIG, stored(broker({}, { annotations: { [BROKER_CLASS_ANNOTATION]: 'Kafka' } })));
    expect(normalized.metadata.annotations?.[BROKER_CLASS_ANNOTATION]).toBe('Kafka');
  });
});

describe('defaulting', () => {
  it('a Broker gets the class and the delivery of config-br-defaults; its own delivery stays', () => {
    const b = normalizeBroker({ ...broker({}), metadata: { name: 'b', namespace: 'team' } } as unknown as KObject, DEFAULT_BR_DEFAULTS_CONFIG);
    expect(b.metadata.annotations?.[BROKER_CLASS_ANNOTATION]).toBe('MTChannelBasedBroker');
    expect(b.spec).toEqual({ delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' } });
    const own = normalizeBroker({ ...broker({ delivery: { retry: 1, deadLetterSink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'd' } } } }), metadata: { name: 'b', namespace: 'team' } } as unknown as KObject, DEFAULT_BR_DEFAULTS_CONFIG);
    expect(own.spec).toEqual({ delivery: { retry: 1, deadLetterSink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'd', namespace: 'team' } } } });
  });
  it('a Trigger gets filter {}, the broker label and its namespace on refs', () => {
    const t = normalizeTrigger({ ...trigger({}), metadata: { name: 't', namespace: 'team' } } as unknown as KObject);
    expect(t.metadata.labels).toEqual({ [BROKER_LABEL]: 'default' });
    expect(t.spec).toMatchObject({ filter: {}, subscriber: { ref: { namespace: 'team' } } });
  });
  it('parses the dependency annotation', () => {
    expect(parseDependency('{"kind":"K","name":"n","apiVersion":"a/v1"}')).toEqual({ kind: 'K', name: 'n', apiVersion: 'a/v1' });
    expect(parseDependency('{"kind":"K"}')).toHaveProperty('error');
  });
});

describe('config-br-defaults', () => {
  const cm = (yaml: string) => parseBrDefaultsConfigMap({ [BR_DEFAULTS_KEY]: yaml });
  it('without the key: Knative shipped defaults', () => {
    expect(parseBrDefaultsConfigMap({})).toEqual({ config: DEFAULT_BR_DEFAULTS_CONFIG, issues: [] });
  });
  it('reads cluster and namespace defaults; a namespace entry wins field by field', () => {
    const r = cm(`clusterDefault:
  brokerClass: MTChannelBasedBroker
  apiVersion: v1
  kind: ConfigMap
  name: config-br-default-channel
  namespace: knative-eventing
  delivery: {retry: 3, backoffPolicy: linear, backoffDelay: PT1S}
namespaceDefaults:
  team:
    brokerClass: Other
`);
    expect(r.issues).toEqual([]);
    expect(brokerDefaultsFor(r.config, 'default')).toEqual({ brokerClass: 'MTChannelBasedBroker', delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' } });
    expect(brokerDefaultsFor(r.config, 'team')).toEqual({ brokerClass: 'Other', delivery: { retry: 3, backoffPolicy: 'linear', backoffDelay: 'PT1S' } });
  });
  it('a default without delivery means no retries (as Knative)', () => {
    const r = cm('clusterDefault:\n  brokerClass: MTChannelBasedBroker\n');
    expect(brokerDefaultsFor(r.config, 'x')).toEqual({ brokerClass: 'MTChannelBasedBroker' });
  });
  const bad: { name: string; yaml: string; path: string }[] = [
    { name: 'not yaml', yaml: 'a: [', path: 'data.default-br-config' },
    { name: 'bad delivery', yaml: 'clusterDefault:\n  delivery: {retry: -2}\n', path: 'data.default-br-config.clusterDefault.delivery.retry' },
    { name: 'unknown field', yaml: 'clusterDefault:\n  brokerClas: X\n', path: 'data.default-br-config.clusterDefault.brokerClas' },
    { name: 'namespace not a mapping', yaml: 'namespaceDefaults:\n  team: 3\n', path: 'data.default-br-config.namespaceDefaults.team' },
  ];
  it.each(bad)('refuses $name', ({ yaml, path }) => expect(paths(cm(yaml).issues)).toEqual([path]));
});
