/**
 * Broker and Trigger status, as pure functions of what is stored. Condition
 * types and reasons follow Knative's MT broker (pkg/apis/eventing/v1/
 * broker_lifecycle_mt.go, trigger_lifecycle.go):
 *
 * Broker: IngressReady, FilterReady, Addressable, DeadLetterSinkResolved, Ready;
 *   `status.address.url` (the ingress URL), `status.deadLetterSinkUri`.
 * Trigger: BrokerReady, SubscriberResolved, DeadLetterSinkResolved,
 *   DependencyReady, SubscriptionReady, Ready; `status.subscriberUri`,
 *   `status.deadLetterSinkUri`.
 *
 * Zeno has no ingress or filter Deployments to wait for: the ingress and
 * the dispatcher run inside the platform process, so IngressReady and
 * FilterReady are True while it runs.
 */
import { KINDS, type ResourcePlural } from '../../core/kinds.js';
import type { Condition, KObject } from '../../core/types.js';
import { setCondition } from '../../controller/conditions.js';
import type { DeliverySpec } from '../delivery/delivery.js';
import { resolveDestination, type Destination, type Resolution, type ResolveContext } from '../destination.js';
import type { BrokerSpec } from '../resources/broker.js';
import { DEPENDENCY_ANNOTATION, parseDependency, type TriggerSpec } from '../resources/trigger.js';
import { brokerAddress } from './ingress.js';

type C = Omit<Condition, 'lastTransitionTime'>;

const ok = (type: string, reason?: string, message?: string): C => ({ type, status: 'True', ...(reason ? { reason } : {}), ...(message ? { message } : {}) });
const fail = (type: string, reason: string, message: string, status: 'False' | 'Unknown' = 'False'): C => ({ type, status, reason, message });

function conditionsOf(obj: KObject): Condition[] | undefined {
  return (obj.status as { conditions?: Condition[] } | undefined)?.conditions;
}

/** Knative's ConditionSet: Ready is True when every dependent is; else it takes the first one that is not. */
function withReady(list: C[]): C[] {
  const bad = list.find((c) => c.status !== 'True');
  return [...list, bad ? { type: 'Ready', status: bad.status, ...(bad.reason ? { reason: bad.reason } : {}), ...(bad.message ? { message: bad.message } : {}) } : ok('Ready')];
}

function applyConditions(prev: Condition[] | undefined, next: C[], nowIso: string): Condition[] {
  let out = prev ?? [];
  for (const c of next) out = setCondition(out, c as Condition, nowIso);
  return out.filter((c) => next.some((n) => n.type === c.type));
}

export function isReady(obj: KObject | undefined): boolean {
  return conditionsOf(obj ?? ({} as KObject))?.find((c) => c.type === 'Ready')?.status === 'True';
}

/** The DeadLetterSinkResolved condition and URI for a delivery spec (absent sink: True, DeadLetterSinkNotConfigured, as Knative). */
function deadLetter(delivery: DeliverySpec | undefined, ctx: ResolveContext): { condition: C; uri?: string } {
  const dls = delivery?.deadLetterSink;
  if (dls === undefined) return { condition: ok('DeadLetterSinkResolved', 'DeadLetterSinkNotConfigured', 'No dead letter sink is configured.') };
  const r = resolveDestination(dls as Destination, ctx);
  if (!r.ok) return { condition: fail('DeadLetterSinkResolved', 'Unable to get the dead letter sink\'s URI', r.message) };
  return { condition: ok('DeadLetterSinkResolved'), uri: r.url };
}

export function brokerStatus(broker: KObject, ctx: ResolveContext, nowIso: string): Record<string, unknown> {
  const ns = broker.metadata.namespace ?? 'default';
  const url = brokerAddress(ctx.gatewayUrl, ns, broker.metadata.name);
  const dls = deadLetter((broker.spec as BrokerSpec | undefined)?.delivery, { ...ctx, namespace: ns });
  const list = withReady([ok('IngressReady'), ok('FilterReady'), ok('Addressable'), dls.condition]);
  return {
    observedGeneration: broker.metadata.generation ?? 1,
    address: { name: 'http', url },
    ...(dls.uri ? { deadLetterSinkUri: dls.uri } : {}),
    conditions: applyConditions(conditionsOf(broker), list, nowIso),
  };
}

