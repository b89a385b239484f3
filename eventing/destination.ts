/**
 * Destination resolution: Knative's Addressable duck typing
 * (knative.dev/pkg resolver, duck/v1 destination.go), shared by Triggers,
 * dead-letter sinks, sources, Subscriptions and flows.
 *
 * A Destination is a `ref`, a `uri`, or a ref plus a relative uri:
 * - `ref` to a Service (`serving.knative.dev/v1`) or a Function
 *   (`zeno.dev/v1`, which owns the Service of its name) resolves to the
 *   gateway's path form `${gatewayUrl}/function/NAME.NS`: delivery goes
 *   THROUGH the gateway, so scale-from-zero, the activator queue and
 *   containerConcurrency apply to events as to any request. (Knative resolves
 *   a Service to its `status.address.url`, which is also a route through the
 *   ingress/activator; the path form is Zeno's equivalent that needs no DNS.)
 * - `ref` to any other stored kind resolves to its `status.address.url`
 *   (Addressable); while that is unset the destination is not resolved yet.
 * - A bare `uri` must be absolute (validation guarantees it) and is used as is.
 * - `ref` + `uri`: the uri is resolved against the ref's URL (Knative:
 *   `url.ResolveReference(uri)`). For a Service the uri's path is taken
 *   under the function's own root, so the function sees the path the user
 *   wrote (`uri: /hook` → the function receives `/hook`), exactly what
 *   Knative's resolution against `http://NAME.NS.svc` gives the function.
 *
 * Pure: `get` reads the store, nothing else is touched.
 */
import { KINDS, type ResourcePlural } from '../core/kinds.js';
import type { KObject } from '../core/types.js';

export interface KReference {
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface Destination {
  ref?: KReference;
  uri?: string;
}

export interface ResolveContext {
  /** Namespace of the object that holds the destination; a ref without a namespace is looked up here. */
  namespace: string;
  /** The gateway's base URL, e.g. `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  /** Reads a stored object; undefined when it does not exist. */
  get(plural: ResourcePlural, namespace: string, name: string): KObject | undefined;
}

export type Resolution =
  | { ok: true; url: string }
  /** `reason` is a CamelCase condition reason, `message` says what is missing. */
  | { ok: false; reason: 'NotFound' | 'NotAddressable' | 'AddressNotReady' | 'InvalidURI'; message: string };

const SERVICE = { apiVersion: 'serving.knative.dev/v1', kind: 'Service' };
const FUNCTION = { apiVersion: 'zeno.dev/v1', kind: 'Function' };

/** `${gatewayUrl}/function/NAME.NS` — the gateway's OpenFaaS-style route to a Service. */
export function functionUrl(gatewayUrl: string, name: string, namespace: string): string {
  return `${gatewayUrl.replace(/\/+$/, '')}/function/${encodeURIComponent(name)}.${encodeURIComponent(namespace)}`;
}

/** Joins a relative uri under a function's root: its path (and query) become the function's own. */
function underFunction(base: string, uri: string): string {
  const rel = new URL(uri, 'http://function.invalid/');
  return `${base}${rel.pathname}${rel.search}`;
}

function withUri(base: string, uri: string | undefined): Resolution {
  if (uri === undefined || uri === '') return { ok: true, url: base };
  try {
    return { ok: true, url: new URL(uri, base).toString() };
  } catch {
    return { ok: false, reason: 'InvalidURI', message: `cannot resolve uri ${JSON.stringify(uri)} against ${base}` };
  }
}

/** Resolves a Destination to the URL events are sent to. */
export function resolveDestination(dest: Destination, ctx: ResolveContext): Resolution {
  const { ref, uri } = dest;
  if (ref === undefined) {
    if (uri === undefined) return { ok: false, reason: 'InvalidURI', message: 'the destination has neither ref nor uri' };
    try {
      const u = new URL(uri);
      if (u.host === '') throw new Error('no host');
      return { ok: true, url: u.toString() };
    } catch {
      return { ok: false, reason: 'InvalidURI', message: `uri ${JSON.stringify(uri)} is not an absolute URI with a host` };
    }
  }
  const ns = ref.namespace || ctx.namespace;
  const what = `${ref.kind} ${ns}/${ref.name}`;
  const isKind = (k: { apiVersion: string; kind: string }) => ref.kind === k.kind && (ref.apiVersion ?? k.apiVersion) === k.apiVersion;
  if (isKind(SERVICE) || isKind(FUNCTION)) {
    // A Function stands for the Service it generates (same name); either must exist.
    const plural: ResourcePlural = isKind(SERVICE) ? 'services' : 'functions';
    if (!ctx.get(plural, ns, ref.name)) return { ok: false, reason: 'NotFound', message: `${what} not found` };
    const base = functionUrl(ctx.gatewayUrl, ref.name, ns);
    return { ok: true, url: uri === undefined || uri === '' ? base : underFunction(base, uri) };
  }
  const info = KINDS.find((k) => k.kind === ref.kind && (ref.apiVersion === undefined || k.apiVersion === ref.apiVersion));
  if (!info) {
    return { ok: false, reason: 'NotAddressable', message: `${ref.apiVersion ?? '?'} ${ref.kind} is not a kind Zeno stores, so it cannot be addressed` };
  }
  const obj = ctx.get(info.plural as ResourcePlural, ns, ref.name);
  if (!obj) return { ok: false, reason: 'NotFound', message: `${what} not found` };
  const url = addressOf(obj);
  if (url === undefined) return { ok: false, reason: 'AddressNotReady', message: `${what} has no status.address.url yet` };
  return withUri(url, uri);
}

/** An Addressable's URL (`status.address.url`), if set. */
export function addressOf(obj: KObject): string | undefined {
  const address = (obj.status as { address?: { url?: unknown } } | undefined)?.address;
  return typeof address?.url === 'string' && address.url !== '' ? address.url : undefined;
}

/**
 * The namespace a ref defaults to: Knative's Destination defaulting
 * (`SetDefaults`) fills in the holder's namespace.
 */
export function defaultRefNamespace<T extends Destination | undefined>(dest: T, namespace: string): T {
  if (dest === undefined || dest.ref === undefined || dest.ref.namespace) return dest;
  return { ...dest, ref: { ...dest.ref, namespace } };
}
