import { configsFromConfigMaps, type PlatformConfigs } from './validation/configmap.js';

/** The Knative ConfigMaps Zeno reads, parsed (one parser: validation/configmap.ts). */
export type KnativeConfig = PlatformConfigs;

/** Where Knative keeps its ConfigMaps; the namespace a ConfigMap gets when it names none. */
export const CONFIG_NAMESPACE = 'knative-serving';

/**
 * ConfigMaps are platform-wide: whatever namespace they were applied in, the
 * last one of each name wins. Invalid ones never reach here (refused at apply).
 */
export const configFromConfigMaps = configsFromConfigMaps;