export interface TriggerPlan {
  status: Record<string, unknown>;
  /** The broker exists: the trigger has a subscription on its event stream. */
  subscribe: boolean;
  subscriber: Resolution;
  deadLetterUri: string | undefined;
  /** Trigger delivery over broker delivery over the config-br-defaults default. */
  delivery: DeliverySpec;
}

/**
 * A Trigger's status and what the dispatcher should do for it. `subscribed`
 * says whether the dispatcher already holds its subscription (SubscriptionReady).
 */
export function planTrigger(
  trigger: KObject,
  broker: KObject | undefined,
  ctx: ResolveContext,
  opts: { nowIso: string; subscribed: boolean; defaultDelivery: DeliverySpec | undefined },
): TriggerPlan {
  const ns = trigger.metadata.namespace ?? 'default';
  const spec = (trigger.spec ?? {}) as unknown as TriggerSpec;
  const rctx = { ...ctx, namespace: ns };
  const brokerCond = !broker
    ? fail('BrokerReady', 'BrokerDoesNotExist', `Broker "${spec.broker}" does not exist`)
    : isReady(broker)
      ? ok('BrokerReady')
      : fail('BrokerReady', 'BrokerNotReady', `Broker "${spec.broker}" is not ready`, 'Unknown');
  const subscriber = resolveDestination(spec.subscriber ?? {}, rctx);
  const subCond = subscriber.ok ? ok('SubscriberResolved') : fail('SubscriberResolved', 'Unable to get the Subscriber\'s URI', subscriber.message);
  const brokerDelivery = (broker?.spec as BrokerSpec | undefined)?.delivery;
  const delivery = spec.delivery ?? brokerDelivery ?? opts.defaultDelivery ?? {};
  const dls = deadLetter(delivery, rctx);
  const depCond = dependency(trigger, ctx);
  const subscribe = broker !== undefined;
  const subscriptionCond = opts.subscribed && subscribe
    ? ok('SubscriptionReady')
    : fail('SubscriptionReady', 'NotSubscribed', subscribe ? 'the dispatcher has not taken the subscription yet' : 'no broker to subscribe to', 'Unknown');
  const list = withReady([brokerCond, subCond, dls.condition, depCond, subscriptionCond]);
  return {
    status: {
      observedGeneration: trigger.metadata.generation ?? 1,
      ...(subscriber.ok ? { subscriberUri: subscriber.url } : {}),
      ...(dls.uri ? { deadLetterSinkUri: dls.uri } : {}),
      conditions: applyConditions(conditionsOf(trigger), list, opts.nowIso),
    },
    subscribe,
    subscriber,
    deadLetterUri: dls.uri,
    delivery,
  };
}

/** DependencyReady from the `knative.dev/dependency` annotation (True when there is none, as Knative). */
function dependency(trigger: KObject, ctx: ResolveContext): C {
  const raw = trigger.metadata.annotations?.[DEPENDENCY_ANNOTATION];
  if (raw === undefined) return ok('DependencyReady');
  const dep = parseDependency(raw);
  if ('error' in dep) return fail('DependencyReady', 'DependencyInvalid', dep.error);
  const ns = dep.namespace ?? trigger.metadata.namespace ?? 'default';
  const r = resolveKind(dep.apiVersion ?? '', dep.kind);
  const obj = r ? ctx.get(r, ns, dep.name) : undefined;
  if (!obj) return fail('DependencyReady', 'DependencyDoesNotExist', `${dep.kind} ${ns}/${dep.name} does not exist`);
  if (!isReady(obj)) return fail('DependencyReady', 'DependencyNotReady', `${dep.kind} ${ns}/${dep.name} is not ready`, 'Unknown');
  return ok('DependencyReady');
}

function resolveKind(apiVersion: string, kind: string): ResourcePlural | undefined {
  return KINDS.find((k) => k.kind === kind && k.apiVersion === apiVersion)?.plural as ResourcePlural | undefined;
}
