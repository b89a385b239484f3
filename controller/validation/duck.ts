/**
 * Knative's duck types as they appear in eventing manifests, checked for
 * shape first (they come straight from YAML) and then by the pure rules in
 * eventing/delivery:
 * - Destination (knative.dev/pkg apis/duck/v1 destination.go): `ref`
 *   (a KReference: apiVersion, kind, name required; namespace optional),
 *   `uri` (`CACerts` and `audience` are refused with the reason). At least one of ref and uri; with a ref the
 *   uri is relative; a bare uri is absolute with a host.
 * - CloudEventOverrides (duck/v1 source_types.go): `extensions`, a map whose
 *   keys are non-empty and lower-case alphanumeric (CloudEvents attribute
 *   names), values strings.
 * - DeliverySpec (duck/v1 delivery_types.go).
 * - ChannelTemplateSpec (messaging/v1 IsValidChannelTemplate): apiVersion and
 *   kind required, optional spec.
 */
import type { FieldIssue } from '../../core/errors.js';
import { validateDelivery, validateDestination, type DeliveryDestination, type DeliverySpec } from '../../eventing/delivery/delivery.js';
import { isDns1123Label } from './names.js';
import { isRecord, unknownFields } from './shape.js';

const DESTINATION_FIELDS = new Set(['ref', 'uri']);
/** Knative Destination fields Zeno refuses, with the reason (a silent ignore would mislead). */
const NOT_SUPPORTED_DESTINATION: Readonly<Record<string, string>> = {
  CACerts: 'CACerts is not supported: Zeno delivers over plain HTTP on this machine',
  audience: 'audience is not supported: Zeno has no OIDC token issuer',
};
const KREFERENCE_FIELDS = new Set(['apiVersion', 'kind', 'name', 'namespace']);
const CE_OVERRIDES_FIELDS = new Set(['extensions']);
const DELIVERY_FIELDS = new Set(['deadLetterSink', 'retry', 'backoffPolicy', 'backoffDelay', 'timeout']);
const NOT_SUPPORTED_DELIVERY: Readonly<Record<string, string>> = {
  retryAfterMax: 'retryAfterMax is not supported: Zeno always honours Retry-After on 429 and 503, capped at its backoff cap (docs/eventing.md)',
  format: 'format is not supported yet: Zeno delivers in binary content mode',
};
const CHANNEL_TEMPLATE_FIELDS = new Set(['apiVersion', 'kind', 'spec']);
/** CloudEvents attribute names (spec.md): lower-case letters and digits. */
const EXTENSION_NAME_RE = /^[a-z0-9]+$/;

