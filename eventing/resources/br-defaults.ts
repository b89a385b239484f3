/**
 * Knative's `config-br-defaults` ConfigMap (config/core/configmaps/default-broker.yaml):
 * the class and delivery a Broker gets when it names none. One key,
 * `default-br-config`, holds YAML:
 *
 * ```yaml
 * clusterDefault:
 *   brokerClass: MTChannelBasedBroker
 *   apiVersion: v1                      # the channel config: accepted, unused by Zeno
 *   kind: ConfigMap
 *   name: config-br-default-channel
 *   namespace: knative-eventing
 *   delivery: {retry: 10, backoffPolicy: exponential, backoffDelay: PT0.2S}
 * namespaceDefaults:
 *   team-a: {brokerClass: ..., delivery: {...}}
 * ```
 *
 * As in Knative the defaults are applied when a Broker is admitted (the
 * webhook's SetDefaults stamps `spec.delivery`), so changing this ConfigMap
 * does not change Brokers that already exist.
 */
import { parse as parseYaml } from 'yaml';
import type { FieldIssue } from '../../core/errors.js';
import { BROKER_DEFAULT_DELIVERY, type DeliverySpec } from '../delivery/delivery.js';
import { isRecord, unknownFields } from '../../controller/validation/shape.js';
import { validateDeliveryField } from '../../controller/validation/duck.js';

export const BR_DEFAULTS_CONFIG_NAME = 'config-br-defaults';
export const BR_DEFAULTS_KEY = 'default-br-config';
/** Knative's default class (eventing.MTChannelBrokerClassValue). */
export const DEFAULT_BROKER_CLASS = 'MTChannelBasedBroker';

export interface BrokerDefaults {
  brokerClass: string;
  delivery?: DeliverySpec;
}

export interface BrDefaultsConfig {
  clusterDefault: BrokerDefaults;
  namespaceDefaults: Record<string, Partial<BrokerDefaults>>;
}

/** What Knative ships in default-broker.yaml. */
export const DEFAULT_BR_DEFAULTS_CONFIG: Readonly<BrDefaultsConfig> = Object.freeze({
  clusterDefault: { brokerClass: DEFAULT_BROKER_CLASS, delivery: { ...BROKER_DEFAULT_DELIVERY } },
  namespaceDefaults: {},
});

const ENTRY_FIELDS = new Set(['brokerClass', 'apiVersion', 'kind', 'name', 'namespace', 'delivery']);

function parseEntry(v: unknown, path: string, issues: FieldIssue[]): Partial<BrokerDefaults> | undefined {
  if (!isRecord(v)) {
    issues.push({ path, message: 'must be a mapping' });
    return undefined;
  }
  issues.push(...unknownFields(v, ENTRY_FIELDS, path));
  const out: Partial<BrokerDefaults> = {};
  if (v.brokerClass !== undefined) {
    if (typeof v.brokerClass !== 'string' || v.brokerClass === '') issues.push({ path: `${path}.brokerClass`, message: 'must be a non-empty string' });
    else out.brokerClass = v.brokerClass;
  }
  if (v.delivery !== undefined && v.delivery !== null) {
    const found = validateDeliveryField(v.delivery, `${path}.delivery`);
    issues.push(...found);
    if (!found.length) out.delivery = v.delivery as DeliverySpec;
  }
  return out;
}

/** Parses the ConfigMap's data; issues name `data.default-br-config.…` paths. */
export function parseBrDefaultsConfigMap(data: Record<string, unknown> | undefined): { config: BrDefaultsConfig; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const base = `data.${BR_DEFAULTS_KEY}`;
  for (const k of Object.keys(data ?? {})) {
    if (k !== BR_DEFAULTS_KEY && !k.startsWith('_')) issues.push({ path: `data.${k}`, message: `unknown key; config-br-defaults holds ${BR_DEFAULTS_KEY}` });
  }
  const text = data?.[BR_DEFAULTS_KEY];
  if (text === undefined) return { config: structuredClone(DEFAULT_BR_DEFAULTS_CONFIG) as BrDefaultsConfig, issues };
  if (typeof text !== 'string') return { config: structuredClone(DEFAULT_BR_DEFAULTS_CONFIG) as BrDefaultsConfig, issues: [...issues, { path: base, message: 'must be a YAML string' }] };
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { config: structuredClone(DEFAULT_BR_DEFAULTS_CONFIG) as BrDefaultsConfig, issues: [...issues, { path: base, message: `not valid YAML: ${(e as Error).message.split('\n')[0]}` }] };
  }
  // Knative: a ConfigMap with this key replaces the whole default; an empty one means no defaults.
  const config: BrDefaultsConfig = { clusterDefault: { brokerClass: DEFAULT_BROKER_CLASS }, namespaceDefaults: {} };
  if (doc === null || doc === undefined) return { config, issues };
  if (!isRecord(doc)) return { config: structuredClone(DEFAULT_BR_DEFAULTS_CONFIG) as BrDefaultsConfig, issues: [...issues, { path: base, message: 'must be a mapping with clusterDefault and/or namespaceDefaults' }] };
  issues.push(...unknownFields(doc, new Set(['clusterDefault', 'namespaceDefaults']), base));
  if (doc.clusterDefault !== undefined && doc.clusterDefault !== null) {
    const e = parseEntry(doc.clusterDefault, `${base}.clusterDefault`, issues);
    if (e) config.clusterDefault = { brokerClass: e.brokerClass ?? DEFAULT_BROKER_CLASS, ...(e.delivery ? { delivery: e.delivery } : {}) };
  }
  if (doc.namespaceDefaults !== undefined && doc.namespaceDefaults !== null) {
    if (!isRecord(doc.namespaceDefaults)) issues.push({ path: `${base}.namespaceDefaults`, message: 'must map namespaces to defaults' });
    else {
      for (const [ns, v] of Object.entries(doc.namespaceDefaults)) {
        const e = parseEntry(v, `${base}.namespaceDefaults.${ns}`, issues);
        if (e) config.namespaceDefaults[ns] = e;
      }
    }
  }
  return { config: issues.length ? (structuredClone(DEFAULT_BR_DEFAULTS_CONFIG) as BrDefaultsConfig) : config, issues };
}

/** The defaults for a Broker in `namespace`: the namespace's entry, field by field over the cluster default. */
export function brokerDefaultsFor(cfg: BrDefaultsConfig, namespace: string): BrokerDefaults {
  const ns = cfg.namespaceDefaults[namespace];
  const delivery = ns?.delivery ?? cfg.clusterDefault.delivery;
  return { brokerClass: ns?.brokerClass ?? cfg.clusterDefault.brokerClass, ...(delivery ? { delivery } : {}) };
}
