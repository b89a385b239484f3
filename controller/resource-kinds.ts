/**
 * Which kinds the admin API accepts and how it validates them.
 *
 * Services, Functions and ConfigMaps have their own handling in admin-api.ts
 * (defaulting, ownership, config). Every other kind is *generic*: validated
 * by its own module, stored as written (apiVersion, kind, metadata, spec),
 * its status owned by a controller, and served over the same
 * Kubernetes-style REST paths. Eventing kinds register here.
 */
import type { FieldIssue } from '../core/errors.js';
import type { ResourcePlural } from '../core/kinds.js';
import type { KObject } from '../core/types.js';
import { EVENTING_API_VERSION, normalizeBroker, validateBroker, validateBrokerUpdate } from '../eventing/resources/broker.js';
import { normalizeTrigger, validateTrigger, validateTriggerUpdate } from '../eventing/resources/trigger.js';
import type { KnativeConfig } from './platform-config.js';
import type { KindValidator } from './validation/context.js';
import { DEFAULT_CHANNEL_TEMPLATE } from './validation/duck.js';
import { FLOWS_API_VERSION, MESSAGING_API_VERSION, validateChannel, validateParallel, validateSequence, validateSubscription } from './validation/flows.js';
import { BUILTIN_KINDS } from './validation/index.js';
import { normalizeApiServerSource, validateApiServerSource } from '../eventing/sources/apiserver.js';
import { DEFAULT_PING_SCHEDULE, SOURCES_API_VERSION, validateContainerSource, validatePingSource, validateSinkBinding } from './validation/sources.js';

export interface NormalizeContext {
  /** The platform's ConfigMaps as this apply batch leaves them. */
  config: KnativeConfig;
  /** The stored object this one replaces, if any. */
  prev?: KObject | undefined;
}

export interface GenericKind extends KindValidator {
  plural: ResourcePlural;
  /** Defaulting applied to a copy before storing (the namespace is already set). */
  normalize?(obj: KObject, ctx: NormalizeContext): KObject;
  /** Rules between the stored object and its replacement as written (immutable fields). */
  validateUpdate?(prev: KObject, next: KObject): FieldIssue[];
}

/** Knative's defaulting of a missing `spec.channelTemplate` (config-default-channel: InMemoryChannel). */
function withChannelTemplate(o: KObject): KObject {
  const spec = { ...(o.spec ?? {}) };
  spec.channelTemplate ??= { ...DEFAULT_CHANNEL_TEMPLATE };
  return { ...o, spec };
}

/** Sources (sources.knative.dev/v1) and messaging/flows (issue 4 items 6 and 7). */
const SOURCE_AND_FLOW_KINDS: readonly GenericKind[] = [
  {
    apiVersion: SOURCES_API_VERSION, kind: 'PingSource', plural: 'pingsources', validate: (o) => validatePingSource(o),
    // ping_defaults.go: an empty schedule is every minute.
    normalize: (o) => ({ ...o, spec: { ...o.spec, schedule: (o.spec?.schedule as string | undefined) || DEFAULT_PING_SCHEDULE } }),
  },
  { apiVersion: SOURCES_API_VERSION, kind: 'ContainerSource', plural: 'containersources', validate: (o, ctx) => validateContainerSource(o, ctx) },
  { apiVersion: SOURCES_API_VERSION, kind: 'SinkBinding', plural: 'sinkbindings', validate: (o) => validateSinkBinding(o) },
  // Watches a Kubernetes API server: runs in cluster mode (eventing/sources/apiserver.ts).
  { apiVersion: SOURCES_API_VERSION, kind: 'ApiServerSource', plural: 'apiserversources', validate: (o) => validateApiServerSource(o), normalize: normalizeApiServerSource },
  { apiVersion: MESSAGING_API_VERSION, kind: 'Channel', plural: 'channels', validate: (o) => validateChannel(o), normalize: withChannelTemplate },
  { apiVersion: MESSAGING_API_VERSION, kind: 'Subscription', plural: 'subscriptions', validate: (o) => validateSubscription(o) },
  { apiVersion: FLOWS_API_VERSION, kind: 'Sequence', plural: 'sequences', validate: (o) => validateSequence(o), normalize: withChannelTemplate },
  { apiVersion: FLOWS_API_VERSION, kind: 'Parallel', plural: 'parallels', validate: (o) => validateParallel(o), normalize: withChannelTemplate },
];

/** Generic kinds, in the order their modules were added. */
export const GENERIC_KINDS: readonly GenericKind[] = Object.freeze([
  {
    apiVersion: EVENTING_API_VERSION,
    kind: 'Broker',
    plural: 'brokers',
    validate: (o) => validateBroker(o),
    validateUpdate: validateBrokerUpdate,
    normalize: (o, ctx) => normalizeBroker(o, ctx.config.brDefaults, ctx.prev),
  },
  {
    apiVersion: EVENTING_API_VERSION,
    kind: 'Trigger',
    plural: 'triggers',
    validate: (o) => validateTrigger(o),
    validateUpdate: validateTriggerUpdate,
    normalize: (o) => normalizeTrigger(o),
  },
  ...SOURCE_AND_FLOW_KINDS,
] satisfies GenericKind[]);

/** Every kind `zeno apply` and the admin API validate. */
export const ALL_KINDS: readonly KindValidator[] = Object.freeze([...BUILTIN_KINDS, ...GENERIC_KINDS]);
