/**
 * The sources controller: PingSource, ContainerSource and SinkBinding
 * (sources.knative.dev/v1), level-triggered from the store.
 *
 * Each reconcile resolves the source's sink (eventing/destination.ts,
 * Addressable duck typing) and writes Knative's status: `sinkUri`,
 * `ceAttributes` where the event type is known, `observedGeneration` and
 * the kind's conditions, with `Ready` summarizing them:
 * - PingSource (ping_lifecycle.go): SinkProvided, Deployed (the in-process
 *   scheduler has the source), OIDCIdentityCreated (True, reason
 *   "authentication-oidc feature disabled", as Knative reports it with OIDC
 *   off);
 * - ContainerSource (container_lifecycle.go): SinkBindingReady,
 *   ReceiveAdapterReady (the process is running);
 * - SinkBinding (sinkbinding_lifecycle.go): SinkProvided.
 *
 * A sink can start resolving later (its Service or Channel appears), so any
 * change to another kind re-resolves every source (coalesced per microtask).
 */
import path from 'node:path';
import type { Clock } from '../../core/clock.js';
import type { Condition, EnvVar, KObject, Service } from '../../core/types.js';
import { setCondition } from '../../controller/conditions.js';
import type { ResourceStore, WatchEvent } from '../../controller/store.js';
import { defaultRefNamespace, resolveDestination, type Destination, type Resolution } from '../destination.js';
import { ProcessSupervisor } from './container.js';
import { parseCron } from './cron.js';
import { PING_EVENT_TYPE, PingScheduler, pingSourceAttribute, type PingSpec } from './ping.js';
import { ReconcileQueue } from './reconcile-queue.js';

const BASE_DIR_ANNOTATION = 'zeno.dev/base-dir';
const OIDC_DISABLED = 'authentication-oidc feature disabled';
const SOURCE_KINDS = new Set(['pingsources', 'containersources', 'sinkbindings']);

export interface SourcesControllerDeps {
  store: ResourceStore;
  clock: Clock;
  gatewayUrl: string;
  /** Folder relative paths resolve against when a ContainerSource carries no base-dir annotation. */
  defaultBaseDir: string;
  log?: (line: string) => void;
  /** SinkBindings changed what they inject: Services must be reconciled again. */
  onBindingsChanged?: () => void;
  /** Injected for tests (FakeClock, jitter 0). */
  scheduler?: PingScheduler;
}

interface SourceSpec {
  sink?: Destination;
  ceOverrides?: { extensions?: Record<string, string> };
}

interface SinkBindingSpec extends SourceSpec {
  subject?: { apiVersion?: string; kind?: string; name?: string; namespace?: string; selector?: LabelSelector };
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** metav1.LabelSelector semantics; an empty selector matches everything. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** K_CE_OVERRIDES as Knative's SinkBinding writes it: the JSON of ceOverrides, or "" without any. */
export function ceOverridesEnv(ce: SourceSpec['ceOverrides']): string {
  return ce ? JSON.stringify(ce) : '';
}

/** Ready from the other conditions: any False → False (its reason), all True → True, else Unknown. */
export function summarize(conds: Condition[], types: string[], nowIso: string): Condition[] {
  const parts = types.map((t) => conds.find((c) => c.type === t));
  const failed = parts.find((c) => c?.status === 'False');
  const ready: Condition = failed
    ? { type: 'Ready', status: 'False', ...(failed.reason ? { reason: failed.reason } : {}), ...(failed.message ? { message: failed.message } : {}) }
    : parts.every((c) => c?.status === 'True')
      ? { type: 'Ready', status: 'True' }
      : { type: 'Ready', status: 'Unknown', reason: parts.find((c) => c?.status !== 'True')?.reason ?? 'Unknown' };
  return setCondition(conds, ready, nowIso);
}

const keyOf = (o: KObject): string => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

export class SourcesController {
  readonly scheduler: PingScheduler;
  readonly supervisor: ProcessSupervisor;
  private readonly sinkUrls = new Map<string, string>();
  private unwatch: (() => void) | undefined;
  private readonly queue: ReconcileQueue;
  private bindingsFingerprint = '';

  constructor(private readonly d: SourcesControllerDeps) {
    this.scheduler = d.scheduler ?? new PingScheduler({ clock: d.clock, ...(d.log ? { log: d.log } : {}) });
    this.supervisor = new ProcessSupervisor({ clock: d.clock, onChange: (key) => this.queue.add(`containersources/${key}`) });
    this.queue = new ReconcileQueue({
      allKeys: () => this.allKeys(),
      reconcile: (k) => this.reconcile(k),
      onError: (k, err) => this.d.log?.(`zeno: reconcile ${k} failed: ${err.message}`),
      afterPass: () => this.checkBindings(),
    });
  }