/** What Sequence, Parallel and Channel default `channelTemplate` to (config-default-channel: InMemoryChannel). */
export const DEFAULT_CHANNEL_TEMPLATE = Object.freeze({ apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' });

const absent = (v: unknown): boolean => v === undefined || v === null;

function requiredString(obj: Record<string, unknown>, key: string, path: string, issues: FieldIssue[]): string | undefined {
  const v = obj[key];
  if (absent(v) || v === '') {
    issues.push({ path: `${path}.${key}`, message: 'missing field(s)' });
    return undefined;
  }
  if (typeof v !== 'string') {
    issues.push({ path: `${path}.${key}`, message: `must be a string, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v;
}

/** A KReference (duck/v1 knative_reference.go): apiVersion, kind and name; namespace optional. */
export function validateKReference(v: unknown, path: string, opts: { namespaceAllowed?: boolean } = {}): FieldIssue[] {
  if (!isRecord(v)) return [{ path, message: 'must be a mapping with apiVersion, kind and name' }];
  const issues = unknownFields(v, KREFERENCE_FIELDS, path);
  requiredString(v, 'apiVersion', path, issues);
  requiredString(v, 'kind', path, issues);
  requiredString(v, 'name', path, issues);
  if (!absent(v.namespace)) {
    if (opts.namespaceAllowed === false) issues.push({ path: `${path}.namespace`, message: 'must not be set' });
    else if (typeof v.namespace !== 'string') issues.push({ path: `${path}.namespace`, message: 'must be a string' });
    else if (v.namespace !== '' && isDns1123Label(v.namespace).length) issues.push({ path: `${path}.namespace`, message: `not a DNS 1123 label: ${v.namespace}` });
  }
  return issues;
}

/** A Destination; `required` reports an absent one as missing (a source's sink, a branch's subscriber). */
export function validateDestinationField(v: unknown, path: string, required: boolean): FieldIssue[] {
  if (absent(v)) return required ? [{ path, message: 'expected at least one, got none: ref, uri' }] : [];
  if (!isRecord(v)) return [{ path, message: 'must be a mapping with ref and/or uri' }];
  const issues = unknownFields(v, DESTINATION_FIELDS, path, NOT_SUPPORTED_DESTINATION);
  if (!absent(v.ref)) issues.push(...validateKReference(v.ref, `${path}.ref`));
  if (!absent(v.uri) && typeof v.uri !== 'string') issues.push({ path: `${path}.uri`, message: 'must be a string' });
  if (issues.length) return issues;
  const dest: DeliveryDestination = {};
  if (!absent(v.ref)) dest.ref = v.ref as NonNullable<DeliveryDestination['ref']>;
  if (typeof v.uri === 'string' && v.uri !== '') dest.uri = v.uri;
  return validateDestination(dest, path);
}

/** `ceOverrides`: only `extensions`, keys lower-case alphanumeric (Knative: "keys are expected to be alphanumeric"). */
export function validateCeOverrides(v: unknown, path: string): FieldIssue[] {
  if (absent(v)) return [];
  if (!isRecord(v)) return [{ path, message: 'must be a mapping with extensions' }];
  const issues = unknownFields(v, CE_OVERRIDES_FIELDS, path);
  const ext = v.extensions;
  if (absent(ext)) return issues;
  if (!isRecord(ext)) return [...issues, { path: `${path}.extensions`, message: 'must map extension names to string values' }];
  for (const [key, value] of Object.entries(ext)) {
    const p = `${path}.extensions["${key}"]`;
    if (key === '') issues.push({ path: p, message: 'invalid key name "": keys MUST NOT be empty' });
    else if (!EXTENSION_NAME_RE.test(key)) issues.push({ path: p, message: `invalid key name ${JSON.stringify(key)}: keys are expected to be alphanumeric (lower-case a-z and 0-9)` });
    if (typeof value !== 'string') issues.push({ path: p, message: `must be a string (quote it), got ${JSON.stringify(value)}` });
  }
  return issues;
}

/** `delivery` with Knative's rules (eventing/delivery validateDelivery) after a shape check. */
export function validateDeliveryField(v: unknown, path: string): FieldIssue[] {
  if (absent(v)) return [];
  if (!isRecord(v)) return [{ path, message: 'must be a mapping' }];
  const issues = unknownFields(v, DELIVERY_FIELDS, path, NOT_SUPPORTED_DELIVERY);
  issues.push(...validateDestinationField(v.deadLetterSink, `${path}.deadLetterSink`, false));
  if (!absent(v.retry) && typeof v.retry !== 'number') issues.push({ path: `${path}.retry`, message: `must be an integer, got ${JSON.stringify(v.retry)}` });
  for (const k of ['backoffPolicy', 'backoffDelay', 'timeout']) {
    if (!absent(v[k]) && typeof v[k] !== 'string') issues.push({ path: `${path}.${k}`, message: `must be a string, got ${JSON.stringify(v[k])}` });
  }
  if (issues.length) return issues;
  const { deadLetterSink: _dls, ...rest } = v;
  const spec: DeliverySpec = {};
  for (const [k, val] of Object.entries(rest)) if (!absent(val)) (spec as Record<string, unknown>)[k] = val;
  return validateDelivery(spec, path);
}

/** `channelTemplate`: apiVersion and kind required (absent: defaulted by normalize). */
export function validateChannelTemplate(v: unknown, path: string): FieldIssue[] {
  if (absent(v)) return [];
  if (!isRecord(v)) return [{ path, message: 'must be a mapping with apiVersion and kind' }];
  const issues = unknownFields(v, CHANNEL_TEMPLATE_FIELDS, path);
  requiredString(v, 'apiVersion', path, issues);
  requiredString(v, 'kind', path, issues);
  if (!absent(v.spec) && !isRecord(v.spec)) issues.push({ path: `${path}.spec`, message: 'must be a mapping' });
  return issues;
}
