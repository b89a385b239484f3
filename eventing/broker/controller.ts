/**
 * The Broker/Trigger controller: keeps Broker and Trigger statuses and one
 * dispatcher subscription per Trigger in step with the store.
 *
 * Level-triggered like the serving reconciler: any stored change that can
 * matter (brokers, triggers, and anything a Trigger may point at) marks the
 * world dirty, and one pass per microtask recomputes every status and
 * subscription from what is stored (status.ts holds the pure part).
 *
 * A Trigger's subscription exists while the Trigger and its Broker exist,
 * under the stable consumer id `trigger:NS/NAME/UID`, so its position in
 * the event log survives restarts and a Trigger recreated under the same
 * name starts afresh. The subscriber and dead-letter URLs are read through
 * getters at delivery time: a subscriber that becomes unresolvable (its
 * Service deleted) fails deliveries, which are retried as the delivery spec
 * says, instead of losing the Trigger's place in the log.
 */
import type { Clock, TimerHandle } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { KObject } from '../../core/types.js';
import type { ResourceStore, WatchEvent } from '../../controller/store.js';
import type { DeliverySpec } from '../delivery/delivery.js';
import type { EventingMetrics } from '../../core/metrics.js';
import { LEASE_SLACK_MS, type DeliveryOutcome, type EventDispatcher } from '../dispatcher/dispatcher.js';
import { parseIsoDuration } from '../delivery/iso-duration.js';
import { compileFilters } from '../filter/filters.js';
import type { EventLog, StoredEvent } from '../log/event-log.js';
import type { BrDefaultsConfig } from '../resources/br-defaults.js';
import { brokerDefaultsFor } from '../resources/br-defaults.js';
import type { TriggerSpec } from '../resources/trigger.js';
import { brokerStream, ingest, TTL_ATTRIBUTE } from './ingress.js';
import { brokerStatus, planTrigger } from './status.js';

/** What the controller needs of the delivery engine (eventing/dispatcher). */
export type DispatcherPort = Pick<EventDispatcher, 'upsert' | 'remove'> & Partial<Pick<EventDispatcher, 'stats'>>;

export interface TriggerRef {
  namespace: string;
  broker: string;
  trigger: string;
}

/** Feeds a delivery outcome to the eventing metric hooks (core/metrics.ts, Knative's trigger metric names). */
export function recordTriggerOutcome(m: EventingMetrics, t: TriggerRef, o: DeliveryOutcome): void {
  if (o.kind === 'delivered') m.triggerDelivered(t);
  else if (o.kind === 'retry') m.triggerRetry(t);
  else if (o.kind === 'deadlettered') m.triggerDeadLettered(t);
  else if (o.kind === 'failed') m.triggerDropped(t);
}

export interface EventingControllerDeps {
  store: ResourceStore;
  log: EventLog;
  dispatcher: DispatcherPort;
  clock: Clock;
  gatewayUrl: string;
  brDefaults: () => BrDefaultsConfig;
  maxInFlight?: number;
  /** Name Trigger consumers without their uid (several instances on one NATS; triggerConsumerId). */
  consumerIdsByName?: boolean;
  compactEveryMs?: number;
  onError?: (err: unknown) => void;
}

/** Kinds whose changes never affect a Broker or Trigger (written often by the serving reconciler). */
const IGNORED = new Set(['revisions', 'configurations', 'routes']);

/**
 * The EventLog consumer of a Trigger. With its uid, so a Trigger deleted and
 * made again starts afresh; `byName` leaves the uid out, for instances that
 * share one NATS: each keeps its own resource store, where the same Trigger
 * has another uid, and only by name do they share its consumer (and so
 * split its events instead of each delivering all of them).
 */
export function triggerConsumerId(trigger: KObject, byName = false): string {
  const base = `trigger:${trigger.metadata.namespace ?? 'default'}/${trigger.metadata.name}`;
  return byName ? base : `${base}/${trigger.metadata.uid ?? ''}`;
}

/**
 * The lease on an event in delivery, from the delivery timeout: room for one
 * attempt and one dead-letter post plus slack (the dispatcher's own floor),
 * so a lease never runs out under a live attempt.
 */
export function leaseFor(delivery: DeliverySpec): number {
  const t = delivery.timeout === undefined ? undefined : parseIsoDuration(delivery.timeout);
  const attemptMs = t && 'ms' in t && t.ms > 0 ? t.ms : PLATFORM_DEFAULTS.eventDeliveryTimeoutMs;
  return 2 * attemptMs + LEASE_SLACK_MS;
}

interface Held {
  id: string;
  ref: TriggerRef;
  /** What the subscription was built from; a change re-upserts it. */
  key: string;
  subscriber: string | undefined;
  deadLetter: string | undefined;
}

