import { DEFAULT_AUTOSCALER_CONFIG, parseAutoscalerConfigMap, type AutoscalerConfig } from '../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG, parseDefaultsConfigMap, type DefaultsConfig } from '../core/config/defaults.js';
import { DEFAULT_DOMAIN_CONFIG, parseDomainConfigMap, type DomainConfig } from '../core/config/domain.js';
import type { KObject } from '../core/types.js';

/** The Knative ConfigMaps Zeno reads, parsed. */
export interface KnativeConfig {
  autoscaler: AutoscalerConfig;
  defaults: DefaultsConfig;
  domain: DomainConfig;
}

export const KNATIVE_CONFIG_NAMES = ['config-autoscaler', 'config-defaults', 'config-domain'] as const;
/** Where Knative keeps its ConfigMaps; the namespace a ConfigMap gets when it names none. */
export const CONFIG_NAMESPACE = 'knative-serving';

/**
 * Folds ConfigMaps into the effective config. ConfigMaps are platform-wide:
 * whatever namespace they were applied in, the last one of each name wins.
 * Invalid ones never reach here (they are refused at apply).
 */
export function configFromConfigMaps(cms: readonly KObject[]): KnativeConfig {
  const cfg: KnativeConfig = {
    autoscaler: DEFAULT_AUTOSCALER_CONFIG,
    defaults: { ...DEFAULT_DEFAULTS_CONFIG },
    domain: { ...DEFAULT_DOMAIN_CONFIG },
  };
  for (const cm of cms) {
    const data = cm.data ?? {};
    switch (cm.metadata.name) {
      case 'config-autoscaler':
        cfg.autoscaler = parseAutoscalerConfigMap(data).config;
        break;
      case 'config-defaults':
        cfg.defaults = parseDefaultsConfigMap(data).config;
        break;
      case 'config-domain':
        cfg.domain = parseDomainConfigMap(data).config;
        break;
      default:
        break;
    }
  }
  return cfg;
}
