/**
 * ApiServerSource (sources.knative.dev/v1): watches resources through the
 * Kubernetes API and sends a CloudEvent to its sink for every change, as
 * Knative's adapter does (knative/eventing pkg/adapter/apiserver, reference
 * knative-eventing.md §4):
 *
 * - `mode: Reference` (the default) sends `dev.knative.apiserver.ref.{add,
 *   update,delete}` with the object's reference ({kind, namespace, name,
 *   apiVersion}) as data; `mode: Resource` sends
 *   `dev.knative.apiserver.resource.{add,update,delete}` with the object;
 * - `source` is the API server's URL, `subject` the object's selfLink-style
 *   path `/apis/<apiVersion>/namespaces/<ns>/<plural>/<name>` (events.go
 *   createSelfLink, with its `versionUnknown` quirk), extensions `kind`,
 *   `apiversion`, `name`, `namespace`, datacontenttype application/json;
 * - each `resources[]` entry is watched in the source's namespace with its
 *   label selector; `owner` keeps only objects with an ownerReference of that
 *   apiVersion and kind;
 * - nothing is sent for what the first list (or a relist after 410 Gone)
 *   finds, only for changes the watch streams (the adapter's store Replace is
 *   a no-op); events go out in order, each retried like PingSource's (sdk-go's
 *   retry table, 5 retries from 50 ms), then logged and dropped.
 *
 * Not supported (refused on apply): `namespaceSelector`, `filters`.
 * It needs a Kubernetes API server: with the embedded runtime the source is
 * stored but not Ready (Deployed=False, reason NoKubernetesAPI).
 */
import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import type { Clock } from '../../core/clock.js';
import type { FieldIssue } from '../../core/errors.js';
import type { Condition, KObject } from '../../core/types.js';
import { setCondition } from '../../controller/conditions.js';
import type { ResourceStore, WatchEvent } from '../../controller/store.js';
import { validateCeOverrides, validateDestinationField } from '../../controller/validation/duck.js';
import { validateLabels } from '../../controller/validation/names.js';
import { isRecord, optionalString, unknownFields } from '../../controller/validation/shape.js';
import { SOURCES_API_VERSION, validateFrame } from '../../controller/validation/sources.js';
import { eventToHttp } from '../cloudevents/http.js';
import { defaultRefNamespace, resolveDestination, type Destination, type Resolution } from '../destination.js';
import { pingRetryable, pingRetryDelayMs, PING_RETRIES, postMessage, type HttpSender } from './ping.js';
import { ReconcileQueue } from './reconcile-queue.js';
import { summarize, type LabelSelector } from './controller.js';

export const APISERVER_KIND = 'ApiServerSource';
export type ApiServerMode = 'Reference' | 'Resource';
export type ApiServerOp = 'add' | 'update' | 'delete';

/** pkg/apis/sources/constants.go. */
export function apiServerEventType(mode: ApiServerMode, op: ApiServerOp): string {
  return `dev.knative.apiserver.${mode === 'Resource' ? 'resource' : 'ref'}.${op}`;
}

export interface ApiServerResource {
  apiVersion: string;
  kind: string;
  selector?: LabelSelector;
}

export interface ApiServerSourceSpec {
  mode?: ApiServerMode;
  resources?: ApiServerResource[];
  owner?: { apiVersion?: string; kind?: string };
  serviceAccountName?: string;
  sink?: Destination;
  ceOverrides?: { extensions?: Record<string, string> };
}

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface WatchedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; ownerReferences?: { apiVersion?: string; kind?: string }[]; [k: string]: any };
  [k: string]: any;
}

/**
 * A kind's resource name as client-go guesses it (meta.UnsafeGuessKindToResource):
 * lower-case, then `s` → `ses`, `y` → `ies`, else `+s`.
 */
