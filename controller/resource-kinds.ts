/**
 * Which kinds the admin API accepts and how it validates them.
 *
 * Services, Functions and ConfigMaps have their own handling in admin-api.ts
 * (defaulting, ownership, config). Every other kind is *generic*: validated
 * by its own module, stored as written (apiVersion, kind, metadata, spec),
 * its status owned by a controller, and served over the same
 * Kubernetes-style REST paths. Eventing kinds register here.
 */
import type { ResourcePlural } from '../core/kinds.js';
import type { KObject } from '../core/types.js';
import type { KindValidator } from './validation/context.js';
import { BUILTIN_KINDS } from './validation/index.js';

export interface GenericKind extends KindValidator {
  plural: ResourcePlural;
  /** Defaulting applied to a copy before storing (the namespace is already set). */
  normalize?(obj: KObject): KObject;
}

/** Generic kinds, in the order their modules were added. */
export const GENERIC_KINDS: readonly GenericKind[] = Object.freeze([]);

/** Every kind `zeno apply` and the admin API validate. */
export const ALL_KINDS: readonly KindValidator[] = Object.freeze([...BUILTIN_KINDS, ...GENERIC_KINDS]);
