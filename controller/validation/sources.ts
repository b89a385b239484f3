/**
 * `sources.knative.dev/v1` PingSource, ContainerSource and SinkBinding, with
 * the rules of Knative's webhook (pkg/apis/sources/v1/*_validation.go):
 * - every source: `spec.sink` a Destination (required), `spec.ceOverrides`
 *   with alphanumeric extension names (duck/v1 SourceSpec);
 * - PingSource: `schedule` parses as cron (see eventing/sources/cron.ts;
 *   `@every` refused), `timezone` an IANA name (errors at spec.timezone),
 *   `data` and `dataBase64` mutually exclusive, `dataBase64` valid base64,
 *   and either one a JSON object when `contentType` is application/json
 *   (validateJSON unmarshals into a map). config-ping-defaults'
 *   `data-max-size` defaults to -1 (no limit), so there is none here;
 * - ContainerSource: at least one container in `spec.template.spec`, each
 *   with a `name` (Knative also wants `image`; the embedded runtime runs
 *   `command` instead, as for a Service);
 * - SinkBinding: `subject` with apiVersion and kind and exactly one of name
 *   or selector; its namespace, if set, is the binding's own. The embedded
 *   platform has no Deployments or Jobs: the subject must be a Knative
 *   Service.
 */
import type { FieldIssue } from '../../core/errors.js';
import { SERVING_API_VERSION } from '../../core/types.js';
import { parseCron } from '../../eventing/sources/cron.js';
import type { ValidationContext } from './context.js';
import { validateCeOverrides, validateDestinationField } from './duck.js';
import { isQualifiedName, isValidLabelValue, validateAnnotations, validateLabels, validateObjectMeta } from './names.js';
import { validateContainer } from './service.js';
import { isRecord, optionalString, unknownFields } from './shape.js';

export const SOURCES_API_VERSION = 'sources.knative.dev/v1';
/** PingSource's schedule when none is given (ping_defaults.go). */
export const DEFAULT_PING_SCHEDULE = '* * * * *';

const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const PING_SPEC_FIELDS = new Set(['schedule', 'timezone', 'contentType', 'data', 'dataBase64', 'sink', 'ceOverrides']);
const CONTAINER_SPEC_FIELDS = new Set(['template', 'sink', 'ceOverrides']);
const POD_TEMPLATE_FIELDS = new Set(['metadata', 'spec']);
const POD_TEMPLATE_META_FIELDS = new Set(['labels', 'annotations', 'name', 'namespace']);
const POD_SPEC_FIELDS = new Set(['containers', 'serviceAccountName']);
const SINKBINDING_SPEC_FIELDS = new Set(['subject', 'sink', 'ceOverrides']);
const SUBJECT_FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'name', 'selector']);
const SELECTOR_FIELDS = new Set(['matchLabels', 'matchExpressions']);
const EXPRESSION_FIELDS = new Set(['key', 'operator', 'values']);
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const absent = (v: unknown): boolean => v === undefined || v === null;

/** apiVersion, kind, unknown fields, metadata and a spec mapping: the frame of every eventing kind. */
export function validateFrame(obj: unknown, apiVersion: string, kind: string, specFields: ReadonlySet<string>): { issues: FieldIssue[]; spec?: Record<string, unknown>; namespace?: string } {
  if (!isRecord(obj)) return { issues: [{ path: '', message: `a ${kind} must be a mapping` }] };
  const issues: FieldIssue[] = [];
  if (obj.apiVersion !== apiVersion) issues.push({ path: 'apiVersion', message: `must be ${apiVersion}, got ${JSON.stringify(obj.apiVersion)}` });
  if (obj.kind !== kind) issues.push({ path: 'kind', message: `must be ${kind}, got ${JSON.stringify(obj.kind)}` });
  issues.push(...unknownFields(obj, TOP_FIELDS, ''));
  issues.push(...validateObjectMeta(obj.metadata, 'metadata', 'dns1123-subdomain'));
  const namespace = isRecord(obj.metadata) && typeof obj.metadata.namespace === 'string' ? obj.metadata.namespace : undefined;
  const spec = obj.spec;
  if (absent(spec)) return { issues: [...issues, { path: 'spec', message: 'missing field(s)' }], ...(namespace ? { namespace } : {}) };
  if (!isRecord(spec)) return { issues: [...issues, { path: 'spec', message: 'must be a mapping' }] };
  issues.push(...unknownFields(spec, specFields, 'spec'));
  return { issues, spec, ...(namespace ? { namespace } : {}) };
}

