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
import { BUILTIN_KINDS } from './validation/index.js';

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
] satisfies GenericKind[]);

/** Every kind `zeno apply` and the admin API validate. */
export const ALL_KINDS: readonly KindValidator[] = Object.freeze([...BUILTIN_KINDS, ...GENERIC_KINDS]);
