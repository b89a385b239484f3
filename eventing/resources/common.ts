/**
 * Shape checks shared by the eventing kinds (Broker, Trigger, and the
 * sources and flows that hold Destinations and delivery specs). They run
 * before the pure rule checks in eventing/delivery, which trust types.
 */
import type { FieldIssue } from '../../core/errors.js';
import { validateDelivery, validateDestination, type DeliverySpec } from '../delivery/delivery.js';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Strict decoding, as the rest of Zeno: a typo is an error, not silently ignored. */
export function unknownFields(obj: Record<string, unknown>, allowed: readonly string[], path: string, hint?: Record<string, string>): FieldIssue[] {
  return Object.keys(obj)
    .filter((k) => !allowed.includes(k))
    .map((k) => ({ path: path ? `${path}.${k}` : k, message: hint?.[k] ?? `unknown field ${JSON.stringify(k)}` }));
}

const REF_FIELDS = ['apiVersion', 'kind', 'name', 'namespace'];
const DESTINATION_FIELDS = ['ref', 'uri'];
const NOT_SUPPORTED_DEST: Record<string, string> = {
  CACerts: 'CACerts is not supported: Zeno delivers over plain HTTP on this machine',
  audience: 'audience is not supported: Zeno has no OIDC token issuer',
};

/**
 * A Destination (duck/v1 destination.go): a mapping with `ref` and/or
 * `uri`. The ref is a KReference, which Knative requires to carry
 * apiVersion, kind and name (KReference.Validate).
 */
export function checkDestination(v: unknown, path: string): FieldIssue[] {
  if (!isRecord(v)) return [{ path, message: 'must be a mapping with ref and/or uri' }];
  const issues = unknownFields(v, DESTINATION_FIELDS, path, NOT_SUPPORTED_DEST);
  if (v.uri !== undefined && typeof v.uri !== 'string') issues.push({ path: `${path}.uri`, message: 'must be a string' });
  if (v.ref !== undefined) {
    if (!isRecord(v.ref)) {
      issues.push({ path: `${path}.ref`, message: 'must be a mapping with apiVersion, kind and name' });
      return issues;
    }
    issues.push(...unknownFields(v.ref, REF_FIELDS, `${path}.ref`));
    for (const f of REF_FIELDS) {
      const x = v.ref[f];
      if (x !== undefined && typeof x !== 'string') issues.push({ path: `${path}.ref.${f}`, message: 'must be a string' });
    }
    if (v.ref.apiVersion === undefined || v.ref.apiVersion === '') issues.push({ path: `${path}.ref.apiVersion`, message: 'missing field' });
  }
  if (issues.length) return issues;
  return validateDestination(v as Parameters<typeof validateDestination>[0], path);
}

const DELIVERY_FIELDS = ['deadLetterSink', 'retry', 'backoffPolicy', 'backoffDelay', 'timeout'];
const NOT_SUPPORTED_DELIVERY: Record<string, string> = {
  retryAfterMax: 'retryAfterMax is not supported: Zeno always honours Retry-After on 429 and 503, capped at its backoff cap (docs/eventing.md)',
  format: 'format is not supported yet: Zeno delivers in binary content mode',
};

/** `spec.delivery` (duck/v1 DeliverySpec): types first, then Knative's rules (validateDelivery). */
export function checkDelivery(v: unknown, path: string): FieldIssue[] {
  if (v === undefined || v === null) return [];
  if (!isRecord(v)) return [{ path, message: 'must be a mapping' }];
  const issues = unknownFields(v, DELIVERY_FIELDS, path, NOT_SUPPORTED_DELIVERY);
  if (v.retry !== undefined && typeof v.retry !== 'number') issues.push({ path: `${path}.retry`, message: `must be an integer, got ${JSON.stringify(v.retry)}` });
  for (const f of ['backoffPolicy', 'backoffDelay', 'timeout']) {
    if (v[f] !== undefined && typeof v[f] !== 'string') issues.push({ path: `${path}.${f}`, message: `must be a string, got ${JSON.stringify(v[f])}` });
  }
  if (v.deadLetterSink !== undefined) {
    const dls = checkDestination(v.deadLetterSink, `${path}.deadLetterSink`);
    if (dls.length) return [...issues, ...dls];
  }
  if (issues.length) return issues;
  return validateDelivery(v as DeliverySpec, path);
}
