import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../core/clock.js';
import type { Condition, KObject } from '../../core/types.js';
import { openSqliteStore, type ResourceStore } from '../../controller/store.js';
import type { EventLog } from '../log/event-log.js';
import { openSqliteEventLog } from '../log/sqlite-log.js';
import { DEFAULT_BR_DEFAULTS_CONFIG } from '../resources/br-defaults.js';
import { normalizeBroker } from '../resources/broker.js';
import { normalizeTrigger } from '../resources/trigger.js';
import type { SubscriptionSpec } from '../dispatcher/dispatcher.js';
import { EventingController, leaseFor, triggerConsumerId, type DispatcherPort } from './controller.js';

const GW = 'http://127.0.0.1:8080';

/** Records what the controller asks of the dispatcher (the seam under test). */
class RecordingDispatcher implements DispatcherPort {
  subs = new Map<string, SubscriptionSpec>();
  upserts = 0;
  removed: string[] = [];
  async upsert(spec: SubscriptionSpec) {
    this.upserts++;
    this.subs.set(spec.id, spec);
  }
  async remove(id: string) {
    this.removed.push(id);
    this.subs.delete(id);
  }
}

let dir: string;
let store: ResourceStore;
let log: EventLog;
let dispatcher: RecordingDispatcher;
let clock: FakeClock;
let controller: EventingController;
let compactions: number;