export function validatePingSource(obj: unknown): FieldIssue[] {
  const { issues, spec } = validateFrame(obj, SOURCES_API_VERSION, 'PingSource', PING_SPEC_FIELDS);
  if (!spec) return issues;
  const schedule = optionalString(spec, 'schedule', 'spec', issues);
  const timezone = optionalString(spec, 'timezone', 'spec', issues);
  const contentType = optionalString(spec, 'contentType', 'spec', issues);
  const data = optionalString(spec, 'data', 'spec', issues);
  const dataBase64 = optionalString(spec, 'dataBase64', 'spec', issues);
  if (typeof spec.schedule !== 'number') {
    const parsed = parseCron(schedule || DEFAULT_PING_SCHEDULE, timezone || undefined);
    if ('error' in parsed) issues.push({ path: `spec.${parsed.field}`, message: `invalid value: ${parsed.error}` });
  }
  const json = contentType === 'application/json';
  if (data && dataBase64) {
    issues.push({ path: 'spec.data', message: 'expected exactly one, got both: data, dataBase64' });
  } else if (dataBase64) {
    if (!BASE64_RE.test(dataBase64)) issues.push({ path: 'spec.dataBase64', message: 'invalid value: illegal base64 data' });
    else if (json && !isJsonObject(Buffer.from(dataBase64, 'base64').toString('utf8'))) {
      issues.push({ path: 'spec.dataBase64', message: 'invalid value: contentType is application/json but the decoded data is not a JSON object' });
    }
  } else if (data && json && !isJsonObject(data)) {
    issues.push({ path: 'spec.data', message: 'invalid value: contentType is application/json but data is not a JSON object' });
  }
  issues.push(...validateDestinationField(spec.sink, 'spec.sink', true));
  issues.push(...validateCeOverrides(spec.ceOverrides, 'spec.ceOverrides'));
  return issues;
}

function isJsonObject(text: string): boolean {
  try {
    const v = JSON.parse(text) as unknown;
    return isRecord(v);
  } catch {
    return false;
  }
}

export function validateContainerSource(obj: unknown, ctx: ValidationContext): FieldIssue[] {
  const { issues, spec } = validateFrame(obj, SOURCES_API_VERSION, 'ContainerSource', CONTAINER_SPEC_FIELDS);
  if (!spec) return issues;
  issues.push(...validateDestinationField(spec.sink, 'spec.sink', true));
  issues.push(...validateCeOverrides(spec.ceOverrides, 'spec.ceOverrides'));
  const t = spec.template;
  if (!isRecord(t)) return [...issues, { path: 'spec.template', message: absent(t) ? 'missing field(s)' : 'must be a mapping' }];
  issues.push(...unknownFields(t, POD_TEMPLATE_FIELDS, 'spec.template'));
  if (!absent(t.metadata)) {
    if (!isRecord(t.metadata)) issues.push({ path: 'spec.template.metadata', message: 'must be a mapping' });
    else {
      issues.push(...unknownFields(t.metadata, POD_TEMPLATE_META_FIELDS, 'spec.template.metadata'));
      issues.push(...validateLabels(t.metadata.labels, 'spec.template.metadata.labels'));
      issues.push(...validateAnnotations(t.metadata.annotations, 'spec.template.metadata.annotations'));
    }
  }
  const podSpec = t.spec;
  if (!isRecord(podSpec)) return [...issues, { path: 'spec.template.spec', message: absent(podSpec) ? 'missing field(s): containers' : 'must be a mapping' }];
  issues.push(...unknownFields(podSpec, POD_SPEC_FIELDS, 'spec.template.spec'));
  optionalString(podSpec, 'serviceAccountName', 'spec.template.spec', issues);
  const containers = podSpec.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    return [...issues, { path: 'spec.template.spec.containers', message: Array.isArray(containers) || absent(containers) ? 'missing field(s)' : 'must be a list' }];
  }
  if (containers.length > 1) {
    issues.push({ path: 'spec.template.spec.containers', message: 'the embedded runtime runs one container per source; got more than one' });
  }
  containers.forEach((c, i) => {
    const p = `spec.template.spec.containers[${i}]`;
    // A ContainerSource's process runs beside the platform (eventing/sources/container.ts)
    // whatever runs the functions, so it always needs what the local runtime needs.
    issues.push(...validateContainer(c, p, { ...ctx, runtime: 'local' }));
    if (isRecord(c) && (absent(c.name) || c.name === '')) issues.push({ path: `${p}.name`, message: 'missing field(s)' });
  });
  return issues;
}