export function guessPlural(kind: string): string {
  const k = kind.toLowerCase();
  if (k === '') return '';
  if (k.endsWith('s')) return `${k}es`;
  if (k.endsWith('y')) return `${k.slice(0, -1)}ies`;
  return `${k}s`;
}

/** events.go createSelfLink: `/apis/<apiVersion>/namespaces/<ns>/<plural>/<name>`; a group without a version gets `/versionUnknown`. */
export function subjectOf(o: { apiVersion: string; kind: string; namespace: string; name: string }): string {
  let version = o.apiVersion;
  if (version.includes('.') && !version.includes('/')) version = `${version}/versionUnknown`;
  return `/apis/${version}/namespaces/${o.namespace}/${guessPlural(o.kind)}/${o.name}`;
}

/** The owner filter: an object passes when one of its ownerReferences has the owner's apiVersion and kind. */
export function ownerMatches(obj: WatchedObject, owner: ApiServerSourceSpec['owner']): boolean {
  if (!owner || (!owner.apiVersion && !owner.kind)) return true;
  return (obj.metadata?.ownerReferences ?? []).some((r) => (!owner.apiVersion || r.apiVersion === owner.apiVersion) && (!owner.kind || r.kind === owner.kind));
}

/**
 * One event (events.go makeEvent), pure: id and time come in. `apiVersion`
 * and `kind` fall back to the watched resource's (list items may lack them).
 */
export function apiServerEvent(a: {
  source: string;
  mode: ApiServerMode;
  op: ApiServerOp;
  obj: WatchedObject;
  resource: { apiVersion: string; kind: string };
  id: string;
  timeIso: string;
  extensions?: Record<string, string>;
}): CloudEvent<unknown> {
  const apiVersion = a.obj.apiVersion || a.resource.apiVersion;
  const kind = a.obj.kind || a.resource.kind;
  const name = a.obj.metadata?.name ?? '';
  const namespace = a.obj.metadata?.namespace ?? '';
  // corev1.ObjectReference, with Go's omitempty.
  const ref: Record<string, string> = { kind };
  if (namespace) ref.namespace = namespace;
  if (name) ref.name = name;
  ref.apiVersion = apiVersion;
  const attrs: Record<string, unknown> = {
    specversion: '1.0',
    id: a.id,
    type: apiServerEventType(a.mode, a.op),
    source: a.source,
    subject: subjectOf({ apiVersion, kind, namespace, name }),
    time: a.timeIso,
    datacontenttype: 'application/json',
    data: a.mode === 'Resource' ? { ...a.obj, apiVersion, kind } : ref,
  };
  // Copied so Triggers can filter on them (events.go).
  const ext: Record<string, string> = { kind, apiversion: apiVersion, name, namespace };
  for (const [k, v] of Object.entries(ext)) if (v) attrs[k] = v;
  for (const [k, v] of Object.entries(a.extensions ?? {})) attrs[k] = v;
  return new CloudEvent(attrs, false);
}

// ---------------------------------------------------------------------------
// Validation (apiserver_validation.go), for `zeno apply` and the admin API.

const SPEC_FIELDS = new Set(['mode', 'resources', 'owner', 'serviceAccountName', 'sink', 'ceOverrides', 'namespaceSelector', 'filters']);
const RESOURCE_FIELDS = new Set(['apiVersion', 'kind', 'selector']);
const OWNER_FIELDS = new Set(['apiVersion', 'kind']);
const SELECTOR_FIELDS = new Set(['matchLabels', 'matchExpressions']);
const EXPRESSION_FIELDS = new Set(['key', 'operator', 'values']);
const GROUP_VERSION = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?v[0-9]+((alpha|beta)[0-9]+)?$/;

