import path from 'node:path';
import type { Clock } from '../core/clock.js';
import type { Condition, EnvVar, KObject, RevisionId, RevisionSpecFields, RevisionTemplate, Service, ServiceSpec, TrafficTarget } from '../core/types.js';
import { SERVING_API_VERSION, revisionId } from '../core/types.js';
import type { HpaSettings } from '../core/config/autoscaler.js';
import type { FunctionRuntime, PodTemplate, RuntimeEvent } from '../functions/runtime.js';
import { parseQuantity } from '../core/quantity.js';
import type { RouteEntry, RouteTarget } from '../gateway/routes.js';
import { revisionsToCollect, type GcConfig } from '../core/config/gc.js';
import { getCondition, isTrue, setCondition } from './conditions.js';
import type { EventRecorder } from './events.js';
import type { ResourceStore, WatchEvent } from './store.js';
import { PROGRESS_DEADLINE_ANNOTATION, progressDeadlineMs } from '../core/config/deployment.js';

/** Annotation the CLI sets: the folder of the manifest, for relative paths. */
export const BASE_DIR_ANNOTATION = 'zeno.dev/base-dir';
const SERVICE_LABEL = 'serving.knative.dev/service';
const CONFIG_LABEL = 'serving.knative.dev/configuration';
const CONFIG_GEN_LABEL = 'serving.knative.dev/configurationGeneration';
/** Knative's routing state, which revision GC reads. */
const ROUTING_STATE_LABEL = 'serving.knative.dev/routingState';
const ROUTING_STATE_MODIFIED = 'serving.knative.dev/routingStateModified';
const NO_GC = 'serving.knative.dev/no-gc';
/** How often retention times are checked without any other event. */
const GC_PERIOD_MS = 60_000;

export interface ScalerPort {
  upsert(rev: RevisionId, opts: { annotations?: Record<string, string>; containerConcurrency: number; routed: boolean; initialScaleReached?: boolean }): void;
  remove(rev: RevisionId): void;
  desired(rev: RevisionId): number | undefined;
}

export interface DataPlanePort {
  addRevision(id: RevisionId, opts: { containerConcurrency: number; timeoutMs: number; responseStartTimeoutMs: number; idleTimeoutMs: number }): void;
  removeRevision(id: RevisionId): void;
  setRoute(entry: RouteEntry, domain: string, tags: Map<string, RevisionId>): void;
  deleteRoute(namespace: string, service: string): void;
}

export interface ReconcilerConfig {
  domain: string;
  /** config-gc: when unrouted revisions are deleted. */
  gc: GcConfig;
  /** e.g. ":8080", appended to URLs so they work as printed; "" on port 80. */
  urlPortSuffix: string;
}

export interface ReconcilerDeps {
  store: ResourceStore;
  runtime: FunctionRuntime;
  scaler: ScalerPort;
  dataPlane: DataPlanePort;
  events: EventRecorder;
  clock: Clock;
  config: () => ReconcilerConfig;
  /** Folder relative paths resolve against when a Service carries no base-dir annotation. */
  defaultBaseDir: string;
  /**
   * The revision's effective initial scale (annotation or config-autoscaler),
   * capped at max-scale: a first Ready waits for this many ready pods.
   */
  initialScale: (annotations: Record<string, string>, containerConcurrency: number) => number;
  /** The revision's HPA settings when its autoscaling class is hpa.autoscaling.knative.dev (resolveHpaSettings). */
  hpaSettings?: (annotations: Record<string, string>) => HpaSettings | undefined;
  /**
   * Environment a SinkBinding injects into the Service's containers
   * (K_SINK, K_CE_OVERRIDES). Knative's webhook writes it into the Service's
   * template, so the Configuration changes and a new Revision rolls out;
   * here it is added to the Configuration's template, leaving the Service
   * as the user wrote it.
   */
  bindingEnv?: (svc: Service) => EnvVar[] | undefined;
}

