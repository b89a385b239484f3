/**
 * `eventing.knative.dev/v1` Trigger: validation and defaulting after
 * Knative's webhook (pkg/apis/eventing/v1/trigger_{validation,defaults}.go;
 * reference knative-eventing.md §1):
 * - `spec.broker` is required and immutable; a Trigger may exist before its
 *   Broker (it is then not Ready). `brokerRef` (cross-namespace, behind a
 *   feature flag in Knative) is refused.
 * - `filter.attributes` and `filters` are compiled as the broker will run
 *   them (eventing/filter), so a bad key or CESQL expression is refused at
 *   apply, with its path.
 * - `subscriber` is a Destination; `delivery` a DeliverySpec.
 * - The `knative.dev/dependency` annotation names an object whose Ready
 *   condition gates the Trigger (DependencyReady).
 * Defaults: `filter: {}`, the label `eventing.knative.dev/broker: BROKER`,
 * and the Trigger's namespace on refs without one.
 */
import type { FieldIssue } from '../../core/errors.js';
import type { KObject } from '../../core/types.js';
import { validateObjectMeta } from '../../controller/validation/names.js';
import type { DeliverySpec } from '../delivery/delivery.js';
import { defaultRefNamespace, type Destination, type KReference } from '../destination.js';
import { compileFilters, type TriggerFilterSpec } from '../filter/filters.js';
import { isRecord, unknownFields } from '../../controller/validation/shape.js';
import { validateDeliveryField, validateDestinationField } from '../../controller/validation/duck.js';

export const BROKER_LABEL = 'eventing.knative.dev/broker';
export const DEPENDENCY_ANNOTATION = 'knative.dev/dependency';

export interface TriggerSpec extends TriggerFilterSpec {
  broker: string;
  subscriber: Destination;
  delivery?: DeliverySpec;
}
export type Trigger = KObject<TriggerSpec>;

const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const SPEC_FIELDS = new Set(['broker', 'filter', 'filters', 'subscriber', 'delivery']);
const SPEC_HINTS: Record<string, string> = {
  brokerRef: 'brokerRef (a Broker in another namespace) is not supported; use spec.broker with a Broker in the Trigger\'s namespace',
};

/** Parses the `knative.dev/dependency` annotation: JSON `{apiVersion, kind, name}`. */
export function parseDependency(value: string): KReference | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return { error: 'must be JSON like {"kind":"PingSource","name":"ping","apiVersion":"sources.knative.dev/v1"}' };
  }
  if (!isRecord(v) || typeof v.kind !== 'string' || !v.kind || typeof v.name !== 'string' || !v.name || typeof v.apiVersion !== 'string' || !v.apiVersion) {
    return { error: 'must name kind, name and apiVersion' };
  }
  return { kind: v.kind, name: v.name, apiVersion: v.apiVersion, ...(typeof v.namespace === 'string' ? { namespace: v.namespace } : {}) };
}

export function validateTrigger(obj: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [...unknownFields(obj, TOP_FIELDS, '')];
  issues.push(...validateObjectMeta(obj.metadata, 'metadata', 'dns1123-subdomain'));
  const dep = isRecord(obj.metadata) && isRecord(obj.metadata.annotations) ? obj.metadata.annotations[DEPENDENCY_ANNOTATION] : undefined;
  if (typeof dep === 'string') {
    const d = parseDependency(dep);
    if ('error' in d) issues.push({ path: `metadata.annotations["${DEPENDENCY_ANNOTATION}"]`, message: d.error });
  }
  const spec = obj.spec;
  if (spec === undefined || spec === null) return [...issues, { path: 'spec', message: 'missing field(s): broker, subscriber' }];
  if (!isRecord(spec)) return [...issues, { path: 'spec', message: 'must be a mapping' }];
  issues.push(...unknownFields(spec, SPEC_FIELDS, 'spec', SPEC_HINTS));
  if (spec.broker === undefined || spec.broker === null || spec.broker === '') issues.push({ path: 'spec.broker', message: 'missing field' });
  else if (typeof spec.broker !== 'string') issues.push({ path: 'spec.broker', message: 'must be a string' });

  // Filters: shape first, then compiled exactly as the broker will run them.
  let filterShapeOk = true;
  if (spec.filter !== undefined && spec.filter !== null) {
    if (!isRecord(spec.filter)) {
      issues.push({ path: 'spec.filter', message: 'must be a mapping with attributes' });
      filterShapeOk = false;
    } else {
      issues.push(...unknownFields(spec.filter, new Set(['attributes']), 'spec.filter'));
      const attrs = spec.filter.attributes;
      if (attrs !== undefined && attrs !== null) {
        if (!isRecord(attrs)) {
          issues.push({ path: 'spec.filter.attributes', message: 'must map attribute names to string values' });
          filterShapeOk = false;
        } else {
          for (const [k, v] of Object.entries(attrs)) {
            if (typeof v !== 'string') {
              issues.push({ path: `spec.filter.attributes["${k}"]`, message: 'must be a string (quote numbers and booleans)' });
              filterShapeOk = false;
            }
          }
        }
      }
    }
  }
  if (spec.filters !== undefined && spec.filters !== null && !Array.isArray(spec.filters)) {
    issues.push({ path: 'spec.filters', message: 'must be a list of filters' });
    filterShapeOk = false;
  }
  if (filterShapeOk) {
    const compiled = compileFilters({
      ...(isRecord(spec.filter) ? { filter: spec.filter as TriggerFilterSpec['filter'] } : {}),
      ...(Array.isArray(spec.filters) ? { filters: spec.filters } : {}),
    });
    if ('issues' in compiled) issues.push(...compiled.issues);
  }

  if (spec.subscriber === undefined || spec.subscriber === null) issues.push({ path: 'spec.subscriber', message: 'missing field' });
  else issues.push(...validateDestinationField(spec.subscriber, 'spec.subscriber', true));
  issues.push(...validateDeliveryField(spec.delivery, 'spec.delivery'));
  return issues;
}

/** `spec.broker` is immutable (trigger_validation.go CheckImmutableFields). */
export function validateTriggerUpdate(prev: KObject, next: KObject): FieldIssue[] {
  const before = (prev.spec as Partial<TriggerSpec> | undefined)?.broker;
  const after = (next.spec as Partial<TriggerSpec> | undefined)?.broker;
  if (before !== undefined && before !== after) {
    return [{ path: 'spec.broker', message: `immutable field changed: ${JSON.stringify(before)} → ${JSON.stringify(after)} (delete and recreate the Trigger)` }];
  }
  return [];
}

/** Knative's Trigger defaulting (trigger_defaults.go), on a copy. */
export function normalizeTrigger(obj: KObject): KObject {
  const out = structuredClone(obj) as unknown as Trigger;
  const ns = out.metadata.namespace ?? 'default';
  const spec = { ...(out.spec ?? {}) } as TriggerSpec;
  if (spec.filter === undefined || spec.filter === null) spec.filter = {};
  spec.subscriber = defaultRefNamespace(spec.subscriber, ns);
  if (spec.delivery?.deadLetterSink !== undefined) {
    spec.delivery = { ...spec.delivery, deadLetterSink: defaultRefNamespace(spec.delivery.deadLetterSink as Destination, ns) };
  }
  out.spec = spec;
  if (spec.broker) out.metadata.labels = { ...out.metadata.labels, [BROKER_LABEL]: spec.broker };
  return out as unknown as KObject;
}