export class EventingController {
  private readonly held = new Map<string, Held>();
  private dirty = false;
  private running: Promise<void> | undefined;
  private unwatch: (() => void) | undefined;
  private compactTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly d: EventingControllerDeps) {}

  start(): void {
    this.unwatch = this.d.store.watch((e: WatchEvent) => {
      if (!IGNORED.has(e.kind)) this.schedule();
    });
    this.compactTimer = this.d.clock.setInterval(() => {
      this.d.log.compact().catch((err: unknown) => this.d.onError?.(err));
    }, this.d.compactEveryMs ?? PLATFORM_DEFAULTS.eventLogCompactMs);
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.d.clock.clearInterval(this.compactTimer);
  }

  /** The Trigger behind a subscription id, for metrics. */
  triggerOf(id: string): TriggerRef | undefined {
    return this.held.get(id)?.ref;
  }

  /**
   * A Trigger as the admin API shows it, with the dispatcher's live
   * counters since this process started in `status.deliveryStats` (Zeno's
   * addition; not stored, not in Knative's schema).
   */
  withDeliveryStats(trigger: KObject): KObject {
    const stats = this.d.dispatcher.stats?.(triggerConsumerId(trigger, this.d.consumerIdsByName));
    if (!stats) return trigger;
    return { ...trigger, status: { ...(trigger.status ?? {}), deliveryStats: stats } };
  }

  /** Resolves once every change seen so far is reconciled (tests, startup). */
  async settled(): Promise<void> {
    while (this.running || this.dirty) await (this.running ?? Promise.resolve());
  }

  private schedule(): void {
    if (this.dirty || this.stopped) return;
    this.dirty = true;
    queueMicrotask(() => void this.kick());
  }

  private async kick(): Promise<void> {
    if (this.running) return; // the running pass re-checks `dirty` when it ends
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      this.running = this.reconcileAll().catch((err: unknown) => this.d.onError?.(err));
      await this.running;
      this.running = undefined;
    }
  }

  private async reconcileAll(): Promise<void> {
    const { store } = this.d;
    const nowIso = new Date(this.d.clock.now()).toISOString();
    const ctx = { namespace: 'default', gatewayUrl: this.d.gatewayUrl, get: (p: Parameters<ResourceStore['get']>[0], ns: string, n: string) => store.get(p, ns, n) };
    // Brokers first: a Trigger's BrokerReady reads the Broker's fresh status.
    for (const b of store.list('brokers')) {
      store.putStatus('brokers', b.metadata.namespace ?? 'default', b.metadata.name, brokerStatus(b, ctx, nowIso));
    }
    const seen = new Set<string>();
    for (const t of store.list('triggers')) {
      const ns = t.metadata.namespace ?? 'default';
      const spec = (t.spec ?? {}) as unknown as TriggerSpec;
      const broker = store.get('brokers', ns, spec.broker);
      const id = triggerConsumerId(t, this.d.consumerIdsByName);
      const defaultDelivery = brokerDefaultsFor(this.d.brDefaults(), ns).delivery;
      let plan = planTrigger(t, broker, ctx, { nowIso, subscribed: this.held.has(id), defaultDelivery });
      if (plan.subscribe) {
        seen.add(id);
        await this.hold(id, t, plan.subscriber.ok ? plan.subscriber.url : undefined, plan.deadLetterUri, plan.delivery, ns, spec);
        if (!this.stopped) plan = planTrigger(t, broker, ctx, { nowIso, subscribed: true, defaultDelivery });
      }
      store.putStatus('triggers', ns, t.metadata.name, plan.status);
    }
    for (const id of [...this.held.keys()]) {
      if (seen.has(id)) continue;
      this.held.delete(id);
      await this.d.dispatcher.remove(id);
    }
  }

  private async hold(id: string, t: KObject, subscriber: string | undefined, deadLetter: string | undefined, delivery: DeliverySpec, ns: string, spec: TriggerSpec): Promise<void> {
    const prev = this.held.get(id);
    // Only what changes the subscription itself re-upserts it; URLs are read through getters.
    const key = JSON.stringify({ g: t.metadata.generation, delivery, broker: spec.broker });
    const entry: Held = { id, ref: { namespace: ns, broker: spec.broker, trigger: t.metadata.name }, key, subscriber, deadLetter };
    this.held.set(id, entry);
    if (prev?.key === key) return;
    const compiled = compileFilters({ ...(spec.filter ? { filter: spec.filter } : {}), ...(spec.filters ? { filters: spec.filters } : {}) });
    // Validated at apply, so this holds; a bad stored filter would deliver everything, so refuse instead.
    if ('issues' in compiled) throw new Error(`trigger ${ns}/${t.metadata.name}: invalid filter: ${compiled.issues.map((i) => i.message).join('; ')}`);
    const held = () => this.held.get(id);
    await this.d.dispatcher.upsert({
      id,
      stream: brokerStream(ns, spec.broker),
      filter: compiled,
      subscriber: () => held()?.subscriber,
      deadLetter: () => held()?.deadLetter,
      delivery,
      maxInFlight: this.d.maxInFlight ?? PLATFORM_DEFAULTS.triggerMaxInFlight,
      leaseMs: leaseFor(delivery),
      // Knative's broker filter strips the TTL before the subscriber and puts it back on the reply.
      omitAttributes: [TTL_ATTRIBUTE],
      reply: (event, original) => this.reply(ns, spec.broker, event, original),
    });
  }

  /**
   * A reply goes back into the Trigger's Broker through the ingress rules.
   * As Knative's filter does, it carries the original event's TTL back in
   * (the broker then decrements it), so a reply loop ends.
   */
  private async reply(ns: string, brokerName: string, event: StoredEvent, original: StoredEvent): Promise<void> {
    const ttl = original.attributes[TTL_ATTRIBUTE];
    const attributes = { ...event.attributes };
    if (ttl !== undefined) attributes[TTL_ATTRIBUTE] = ttl;
    const withTtl: StoredEvent = event.data === undefined ? { attributes } : { attributes, data: event.data };
    await ingest(this.d.log, new Date(this.d.clock.now()).toISOString(), ns, brokerName, withTtl);
  }
}