function validateSelector(v: unknown, path: string): FieldIssue[] {
  if (!isRecord(v)) return [{ path, message: 'must be a mapping with matchLabels and/or matchExpressions' }];
  const issues = unknownFields(v, SELECTOR_FIELDS, path);
  issues.push(...validateLabels(v.matchLabels, `${path}.matchLabels`));
  if (v.matchExpressions !== undefined) {
    if (!Array.isArray(v.matchExpressions)) return [...issues, { path: `${path}.matchExpressions`, message: 'must be a list' }];
    v.matchExpressions.forEach((e, i) => {
      const p = `${path}.matchExpressions[${i}]`;
      if (!isRecord(e)) return issues.push({ path: p, message: 'must be a mapping with key, operator and values' });
      issues.push(...unknownFields(e, EXPRESSION_FIELDS, p));
      if (typeof e.key !== 'string' || !e.key) issues.push({ path: `${p}.key`, message: 'missing field(s)' });
      const values = e.values;
      if (values !== undefined && (!Array.isArray(values) || values.some((x) => typeof x !== 'string'))) issues.push({ path: `${p}.values`, message: 'must be a list of strings' });
      const n = Array.isArray(values) ? values.length : 0;
      if (e.operator === 'In' || e.operator === 'NotIn') {
        if (n === 0) issues.push({ path: `${p}.values`, message: `must be non-empty with operator ${e.operator}` });
      } else if (e.operator === 'Exists' || e.operator === 'DoesNotExist') {
        if (n > 0) issues.push({ path: `${p}.values`, message: `must be empty with operator ${e.operator}` });
      } else issues.push({ path: `${p}.operator`, message: `must be In, NotIn, Exists or DoesNotExist, got ${JSON.stringify(e.operator)}` });
      return undefined;
    });
  }
  return issues;
}

export function validateApiServerSource(obj: unknown): FieldIssue[] {
  const { issues, spec } = validateFrame(obj, SOURCES_API_VERSION, APISERVER_KIND, SPEC_FIELDS);
  if (!spec) return issues;
  if (spec.mode !== undefined && spec.mode !== 'Reference' && spec.mode !== 'Resource') {
    issues.push({ path: 'spec.mode', message: `must be Reference or Resource, got ${JSON.stringify(spec.mode)}` });
  }
  const resources = spec.resources;
  if (!Array.isArray(resources) || resources.length === 0) {
    issues.push({ path: 'spec.resources', message: resources === undefined ? 'missing field(s)' : 'must be a non-empty list' });
  } else {
    resources.forEach((r, i) => {
      const p = `spec.resources[${i}]`;
      if (!isRecord(r)) return issues.push({ path: p, message: 'must be a mapping with apiVersion, kind and selector' });
      issues.push(...unknownFields(r, RESOURCE_FIELDS, p));
      const apiVersion = optionalString(r, 'apiVersion', p, issues);
      const kind = optionalString(r, 'kind', p, issues);
      if (!apiVersion) issues.push({ path: `${p}.apiVersion`, message: 'missing field(s)' });
      else if (!GROUP_VERSION.test(apiVersion)) issues.push({ path: `${p}.apiVersion`, message: `must be GROUP/VERSION or VERSION (e.g. apps/v1, v1), got ${JSON.stringify(apiVersion)}` });
      if (!kind) issues.push({ path: `${p}.kind`, message: 'missing field(s)' });
      if (r.selector !== undefined) issues.push(...validateSelector(r.selector, `${p}.selector`));
      return undefined;
    });
  }
  if (spec.owner !== undefined) {
    if (!isRecord(spec.owner)) issues.push({ path: 'spec.owner', message: 'must be a mapping with apiVersion and kind' });
    else {
      issues.push(...unknownFields(spec.owner, OWNER_FIELDS, 'spec.owner'));
      const av = optionalString(spec.owner, 'apiVersion', 'spec.owner', issues);
      optionalString(spec.owner, 'kind', 'spec.owner', issues);
      if (av && !GROUP_VERSION.test(av)) issues.push({ path: 'spec.owner.apiVersion', message: `must be GROUP/VERSION or VERSION, got ${JSON.stringify(av)}` });
    }
  }
  optionalString(spec, 'serviceAccountName', 'spec', issues);
  if (spec.namespaceSelector !== undefined) issues.push({ path: 'spec.namespaceSelector', message: "not supported by Zeno: an ApiServerSource watches its own namespace" });
  if (spec.filters !== undefined) issues.push({ path: 'spec.filters', message: 'not supported by Zeno (Knative gates it behind new-apiserversource-filters): filter with a Trigger instead' });
  issues.push(...validateDestinationField(spec.sink, 'spec.sink', true));
  issues.push(...validateCeOverrides(spec.ceOverrides, 'spec.ceOverrides'));
  return issues;
}