  start(): void {
    this.unwatch = this.d.store.watch((e) => this.onEvent(e));
    this.queue.addAll();
  }

  async close(): Promise<void> {
    this.queue.stop();
    this.unwatch?.();
    await Promise.all([this.scheduler.close(), this.supervisor.close()]);
  }

  /**
   * What SinkBindings inject into a Service's containers: K_SINK and
   * K_CE_OVERRIDES of every binding whose subject is this Service (by name,
   * or by a selector matching its labels) and whose sink resolves; with
   * several, the last by name wins, as sequential webhook patches would.
   */
  bindingEnv(svc: Service): EnvVar[] | undefined {
    const ns = svc.metadata.namespace ?? 'default';
    let env: EnvVar[] | undefined;
    for (const b of this.d.store.list('sinkbindings', ns)) {
      const spec = (b.spec ?? {}) as SinkBindingSpec;
      const s = spec.subject;
      if (!s || s.kind !== 'Service' || s.apiVersion !== 'serving.knative.dev/v1') continue;
      const matches = s.name !== undefined ? s.name === svc.metadata.name : selectorMatches(s.selector ?? {}, svc.metadata.labels ?? {});
      if (!matches) continue;
      const r = this.resolve(spec.sink, ns);
      if (!r.ok) continue;
      env = [{ name: 'K_SINK', value: r.url }, { name: 'K_CE_OVERRIDES', value: ceOverridesEnv(spec.ceOverrides) }];
    }
    return env;
  }

  private onEvent(e: WatchEvent): void {
    if (SOURCE_KINDS.has(e.kind)) this.queue.add(`${e.kind}/${keyOf(e.object)}`);
    else if (e.kind !== 'configmaps') this.queue.addAll();
    else this.queue.poke();
  }

  private *allKeys(): Iterable<string> {
    for (const kind of SOURCE_KINDS) for (const o of this.d.store.list(kind as 'pingsources')) yield `${kind}/${keyOf(o)}`;
    // Sources that were deleted while we were not looking.
    yield* this.sinkUrls.keys();
  }

  private reconcile(k: string): void {
    const [kind, ns, name] = k.split('/') as [string, string, string];
    if (kind === 'pingsources') this.reconcilePing(ns, name);
    else if (kind === 'containersources') this.reconcileContainer(ns, name);
    else if (kind === 'sinkbindings') this.reconcileBinding(ns, name);
  }

  private resolve(sink: Destination | undefined, namespace: string): Resolution {
    if (!sink) return { ok: false, reason: 'InvalidURI', message: 'no sink' };
    return resolveDestination(defaultRefNamespace(sink, namespace), { namespace, gatewayUrl: this.d.gatewayUrl, get: (p, n, name) => this.d.store.get(p, n, name) });
  }

  private nowIso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }

