/**
 * What a Sequence or a Parallel is made of, as Knative's reconcilers build
 * it (pkg/reconciler/sequence/resources, pkg/reconciler/parallel/resources).
 * Pure: parent object in, child objects out.
 *
 * Sequence NAME with steps 0..n-1:
 * - Channel `NAME-kn-sequence-i` per step;
 * - Subscription `NAME-kn-sequence-i`: channel i → step i (with the step's
 *   delivery), reply → channel i+1, and the last one's reply → spec.reply
 *   (none: the last step's output is dropped).
 * Parallel NAME with branches 0..n-1:
 * - ingress Channel `NAME-kn-parallel`, branch Channels `NAME-kn-parallel-i`;
 * - filter Subscription `NAME-kn-parallel-filter-i`: ingress → branch filter
 *   (no filter: no subscriber, so the event goes straight to the reply),
 *   reply → branch channel i;
 * - Subscription `NAME-kn-parallel-i`: branch channel i → branch subscriber
 *   (with the branch's delivery), reply → branch reply, else spec.reply.
 *
 * Knative creates channels of the `channelTemplate` kind (InMemoryChannel by
 * default). Zeno serves one channel kind, `messaging.knative.dev/v1`
 * Channel, every one backed by the durable event log: children are
 * Channels carrying the template, and Subscriptions refer to them.
 * Every child has the parent as its controller owner reference.
 */
import type { KObject } from '../../core/types.js';
import type { DeliverySpec } from '../delivery/delivery.js';
import type { Destination } from '../destination.js';

export const MESSAGING_API_VERSION = 'messaging.knative.dev/v1';
export const FLOWS_API_VERSION = 'flows.knative.dev/v1';

export const sequenceChannelName = (seq: string, i: number): string => `${seq}-kn-sequence-${i}`;
export const sequenceSubscriptionName = (seq: string, i: number): string => `${seq}-kn-sequence-${i}`;
export const parallelChannelName = (par: string): string => `${par}-kn-parallel`;
export const parallelBranchChannelName = (par: string, i: number): string => `${par}-kn-parallel-${i}`;
export const parallelFilterSubscriptionName = (par: string, i: number): string => `${par}-kn-parallel-filter-${i}`;
export const parallelSubscriptionName = (par: string, i: number): string => `${par}-kn-parallel-${i}`;

export interface ChannelTemplate {
  apiVersion: string;
  kind: string;
  spec?: Record<string, unknown>;
}

export interface SequenceSpec {
  steps: (Destination & { delivery?: DeliverySpec })[];
  channelTemplate?: ChannelTemplate;
  reply?: Destination;
}

export interface ParallelBranch {
  filter?: Destination;
  subscriber: Destination;
  reply?: Destination;
  delivery?: DeliverySpec;
}

export interface ParallelSpec {
  branches: ParallelBranch[];
  channelTemplate?: ChannelTemplate;
  reply?: Destination;
}

export interface Children {
  channels: KObject[];
  subscriptions: KObject[];
}

/** Kubernetes' controller reference (kmeta.NewControllerRef). */
export function controllerRef(owner: KObject): NonNullable<KObject['metadata']['ownerReferences']>[number] & { blockOwnerDeletion: boolean } {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** Whether `obj` is controlled by `owner` (same kind, name and uid). */
export function isControlledBy(obj: KObject, owner: KObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r) => r.controller && r.kind === owner.kind && r.name === owner.metadata.name && (r.uid ?? '') === (owner.metadata.uid ?? ''));
}

function destination(d: Destination): Destination {
  const out: Destination = {};
  if (d.ref) out.ref = { ...d.ref };
  if (d.uri !== undefined && d.uri !== '') out.uri = d.uri;
  return out;
}

function channelRef(name: string, namespace?: string): Destination {
  return { ref: { apiVersion: MESSAGING_API_VERSION, kind: 'Channel', name, ...(namespace ? { namespace } : {}) } };
}

function channel(owner: KObject, name: string, template: ChannelTemplate | undefined): KObject {
  return {
    apiVersion: MESSAGING_API_VERSION,
    kind: 'Channel',
    metadata: { name, namespace: owner.metadata.namespace ?? 'default', ownerReferences: [controllerRef(owner)] },
    spec: { channelTemplate: template ?? { apiVersion: MESSAGING_API_VERSION, kind: 'InMemoryChannel' } },
  };
}

function subscription(owner: KObject, name: string, channelName: string, subscriber: Destination | undefined, reply: Destination | undefined, delivery: DeliverySpec | undefined): KObject {
  const spec: Record<string, unknown> = { channel: { apiVersion: MESSAGING_API_VERSION, kind: 'Channel', name: channelName } };
  if (subscriber) spec.subscriber = destination(subscriber);
  if (reply) spec.reply = destination(reply);
  if (delivery) spec.delivery = delivery;
  return {
    apiVersion: MESSAGING_API_VERSION,
    kind: 'Subscription',
    metadata: { name, namespace: owner.metadata.namespace ?? 'default', ownerReferences: [controllerRef(owner)] },
    spec,
  };
}

export function sequenceChildren(seq: KObject): Children {
  const spec = seq.spec as unknown as SequenceSpec;
  const name = seq.metadata.name;
  const ns = seq.metadata.namespace ?? 'default';
  const n = spec.steps.length;
  const channels = spec.steps.map((_, i) => channel(seq, sequenceChannelName(name, i), spec.channelTemplate));
  const subscriptions = spec.steps.map((step, i) => {
    const { delivery, ...dest } = step;
    const reply = i < n - 1 ? channelRef(sequenceChannelName(name, i + 1), ns) : spec.reply;
    return subscription(seq, sequenceSubscriptionName(name, i), sequenceChannelName(name, i), dest, reply, delivery);
  });
  return { channels, subscriptions };
}

export function parallelChildren(par: KObject): Children {
  const spec = par.spec as unknown as ParallelSpec;
  const name = par.metadata.name;
  const ns = par.metadata.namespace ?? 'default';
  const channels = [channel(par, parallelChannelName(name), spec.channelTemplate)];
  const subscriptions: KObject[] = [];
  spec.branches.forEach((b, i) => {
    channels.push(channel(par, parallelBranchChannelName(name, i), spec.channelTemplate));
    subscriptions.push(subscription(par, parallelFilterSubscriptionName(name, i), parallelChannelName(name), b.filter, channelRef(parallelBranchChannelName(name, i), ns), undefined));
    subscriptions.push(subscription(par, parallelSubscriptionName(name, i), parallelBranchChannelName(name, i), b.subscriber, b.reply ?? spec.reply, b.delivery));
  });
  return { channels, subscriptions };
}
