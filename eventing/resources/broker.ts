/**
 * `eventing.knative.dev/v1` Broker: validation and defaulting after
 * Knative's webhook (pkg/apis/eventing/v1/broker_{validation,defaults}.go;
 * reference knative-eventing.md §1).
 *
 * Zeno serves every Broker itself, whatever its class: the class
 * annotation is accepted as written (any value) and defaulted from
 * config-br-defaults, so Knative YAML for another class still works here.
 * `spec.config` is accepted and stored but has no effect (there is no
 * channel to configure: the durable event log backs every Broker).
 */
import type { FieldIssue } from '../../core/errors.js';
import type { KObject } from '../../core/types.js';
import type { DeliverySpec } from '../delivery/delivery.js';
import { defaultRefNamespace, type Destination } from '../destination.js';
import { brokerDefaultsFor, type BrDefaultsConfig } from './br-defaults.js';
import { isRecord, unknownFields } from '../../controller/validation/shape.js';
import { validateDeliveryField } from '../../controller/validation/duck.js';
import { validateObjectMeta } from '../../controller/validation/names.js';

export const EVENTING_API_VERSION = 'eventing.knative.dev/v1';
export const BROKER_CLASS_ANNOTATION = 'eventing.knative.dev/broker.class';

export interface BrokerSpec {
  config?: { apiVersion?: string; kind: string; name: string; namespace?: string };
  delivery?: DeliverySpec;
}
export type Broker = KObject<BrokerSpec>;

const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const CONFIG_FIELDS = new Set(['apiVersion', 'kind', 'name', 'namespace']);

export function validateBroker(obj: Record<string, unknown>): FieldIssue[] {
  const issues: FieldIssue[] = [...unknownFields(obj, TOP_FIELDS, '')];
  // Broker names appear in the ingress path; Kubernetes' rule for custom resources.
  issues.push(...validateObjectMeta(obj.metadata, 'metadata', 'dns1123-subdomain'));
  const cls = isRecord(obj.metadata) && isRecord(obj.metadata.annotations) ? obj.metadata.annotations[BROKER_CLASS_ANNOTATION] : undefined;
  if (cls !== undefined && cls === '') issues.push({ path: `metadata.annotations["${BROKER_CLASS_ANNOTATION}"]`, message: 'must not be empty' });
  const spec = obj.spec;
  if (spec === undefined || spec === null) return issues;
  if (!isRecord(spec)) return [...issues, { path: 'spec', message: 'must be a mapping' }];
  issues.push(...unknownFields(spec, new Set(['config', 'delivery']), 'spec'));
  if (spec.config !== undefined && spec.config !== null) {
    if (!isRecord(spec.config)) issues.push({ path: 'spec.config', message: 'must be a reference with apiVersion, kind and name' });
    else {
      issues.push(...unknownFields(spec.config, CONFIG_FIELDS, 'spec.config'));
      for (const f of ['kind', 'name'] as const) {
        if (typeof spec.config[f] !== 'string' || spec.config[f] === '') issues.push({ path: `spec.config.${f}`, message: 'missing field' });
      }
    }
  }
  issues.push(...validateDeliveryField(spec.delivery, 'spec.delivery'));
  return issues;
}

/**
 * Knative's immutability rules on update: the class and spec.config
 * (broker_validation.go CheckImmutableFields). `next` is the object as
 * written: a class left out keeps the stored one (normalizeBroker).
 */
export function validateBrokerUpdate(prev: KObject, next: KObject): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const before = prev.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  const after = next.metadata.annotations?.[BROKER_CLASS_ANNOTATION];
  if (before !== undefined && after !== undefined && before !== after) {
    issues.push({ path: `metadata.annotations["${BROKER_CLASS_ANNOTATION}"]`, message: `immutable field changed: ${JSON.stringify(before)} → ${JSON.stringify(after)} (delete and recreate the Broker)` });
  }
  const cfgBefore = (prev.spec as BrokerSpec | undefined)?.config;
  const cfgAfter = (next.spec as BrokerSpec | undefined)?.config;
  if (cfgBefore !== undefined && JSON.stringify(cfgBefore) !== JSON.stringify(cfgAfter)) {
    issues.push({ path: 'spec.config', message: 'immutable field changed (delete and recreate the Broker)' });
  }
  return issues;
}

/**
 * Knative's Broker defaulting (broker_defaults.go) on a copy: the class
 * annotation and, when unset, `spec.delivery` from config-br-defaults for
 * the Broker's namespace; refs without a namespace get the Broker's.
 */
export function normalizeBroker(obj: KObject, brDefaults: BrDefaultsConfig, prev?: KObject): KObject {
  const out = structuredClone(obj) as Broker;
  const ns = out.metadata.namespace ?? 'default';
  const defaults = brokerDefaultsFor(brDefaults, ns);
  out.metadata.annotations = { ...out.metadata.annotations };
  // An update that leaves the class out keeps the stored one (it is immutable).
  out.metadata.annotations[BROKER_CLASS_ANNOTATION] ||= prev?.metadata.annotations?.[BROKER_CLASS_ANNOTATION] || defaults.brokerClass;
  const spec: BrokerSpec = { ...(out.spec ?? {}) };
  if (spec.delivery === undefined && defaults.delivery !== undefined) spec.delivery = structuredClone(defaults.delivery);
  if (spec.delivery?.deadLetterSink !== undefined) {
    spec.delivery = { ...spec.delivery, deadLetterSink: defaultRefNamespace(spec.delivery.deadLetterSink as Destination, ns) };
  }
  out.spec = spec;
  return out as unknown as KObject;
}