/** apiserver_defaults.go: mode Reference when unset. */
export function normalizeApiServerSource(o: KObject): KObject {
  const spec = { ...(o.spec ?? {}) } as Record<string, unknown>;
  spec.mode ??= 'Reference';
  return { ...o, spec };
}

// ---------------------------------------------------------------------------
// The controller.

/** One list-then-watch of a resource type, with only the streamed changes reported. */
export interface ResourceWatch {
  stop(): void;
}

/** How the controller reaches the API server (functions/kubernetes/apiserver-client.ts on @kubernetes/client-node). */
export interface ApiServerClient {
  /** The API server's URL: the events' `source`. */
  readonly url: string;
  /**
   * Lists (labelSelector applied) then watches `apiVersion`/`kind` in
   * `namespace`, resuming from the last resourceVersion and relisting on 410.
   * `onSynced` after each (re)list; `onError` when a list fails (e.g. 403,
   * or the kind is unknown to the server).
   */
  watch(w: {
    apiVersion: string;
    kind: string;
    namespace: string;
    labelSelector?: string;
    onChange(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: WatchedObject): void;
    onSynced(): void;
    onError(err: { status?: number; message: string }): void;
  }): ResourceWatch;
}

export interface ApiServerSourceControllerDeps {
  store: ResourceStore;
  clock: Clock;
  gatewayUrl: string;
  /** Undefined with the embedded runtime: sources are stored but not Ready. */
  client?: ApiServerClient;
  log?: (line: string) => void;
  send?: HttpSender;
  /** Every send's outcome, for tests and logs. */
  onOutcome?: (o: { key: string; id: string; type: string; status: number | undefined; delivered: boolean }) => void;
}

