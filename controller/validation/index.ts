/**
 * Validation and defaulting of user resources, shared by the admin API
 * (server side, paths only) and the CLI (client side; controller/manifest.ts
 * adds file, line and column).
 *
 * ```ts
 * const issues = validateObject(obj, { defaults, autoscaler });
 * if (issues.length) throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', undefined, { issues });
 * const svc = defaultService(obj, defaults);
 * ```
 */
import { renderContainerName } from '../../core/config/defaults.js';
import type { DefaultsConfig } from '../../core/config/defaults.js';
import type { FieldIssue } from '../../core/errors.js';
import { SERVING_API_VERSION } from '../../core/types.js';
import { FUNCTION_API_VERSION, FUNCTION_KIND } from '../function-kind.js';
import type { Service, TrafficTarget } from '../../core/types.js';
import { validateConfigMap } from './configmap.js';
import type { KindValidator, ValidationContext } from './context.js';
import { validateFunction } from './function.js';
import { validateService } from './service.js';
import { isRecord } from './shape.js';

export type { KindValidator, ValidationContext } from './context.js';
export { validateService, RESERVED_ENV_VARS, RESERVED_PORTS } from './service.js';
export { validateFunction, validateFunctionFiles } from './function.js';
export { validateConfigMap, configsFromConfigMaps, KNOWN_CONFIG_MAPS, AUTOSCALER_CONFIG_NAME } from './configmap.js';
export type { PlatformConfigs } from './configmap.js';
export {
  isCIdentifier, isDns1035Label, isDns1123Label, isDns1123Subdomain, isQualifiedName, isValidLabelValue,
  validateAnnotations, validateLabels, validateObjectMeta,
} from './names.js';
export type { NameRule } from './names.js';

/** The kinds this module validates. Other modules add theirs: `validateObject(o, ctx, [...BUILTIN_KINDS, ...mine])`. */
export const BUILTIN_KINDS: readonly KindValidator[] = Object.freeze([
  { apiVersion: SERVING_API_VERSION, kind: 'Service', validate: (o, ctx) => validateService(o, ctx) },
  { apiVersion: 'v1', kind: 'ConfigMap', validate: (o) => validateConfigMap(o) },
  { apiVersion: FUNCTION_API_VERSION, kind: FUNCTION_KIND, validate: (o, ctx) => validateFunction(o, ctx) },
]);

/**
 * Validates any user object by its apiVersion and kind. Unknown kinds get an
 * issue at `kind` listing what Zeno understands.
 */
export function validateObject(obj: unknown, ctx: ValidationContext, kinds: readonly KindValidator[] = BUILTIN_KINDS): FieldIssue[] {
  if (!isRecord(obj)) return [{ path: '', message: 'a resource must be a mapping with apiVersion, kind and metadata' }];
  const { apiVersion, kind } = obj;
  const issues: FieldIssue[] = [];
  if (typeof apiVersion !== 'string' || apiVersion === '') issues.push({ path: 'apiVersion', message: 'missing field(s)' });
  if (typeof kind !== 'string' || kind === '') issues.push({ path: 'kind', message: 'missing field(s)' });
  if (issues.length) return issues;

  const exact = kinds.find((k) => k.kind === kind && k.apiVersion === apiVersion);
  if (exact) return exact.validate(obj, ctx);
  const sameKind = kinds.filter((k) => k.kind === kind);
  if (sameKind.length) {
    return [{ path: 'apiVersion', message: `${String(kind)} is served at ${sameKind.map((k) => k.apiVersion).join(' or ')}, not ${JSON.stringify(apiVersion)}` }];
  }
  const known = kinds.map((k) => `${k.kind} (${k.apiVersion})`).join(', ');
  return [{ path: 'kind', message: `unknown kind ${JSON.stringify(kind)} in ${JSON.stringify(apiVersion)}; Zeno understands: ${known}` }];
}

/**
 * Knative's defaulting for a Service (revision_defaults.go, route_defaults.go),
 * on a copy: namespace `default`; `timeoutSeconds` (unset or 0) and
 * `containerConcurrency` from config-defaults; the container name from
 * `container-name-template`; traffic `[{latestRevision: true, percent: 100}]`
 * when none is given; each target's `latestRevision` = `revisionName == ""`.
 * Call it on a Service that validated.
 */
export function defaultService(obj: unknown, defaults: DefaultsConfig): Service {
  const svc = structuredClone(obj) as Service;
  svc.metadata.namespace ||= 'default';
  svc.spec ??= { template: { spec: { containers: [] } } };
  const template = svc.spec.template;
  const rs = template.spec;
  if (!rs.timeoutSeconds) rs.timeoutSeconds = defaults.revisionTimeoutSeconds;
  rs.containerConcurrency ??= defaults.containerConcurrency;
  const many = rs.containers.length > 1;
  rs.containers.forEach((c, i) => {
    // The template sees the Service's metadata (Knative's ParentMeta).
    if (!c.name) c.name = renderContainerName(defaults.containerNameTemplate, svc.metadata) + (many ? `-${i}` : '');
  });
  if (!svc.spec.traffic || svc.spec.traffic.length === 0) {
    svc.spec.traffic = [{ latestRevision: true, percent: 100 }];
  } else {
    svc.spec.traffic = svc.spec.traffic.map((t): TrafficTarget => ({ ...t, latestRevision: t.latestRevision ?? !t.revisionName }));
  }
  return svc;
}