export function validateSinkBinding(obj: unknown): FieldIssue[] {
  const { issues, spec, namespace } = validateFrame(obj, SOURCES_API_VERSION, 'SinkBinding', SINKBINDING_SPEC_FIELDS);
  if (!spec) return issues;
  issues.push(...validateDestinationField(spec.sink, 'spec.sink', true));
  issues.push(...validateCeOverrides(spec.ceOverrides, 'spec.ceOverrides'));
  const s = spec.subject;
  if (!isRecord(s)) return [...issues, { path: 'spec.subject', message: absent(s) ? 'missing field(s)' : 'must be a mapping' }];
  issues.push(...unknownFields(s, SUBJECT_FIELDS, 'spec.subject'));
  const apiVersion = optionalString(s, 'apiVersion', 'spec.subject', issues);
  const kind = optionalString(s, 'kind', 'spec.subject', issues);
  if (!apiVersion) issues.push({ path: 'spec.subject.apiVersion', message: 'missing field(s)' });
  if (!kind) issues.push({ path: 'spec.subject.kind', message: 'missing field(s)' });
  if (apiVersion && kind && (apiVersion !== SERVING_API_VERSION || kind !== 'Service')) {
    issues.push({ path: 'spec.subject', message: `the embedded platform binds ${SERVING_API_VERSION} Service subjects only, not ${kind} (${apiVersion})` });
  }
  const subjectNs = optionalString(s, 'namespace', 'spec.subject', issues);
  // sinkbinding_validation.go: the subject lives in the binding's namespace.
  if (subjectNs && subjectNs !== (namespace || 'default')) issues.push({ path: 'spec.subject.namespace', message: `invalid value: ${subjectNs}` });
  const name = optionalString(s, 'name', 'spec.subject', issues);
  const hasSelector = !absent(s.selector);
  if (name && hasSelector) issues.push({ path: 'spec.subject', message: 'expected exactly one, got both: name, selector' });
  else if (!name && !hasSelector) issues.push({ path: 'spec.subject', message: 'expected exactly one, got neither: name, selector' });
  if (hasSelector) issues.push(...validateSelector(s.selector, 'spec.subject.selector'));
  return issues;
}

/** A metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist). */
function validateSelector(v: unknown, path: string): FieldIssue[] {
  if (!isRecord(v)) return [{ path, message: 'must be a mapping with matchLabels and/or matchExpressions' }];
  const issues = unknownFields(v, SELECTOR_FIELDS, path);
  issues.push(...validateLabels(v.matchLabels, `${path}.matchLabels`));
  const exprs = v.matchExpressions;
  if (absent(exprs)) return issues;
  if (!Array.isArray(exprs)) return [...issues, { path: `${path}.matchExpressions`, message: 'must be a list' }];
  exprs.forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    if (!isRecord(e)) {
      issues.push({ path: p, message: 'must be a mapping with key, operator and values' });
      return;
    }
    issues.push(...unknownFields(e, EXPRESSION_FIELDS, p));
    if (typeof e.key !== 'string' || isQualifiedName(e.key).length) issues.push({ path: `${p}.key`, message: 'must be a valid label key' });
    const op = e.operator;
    const values = e.values;
    if (op === 'In' || op === 'NotIn') {
      if (!Array.isArray(values) || values.length === 0) issues.push({ path: `${p}.values`, message: 'must be specified when `operator` is \'In\' or \'NotIn\'' });
      else values.forEach((val, j) => {
        if (typeof val !== 'string' || isValidLabelValue(val).length) issues.push({ path: `${p}.values[${j}]`, message: 'must be a valid label value' });
      });
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (Array.isArray(values) && values.length > 0) issues.push({ path: `${p}.values`, message: 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\'' });
    } else {
      issues.push({ path: `${p}.operator`, message: `not a valid selector operator: ${JSON.stringify(op)}` });
    }
  });
  return issues;
}
