/**
 * Channels, Subscriptions, Sequences and Parallels, level-triggered from the
 * store (messaging.knative.dev/v1, flows.knative.dev/v1).
 *
 * - Channel: its address on the gateway (channel-ingress.ts), a stream in
 *   the event log; status `address`, `subscribers` (from the Subscriptions
 *   on it), `deadLetterSinkUri`, conditions BackingChannelReady, Addressable,
 *   DeadLetterSinkResolved, Ready (channel_lifecycle.go).
 * - Subscription: one dispatcher subscription (eventing/dispatcher) on its
 *   channel's stream, delivering to the resolved subscriber with the
 *   subscription's delivery, or the channel's when it has none; a 200 with a
 *   CloudEvent is posted to the reply destination (a rejected reply fails
 *   the delivery, which is retried). A Subscription without a subscriber
 *   sends every event straight to its reply (Knative's dispatcher does the
 *   same with an empty subscriber: a Parallel branch without a filter).
 *   Status `physicalSubscription` {subscriberUri, replyUri,
 *   deadLetterSinkUri, delivery}; conditions ReferencesResolved,
 *   AddedToChannel, ChannelReady, Ready (subscription_lifecycle.go).
 * - Sequence and Parallel: the children of resources.ts, created, updated
 *   and deleted with their parent; status `address` (the first or ingress
 *   channel's), per-child statuses, conditions ChannelsReady,
 *   SubscriptionsReady, Addressable, Ready (sequence_lifecycle.go,
 *   parallel_lifecycle.go).
 *
 * Every change re-reconciles every flow object (coalesced per microtask);
 * writes that change nothing emit nothing, so it settles.
 */
import type { Clock } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { Condition, KObject } from '../../core/types.js';
import { setCondition } from '../../controller/conditions.js';
import type { ResourceStore, WatchEvent } from '../../controller/store.js';
import type { DeliverySpec } from '../delivery/delivery.js';
import { defaultRefNamespace, resolveDestination, type Destination, type Resolution } from '../destination.js';
import { createDispatcher, type DeliveryClient, type EventDispatcher } from '../dispatcher/dispatcher.js';
import { encodeForDelivery } from '../dispatcher/encoding.js';
import type { EventLog, StoredEvent } from '../log/event-log.js';
import { summarize } from '../sources/controller.js';
import { channelStream, channelUrl } from './channel-ingress.js';
import {
  isControlledBy, MESSAGING_API_VERSION, parallelBranchChannelName, parallelChannelName, parallelChildren, parallelFilterSubscriptionName,
  parallelSubscriptionName, sequenceChannelName, sequenceChildren, sequenceSubscriptionName, type Children,
} from './resources.js';

const FLOW_KINDS = ['channels', 'subscriptions', 'sequences', 'parallels'] as const;

export interface FlowsControllerDeps {
  store: ResourceStore;
  clock: Clock;
  log: EventLog;
  gatewayUrl: string;
  logLine?: (line: string) => void;
  /** Injected for tests; one over `log` otherwise (closed with the controller). */
  dispatcher?: EventDispatcher;
  /** The HTTP client of the controller's own dispatcher (closed with it), e.g. gateway/local.ts's in-process client. */
  agent?: DeliveryClient;
  /**
   * Name Subscription consumers without their uid, so that instances on one
   * NATS (each with its own store, where a Subscription gets its own uid)
   * share each Subscription's consumer instead of each delivering every event.
   */
  consumerIdsByName?: boolean;
}

interface SubscriptionSpecFields {
  channel?: { apiVersion?: string; kind?: string; name?: string };
  subscriber?: Destination;
  reply?: Destination;
  delivery?: DeliverySpec;
}

interface ActiveSub {
  consumer: string;
  fingerprint: string;
  subscriber: string | undefined;
  reply: string | undefined;
  deadLetter: string | undefined;
}

const keyOf = (o: KObject): string => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
const readyOf = (o: KObject | undefined): Condition | undefined => (o?.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === 'Ready');
const isReady = (o: KObject | undefined): boolean => readyOf(o)?.status === 'True';

