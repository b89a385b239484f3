/**
 * Every resource kind Zeno stores, with kubectl's names for it: plural,
 * singular, short names (Knative's CRDs declare `ksvc`, `rev`,
 * `config`/`cfg`, `rt`, `ch`, `sub`; core declares `cm`) and the API group.
 * Shared by the CLI (`get`, `delete`, paths) and the admin API.
 */
export interface KindInfo {
  kind: string;
  apiVersion: string;
  /** API group; '' for the core group (ConfigMap). */
  group: string;
  plural: string;
  singular: string;
  shortNames: string[];
  /** Namespace used when neither the manifest nor -n names one. */
  defaultNamespace: string;
}

const SERVING = 'serving.knative.dev/v1';
const EVENTING = 'eventing.knative.dev/v1';
const MESSAGING = 'messaging.knative.dev/v1';
const FLOWS = 'flows.knative.dev/v1';
const SOURCES = 'sources.knative.dev/v1';

const KIND_TABLE = [
  { kind: 'Service', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'services', singular: 'service', shortNames: ['svc', 'ksvc', 'kservice'], defaultNamespace: 'default' },
  { kind: 'Configuration', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'configurations', singular: 'configuration', shortNames: ['config', 'cfg'], defaultNamespace: 'default' },
  { kind: 'Revision', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'revisions', singular: 'revision', shortNames: ['rev'], defaultNamespace: 'default' },
  { kind: 'Route', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'routes', singular: 'route', shortNames: ['rt'], defaultNamespace: 'default' },
  // Knative keeps its ConfigMaps in knative-serving; the admin API does the same (docs/admin-api.md).
  { kind: 'ConfigMap', apiVersion: 'v1', group: '', plural: 'configmaps', singular: 'configmap', shortNames: ['cm'], defaultNamespace: 'knative-serving' },
  // Zeno's compact kind (docs/functions.md); each owns the Service of its name.
  { kind: 'Function', apiVersion: 'zeno.dev/v1', group: 'zeno.dev', plural: 'functions', singular: 'function', shortNames: ['fn'], defaultNamespace: 'default' },
  // Knative Eventing (short names as Knative's CRDs declare them).
  { kind: 'Broker', apiVersion: EVENTING, group: 'eventing.knative.dev', plural: 'brokers', singular: 'broker', shortNames: [], defaultNamespace: 'default' },
  { kind: 'Trigger', apiVersion: EVENTING, group: 'eventing.knative.dev', plural: 'triggers', singular: 'trigger', shortNames: [], defaultNamespace: 'default' },
  { kind: 'Channel', apiVersion: MESSAGING, group: 'messaging.knative.dev', plural: 'channels', singular: 'channel', shortNames: ['ch'], defaultNamespace: 'default' },
  { kind: 'Subscription', apiVersion: MESSAGING, group: 'messaging.knative.dev', plural: 'subscriptions', singular: 'subscription', shortNames: ['sub'], defaultNamespace: 'default' },
  { kind: 'Sequence', apiVersion: FLOWS, group: 'flows.knative.dev', plural: 'sequences', singular: 'sequence', shortNames: [], defaultNamespace: 'default' },
  { kind: 'Parallel', apiVersion: FLOWS, group: 'flows.knative.dev', plural: 'parallels', singular: 'parallel', shortNames: [], defaultNamespace: 'default' },
  { kind: 'PingSource', apiVersion: SOURCES, group: 'sources.knative.dev', plural: 'pingsources', singular: 'pingsource', shortNames: [], defaultNamespace: 'default' },
  { kind: 'ContainerSource', apiVersion: SOURCES, group: 'sources.knative.dev', plural: 'containersources', singular: 'containersource', shortNames: [], defaultNamespace: 'default' },
  { kind: 'SinkBinding', apiVersion: SOURCES, group: 'sources.knative.dev', plural: 'sinkbindings', singular: 'sinkbinding', shortNames: [], defaultNamespace: 'default' },
  { kind: 'ApiServerSource', apiVersion: SOURCES, group: 'sources.knative.dev', plural: 'apiserversources', singular: 'apiserversource', shortNames: [], defaultNamespace: 'default' },
] as const satisfies readonly KindInfo[];

export const KINDS: readonly KindInfo[] = KIND_TABLE;

/** A stored resource kind, by its plural (the store's and the REST path's name). */
export type ResourcePlural = (typeof KIND_TABLE)[number]['plural'];

/** The kind entry for an apiVersion and kind, if Zeno stores it. */
export function kindInfoOf(obj: { apiVersion?: unknown; kind?: unknown }): KindInfo | undefined {
  return KINDS.find((k) => k.kind === obj.kind && k.apiVersion === obj.apiVersion);
}
