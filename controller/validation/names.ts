/**
 * Kubernetes name rules as Knative applies them, with the same limits and
 * messages as k8s.io/apimachinery `pkg/util/validation` (each check returns
 * the list of problems, empty when the value is valid):
 * - Service, Route and revision names, and traffic tags: DNS-1035 labels,
 *   because each becomes a host label (`knative.dev/pkg/apis`
 *   ValidateObjectMetadata uses NameIsDNS1035Label; route_validation.go
 *   checks tags with IsDNS1035Label).
 * - Namespaces and container names: DNS-1123 labels.
 * - Label and annotation keys: qualified names with an optional DNS-1123
 *   subdomain prefix (`example.com/key`).
 */
import type { FieldIssue } from '../../core/errors.js';
import { isRecord } from './shape.js';

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const DNS1035_LABEL_MAX = 63;
const QUALIFIED_NAME_MAX = 63;
const LABEL_VALUE_MAX = 63;
/** Kubernetes' TotalAnnotationSizeLimitB: keys plus values of one object. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const C_IDENTIFIER_FMT = '[A-Za-z_][A-Za-z0-9_]*';

const whole = (fmt: string): RegExp => new RegExp(`^${fmt}$`);
const DNS1123_LABEL_RE = whole(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN_RE = whole(DNS1123_SUBDOMAIN_FMT);
const DNS1035_LABEL_RE = whole(DNS1035_LABEL_FMT);
const QUALIFIED_NAME_RE = whole(QUALIFIED_NAME_FMT);
const LABEL_VALUE_RE = whole(LABEL_VALUE_FMT);
const C_IDENTIFIER_RE = whole(C_IDENTIFIER_FMT);

const maxLen = (n: number): string => `must be no more than ${n} characters`;
const regexMsg = (msg: string, fmt: string, ...examples: string[]): string =>
  `${msg} (${examples.length ? `e.g. ${examples.map((e) => `'${e}'`).join(' or ')}, ` : ''}regex used for validation is '${fmt}')`;

const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function isDns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) errs.push(maxLen(DNS1123_LABEL_MAX));
  if (!DNS1123_LABEL_RE.test(value)) {
    errs.push(regexMsg("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errs;
}

export function isDns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLen(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    errs.push(regexMsg("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", DNS1123_SUBDOMAIN_FMT, 'example.com'));
  }
  return errs;
}

export function isDns1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > DNS1035_LABEL_MAX) errs.push(maxLen(DNS1035_LABEL_MAX));
  if (!DNS1035_LABEL_RE.test(value)) {
    errs.push(regexMsg("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", DNS1035_LABEL_FMT, 'my-name', 'abc-123'));
  }
  return errs;
}

/** Label and annotation keys: `[prefix/]name`. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix === '') errs.push('prefix part must be non-empty');
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [`a qualified name ${regexMsg(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name === '') errs.push('name part must be non-empty');
  else if (name.length > QUALIFIED_NAME_MAX) errs.push(`name part ${maxLen(QUALIFIED_NAME_MAX)}`);
  if (!QUALIFIED_NAME_RE.test(name)) errs.push(`name part ${regexMsg(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function isValidLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > LABEL_VALUE_MAX) errs.push(maxLen(LABEL_VALUE_MAX));
  if (!LABEL_VALUE_RE.test(value)) {
    errs.push(regexMsg("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errs;
}

/** Environment variable names, checked as C identifiers. */
export function isCIdentifier(value: string): string[] {
  if (C_IDENTIFIER_RE.test(value)) return [];
  return [regexMsg("a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'", C_IDENTIFIER_FMT, 'my_name', 'MY_NAME', 'MyName')];
}

/** How an object's `metadata.name` is checked. */
export type NameRule = 'dns1035-label' | 'dns1123-label' | 'dns1123-subdomain';

const NAME_CHECKS: Record<NameRule, { check: (v: string) => string[]; what: string }> = {
  'dns1035-label': { check: isDns1035Label, what: 'DNS 1035 label' },
  'dns1123-label': { check: isDns1123Label, what: 'DNS 1123 label' },
  'dns1123-subdomain': { check: isDns1123Subdomain, what: 'DNS 1123 subdomain' },
};

/**
 * Checks `metadata` of a top-level object: name (required, by `nameRule`),
 * namespace (a DNS-1123 label), label keys and values, annotation keys and
 * total annotation size. `path` is where the metadata sits, normally
 * `metadata`.
 */
export function validateObjectMeta(meta: unknown, path: string, nameRule: NameRule): FieldIssue[] {
  if (meta === undefined || meta === null) return [{ path, message: 'missing field(s)' }];
  if (!isRecord(meta)) return [{ path, message: 'must be a mapping' }];
  const issues: FieldIssue[] = [];
  const { name, namespace } = meta;
  if (name === undefined || name === null || name === '') {
    issues.push({ path: `${path}.name`, message: 'name is required' });
  } else if (typeof name !== 'string') {
    issues.push({ path: `${path}.name`, message: 'must be a string' });
  } else {
    const rule = NAME_CHECKS[nameRule];
    const msgs = rule.check(name);
    if (msgs.length) issues.push({ path: `${path}.name`, message: `not a ${rule.what}: ${msgs.join('; ')}` });
  }
  if (namespace !== undefined && namespace !== null) {
    if (typeof namespace !== 'string') issues.push({ path: `${path}.namespace`, message: 'must be a string' });
    else if (namespace !== '') {
      const msgs = isDns1123Label(namespace);
      if (msgs.length) issues.push({ path: `${path}.namespace`, message: `not a DNS 1123 label: ${msgs.join('; ')}` });
    }
  }
  issues.push(...validateLabels(meta.labels, `${path}.labels`));
  issues.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  return issues;
}

/** Label keys are qualified names; values are short label values (strings). */
export function validateLabels(labels: unknown, path: string): FieldIssue[] {
  if (labels === undefined || labels === null) return [];
  if (!isRecord(labels)) return [{ path, message: 'must map label keys to string values' }];
  const issues: FieldIssue[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const keyMsgs = isQualifiedName(k);
    if (keyMsgs.length) issues.push({ path: `${path}["${k}"]`, message: `invalid label key ${JSON.stringify(k)}: ${keyMsgs.join('; ')}` });
    if (typeof v !== 'string') {
      issues.push({ path: `${path}["${k}"]`, message: 'label values must be strings (quote numbers and booleans)' });
      continue;
    }
    const valMsgs = isValidLabelValue(v);
    if (valMsgs.length) issues.push({ path: `${path}["${k}"]`, message: `invalid label value ${JSON.stringify(v)}: ${valMsgs.join('; ')}` });
  }
  return issues;
}

/** Annotation keys are qualified names (checked lower-cased, as Kubernetes does); values are any strings. */
export function validateAnnotations(annotations: unknown, path: string): FieldIssue[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isRecord(annotations)) return [{ path, message: 'must map annotation keys to string values' }];
  const issues: FieldIssue[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    const keyMsgs = isQualifiedName(k.toLowerCase());
    if (keyMsgs.length) issues.push({ path: `${path}["${k}"]`, message: `invalid annotation key ${JSON.stringify(k)}: ${keyMsgs.join('; ')}` });
    if (typeof v !== 'string') {
      issues.push({ path: `${path}["${k}"]`, message: 'annotation values must be strings (quote numbers and booleans)' });
      continue;
    }
    size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > ANNOTATIONS_MAX_BYTES) issues.push({ path, message: `may not have more than ${ANNOTATIONS_MAX_BYTES} bytes in all` });
  return issues;
}