const put = (plural: 'brokers' | 'triggers' | 'services', obj: KObject) => store.put(plural, obj).object;
const broker = (name: string, spec: Record<string, unknown> = {}) =>
  put('brokers', normalizeBroker({ apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', metadata: { name, namespace: 'default' }, spec }, DEFAULT_BR_DEFAULTS_CONFIG));
const trigger = (name: string, spec: Record<string, unknown>) =>
  put('triggers', normalizeTrigger({ apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name, namespace: 'default' }, spec: { broker: 'b', ...spec } }));
const cond = (plural: 'brokers' | 'triggers', name: string, type: string): Condition | undefined =>
  (store.get(plural, 'default', name)?.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zeno-evctl-'));
  clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
  store = openSqliteStore(join(dir, 'zeno.db'), { clock });
  const real = openSqliteEventLog(join(dir, 'events.db'), { clock });
  compactions = 0;
  log = { ...real, compact: () => ((compactions += 1), real.compact()) } as EventLog;
  log.append = real.append.bind(real);
  dispatcher = new RecordingDispatcher();
  controller = new EventingController({ store, log, dispatcher, clock, gatewayUrl: GW, brDefaults: () => DEFAULT_BR_DEFAULTS_CONFIG, compactEveryMs: 1000 });
  controller.start();
});
afterEach(async () => {
  controller.stop();
  await log.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('EventingController', () => {
  it('makes a Broker addressable and Ready, and subscribes a Trigger with the broker delivery', async () => {
    broker('b');
    const t = trigger('t', { subscriber: { uri: 'http://127.0.0.1:9/sink' }, filter: { attributes: { type: 'x' } } });
    await controller.settled();
    expect(store.get('brokers', 'default', 'b')?.status).toMatchObject({ address: { url: `${GW}/brokers/default/b` } });
    expect(cond('brokers', 'b', 'Ready')?.status).toBe('True');
    expect(cond('brokers', 'b', 'DeadLetterSinkResolved')).toMatchObject({ status: 'True', reason: 'DeadLetterSinkNotConfigured' });
    expect(store.get('triggers', 'default', 't')?.status).toMatchObject({ subscriberUri: 'http://127.0.0.1:9/sink' });
    for (const type of ['BrokerReady', 'SubscriberResolved', 'DependencyReady', 'SubscriptionReady', 'Ready']) expect(cond('triggers', 't', type)?.status).toBe('True');
    const sub = dispatcher.subs.get(`trigger:default/t/${t.metadata.uid}`);
    expect(sub).toMatchObject({ stream: 'default/b', maxInFlight: 100, omitAttributes: ['knativebrokerttl'], delivery: { retry: 10, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S' } });
    expect(sub?.subscriber()).toBe('http://127.0.0.1:9/sink');
    expect(sub?.filter?.match({ type: 'x' })).toBe('pass');
    expect(sub?.filter?.match({ type: 'y' })).toBe('fail');
  });

  it('holds a Trigger without its Broker not Ready, and subscribes it once the Broker exists', async () => {
    trigger('t', { subscriber: { uri: 'http://127.0.0.1:9/sink' } });
    await controller.settled();
    expect(cond('triggers', 't', 'BrokerReady')).toMatchObject({ status: 'False', reason: 'BrokerDoesNotExist' });
    expect(cond('triggers', 't', 'Ready')?.status).toBe('False');
    expect(dispatcher.subs.size).toBe(0);
    broker('b');
    await controller.settled();
    expect(cond('triggers', 't', 'Ready')?.status).toBe('True');
    expect(dispatcher.subs.size).toBe(1);
  });

  it('resolves a Service subscriber through the gateway once the Service exists, without losing the subscription', async () => {
    broker('b');
    trigger('t', { subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'consumer' } } });
    await controller.settled();
    expect(cond('triggers', 't', 'SubscriberResolved')).toMatchObject({ status: 'False' });
    const sub = [...dispatcher.subs.values()][0]!;
    expect(sub.subscriber()).toBeUndefined();
    const upserts = dispatcher.upserts;
    put('services', { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'consumer', namespace: 'default' }, spec: {} });
    await controller.settled();
    expect(cond('triggers', 't', 'Ready')?.status).toBe('True');
    expect(sub.subscriber()).toBe(`${GW}/function/consumer.default`);
    expect(store.get('triggers', 'default', 't')?.status?.subscriberUri).toBe(`${GW}/function/consumer.default`);
    expect(dispatcher.upserts).toBe(upserts);
  });

  it('uses the Trigger delivery over the Broker one, with its dead-letter sink resolved', async () => {
    broker('b', { delivery: { retry: 1, deadLetterSink: { uri: 'http://127.0.0.1:9/broker-dls' } } });
    trigger('own', { subscriber: { uri: 'http://127.0.0.1:9/s' }, delivery: { retry: 3, deadLetterSink: { uri: 'http://127.0.0.1:9/dls' } } });
    trigger('inherits', { subscriber: { uri: 'http://127.0.0.1:9/s' } });
    await controller.settled();
    const subs = [...dispatcher.subs.values()];
    const own = subs.find((s) => s.id.startsWith('trigger:default/own/'))!;
    const inherits = subs.find((s) => s.id.startsWith('trigger:default/inherits/'))!;
    expect(own.delivery).toEqual({ retry: 3, deadLetterSink: { uri: 'http://127.0.0.1:9/dls' } });
    expect(own.deadLetter?.()).toBe('http://127.0.0.1:9/dls');
    expect(inherits.deadLetter?.()).toBe('http://127.0.0.1:9/broker-dls');
    expect(store.get('brokers', 'default', 'b')?.status?.deadLetterSinkUri).toBe('http://127.0.0.1:9/broker-dls');
    expect(store.get('triggers', 'default', 'own')?.status?.deadLetterSinkUri).toBe('http://127.0.0.1:9/dls');
  });

  it('marks an unresolvable dead-letter sink', async () => {
    broker('b');
    trigger('t', { subscriber: { uri: 'http://127.0.0.1:9/s' }, delivery: { deadLetterSink: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'gone' } } } });
    await controller.settled();
    expect(cond('triggers', 't', 'DeadLetterSinkResolved')?.status).toBe('False');
    expect(cond('triggers', 't', 'Ready')?.status).toBe('False');
  });

  it('removes the subscription when the Trigger is deleted', async () => {
    broker('b');
    const t = trigger('t', { subscriber: { uri: 'http://127.0.0.1:9/s' } });
    await controller.settled();
    store.delete('triggers', 'default', 't');
    await controller.settled();
    expect(dispatcher.removed).toEqual([`trigger:default/t/${t.metadata.uid}`]);
  });

  it('publishes a reply into the broker with the original TTL decremented', async () => {
    broker('b');
    trigger('t', { subscriber: { uri: 'http://127.0.0.1:9/s' } });
    await controller.settled();
    await log.addConsumer('default/b', 'reader', { maxInFlight: 10, leaseMs: 1000 });
    const sub = [...dispatcher.subs.values()][0]!;
    await sub.reply!({ attributes: { specversion: '1.0', id: 'r1', source: '/reply', type: 'reply' }, data: 'ok' }, { attributes: { specversion: '1.0', id: 'o', source: '/o', type: 'o', knativebrokerttl: 7 } });
    const [got] = await log.fetch('reader', 10);
    expect(got?.event).toMatchObject({ attributes: { id: 'r1', knativebrokerttl: 6 }, data: 'ok' });
    await expect(sub.reply!({ attributes: { specversion: '1.0', id: 'r2', source: '/reply', type: 'reply' } }, { attributes: { specversion: '1.0', id: 'o', source: '/o', type: 'o', knativebrokerttl: 1 } }))
      .rejects.toMatchObject({ code: 'ZENO_ERR_EVENT_TTL_EXPIRED' });
  });

  it('compacts the log on its clock', async () => {
    expect(compactions).toBe(0);
    await clock.advanceAsync(1000);
    expect(compactions).toBe(1);
    await clock.advanceAsync(1000);
    expect(compactions).toBe(2);
  });
});

describe('leaseFor', () => {
  it.each([
    [{}, 605_000],
    [{ timeout: 'PT2S' }, 9_000],
    [{ timeout: 'PT0.5S', retry: 3 }, 6_000],
  ])('%j → %i ms', (delivery, want) => expect(leaseFor(delivery)).toBe(want));
});

describe('triggerConsumerId', () => {
  it('names the consumer with the uid, or by name alone for instances sharing one NATS', () => {
    const t = { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 'tr', namespace: 'ns', uid: 'u-1' } };
    expect(triggerConsumerId(t)).toBe('trigger:ns/tr/u-1');
    expect(triggerConsumerId(t, true)).toBe('trigger:ns/tr');
    // Another instance's store gives the same Trigger another uid: by name, the same consumer.
    expect(triggerConsumerId({ ...t, metadata: { ...t.metadata, uid: 'u-2' } }, true)).toBe(triggerConsumerId(t, true));
  });
});
