import type { RevisionId } from '../core/types.js';

/** One weighted destination of a Route (Knative status.traffic, resolved). */
export interface RouteTarget {
  revision: RevisionId;
  percent: number;
  tag?: string;
}

export interface RouteEntry {
  namespace: string;
  service: string;
  /** Targets with percent > 0, in order; percents sum to 100. */
  targets: RouteTarget[];
}

/** What a request resolved to: a fixed revision (tag) or a weighted route. */
export type Resolved = { entry: RouteEntry; revision?: RevisionId };

/**
 * Pure route lookup: Host → Route, `/function/NAME[.NS]/rest` → Route.
 * Hosts follow Knative's `{{.Name}}.{{.Namespace}}.{{.Domain}}` and tag hosts
 * `{{.Tag}}-{{.Name}}.…` (reference §4 Traffic).
 */
export class RouteTable {
  private byHost = new Map<string, Resolved>();
  private byName = new Map<string, RouteEntry>();
  private hostsOf = new Map<string, string[]>();

  set(entry: RouteEntry, domain: string, tags: Map<string, RevisionId>): void {
    const key = `${entry.namespace}/${entry.service}`;
    this.delete(entry.namespace, entry.service);
    const main = `${entry.service}.${entry.namespace}.${domain}`.toLowerCase();
    const hosts = [main];
    this.byHost.set(main, { entry });
    for (const [tag, revision] of tags) {
      const h = `${tag}-${entry.service}.${entry.namespace}.${domain}`.toLowerCase();
      this.byHost.set(h, { entry, revision });
      hosts.push(h);
    }
    this.hostsOf.set(key, hosts);
    this.byName.set(key, entry);
  }

  delete(namespace: string, service: string): void {
    const key = `${namespace}/${service}`;
    for (const h of this.hostsOf.get(key) ?? []) this.byHost.delete(h);
    this.hostsOf.delete(key);
    this.byName.delete(key);
  }

  /** Host header (any case, optional port) → route. */
  lookupHost(host: string | undefined): Resolved | undefined {
    if (!host) return undefined;
    return this.byHost.get(hostName(host));
  }

  lookupName(namespace: string, service: string): RouteEntry | undefined {
    return this.byName.get(`${namespace}/${service}`);
  }

  /** Resolves a `Knative-Serving-Tag` header against a route; unknown tags fall back to the main route. */
  static tagged(entry: RouteEntry, tag: string | undefined): RevisionId | undefined {
    if (!tag) return undefined;
    return entry.targets.find((t) => t.tag === tag)?.revision;
  }
}

/** Lower-cased host without its port (IPv6 literals keep their brackets). */
export function hostName(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * OpenFaaS paths: `/function/NAME[.NAMESPACE][/rest][?query]`. The prefix is
 * stripped before forwarding, as the OpenFaaS gateway does.
 */
export function parseFunctionPath(url: string, prefix = '/function/'): { name: string; namespace: string; path: string } | undefined {
  if (!url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length);
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) {
      end = i;
      break;
    }
  }
  const id = rest.slice(0, end);
  if (!id) return undefined;
  const dot = id.indexOf('.');
  const name = dot < 0 ? id : id.slice(0, dot);
  const namespace = dot < 0 ? 'default' : id.slice(dot + 1);
  if (!name || !namespace) return undefined;
  let path = rest.slice(end);
  if (!path.startsWith('/')) path = `/${path}`;
  return { name, namespace, path };
}

/**
 * Weighted pick over a route's targets; `r` is uniform in [0, 1).
 * Pure so traffic splits can be table-tested.
 */
export function pickTarget(targets: readonly RouteTarget[], r: number): RevisionId | undefined {
  let x = r * 100;
  for (const t of targets) {
    if (x < t.percent) return t.revision;
    x -= t.percent;
  }
  return targets.length ? targets[targets.length - 1]!.revision : undefined;
}
