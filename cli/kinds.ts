/**
 * How the CLI names kinds (core/kinds.ts holds the table): plural,
 * singular, short names and the fully-qualified `services.serving.knative.dev`
 * form; admin API paths; kubectl-style object references.
 */
import { KINDS, kindInfoOf, type KindInfo } from '../core/kinds.js';
import { closest } from './hints.js';

export { KINDS, type KindInfo } from '../core/kinds.js';

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
  return kindInfoOf(obj);
}

/** The usage error for a kind name nobody knows: a guess, then every kind. */
export function unknownKind(name: string): string {
  const guess = closest(name, KINDS.flatMap((k) => [k.plural, k.singular, ...k.shortNames]));
  return `unknown kind "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}; use one of: ${kindNames()}`;
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