/** The template with binding env on every container (replacing same-named entries, as Knative's Do() does). */
function withBindingEnv(template: RevisionTemplate, env: EnvVar[] | undefined): RevisionTemplate {
  if (!env || env.length === 0) return template;
  const names = new Set(env.map((e) => e.name));
  const containers = template.spec.containers.map((c) => ({ ...c, env: [...(c.env ?? []).filter((e) => !names.has(e.name)), ...env] }));
  return { ...template, spec: { ...template.spec, containers } };
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function ownerRef(obj: KObject<any, any>) {
  return [{ apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, uid: obj.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }];
}

/** Knative's defaulting of traffic: none means 100% to the latest ready revision. */
function trafficOf(spec: ServiceSpec | undefined): TrafficTarget[] {
  const t = spec?.traffic;
  if (!t || t.length === 0) return [{ latestRevision: true, percent: 100 }];
  return t.map((x) => ({ ...x, latestRevision: x.latestRevision ?? !x.revisionName }));
}

/**
 * Service → Configuration → Revision → Route, in the Knative resource model.
 * Level-triggered: reconcileService() reads the stored Service and converges
 * everything below it, so it is safe to call any number of times (on apply,
 * on a pod becoming ready, at start after a restart).
 */
export class Reconciler {
  /** Revisions handed to the runtime, data plane and autoscaler in this process. */
  private live = new Map<RevisionId, { routed: boolean }>();
  private dirty = new Set<string>();
  private dirtyRevisions = new Set<RevisionId>();
  private scheduled = false;
  private unwatch: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly d: ReconcilerDeps) {}

  private gcTimer: ReturnType<Clock['setInterval']> | undefined;

  start(): void {
    this.gcTimer = this.d.clock.setInterval(() => this.resyncAll(), GC_PERIOD_MS);
    this.unwatch = this.d.store.watch((e) => this.onStoreEvent(e));
    this.unsubscribe = this.d.runtime.subscribe((e) => this.onRuntimeEvent(e));
    for (const s of this.d.store.list('services')) this.enqueue(s.metadata.namespace ?? 'default', s.metadata.name);
    this.flush();
  }

  stop(): void {
    this.d.clock.clearInterval(this.gcTimer);
    this.unwatch?.();
    this.unsubscribe?.();
  }

  /** Reconcile everything now (e.g. after config-domain changed). */
  resyncAll(): void {
    for (const s of this.d.store.list('services')) this.enqueue(s.metadata.namespace ?? 'default', s.metadata.name);
    this.flush();
  }

  private enqueue(namespace: string, name: string): void {
    this.dirty.add(`${namespace}/${name}`);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    // Revision status first: service status reads it.
    const revs = [...this.dirtyRevisions];
    this.dirtyRevisions.clear();
    for (const id of revs) this.updateRevisionStatus(id);
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const k of keys) {
      const i = k.indexOf('/');
      try {
        this.reconcileService(k.slice(0, i), k.slice(i + 1));
      } catch (err) {
        this.d.events.record('Service', k.slice(0, i), k.slice(i + 1), 'Warning', 'InternalError', String(err));
      }
    }
  }

  private onStoreEvent(e: WatchEvent): void {
    if (e.kind !== 'services') return;
    const ns = e.object.metadata.namespace ?? 'default';
    if (e.type === 'DELETED') this.cleanup(ns, e.object.metadata.name);
    else if (e.type === 'ADDED' || e.type === 'MODIFIED') {
      // Our own status writes come back here too; only spec/metadata changes matter.
      const gen = e.object.metadata.generation;
      const observed = (e.object.status as { observedGeneration?: number } | undefined)?.observedGeneration;
      if (e.type === 'ADDED' || gen !== observed) this.enqueue(ns, e.object.metadata.name);
    }
  }

  private onRuntimeEvent(e: RuntimeEvent): void {
    // A pod that listens before it is ready changes no status.
    if (e.type === 'pod-listening') return;
    const rev = this.d.store.get('revisions', ...split(e.revision));
    if (!rev) return;
    const { namespace, name } = { namespace: rev.metadata.namespace ?? 'default', name: rev.metadata.name };
    switch (e.type) {
      case 'pod-exited':
        this.d.events.record('Revision', namespace, name, 'Warning', 'PodExited',
          `pod ${e.pod.id} exited (${e.signal ? `signal ${e.signal}` : `code ${e.code}`}); restarts: ${e.pod.restarts}`);
        break;
      case 'revision-failed':
        this.d.events.record('Revision', namespace, name, 'Warning', e.failure.reason, e.failure.message);
        break;
      case 'revision-recovered':
        this.d.events.record('Revision', namespace, name, 'Normal', 'Recovered', 'a pod became ready again');
        break;
      case 'pod-ready':
        this.d.events.record('Revision', namespace, name, 'Normal', 'PodReady', `pod ${e.pod.id} is ready`);
        break;
      default:
        break;
    }
    this.markRevision(e.revision);
  }

  private decisions = new Map<RevisionId, { desired: number; inPanic: boolean; stableAverage: number; panicAverage: number; excessBurstCapacity: number }>();

  /**
   * The autoscaler's latest view of a revision, shown in its status as
   * `status.autoscaler` (Knative keeps it in the PodAutoscaler and metrics).
   */
  recordDecision(id: RevisionId, d: { desired: number; inPanic: boolean; stableAverage: number; panicAverage: number; excessBurstCapacity: number }): void {
    const prev = this.decisions.get(id);
    this.decisions.set(id, d);
    if (!prev || prev.desired !== d.desired || prev.inPanic !== d.inPanic || round2(prev.stableAverage) !== round2(d.stableAverage)
      || round2(prev.panicAverage) !== round2(d.panicAverage) || prev.excessBurstCapacity !== d.excessBurstCapacity) this.markRevision(id);
  }

  /** Asks for a revision status refresh (replica counts changed). */
  markRevision(id: RevisionId): void {
    this.dirtyRevisions.add(id);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private nowIso(): string {
    return new Date(this.d.clock.now()).toISOString();
  }

  reconcileService(namespace: string, name: string): void {
    const svc = this.d.store.get('services', namespace, name) as Service | undefined;
    if (!svc || !svc.spec) return;
    const { store } = this.d;
    const baseDir = svc.metadata.annotations?.[BASE_DIR_ANNOTATION] ?? this.d.defaultBaseDir;

    // Configuration mirrors the template; its generation numbers the revisions.
    const cfgPut = store.put('configurations', {
      apiVersion: SERVING_API_VERSION,
      kind: 'Configuration',
      metadata: {
        name, namespace,
        labels: { ...(svc.metadata.labels ?? {}), [SERVICE_LABEL]: name },
        ...(svc.metadata.annotations ? { annotations: svc.metadata.annotations } : {}),
        ownerReferences: ownerRef(svc),
      },
      spec: { template: withBindingEnv(svc.spec.template as RevisionTemplate, this.d.bindingEnv?.(svc)) },
    });
    const cfg = cfgPut.object;
    const gen = cfg.metadata.generation ?? 1;
    const template = cfg.spec!.template as RevisionTemplate;
    const revName = template.metadata?.name ?? `${name}-${pad5(gen)}`;
    let revNameConflict: string | undefined;

    const existing = store.get('revisions', namespace, revName);
    if (!existing) {
      const annotations = { ...(template.metadata?.annotations ?? {}), [BASE_DIR_ANNOTATION]: baseDir };
      store.put('revisions', {
        apiVersion: SERVING_API_VERSION,
        kind: 'Revision',
        metadata: {
          name: revName, namespace,
          labels: { ...(template.metadata?.labels ?? {}), [SERVICE_LABEL]: name, [CONFIG_LABEL]: name, [CONFIG_GEN_LABEL]: String(gen) },
          annotations,
          ownerReferences: ownerRef(cfg),
        },
        spec: template.spec as unknown as Record<string, unknown>,
      });
      store.putStatus('revisions', namespace, revName, {
        observedGeneration: 1,
        conditions: [
          { type: 'Ready', status: 'Unknown', reason: 'Deploying', lastTransitionTime: this.nowIso() },
          { type: 'ContainerHealthy', status: 'Unknown', reason: 'Deploying', lastTransitionTime: this.nowIso() },
        ],
        actualReplicas: 0,
        desiredReplicas: 0,
      });
      this.d.events.record('Service', namespace, name, 'Normal', 'Created', `Created Revision "${revName}"`);
    } else if (existing.metadata.labels?.[CONFIG_LABEL] !== name || (existing.metadata.labels?.[CONFIG_GEN_LABEL] !== String(gen) && JSON.stringify(existing.spec) !== JSON.stringify(template.spec))) {
      revNameConflict = `the revision name ${revName} is taken by a revision with a different template; give the new template another name`;
    }

    // Every revision of this configuration is live in this process.
    // Revision names start with `NAME-` (validation), so only those rows are read.
    const revisions = store.list('revisions', namespace, { namePrefix: `${name}-` }).filter((r) => r.metadata.labels?.[CONFIG_LABEL] === name);
    const latestCreated = revNameConflict ? this.latestByGeneration(revisions) : revName;
    const ready = revisions.filter((r) => isTrue((r.status as { conditions?: Condition[] } | undefined)?.conditions, 'Ready'));
    const latestReady = this.latestByGeneration(ready);

    // Route: resolve traffic to concrete revisions.
    const { domain, urlPortSuffix } = this.d.config();
    const traffic = trafficOf(svc.spec);
    const targets: RouteTarget[] = [];
    const statusTraffic: TrafficTarget[] = [];
    const tags = new Map<string, RevisionId>();
    let routesReady = true;
    let routeReason: { reason: string; message: string } | undefined;
    // A traffic target naming a revision that does not exist is a user error
    // (Knative's MarkMissingTrafficTarget: AllTrafficAssigned False, which the
    // Service propagates as RoutesReady False), not something to wait for.
    let missingTarget = false;
    for (const t of traffic) {
      let rn = t.latestRevision ? latestReady : t.revisionName;
      if (t.latestRevision && !rn) {
        // Nothing is ready yet: send traffic to the latest created revision so
        // the activator holds requests until it is (Knative answers 404 here).
        rn = latestCreated;
        routesReady = false;
        if (!missingTarget) routeReason = { reason: 'RevisionMissing', message: `Configuration "${name}" does not have any ready Revision.` };
      }
      if (!rn || !revisions.some((r) => r.metadata.name === rn)) {
        routesReady = false;
        missingTarget = true;
        routeReason = { reason: 'RevisionMissing', message: `Revision "${rn ?? ''}" referenced in traffic not found.` };
        continue;
      }
      const id = revisionId(namespace, rn);
      if ((t.percent ?? 0) > 0) targets.push({ revision: id, percent: t.percent ?? 0, ...(t.tag ? { tag: t.tag } : {}) });
      if (t.tag) tags.set(t.tag, id);
      const st: TrafficTarget = { revisionName: rn, latestRevision: !!t.latestRevision, percent: t.percent ?? 0 };
      if (t.tag) {
        st.tag = t.tag;
        st.url = `http://${t.tag}-${name}.${namespace}.${domain}${urlPortSuffix}`;
      }
      statusTraffic.push(st);
    }
    // The latest created revision's Ready decides between waiting and failed.
    const latestRev = revisions.find((r) => r.metadata.name === latestCreated);
    const latestConds = (latestRev?.status as { conditions?: Condition[] } | undefined)?.conditions;
    const latestReadyCond = getCondition(latestConds, 'Ready');
    // Knative's route_lifecycle.go: waiting for a first ready revision is
    // Unknown (MarkConfigurationNotReady); a failed one (MarkConfigurationFailed)
    // or a missing target (MarkMissingTrafficTarget) is False.
    const routeStatus: Condition['status'] = routesReady ? 'True' : missingTarget || latestReadyCond?.status === 'False' ? 'False' : 'Unknown';
    const routed = new Set(targets.map((t) => t.revision).concat([...tags.values()]));

    const collected = new Set(this.collectGarbage(namespace, revisions, routed, latestCreated));
    for (const r of revisions) {
      if (collected.has(r.metadata.name)) continue;
      this.ensureLive(r, routed.has(revisionId(namespace, r.metadata.name)));
    }
    this.d.dataPlane.setRoute({ namespace, service: name, targets }, domain, tags);

    const url = `http://${name}.${namespace}.${domain}${urlPortSuffix}`;
    const now = this.nowIso();
    const routeObj = store.put('routes', {
      apiVersion: SERVING_API_VERSION,
      kind: 'Route',
      metadata: { name, namespace, labels: { [SERVICE_LABEL]: name }, ownerReferences: ownerRef(svc) },
      spec: { traffic },
    }).object;
    let routeConds = setCondition(routeObj.status?.conditions as Condition[] | undefined,
      routesReady ? { type: 'AllTrafficAssigned', status: 'True' } : { type: 'AllTrafficAssigned', status: routeStatus, ...routeReason }, now);
    routeConds = setCondition(routeConds, routesReady ? { type: 'Ready', status: 'True' } : { type: 'Ready', status: routeStatus, ...routeReason }, now);
    store.putStatus('routes', namespace, name, {
      observedGeneration: routeObj.metadata.generation,
      url,
      address: { url },
      traffic: statusTraffic,
      conditions: routeConds,
    });

    // Configuration status: ready when its latest created revision is.
    let cfgCond: Condition;
    if (revNameConflict) cfgCond = { type: 'Ready', status: 'False', reason: 'RevisionNameTaken', message: revNameConflict };
    else if (latestReadyCond?.status === 'True') cfgCond = { type: 'Ready', status: 'True' };
    else if (latestReadyCond?.status === 'False') cfgCond = { type: 'Ready', status: 'False', reason: 'RevisionFailed', message: `Revision "${latestCreated}" failed with message: ${latestReadyCond.message ?? latestReadyCond.reason ?? ''}.` };
    else cfgCond = { type: 'Ready', status: 'Unknown', reason: 'Deploying', message: `Revision "${latestCreated}" is not ready yet` };
    store.putStatus('configurations', namespace, name, {
      observedGeneration: gen,
      latestCreatedRevisionName: latestCreated,
      ...(latestReady ? { latestReadyRevisionName: latestReady } : {}),
      conditions: setCondition((cfg.status as { conditions?: Condition[] } | undefined)?.conditions, cfgCond, now),
    });

    // Service status: Ready = ConfigurationsReady ∧ RoutesReady.
    const prev = svc.status?.conditions;
    const cfgReady: Condition = { ...cfgCond, type: 'ConfigurationsReady' };
    const rtReady: Condition = routesReady ? { type: 'RoutesReady', status: 'True' } : { type: 'RoutesReady', status: routeStatus, ...routeReason };
    // A route that still points at an older ready revision is fine; the
    // service is not Ready until the latest created revision is.
    const svcReady: Condition =
      cfgReady.status === 'True' && rtReady.status === 'True'
        ? { type: 'Ready', status: 'True' }
        : cfgReady.status === 'False'
          ? { type: 'Ready', status: 'False', reason: cfgReady.reason, message: cfgReady.message }
          : rtReady.status !== 'True'
            ? { type: 'Ready', status: rtReady.status, reason: rtReady.reason ?? 'RevisionMissing', message: rtReady.message }
            : { type: 'Ready', status: 'Unknown', reason: cfgReady.reason, message: cfgReady.message };
    let conds = setCondition(prev, cfgReady, now);
    conds = setCondition(conds, rtReady, now);
    conds = setCondition(conds, svcReady, now);
    store.putStatus('services', namespace, name, {
      observedGeneration: svc.metadata.generation,
      url,
      address: { url },
      latestCreatedRevisionName: latestCreated,
      ...(latestReady ? { latestReadyRevisionName: latestReady } : {}),
      traffic: statusTraffic,
      conditions: conds,
    });
  }

  /**
   * Records each revision's routing state (Knative's routingState label and
   * routingStateModified annotation) and deletes the unrouted ones config-gc
   * says to. Never the latest created revision, a routed one, or one
   * annotated serving.knative.dev/no-gc: "true".
   */
  private collectGarbage(namespace: string, revisions: KObject[], routed: Set<RevisionId>, latestCreated: string | undefined): string[] {
    const now = this.d.clock.now();
    const candidates = [];
    for (const r of revisions) {
      const active = routed.has(revisionId(namespace, r.metadata.name));
      const state = active ? 'active' : 'reserve';
      if (r.metadata.labels?.[ROUTING_STATE_LABEL] !== state) {
        r.metadata.labels = { ...(r.metadata.labels ?? {}), [ROUTING_STATE_LABEL]: state };
        r.metadata.annotations = { ...(r.metadata.annotations ?? {}), [ROUTING_STATE_MODIFIED]: new Date(now).toISOString() };
        this.d.store.put('revisions', r);
      }
      if (active || r.metadata.name === latestCreated) continue;
      const created = Date.parse(r.metadata.creationTimestamp ?? '') || now;
      const modified = Date.parse(r.metadata.annotations?.[ROUTING_STATE_MODIFIED] ?? '') || created;
      candidates.push({ name: r.metadata.name, createdMs: created, lastActiveMs: modified, keep: r.metadata.annotations?.[NO_GC] === 'true' });
    }
    const doomed = revisionsToCollect(candidates, this.d.config().gc, now);
    for (const name of doomed) {
      this.d.events.record('Service', namespace, revisions[0]?.metadata.labels?.[SERVICE_LABEL] ?? '', 'Normal', 'RevisionCollected', `Deleted unrouted Revision "${name}" (config-gc)`);
      this.deleteRevision(namespace, name);
    }
    return doomed;
  }

  private deleteRevision(namespace: string, name: string): void {
    const id = revisionId(namespace, name);
    this.live.delete(id);
    this.decisions.delete(id);
    this.d.scaler.remove(id);
    this.d.dataPlane.removeRevision(id);
    void this.d.runtime.remove(id);
    this.d.store.delete('revisions', namespace, name);
    this.d.events.forget('Revision', namespace, name);
  }

  private latestByGeneration(revs: KObject[]): string | undefined {
    let best: KObject | undefined;
    for (const r of revs) {
      const g = Number(r.metadata.labels?.[CONFIG_GEN_LABEL] ?? 0);
      if (!best || g > Number(best.metadata.labels?.[CONFIG_GEN_LABEL] ?? 0)) best = r;
    }
    return best?.metadata.name;
  }

  /** Hands a revision to runtime, data plane and autoscaler once; updates whether it is routed. */
  private ensureLive(rev: KObject, routed: boolean): void {
    const ns = rev.metadata.namespace ?? 'default';
    const id = revisionId(ns, rev.metadata.name);
    const spec = rev.spec as unknown as RevisionSpecFields;
    const cc = spec.containerConcurrency ?? 0;
    const known = this.live.get(id);
    if (!known) {
      this.d.runtime.deploy(this.podTemplate(rev));
      this.d.dataPlane.addRevision(id, {
        containerConcurrency: cc,
        timeoutMs: (spec.timeoutSeconds ?? 300) * 1000,
        responseStartTimeoutMs: (spec.responseStartTimeoutSeconds ?? 0) * 1000,
        idleTimeoutMs: (spec.idleTimeoutSeconds ?? 0) * 1000,
      });
    }
    if (!known || known.routed !== routed) {
      this.live.set(id, { routed });
      // A revision that was Ready before a restart already had its initial scale.
      const reached = isTrue((rev.status as { conditions?: Condition[] } | undefined)?.conditions, 'Ready');
      this.d.scaler.upsert(id, { annotations: rev.metadata.annotations ?? {}, containerConcurrency: cc, routed, initialScaleReached: reached });
      this.markRevision(id);
    }
  }

  private podTemplate(rev: KObject): PodTemplate {
    /** limits/requests with every quantity as text (YAML may have given a number). */
    const quantities = (r: { limits?: Record<string, string>; requests?: Record<string, string> }) => {
      const text = (m?: Record<string, string>) => (m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])) : undefined);
      const limits = text(r.limits);
      const requests = text(r.requests);
      return { ...(limits ? { limits } : {}), ...(requests ? { requests } : {}) };
    };
    const ns = rev.metadata.namespace ?? 'default';
    const spec = rev.spec as unknown as RevisionSpecFields;
    const c = spec.containers[0] ?? {};
    const baseDir = rev.metadata.annotations?.[BASE_DIR_ANNOTATION] ?? this.d.defaultBaseDir;
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    const service = rev.metadata.labels?.[SERVICE_LABEL] ?? rev.metadata.name;
    const memoryText = c.resources?.limits?.memory;
    const memoryLimit = memoryText !== undefined ? parseQuantity(memoryText) : undefined;
    const hpa = this.d.hpaSettings?.(rev.metadata.annotations ?? {});
    return {
      id: revisionId(ns, rev.metadata.name),
      namespace: ns,
      service,
      configuration: rev.metadata.labels?.[CONFIG_LABEL] ?? service,
      revision: rev.metadata.name,
      ...(c.image ? { image: c.image } : {}),
      command: c.command ?? [],
      args: c.args ?? [],
      workingDir: path.resolve(baseDir, c.workingDir ?? '.'),
      env,
      containerPort: c.ports?.[0]?.containerPort ?? 8080,
      ...(c.readinessProbe ? { readinessProbe: c.readinessProbe } : {}),
      timeoutSeconds: spec.timeoutSeconds ?? 300,
      ...(memoryLimit !== undefined && memoryLimit > 0 ? { memoryLimitBytes: Math.floor(memoryLimit) } : {}),
      ...(c.resources && (c.resources.limits || c.resources.requests) ? { resources: quantities(c.resources) } : {}),
      ...(rev.metadata.annotations?.[PROGRESS_DEADLINE_ANNOTATION] !== undefined ? { progressDeadlineMs: progressDeadlineMs(rev.metadata.annotations) } : {}),
      containerConcurrency: spec.containerConcurrency ?? 0,
      ...(hpa ? { hpa } : {}),
    };
  }

  /** Revision status from the runtime: replica counts and Knative's conditions. */
  private updateRevisionStatus(id: RevisionId): void {
    const [ns, name] = split(id);
    const rev = this.d.store.get('revisions', ns, name);
    if (!rev) return;
    const st = this.d.runtime.status(id);
    const prev = (rev.status ?? {}) as { conditions?: Condition[]; observedGeneration?: number };
    const now = this.nowIso();
    const ready = st?.ready ?? 0;
    const desired = this.d.scaler.desired(id) ?? st?.desired ?? 0;
    let conds = prev.conditions;
    const wasReady = isTrue(conds, 'Ready');
    const initialScale = this.d.initialScale(rev.metadata.annotations ?? {}, (rev.spec as unknown as RevisionSpecFields).containerConcurrency ?? 0);
    if (ready > 0 && !wasReady && ready < initialScale && !st?.failure) {
      // Knative's KPA marks the scale target initialized (and so the revision
      // ResourcesAvailable and Ready) only once initial-scale pods are ready
      // (kpa.go computeActiveCondition, reference §1.5).
      const waiting = { reason: 'Deploying', message: `waiting for initial-scale: ${ready} of ${initialScale} pods ready` };
      conds = setCondition(conds, { type: 'ContainerHealthy', status: 'True' }, now);
      conds = setCondition(conds, { type: 'ResourcesAvailable', status: 'Unknown', ...waiting }, now);
      conds = setCondition(conds, { type: 'Ready', status: 'Unknown', ...waiting }, now);
    } else if (ready > 0) {
      conds = setCondition(conds, { type: 'ContainerHealthy', status: 'True' }, now);
      conds = setCondition(conds, { type: 'ResourcesAvailable', status: 'True' }, now);
      conds = setCondition(conds, { type: 'Ready', status: 'True' }, now);
    } else if (!wasReady && !st?.failure && desired === 0 && initialScale === 0) {
      // initial-scale 0 (allow-zero-initial-scale): Knative marks the revision
      // Ready without starting a pod; the first request starts one.
      conds = setCondition(conds, { type: 'ContainerHealthy', status: 'Unknown', reason: 'NotStarted', message: 'initial-scale is 0: no pod has run yet' }, now);
      conds = setCondition(conds, { type: 'Ready', status: 'True' }, now);
    } else if (st?.failure) {
      const f = { reason: st.failure.reason, message: st.failure.message };
      conds = setCondition(conds, { type: 'ContainerHealthy', status: 'False', ...f }, now);
      // A revision that served before stays routable (pods restart with
      // backoff); one that never became ready has failed.
      if (!wasReady) conds = setCondition(conds, { type: 'Ready', status: 'False', ...f }, now);
    }
    conds = setCondition(conds, ready > 0 || desired > 0
      ? { type: 'Active', status: ready > 0 ? 'True' : 'Unknown', ...(ready > 0 ? {} : { reason: 'Activating', message: 'The revision is scaling up' }) }
      : { type: 'Active', status: 'False', reason: 'NoTraffic', message: 'The target is not receiving traffic.' }, now);
    const view = this.decisions.get(id);
    this.d.store.putStatus('revisions', ns, name, {
      ...prev,
      observedGeneration: rev.metadata.generation ?? 1,
      conditions: conds,
      actualReplicas: ready,
      desiredReplicas: desired,
      ...(view ? {
        autoscaler: {
          desiredScale: view.desired,
          actualScale: ready,
          panicMode: view.inPanic,
          observedStableValue: round2(view.stableAverage),
          observedPanicValue: round2(view.panicAverage),
          excessBurstCapacity: view.excessBurstCapacity,
          // Knative's SKS mode: Serve iff want > 0 and EBC ≥ 0, else Proxy
          // (activator in the path). Embedded, both paths are one throttler;
          // cluster mode will route by it.
          mode: view.desired > 0 && view.excessBurstCapacity >= 0 ? 'Serve' : 'Proxy',
        },
      } : {}),
    });
    if (isTrue(conds, 'Ready') !== wasReady || (!wasReady && getCondition(conds, 'Ready')?.status === 'False')) {
      const svc = rev.metadata.labels?.[SERVICE_LABEL];
      if (svc) this.enqueue(ns, svc);
    }
  }

  private cleanup(namespace: string, name: string): void {
    const { store } = this.d;
    for (const r of store.list('revisions', namespace, { namePrefix: `${name}-` })) {
      if (r.metadata.labels?.[SERVICE_LABEL] !== name) continue;
      this.deleteRevision(namespace, r.metadata.name);
    }
    this.d.dataPlane.deleteRoute(namespace, name);
    store.delete('configurations', namespace, name);
    store.delete('routes', namespace, name);
    this.d.events.forget('Service', namespace, name);
  }
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function split(id: RevisionId): [string, string] {
  const i = id.indexOf('/');
  return [id.slice(0, i), id.slice(i + 1)];
}

