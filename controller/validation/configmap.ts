/**
 * `v1` ConfigMaps carrying Knative's platform settings. Zeno understands
 * `config-autoscaler`, `config-defaults`, `config-domain`, `config-gc` and
 * `config-br-defaults`; a ConfigMap
 * with any other name is rejected rather than stored and ignored, so a user
 * never believes a setting took effect when it did not.
 */
import { DEFAULT_DEFAULTS_CONFIG, DEFAULTS_CONFIG_NAME, parseDefaultsConfigMap } from '../../core/config/defaults.js';
import { DEFAULT_DOMAIN_CONFIG, DOMAIN_CONFIG_NAME, parseDomainConfigMap } from '../../core/config/domain.js';
import type { DomainConfig } from '../../core/config/domain.js';
import { DEFAULT_AUTOSCALER_CONFIG, parseAutoscalerConfigMap } from '../../core/config/autoscaler.js';
import { DEFAULT_GC_CONFIG, GC_CONFIG_NAME, parseGcConfigMap, type GcConfig } from '../../core/config/gc.js';
import type { FieldIssue } from '../../core/errors.js';
import { BR_DEFAULTS_CONFIG_NAME, DEFAULT_BR_DEFAULTS_CONFIG, parseBrDefaultsConfigMap, type BrDefaultsConfig } from '../../eventing/resources/br-defaults.js';
import type { KObject } from '../../core/types.js';
import type { ValidationContext } from './context.js';
import { validateObjectMeta } from './names.js';
import { isRecord, unknownFields } from './shape.js';

/** core/config/autoscaler.ts has no name constant; Knative's is `autoscalerconfig.ConfigName`. */
export const AUTOSCALER_CONFIG_NAME = 'config-autoscaler';

/** The ConfigMap names Zeno reads, in the order they are listed to users. */
export const KNOWN_CONFIG_MAPS: readonly string[] = [AUTOSCALER_CONFIG_NAME, DEFAULTS_CONFIG_NAME, DOMAIN_CONFIG_NAME, GC_CONFIG_NAME, BR_DEFAULTS_CONFIG_NAME];

const CONFIGMAP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'data', 'binaryData', 'immutable']);

/** Checks a ConfigMap: shape, a known name, string data, and the values with Knative's parser for that name. */
export function validateConfigMap(obj: unknown): FieldIssue[] {
  if (!isRecord(obj)) return [{ path: '', message: 'a ConfigMap must be a mapping' }];
  const issues: FieldIssue[] = [];
  if (obj.apiVersion !== 'v1') issues.push({ path: 'apiVersion', message: `must be v1, got ${JSON.stringify(obj.apiVersion)}` });
  if (obj.kind !== 'ConfigMap') issues.push({ path: 'kind', message: `must be ConfigMap, got ${JSON.stringify(obj.kind)}` });
  issues.push(...unknownFields(obj, CONFIGMAP_FIELDS, ''));
  issues.push(...validateObjectMeta(obj.metadata, 'metadata', 'dns1123-subdomain'));
  if (obj.binaryData !== undefined && obj.binaryData !== null) {
    issues.push({ path: 'binaryData', message: 'Knative settings are text: use `data`' });
  }

  const name = isRecord(obj.metadata) ? obj.metadata.name : undefined;
  if (typeof name === 'string' && name !== '' && !KNOWN_CONFIG_MAPS.includes(name)) {
    issues.push({ path: 'metadata.name', message: `Zeno reads only the ConfigMaps ${KNOWN_CONFIG_MAPS.join(', ')}; ${JSON.stringify(name)} would have no effect` });
  }

  const data = obj.data;
  if (data === undefined || data === null) return issues;
  if (!isRecord(data)) {
    issues.push({ path: 'data', message: 'must map keys to string values' });
    return issues;
  }
  // Kubernetes rejects `key: 10`; ConfigMap values are strings.
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === 'string') strings[k] = v;
    else if (v !== null) issues.push({ path: `data.${k}`, message: `must be a string (quote it), got ${JSON.stringify(v)}` });
  }
  if (name === AUTOSCALER_CONFIG_NAME) issues.push(...parseAutoscalerConfigMap(strings).issues);
  else if (name === DEFAULTS_CONFIG_NAME) issues.push(...parseDefaultsConfigMap(strings).issues);
  else if (name === DOMAIN_CONFIG_NAME) issues.push(...parseDomainConfigMap(strings).issues);
  else if (name === GC_CONFIG_NAME) issues.push(...parseGcConfigMap(strings).issues);
  else if (name === BR_DEFAULTS_CONFIG_NAME) issues.push(...parseBrDefaultsConfigMap(strings).issues);
  return issues;
}

/** The platform settings a set of stored ConfigMaps amounts to. */
export interface PlatformConfigs extends Required<Pick<ValidationContext, 'defaults' | 'autoscaler'>> {
  domain: DomainConfig;
  gc: GcConfig;
  /** config-br-defaults (eventing/resources/br-defaults.ts). */
  brDefaults: BrDefaultsConfig;
}

/**
 * Builds the settings from ConfigMaps (others' names are skipped). A
 * ConfigMap whose data has issues contributes nothing: it should have been
 * rejected by validateConfigMap before it was stored.
 */
export function configsFromConfigMaps(configMaps: readonly KObject[]): PlatformConfigs {
  const out: PlatformConfigs = { defaults: { ...DEFAULT_DEFAULTS_CONFIG }, autoscaler: DEFAULT_AUTOSCALER_CONFIG, domain: { ...DEFAULT_DOMAIN_CONFIG }, gc: { ...DEFAULT_GC_CONFIG }, brDefaults: structuredClone(DEFAULT_BR_DEFAULTS_CONFIG) as BrDefaultsConfig };
  for (const cm of configMaps) {
    // Unvalidated input reaches here too (the batch being applied): a ConfigMap
    // without a metadata mapping has no name and sets nothing (it used to throw).
    if (cm.kind !== 'ConfigMap' || cm.metadata === null || typeof cm.metadata !== 'object') continue;
    const data: Record<string, string> = {};
    if (cm.data !== null && typeof cm.data === 'object') for (const [k, v] of Object.entries(cm.data)) if (typeof v === 'string') data[k] = v;
    if (cm.metadata.name === AUTOSCALER_CONFIG_NAME) {
      const r = parseAutoscalerConfigMap(data);
      if (!r.issues.length) out.autoscaler = r.config;
    } else if (cm.metadata.name === DEFAULTS_CONFIG_NAME) {
      const r = parseDefaultsConfigMap(data);
      if (!r.issues.length) out.defaults = r.config;
    } else if (cm.metadata.name === DOMAIN_CONFIG_NAME) {
      const r = parseDomainConfigMap(data);
      if (!r.issues.length) out.domain = r.config;
    } else if (cm.metadata.name === GC_CONFIG_NAME) {
      const r = parseGcConfigMap(data);
      if (!r.issues.length) out.gc = r.config;
    } else if (cm.metadata.name === BR_DEFAULTS_CONFIG_NAME) {
      const r = parseBrDefaultsConfigMap(data);
      if (!r.issues.length) out.brDefaults = r.config;
    }
  }
  return out;
}
