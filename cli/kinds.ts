/**
 * The resource kinds the CLI can get, describe and delete, with kubectl's
 * names for them: plural, singular, short names (Knative's CRDs declare
 * `ksvc`, `rev`, `config`/`cfg`, `rt`; core declares `cm`) and the
 * fully-qualified `services.serving.knative.dev` form.
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

export const KINDS: readonly KindInfo[] = [
  { kind: 'Service', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'services', singular: 'service', shortNames: ['svc', 'ksvc', 'kservice'], defaultNamespace: 'default' },
  { kind: 'Configuration', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'configurations', singular: 'configuration', shortNames: ['config', 'cfg'], defaultNamespace: 'default' },
  { kind: 'Revision', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'revisions', singular: 'revision', shortNames: ['rev'], defaultNamespace: 'default' },
  { kind: 'Route', apiVersion: SERVING, group: 'serving.knative.dev', plural: 'routes', singular: 'route', shortNames: ['rt'], defaultNamespace: 'default' },
  // Knative keeps its ConfigMaps in knative-serving; the admin API does the same (docs/admin-api.md).
  { kind: 'ConfigMap', apiVersion: 'v1', group: '', plural: 'configmaps', singular: 'configmap', shortNames: ['cm'], defaultNamespace: 'knative-serving' },
  // Zeno's compact kind (docs/functions.md); each owns the Service of its name.
  { kind: 'Function', apiVersion: 'zeno.dev/v1', group: 'zeno.dev', plural: 'functions', singular: 'function', shortNames: ['fn'], defaultNamespace: 'default' },
];

/** Namespace for objects of kinds the CLI has no entry for (Brokers, Triggers, …). */
export const DEFAULT_NAMESPACE = 'default';

/** Finds a kind by any of its names, case-insensitively; undefined when unknown. */
export function resolveKind(name: string): KindInfo | undefined {
  const n = name.toLowerCase();
  return KINDS.find(
    (k) =>
      n === k.plural ||
      n === k.singular ||
      n === k.kind.toLowerCase() ||
      k.shortNames.includes(n) ||
      (k.group !== '' && (n === `${k.plural}.${k.group}` || n === `${k.singular}.${k.group}`)),
  );
}

/** The kind entry for an object's apiVersion and kind, if the CLI knows it. */
export function kindOf(obj: { apiVersion?: string; kind?: string }): KindInfo | undefined {
  return KINDS.find((k) => k.kind === obj.kind && k.apiVersion === obj.apiVersion);
}

/** Every name `get` accepts, for help and error messages. */
export function kindNames(): string {
  return KINDS.map((k) => [k.plural, k.singular, ...k.shortNames].join('/')).join(', ');
}

/**
 * Admin API path (docs/admin-api.md): `/apis/GROUP/VERSION/namespaces/NS/PLURAL[/NAME]`,
 * `/api/v1/...` for the core group; without a namespace, the all-namespaces list.
 */
export function resourcePath(k: KindInfo, namespace: string | undefined, name?: string): string {
  const base = k.group === '' ? `/api/${k.apiVersion}` : `/apis/${k.apiVersion}`;
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  const one = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${base}${ns}/${k.plural}${one}`;
}

/**
 * kubectl's way of naming an object in output: `service.serving.knative.dev/hello`,
 * `configmap/config-autoscaler`. Works for kinds the CLI has no entry for.
 */
export function objectRef(apiVersion: string, kind: string, name: string): string {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  return `${kind.toLowerCase()}${group ? `.${group}` : ''}/${name}`;
}