/** POSTs a reply to its destination; anything but 2xx rejects (the original is then redelivered). */
async function postReply(url: string, event: StoredEvent): Promise<void> {
  const req = encodeForDelivery(event);
  delete req.headers.prefer;
  const res = await fetch(url, { method: 'POST', headers: req.headers, body: new Uint8Array(req.body) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new Error(`reply destination ${url} answered ${res.status}`);
}

export class FlowsController {
  readonly dispatcher: EventDispatcher;
  private readonly ownDispatcher: boolean;
  private readonly active = new Map<string, ActiveSub>();
  private unwatch: (() => void) | undefined;
  private scheduled = false;
  private stopped = false;
  private ops: Promise<void> = Promise.resolve();

  constructor(private readonly d: FlowsControllerDeps) {
    this.ownDispatcher = d.dispatcher === undefined;
    this.dispatcher =
      d.dispatcher ??
      createDispatcher({ log: d.log, clock: d.clock, ...(d.logLine ? { logLine: d.logLine } : {}), ...(d.agent ? { agent: d.agent, closeAgent: true } : {}) });
  }

  start(): void {
    this.unwatch = this.d.store.watch((e) => this.onEvent(e));
    this.schedule();
  }

  async close(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    await this.ops;
    if (this.ownDispatcher) await this.dispatcher.close();
  }

  /** Resolves once the reconciles queued so far (and the dispatcher calls they made) are done. */
  idle(): Promise<void> {
    return this.ops;
  }

  private onEvent(e: WatchEvent): void {
    if (e.kind === 'configmaps') return;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.stopped) return;
      this.ops = this.ops.then(() => this.flush()).catch((err: Error) => this.d.logLine?.(`zeno: flows reconcile failed: ${err.message}`));
    });
  }

  private nowIso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }

  private resolve(dest: Destination | undefined, namespace: string): Resolution | undefined {
    if (!dest) return undefined;
    return resolveDestination(defaultRefNamespace(dest, namespace), { namespace, gatewayUrl: this.d.gatewayUrl, get: (p, n, name) => this.d.store.get(p, n, name) });
  }

  private async flush(): Promise<void> {
    const { store } = this.d;
    // Parents first: their children then exist for this same pass.
    for (const seq of store.list('sequences')) this.reconcileParent(seq, sequenceChildren(seq));
    for (const par of store.list('parallels')) this.reconcileParent(par, parallelChildren(par));
    this.collectOrphans();
    for (const ch of store.list('channels')) this.reconcileChannel(ch);
    const live = new Set<string>();
    for (const sub of store.list('subscriptions')) {
      live.add(keyOf(sub));
      await this.reconcileSubscription(sub);
    }
    for (const [key, a] of [...this.active]) {
      if (live.has(key)) continue;
      this.active.delete(key);
      await this.dispatcher.remove(a.consumer);
    }
    // Statuses of channels read their subscriptions' Ready: a second look settles them in this pass.
    for (const ch of store.list('channels')) this.reconcileChannel(ch);
    for (const seq of store.list('sequences')) this.sequenceStatus(seq);
    for (const par of store.list('parallels')) this.parallelStatus(par);
  }

  // ---- Sequence and Parallel ----

  private reconcileParent(parent: KObject, want: Children): void {
    const { store } = this.d;
    const ns = parent.metadata.namespace ?? 'default';
    for (const [plural, objs] of [['channels', want.channels], ['subscriptions', want.subscriptions]] as const) {
      const names = new Set(objs.map((o) => o.metadata.name));
      for (const o of objs) {
        const existing = store.get(plural, ns, o.metadata.name);
        if (existing && !isControlledBy(existing, parent)) continue; // someone else's object: reported in status
        store.put(plural, existing ? { ...o, metadata: { ...o.metadata, ownerReferences: existing.metadata.ownerReferences ?? [] } } : o);
      }
      for (const o of store.list(plural, ns)) if (isControlledBy(o, parent) && !names.has(o.metadata.name)) store.delete(plural, ns, o.metadata.name);
    }
  }

  /** Children whose controlling Sequence or Parallel is gone are deleted with it. */
  private collectOrphans(): void {
    const { store } = this.d;
    for (const plural of ['channels', 'subscriptions'] as const) {
      for (const o of store.list(plural)) {
        const ns = o.metadata.namespace ?? 'default';
        const owner = (o.metadata.ownerReferences ?? []).find((r) => r.controller && r.apiVersion === 'flows.knative.dev/v1');
        if (!owner) continue;
        const ownerPlural = owner.kind === 'Sequence' ? 'sequences' : owner.kind === 'Parallel' ? 'parallels' : undefined;
        if (!ownerPlural) continue;
        const p = store.get(ownerPlural, ns, owner.name);
        if (!p || (owner.uid && p.metadata.uid !== owner.uid)) store.delete(plural, ns, o.metadata.name);
      }
    }
  }

  private childStatus(plural: 'channels' | 'subscriptions', ns: string, name: string, owner: KObject): { ref: Record<string, string>; ready: Condition } {
    const o = this.d.store.get(plural, ns, name);
    const kind = plural === 'channels' ? 'Channel' : 'Subscription';
    const ref = { apiVersion: MESSAGING_API_VERSION, kind, name, namespace: ns };
    if (!o) return { ref, ready: { type: 'Ready', status: 'Unknown', reason: 'NotCreated', message: `${kind} ${name} does not exist yet` } };
    if (!isControlledBy(o, owner)) return { ref, ready: { type: 'Ready', status: 'False', reason: 'NotOwned', message: `${kind} ${name} exists and is not owned by ${owner.kind} ${owner.metadata.name}` } };
    const r = readyOf(o);
    return { ref, ready: r ? { type: 'Ready', status: r.status, ...(r.reason ? { reason: r.reason } : {}), ...(r.message ? { message: r.message } : {}) } : { type: 'Ready', status: 'Unknown', reason: 'Reconciling' } };
  }

  private parentConditions(prev: Condition[] | undefined, channels: Condition[], subs: Condition[], address: string | undefined): Condition[] {
    const now = this.nowIso();
    const all = (cs: Condition[], type: string, what: string): Condition => {
      const bad = cs.find((c) => c.status === 'False') ?? cs.find((c) => c.status !== 'True');
      return bad ? { type, status: bad.status, reason: bad.reason ?? 'NotReady', message: bad.message ?? `a ${what} is not ready` } : { type, status: 'True' };
    };
    let c = prev ?? [];
    c = setCondition(c, all(channels, 'ChannelsReady', 'channel'), now);
    c = setCondition(c, all(subs, 'SubscriptionsReady', 'subscription'), now);
    c = setCondition(c, address ? { type: 'Addressable', status: 'True' } : { type: 'Addressable', status: 'Unknown', reason: 'NoAddress', message: 'the first channel has no address yet' }, now);
    return summarize(c, ['ChannelsReady', 'SubscriptionsReady', 'Addressable'], now);
  }

  private sequenceStatus(seq: KObject): void {
    const ns = seq.metadata.namespace ?? 'default';
    const n = ((seq.spec as { steps?: unknown[] } | undefined)?.steps ?? []).length;
    const channelStatuses = Array.from({ length: n }, (_, i) => this.childStatus('channels', ns, sequenceChannelName(seq.metadata.name, i), seq));
    const subscriptionStatuses = Array.from({ length: n }, (_, i) => this.childStatus('subscriptions', ns, sequenceSubscriptionName(seq.metadata.name, i), seq));
    const first = this.d.store.get('channels', ns, sequenceChannelName(seq.metadata.name, 0));
    const url = (first?.status as { address?: { url?: string } } | undefined)?.address?.url;
    const prev = (seq.status as { conditions?: Condition[] } | undefined)?.conditions;
    this.d.store.putStatus('sequences', ns, seq.metadata.name, {
      observedGeneration: seq.metadata.generation ?? 1,
      ...(url ? { address: { url } } : {}),
      channelStatuses: channelStatuses.map((s) => ({ channel: s.ref, ready: s.ready })),
      subscriptionStatuses: subscriptionStatuses.map((s) => ({ subscription: s.ref, ready: s.ready })),
      conditions: this.parentConditions(prev, channelStatuses.map((s) => s.ready), subscriptionStatuses.map((s) => s.ready), url),
    });
  }

  private parallelStatus(par: KObject): void {
    const ns = par.metadata.namespace ?? 'default';
    const name = par.metadata.name;
    const n = ((par.spec as { branches?: unknown[] } | undefined)?.branches ?? []).length;
    const ingress = this.childStatus('channels', ns, parallelChannelName(name), par);
    const branches = Array.from({ length: n }, (_, i) => ({
      filterSubscription: this.childStatus('subscriptions', ns, parallelFilterSubscriptionName(name, i), par),
      filterChannel: this.childStatus('channels', ns, parallelBranchChannelName(name, i), par),
      subscription: this.childStatus('subscriptions', ns, parallelSubscriptionName(name, i), par),
    }));
    const ingressObj = this.d.store.get('channels', ns, parallelChannelName(name));
    const url = (ingressObj?.status as { address?: { url?: string } } | undefined)?.address?.url;
    const prev = (par.status as { conditions?: Condition[] } | undefined)?.conditions;
    this.d.store.putStatus('parallels', ns, name, {
      observedGeneration: par.metadata.generation ?? 1,
      ...(url ? { address: { url } } : {}),
      ingressChannelStatus: { channel: ingress.ref, ready: ingress.ready },
      branchStatuses: branches.map((b) => ({
        filterSubscriptionStatus: { subscription: b.filterSubscription.ref, ready: b.filterSubscription.ready },
        filterChannelStatus: { channel: b.filterChannel.ref, ready: b.filterChannel.ready },
        subscriptionStatus: { subscription: b.subscription.ref, ready: b.subscription.ready },
      })),
      conditions: this.parentConditions(
        prev,
        [ingress.ready, ...branches.map((b) => b.filterChannel.ready)],
        branches.flatMap((b) => [b.filterSubscription.ready, b.subscription.ready]),
        url,
      ),
    });
  }

  // ---- Channel ----

  private reconcileChannel(ch: KObject): void {
    const ns = ch.metadata.namespace ?? 'default';
    const now = this.nowIso();
    const delivery = (ch.spec as { delivery?: DeliverySpec } | undefined)?.delivery;
    const dls = this.resolve(delivery?.deadLetterSink, ns);
    const subscribers = this.d.store.list('subscriptions', ns)
      .filter((s) => (s.spec as SubscriptionSpecFields | undefined)?.channel?.name === ch.metadata.name)
      .map((s) => {
        const r = readyOf(s);
        return { uid: s.metadata.uid ?? '', observedGeneration: s.metadata.generation ?? 1, ready: r?.status ?? 'Unknown', ...(r?.status === 'True' || !r?.message ? {} : { message: r.message }) };
      });
    let c = (ch.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    c = setCondition(c, { type: 'BackingChannelReady', status: 'True' }, now);
    c = setCondition(c, { type: 'Addressable', status: 'True' }, now);
    c = setCondition(c, dls === undefined
      ? { type: 'DeadLetterSinkResolved', status: 'True', reason: 'DeadLetterSinkNotConfigured', message: 'No dead letter sink is configured.' }
      : dls.ok ? { type: 'DeadLetterSinkResolved', status: 'True' } : { type: 'DeadLetterSinkResolved', status: 'False', reason: dls.reason, message: dls.message }, now);
    c = summarize(c, ['BackingChannelReady', 'Addressable', 'DeadLetterSinkResolved'], now);
    this.d.store.putStatus('channels', ns, ch.metadata.name, {
      observedGeneration: ch.metadata.generation ?? 1,
      address: { url: channelUrl(this.d.gatewayUrl, ns, ch.metadata.name) },
      ...(dls?.ok ? { deadLetterSinkUri: dls.url } : {}),
      ...(subscribers.length ? { subscribers } : {}),
      conditions: c,
    });
  }

  // ---- Subscription ----

  private async reconcileSubscription(sub: KObject): Promise<void> {
    const ns = sub.metadata.namespace ?? 'default';
    const key = keyOf(sub);
    const spec = (sub.spec ?? {}) as SubscriptionSpecFields;
    const chName = spec.channel?.name ?? '';
    const channel = this.d.store.get('channels', ns, chName);
    const subscriber = this.resolve(spec.subscriber, ns);
    const reply = this.resolve(spec.reply, ns);
    // subscription.go: the Subscription's delivery, else its Channel's.
    const delivery: DeliverySpec = spec.delivery ?? (channel?.spec as { delivery?: DeliverySpec } | undefined)?.delivery ?? {};
    const dls = this.resolve(delivery.deadLetterSink, ns);
    const now = this.nowIso();
    let c = (sub.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];

    const unresolved = [subscriber, reply, dls].find((r) => r !== undefined && !r.ok) as Extract<Resolution, { ok: false }> | undefined;
    c = setCondition(c, unresolved ? { type: 'ReferencesResolved', status: 'False', reason: unresolved.reason, message: unresolved.message } : { type: 'ReferencesResolved', status: 'True' }, now);
    c = setCondition(c, channel
      ? (isReady(channel) || !readyOf(channel) ? { type: 'ChannelReady', status: 'True' } : { type: 'ChannelReady', status: 'False', reason: readyOf(channel)?.reason ?? 'ChannelNotReady', message: readyOf(channel)?.message ?? `channel ${chName} is not ready` })
      : { type: 'ChannelReady', status: 'False', reason: 'ChannelReferenceFailed', message: `Channel ${ns}/${chName} not found` }, now);

    const prevActive = this.active.get(key);
    if (!channel) {
      if (prevActive) {
        this.active.delete(key);
        await this.dispatcher.remove(prevActive.consumer);
      }
      c = setCondition(c, { type: 'AddedToChannel', status: 'False', reason: 'ChannelReferenceFailed', message: `Channel ${ns}/${chName} not found` }, now);
    } else {
      const consumer = this.d.consumerIdsByName ? `subscription/${ns}/${sub.metadata.name}` : `subscription/${ns}/${sub.metadata.name}/${sub.metadata.uid ?? ''}`;
      const hasSubscriber = spec.subscriber !== undefined;
      const hasReply = spec.reply !== undefined;
      const fingerprint = JSON.stringify({ consumer, chName, delivery, hasSubscriber, hasReply, hasDls: delivery.deadLetterSink !== undefined });
      const a: ActiveSub = {
        consumer, fingerprint,
        subscriber: subscriber?.ok ? subscriber.url : undefined,
        reply: reply?.ok ? reply.url : undefined,
        deadLetter: dls?.ok ? dls.url : undefined,
      };
      if (prevActive && prevActive.consumer !== consumer) await this.dispatcher.remove(prevActive.consumer);
      // The dispatcher reads URLs through these closures, so a re-resolved URL needs no upsert.
      const current = (): ActiveSub | undefined => this.active.get(key);
      if (!prevActive || prevActive.fingerprint !== fingerprint) {
        this.active.set(key, a);
        await this.dispatcher.upsert({
          id: consumer,
          stream: channelStream(ns, chName),
          // No subscriber: every event goes straight to the reply (Knative's dispatcher with an empty subscriber).
          subscriber: hasSubscriber ? () => current()?.subscriber : () => current()?.reply,
          ...(hasSubscriber && hasReply ? {
            reply: async (event: StoredEvent) => {
              const url = current()?.reply;
              if (url === undefined) throw new Error(`subscription ${key}: the reply destination does not resolve`);
              await postReply(url, event);
            },
          } : {}),
          delivery,
          ...(delivery.deadLetterSink ? { deadLetter: () => current()?.deadLetter } : {}),
          maxInFlight: PLATFORM_DEFAULTS.subscriptionMaxInFlight,
          leaseMs: PLATFORM_DEFAULTS.subscriptionLeaseMs,
        });
      } else {
        this.active.set(key, a);
      }
      c = setCondition(c, { type: 'AddedToChannel', status: 'True' }, now);
    }
    c = summarize(c, ['ReferencesResolved', 'AddedToChannel', 'ChannelReady'], now);
    const physical: Record<string, unknown> = {};
    if (subscriber?.ok) physical.subscriberUri = subscriber.url;
    if (reply?.ok) physical.replyUri = reply.url;
    if (dls?.ok) physical.deadLetterSinkUri = dls.url;
    if (Object.keys(delivery).length) physical.delivery = delivery;
    this.d.store.putStatus('subscriptions', ns, sub.metadata.name, {
      observedGeneration: sub.metadata.generation ?? 1,
      physicalSubscription: physical,
      conditions: c,
    });
  }
}