/** metav1.LabelSelector → the query-string form (`a=b,c in (d,e),!f`). */
export function selectorString(sel: LabelSelector | undefined): string | undefined {
  if (!sel) return undefined;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${(e.values ?? []).join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length ? parts.join(',') : undefined;
}

const OIDC_DISABLED = 'authentication-oidc feature disabled';
const CONDITIONS = ['SinkProvided', 'Deployed', 'SufficientPermissions', 'OIDCIdentityCreated'];

interface Running {
  generation: number;
  fingerprint: string;
  watches: ResourceWatch[];
  synced: Set<number>;
  errors: Map<number, { status?: number; message: string }>;
  chain: Promise<void>;
  sink: string | undefined;
}

export class ApiServerSourceController {
  private readonly running = new Map<string, Running>();
  private readonly abort = new AbortController();
  private unwatch: (() => void) | undefined;
  private readonly queue: ReconcileQueue;
  private active = true;
  private readonly send: HttpSender;

  constructor(private readonly d: ApiServerSourceControllerDeps) {
    this.send = d.send ?? postMessage;
    this.queue = new ReconcileQueue({
      allKeys: () => this.allKeys(),
      reconcile: (k) => this.reconcile(k),
      onError: (k, err) => this.d.log?.(`zeno: reconcile apiserversources/${k} failed: ${err.message}`),
    });
  }

  start(): void {
    this.unwatch = this.d.store.watch((e) => this.onEvent(e));
    this.queue.addAll();
  }

  /** Under leader election only the leader watches and sends (a standby would send every event twice). */
  setActive(active: boolean): void {
    if (this.active === active) return;
    this.active = active;
    if (!active) for (const k of [...this.running.keys()]) this.stopSource(k);
    this.queue.addAll();
  }

  async close(): Promise<void> {
    this.queue.stop();
    this.unwatch?.();
    for (const k of [...this.running.keys()]) this.stopSource(k);
    this.abort.abort();
  }

  private onEvent(e: WatchEvent): void {
    if (e.kind === 'apiserversources') this.queue.add(`${e.object.metadata.namespace ?? 'default'}/${e.object.metadata.name}`);
    else if (e.kind !== 'configmaps') this.queue.addAll(); // a sink may start (or stop) resolving
  }

  private *allKeys(): Iterable<string> {
    for (const o of this.d.store.list('apiserversources')) yield `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
    yield* this.running.keys();
  }

  private stopSource(key: string): void {
    const r = this.running.get(key);
    if (!r) return;
    for (const w of r.watches) w.stop();
    this.running.delete(key);
  }

  private resolve(sink: Destination | undefined, namespace: string): Resolution {
    if (!sink) return { ok: false, reason: 'InvalidURI', message: 'no sink' };
    return resolveDestination(defaultRefNamespace(sink, namespace), { namespace, gatewayUrl: this.d.gatewayUrl, get: (p, n, name) => this.d.store.get(p, n, name) });
  }

  private reconcile(key: string): void {
    const [ns, name] = key.split('/') as [string, string];
    const obj = this.d.store.get('apiserversources', ns, name);
    if (!obj) return this.stopSource(key);
    if (!this.active) return;
    const spec = (obj.spec ?? {}) as ApiServerSourceSpec;
    const mode: ApiServerMode = spec.mode === 'Resource' ? 'Resource' : 'Reference';
    const r = this.resolve(spec.sink, ns);
    const client = this.d.client;
    let run = this.running.get(key);
    const fingerprint = JSON.stringify([spec.mode, spec.resources, spec.owner, spec.ceOverrides]);
    if (run && run.fingerprint !== fingerprint) {
      this.stopSource(key);
      run = undefined;
    }
    if (client && !run) run = this.startSource(key, ns, spec, mode, fingerprint, obj.metadata.generation ?? 1, client);
    if (run) run.sink = r.ok ? r.url : undefined;

    const resources = spec.resources ?? [];
    let deployed: Condition;
    let perms: Condition;
    if (!client) {
      deployed = { type: 'Deployed', status: 'False', reason: 'NoKubernetesAPI', message: 'an ApiServerSource watches a Kubernetes API server: run zeno up --runtime kubernetes' };
      perms = { type: 'SufficientPermissions', status: 'Unknown', reason: 'NoKubernetesAPI' };
    } else {
      const errors = [...run!.errors.entries()];
      const forbidden = errors.find(([, e]) => e.status === 401 || e.status === 403);
      perms = forbidden
        ? { type: 'SufficientPermissions', status: 'False', reason: 'SufficientPermissionsFailed', message: `cannot list/watch ${describeResource(resources[forbidden[0]])}: ${forbidden[1].message}` }
        : run!.synced.size === resources.length
          ? { type: 'SufficientPermissions', status: 'True' }
          : { type: 'SufficientPermissions', status: 'Unknown', reason: 'Listing' };
      const failed = errors.find(([i]) => !run!.synced.has(i));
      deployed = run!.synced.size === resources.length
        ? { type: 'Deployed', status: 'True' }
        : failed
          ? { type: 'Deployed', status: 'False', reason: 'WatchFailed', message: `${describeResource(resources[failed[0]])}: ${failed[1].message}` }
          : { type: 'Deployed', status: 'Unknown', reason: 'Listing' };
    }
    const now = new Date(this.d.clock.now()).toISOString();
    let c = (obj.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    const sinkCond: Condition = r.ok ? { type: 'SinkProvided', status: 'True' } : { type: 'SinkProvided', status: 'False', reason: r.reason, message: r.message };
    for (const x of [sinkCond, deployed, perms, { type: 'OIDCIdentityCreated', status: 'True', reason: OIDC_DISABLED } as Condition]) c = setCondition(c, x, now);
    c = summarize(c, CONDITIONS, now);
    const status: Record<string, unknown> = {
      observedGeneration: obj.metadata.generation ?? 1,
      ...(r.ok ? { sinkUri: r.url } : {}),
      ...(client ? { ceAttributes: (['add', 'update', 'delete'] as const).map((op) => ({ type: apiServerEventType(mode, op), source: client.url })) } : {}),
      namespaces: [ns],
      conditions: c,
    };
    this.d.store.putStatus('apiserversources', ns, name, status);
  }

  private startSource(key: string, ns: string, spec: ApiServerSourceSpec, mode: ApiServerMode, fingerprint: string, generation: number, client: ApiServerClient): Running {
    const run: Running = { generation, fingerprint, watches: [], synced: new Set(), errors: new Map(), chain: Promise.resolve(), sink: undefined };
    this.running.set(key, run);
    const changed = () => this.queue.add(key);
    (spec.resources ?? []).forEach((res, i) => {
      const w = client.watch({
        apiVersion: res.apiVersion,
        kind: res.kind,
        namespace: ns,
        ...(selectorString(res.selector) ? { labelSelector: selectorString(res.selector)! } : {}),
        onChange: (type, obj) => {
          if (this.running.get(key) !== run || !ownerMatches(obj, spec.owner)) return;
          const op: ApiServerOp = type === 'ADDED' ? 'add' : type === 'MODIFIED' ? 'update' : 'delete';
          const event = apiServerEvent({
            source: client.url,
            mode,
            op,
            obj,
            resource: res,
            id: randomUUID(),
            timeIso: new Date(this.d.clock.now()).toISOString(),
            ...(spec.ceOverrides?.extensions ? { extensions: spec.ceOverrides.extensions } : {}),
          });
          // In order, one at a time, as the adapter's reflector goroutine sends them.
          run.chain = run.chain.then(() => this.deliver(key, run, event));
        },
        onSynced: () => {
          const first = !run.synced.has(i);
          run.synced.add(i);
          run.errors.delete(i);
          if (first) changed();
        },
        onError: (err) => {
          const prev = run.errors.get(i);
          run.errors.set(i, err);
          if (!prev || prev.message !== err.message) {
            this.d.log?.(`zeno: apiserversource ${key}: ${describeResource(res)}: ${err.message}`);
            changed();
          }
        },
      });
      run.watches.push(w);
    });
    return run;
  }

  private async deliver(key: string, run: Running, event: CloudEvent<unknown>): Promise<void> {
    const signal = this.abort.signal;
    const url = run.sink;
    let status: number | undefined;
    let attempts = 0;
    if (url !== undefined) {
      const msg = eventToHttp(event, 'binary');
      for (;;) {
        attempts++;
        status = await this.send(url, msg, signal);
        if (signal.aborted || (status !== undefined && status >= 200 && status < 300) || !pingRetryable(status) || attempts > PING_RETRIES) break;
        try {
          await this.d.clock.sleep(pingRetryDelayMs(attempts), signal);
        } catch {
          break;
        }
      }
    }
    const delivered = status !== undefined && status >= 200 && status < 300;
    if (!delivered && !signal.aborted) {
      this.d.log?.(`zeno: apiserversource ${key}: event ${event.id} (${event.type} ${event.subject}) dropped: ${url === undefined ? 'the sink does not resolve' : `${url} answered ${status ?? 'nothing'} after ${attempts} attempt(s)`}`);
    }
    this.d.onOutcome?.({ key, id: event.id, type: event.type, status, delivered });
  }
}

function describeResource(r: ApiServerResource | undefined): string {
  return r ? `${r.kind} (${r.apiVersion})` : 'a resource';
}