  /** Writes status fields and conditions; putStatus is a no-op when nothing changed. */
  private writeStatus(plural: 'pingsources' | 'containersources' | 'sinkbindings', obj: KObject, fields: Record<string, unknown>, conds: Condition[], types: string[]): void {
    const now = this.nowIso();
    let c = (obj.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
    for (const x of conds) c = setCondition(c, x, now);
    c = summarize(c, types, now);
    const status: Record<string, unknown> = { observedGeneration: obj.metadata.generation ?? 1, ...fields, conditions: c };
    for (const [k, v] of Object.entries(status)) if (v === undefined) delete status[k];
    this.d.store.putStatus(plural, obj.metadata.namespace ?? 'default', obj.metadata.name, status);
  }

  private sinkCondition(type: string, r: Resolution): Condition {
    return r.ok ? { type, status: 'True' } : { type, status: 'False', reason: r.reason, message: r.message };
  }

  private reconcilePing(ns: string, name: string): void {
    const key = `pingsources/${ns}/${name}`;
    const obj = this.d.store.get('pingsources', ns, name);
    if (!obj) {
      this.scheduler.remove(key);
      this.sinkUrls.delete(key);
      this.pingGenerations.delete(key);
      return;
    }
    const spec = (obj.spec ?? {}) as PingSpec & SourceSpec & { schedule?: string; timezone?: string };
    const r = this.resolve(spec.sink, ns);
    if (r.ok) this.sinkUrls.set(key, r.url);
    else this.sinkUrls.delete(key);
    const parsed = parseCron(spec.schedule || '* * * * *', spec.timezone || undefined);
    let deployed: Condition;
    if ('error' in parsed) {
      this.scheduler.remove(key);
      deployed = { type: 'Deployed', status: 'False', reason: 'InvalidSchedule', message: parsed.error };
    } else {
      // Re-arming only when the spec changed keeps the schedule's phase.
      const gen = obj.metadata.generation ?? 1;
      if (this.pingGenerations.get(key) !== gen || this.scheduler.nextFireAt(key) === undefined) {
        this.pingGenerations.set(key, gen);
        this.scheduler.upsert(key, { namespace: ns, name, schedule: parsed.schedule, spec, sink: () => this.sinkUrls.get(key) });
      }
      deployed = { type: 'Deployed', status: 'True' };
    }
    this.writeStatus('pingsources', obj, {
      sinkUri: r.ok ? r.url : undefined,
      ceAttributes: [{ type: PING_EVENT_TYPE, source: pingSourceAttribute(ns, name) }],
    }, [this.sinkCondition('SinkProvided', r), deployed, { type: 'OIDCIdentityCreated', status: 'True', reason: OIDC_DISABLED }], ['SinkProvided', 'Deployed', 'OIDCIdentityCreated']);
  }

  private readonly pingGenerations = new Map<string, number>();

  private reconcileContainer(ns: string, name: string): void {
    const key = `containersources/${ns}/${name}`;
    const procKey = `${ns}/${name}`;
    const obj = this.d.store.get('containersources', ns, name);
    if (!obj) {
      this.sinkUrls.delete(key);
      void this.supervisor.stop(procKey);
      return;
    }
    const spec = (obj.spec ?? {}) as SourceSpec & { template?: { spec?: { containers?: { command?: string[]; args?: string[]; workingDir?: string; env?: EnvVar[] }[] } } };
    const r = this.resolve(spec.sink, ns);
    const c = spec.template?.spec?.containers?.[0] ?? {};
    if (r.ok) {
      this.sinkUrls.set(key, r.url);
      const baseDir = obj.metadata.annotations?.[BASE_DIR_ANNOTATION] ?? this.d.defaultBaseDir;
      const env: Record<string, string> = {};
      for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
      env.K_SINK = r.url;
      env.K_CE_OVERRIDES = ceOverridesEnv(spec.ceOverrides);
      void this.supervisor.upsert(procKey, { command: c.command ?? [], args: c.args ?? [], cwd: path.resolve(baseDir, c.workingDir ?? '.'), env });
    } else {
      // Knative's SinkBinding injects nothing until the sink resolves; the adapter waits for it here.
      this.sinkUrls.delete(key);
      void this.supervisor.stop(procKey);
    }
    const st = this.supervisor.status(procKey);
    const adapter: Condition = st?.running
      ? { type: 'ReceiveAdapterReady', status: 'True' }
      : st?.failure
        ? { type: 'ReceiveAdapterReady', status: 'False', reason: st.failure.reason, message: st.failure.message }
        : { type: 'ReceiveAdapterReady', status: 'Unknown', reason: r.ok ? 'Starting' : 'SinkNotResolved' };
    this.writeStatus('containersources', obj, { sinkUri: r.ok ? r.url : undefined }, [this.sinkCondition('SinkBindingReady', r), adapter], ['SinkBindingReady', 'ReceiveAdapterReady']);
  }

  private reconcileBinding(ns: string, name: string): void {
    const key = `sinkbindings/${ns}/${name}`;
    const obj = this.d.store.get('sinkbindings', ns, name);
    if (!obj) {
      this.sinkUrls.delete(key);
      return;
    }
    const spec = (obj.spec ?? {}) as SinkBindingSpec;
    const r = this.resolve(spec.sink, ns);
    if (r.ok) this.sinkUrls.set(key, r.url);
    else this.sinkUrls.delete(key);
    this.writeStatus('sinkbindings', obj, { sinkUri: r.ok ? r.url : undefined }, [this.sinkCondition('SinkProvided', r)], ['SinkProvided']);
  }

  /** Asks for a Service resync when what bindings inject changed. */
  private checkBindings(): void {
    const fp = JSON.stringify(this.d.store.list('sinkbindings').map((b) => [keyOf(b), b.spec, this.sinkUrls.get(`sinkbindings/${keyOf(b)}`)]));
    if (fp === this.bindingsFingerprint) return;
    this.bindingsFingerprint = fp;
    this.d.onBindingsChanged?.();
  }
}

