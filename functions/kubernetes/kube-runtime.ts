/**
 * The FunctionRuntime on Kubernetes: each revision is a Deployment and a
 * Service (manifests.ts); scale() goes through the Deployment's scale
 * subresource; routable pods come from the Service's EndpointSlices, and pod
 * health (crash loops, image pulls) from the Pods, both through resumable
 * watches (watch.ts); logs are followed through the pods/log API.
 *
 * The interface is synchronous (the platform calls it from its hot paths),
 * so API writes run in the background, in order per revision, retried with
 * backoff; what the watches report is what status() and readyPods() return.
 */
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { realClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { RevisionId } from '../../core/types.js';
import { LineSplitter, RingBuffer } from '../local/log-buffer.js';
import type { FunctionRuntime, LogLine, PodInfo, RevisionFailure, RevisionRuntimeStatus, RuntimeEvent } from '../runtime.js';
import type { PodTemplate } from '../runtime.js';
import { buildDeployment, buildHpa, buildService, deploymentName, hpaName, LABELS, MANAGED_SELECTOR, serviceName, USER_CONTAINER, type SidecarSpec } from './manifests.js';
import { parseLogLine, podExit, podFailure, podRestarts, podState, sliceEndpoints, timeMs, type EndpointView } from './pod-state.js';
import { ResumableWatch, type KubeObject, type WatchSource } from './watch.js';

export interface KubernetesRuntimeOptions {
  kubeConfig: k8s.KubeConfig;
  /** Drives retry backoff. @default realClock */
  clock?: Clock;
  log?: (line: string) => void;
  /** Log lines kept per revision. @default PLATFORM_DEFAULTS.logLinesPerRevision */
  logLines?: number;
  /**
   * Whether this instance may write to the cluster (create, scale, delete)
   * from the start. Under leader election it starts false and follows the
   * Lease through setWritable(). @default true
   */
  writable?: boolean;
  /**
   * Cluster mode: every pod gets the queue-proxy-style sidecar
   * (functions/sidecar) that holds it to containerConcurrency, since several
   * gateways share the pods. Without it (one control plane outside the
   * cluster, `zeno up --runtime kubernetes`), the gateway's own breaker does.
   */
  sidecar?: SidecarSpec;
}

/** The Kubernetes runtime: a FunctionRuntime that can be told to stop writing (leader election). */
export interface KubernetesRuntime extends FunctionRuntime {
  /**
   * false: no more writes to the cluster (queued scale writes are dropped and
   * close() leaves the Deployments as they are, for the new leader); watches
   * keep running. true: writes again, and the next scale() of every revision
   * is sent even if this instance sent the same count before, since another
   * leader may have changed it meanwhile.
   */
  setWritable(writable: boolean): void;
}

/* eslint-disable @typescript-eslint/no-explicit-any */

interface Rev {
  template: PodTemplate;
  desired: number;
  /** Replicas last written to the scale subresource. */
  sent: number;
  pumping: boolean;
  created: Promise<boolean>;
  failure: RevisionFailure | undefined;
  logs: RingBuffer<LogLine>;
  /** Pod objects by name (from the Pod watch). */
  pods: Map<string, any>;
  /** Endpoints by pod name, merged over all the Service's slices. */
  endpoints: Map<string, EndpointView>;
  /** Pods currently announced as ready (id → info). */
  ready: Map<string, PodInfo>;
  readyAt: Map<string, number>;
  /** Pods that were ready at least once, and the progress-deadline timers of those not yet. */
  everReady: Set<string>;
  deadlines: Map<string, TimerHandle>;
  removed: boolean;
}

interface NamespaceWatches {
  slices: ResumableWatch;
  pods: ResumableWatch;
  /** slice name → its endpoints, so a slice's update replaces only its own. */
  sliceEndpoints: Map<string, { rev: RevisionId; endpoints: EndpointView[] }>;
}

/** An API error's HTTP status (client-node's ApiException has `code`). */
function statusOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown; statusCode?: unknown })?.code ?? (e as { statusCode?: unknown })?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

function describe(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  let parsed: any = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = undefined;
    }
  }
  if (parsed?.message) return `${statusOf(e) ?? ''} ${parsed.reason ?? ''}: ${parsed.message}`.trim();
  return (e as Error).message?.split('\n')[0] ?? String(e);
}

export function createKubernetesRuntime(opts: KubernetesRuntimeOptions): KubernetesRuntime {
  const kc = opts.kubeConfig;
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? (() => undefined);
  const logLines = opts.logLines ?? PLATFORM_DEFAULTS.logLinesPerRevision;
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
  const build = opts.sidecar ? { sidecar: opts.sidecar } : {};
  const watcher = new k8s.Watch(kc);
  const logApi = new k8s.Log(kc);
  const revisions = new Map<RevisionId, Rev>();
  const namespaces = new Map<string, NamespaceWatches>();
  const listeners = new Set<(e: RuntimeEvent) => void>();
  const followers = new Map<RevisionId, Set<(l: LogLine) => void>>();
  const logStreams = new Map<string, { abort(): void }>();
  let closed = false;
  let writable = opts.writable ?? true;

  function emit(e: RuntimeEvent): void {
    for (const l of [...listeners]) {
      try {
        l(e);
      } catch {
        // A broken listener must not stop the runtime or other listeners.
      }
    }
  }

  function source(namespace: string, kind: 'endpointslices' | 'pods'): WatchSource {
    const path = kind === 'pods' ? `/api/v1/namespaces/${namespace}/pods` : `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
    return {
      async list() {
        const res =
          kind === 'pods'
            ? await core.listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR })
            : await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: MANAGED_SELECTOR });
        return { items: res.items as KubeObject[], resourceVersion: res.metadata?.resourceVersion ?? '' };
      },
      async watch(resourceVersion, onEvent, onDone) {
        const ac = await watcher.watch(path, { resourceVersion, allowWatchBookmarks: true, labelSelector: MANAGED_SELECTOR }, onEvent, onDone);
        return { abort: () => ac.abort() };
      },
    };
  }

  function revOf(obj: any): RevisionId | undefined {
    const name = obj?.metadata?.labels?.[LABELS.revision];
    const ns = obj?.metadata?.namespace;
    return name && ns ? `${ns}/${name}` : undefined;
  }

  function watchNamespace(ns: string): void {
    if (namespaces.has(ns)) return;
    const w: NamespaceWatches = {
      sliceEndpoints: new Map(),
      slices: new ResumableWatch({
        source: source(ns, 'endpointslices'),
        clock,
        log: (l) => log(`kubernetes: endpointslices in ${ns}: ${l}`),
        onUpsert: (s) => {
          const rev = revOf(s);
          if (!rev) return;
          w.sliceEndpoints.set(s.metadata!.name!, { rev, endpoints: sliceEndpoints(s) });
          refreshEndpoints(w, rev);
        },
        onDelete: (s) => {
          const entry = w.sliceEndpoints.get(s.metadata!.name!);
          w.sliceEndpoints.delete(s.metadata!.name!);
          if (entry) refreshEndpoints(w, entry.rev);
        },
      }),
      pods: new ResumableWatch({
        source: source(ns, 'pods'),
        clock,
        log: (l) => log(`kubernetes: pods in ${ns}: ${l}`),
        onUpsert: (p) => {
          const rev = revisions.get(revOf(p) ?? '');
          if (!rev || rev.removed) return;
          if (!rev.pods.has(p.metadata!.name!)) watchDeadline(rev, p.metadata!.name!);
          rev.pods.set(p.metadata!.name!, p);
          const failure = podFailure(p);
          if (failure) setFailure(rev, failure);
          if (p?.status?.phase === 'Running' && !p.metadata?.deletionTimestamp) followPodLogs(rev, p.metadata!.name!);
          recompute(rev);
        },
        onDelete: (p) => {
          const name = p.metadata!.name!;
          logStreams.get(`${p.metadata!.namespace}/${name}`)?.abort();
          logStreams.delete(`${p.metadata!.namespace}/${name}`);
          const rev = revisions.get(revOf(p) ?? '');
          if (!rev || rev.removed) return;
          const known = rev.pods.get(name) ?? p;
          rev.pods.delete(name);
          clock.clearTimeout(rev.deadlines.get(name));
          rev.deadlines.delete(name);
          rev.everReady.delete(name);
          recompute(rev);
          const { code, signal } = podExit(p);
          emit({ type: 'pod-exited', revision: rev.template.id, pod: { ...info(rev, name, known), state: 'exited' }, code, signal });
        },
      }),
    };
    namespaces.set(ns, w);
    w.slices.start();
    w.pods.start();
  }

  /**
   * Knative's progress deadline, as the local runtime keeps it: a pod that is
   * not ready this long after it appeared fails the revision (the Deployment's
   * own progressDeadlineSeconds condition is not watched, the Pods are).
   */
  function watchDeadline(rev: Rev, name: string): void {
    if (rev.deadlines.has(name) || rev.everReady.has(name)) return;
    const deadlineMs = rev.template.progressDeadlineMs ?? PLATFORM_DEFAULTS.progressDeadlineMs;
    rev.deadlines.set(name, clock.setTimeout(() => {
      rev.deadlines.delete(name);
      const pod = rev.pods.get(name);
      if (rev.removed || !pod || rev.everReady.has(name) || pod.metadata?.deletionTimestamp) return;
      setFailure(rev, { reason: 'ProgressDeadlineExceeded', message: `Pod ${name} did not become ready within ${Math.round(deadlineMs / 1000)}s` });
    }, deadlineMs));
  }

  function clearDeadlines(rev: Rev): void {
    for (const t of rev.deadlines.values()) clock.clearTimeout(t);
    rev.deadlines.clear();
  }

  function refreshEndpoints(w: NamespaceWatches, id: RevisionId): void {
    const rev = revisions.get(id);
    if (!rev || rev.removed) return;
    rev.endpoints.clear();
    for (const { rev: r, endpoints } of w.sliceEndpoints.values()) {
      if (r !== id) continue;
      for (const ep of endpoints) rev.endpoints.set(ep.pod, ep);
    }
    recompute(rev);
  }

  function info(rev: Rev, name: string, pod: any): PodInfo {
    const ep = rev.endpoints.get(name);
    const out: PodInfo = {
      id: name,
      revision: rev.template.id,
      url: ep?.url ?? '',
      state: podState(pod, ep),
      restarts: podRestarts(pod),
      startedAt: timeMs(pod?.status?.startTime) ?? timeMs(pod?.metadata?.creationTimestamp) ?? clock.now(),
    };
    const readyAt = rev.readyAt.get(name);
    if (out.state === 'ready' && readyAt !== undefined) out.readyAt = readyAt;
    return out;
  }

  function allPods(rev: Rev): PodInfo[] {
    const names = new Set([...rev.pods.keys(), ...rev.endpoints.keys()]);
    return [...names].sort().map((n) => info(rev, n, rev.pods.get(n)));
  }

  /** Announces what changed in the revision's ready set. */
  function recompute(rev: Rev): void {
    const now = new Map<string, PodInfo>();
    for (const p of allPods(rev)) {
      if (p.state !== 'ready') continue;
      if (!rev.readyAt.has(p.id)) rev.readyAt.set(p.id, clock.now());
      now.set(p.id, { ...p, readyAt: rev.readyAt.get(p.id)! });
    }
    for (const [id, was] of rev.ready) {
      if (now.has(id)) continue;
      rev.ready.delete(id);
      rev.readyAt.delete(id);
      const pod = rev.pods.get(id);
      emit({ type: 'pod-unready', revision: rev.template.id, pod: pod || rev.endpoints.has(id) ? info(rev, id, pod) : { ...was, state: 'exited' } });
    }
    for (const [id, p] of now) {
      if (rev.ready.has(id)) continue;
      rev.ready.set(id, p);
      rev.everReady.add(id);
      clock.clearTimeout(rev.deadlines.get(id));
      rev.deadlines.delete(id);
      emit({ type: 'pod-ready', revision: rev.template.id, pod: p });
      if (rev.failure) {
        rev.failure = undefined;
        emit({ type: 'revision-recovered', revision: rev.template.id });
      }
    }
  }

  function setFailure(rev: Rev, failure: RevisionFailure): void {
    if (rev.failure?.reason === failure.reason && rev.failure.message === failure.message) return;
    rev.failure = failure;
    emit({ type: 'revision-failed', revision: rev.template.id, failure });
  }

  function addLog(rev: Rev, entry: LogLine): void {
    rev.logs.push(entry);
    for (const f of [...(followers.get(rev.template.id) ?? [])]) {
      try {
        f(entry);
      } catch {
        // same as emit()
      }
    }
  }

  function followPodLogs(rev: Rev, pod: string): void {
    const key = `${rev.template.namespace}/${pod}`;
    if (logStreams.has(key) || closed) return;
    const stream = new PassThrough();
    const splitter = new LineSplitter((raw) => {
      const { time, line } = parseLogLine(raw, clock.now());
      // The API merges a container's stdout and stderr into one stream.
      if (!rev.removed) addLog(rev, { time, pod, stream: 'stdout', line });
    });
    stream.on('data', (b: Buffer) => splitter.write(b));
    stream.on('end', () => splitter.end());
    let abort: (() => void) | undefined;
    let stopped = false;
    logStreams.set(key, {
      abort: () => {
        stopped = true;
        abort?.();
      },
    });
    logApi
      .log(rev.template.namespace, pod, USER_CONTAINER, stream, { follow: true, timestamps: true })
      .then((ac) => {
        abort = () => ac.abort();
        if (stopped) ac.abort();
      })
      .catch((e: unknown) => {
        logStreams.delete(key);
        if (!stopped) log(`kubernetes: logs of ${key}: ${describe(e)}`);
      });
  }

  /** Retries an API call with backoff until it succeeds, gives a final answer, or the revision is gone. */
  async function withRetry<T>(rev: Rev, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; ; attempt++) {
      if (closed && what !== 'scale') return undefined;
      try {
        return await fn();
      } catch (e) {
        const code = statusOf(e);
        if (code !== undefined && code >= 400 && code < 500 && code !== 409 && code !== 429) throw e;
        if (code === 409) throw e;
        if (rev.removed || closed) return undefined;
        log(`kubernetes: ${what} ${rev.template.id}: ${describe(e)}; retrying`);
        await clock.sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)));
      }
    }
  }

  async function createObjects(rev: Rev): Promise<boolean> {
    const t = rev.template;
    // With the HPA class the HorizontalPodAutoscaler owns replicas; Knative creates the Deployment at its
    // initial scale (deploy.go), and the HPA takes over from there (it never goes below 1).
    const built = buildDeployment(t, t.hpa ? Math.max(1, t.hpa.minScale, t.hpa.initialScale) : 0, build);
    if (!built.ok) {
      setFailure(rev, built.failure);
      return false;
    }
    try {
      await withRetry(rev, 'create service', () =>
        core.createNamespacedService({ namespace: t.namespace, body: buildService(t, build) as k8s.V1Service }).catch((e: unknown) => {
          if (statusOf(e) === 409) return undefined; // already there: revisions are immutable, adopt it
          throw e;
        }),
      );
      await withRetry(rev, 'create deployment', () =>
        apps.createNamespacedDeployment({ namespace: t.namespace, body: built.object as k8s.V1Deployment }).catch((e: unknown) => {
          if (statusOf(e) === 409) return undefined;
          throw e;
        }),
      );
      const hpa = t.hpa;
      if (hpa) {
        await withRetry(rev, 'create horizontalpodautoscaler', () =>
          autoscaling
            .createNamespacedHorizontalPodAutoscaler({ namespace: t.namespace, body: buildHpa(t, hpa) as k8s.V2HorizontalPodAutoscaler })
            .catch((e: unknown) => {
              if (statusOf(e) === 409) return undefined;
              throw e;
            }),
        );
      }
      return !rev.removed;
    } catch (e) {
      setFailure(rev, { reason: 'KubernetesApiError', message: describe(e) });
      return false;
    }
  }

  /** Sends the latest desired replica count to the scale subresource, one write at a time. */
  async function pump(rev: Rev): Promise<void> {
    if (rev.pumping) return;
    rev.pumping = true;
    try {
      if (!(await rev.created)) return;
      while (!rev.removed && rev.sent !== rev.desired) {
        if (!writable) return;
        const replicas = rev.desired;
        const t = rev.template;
        try {
          // No resourceVersion: an unconditional update of spec.replicas (the scale registry allows it).
          await withRetry(rev, 'scale', () =>
            apps.replaceNamespacedDeploymentScale({
              name: deploymentName(t.revision),
              namespace: t.namespace,
              body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: deploymentName(t.revision), namespace: t.namespace }, spec: { replicas } },
            }),
          );
          rev.sent = replicas;
        } catch (e) {
          log(`kubernetes: scale ${t.id} to ${replicas}: ${describe(e)}`);
          setFailure(rev, { reason: 'KubernetesApiError', message: describe(e) });
          return;
        }
      }
    } finally {
      rev.pumping = false;
    }
  }

  return {
    deploy(template) {
      if (revisions.has(template.id) || closed) return;
      const rev: Rev = {
        template: structuredClone(template),
        desired: 0,
        sent: 0,
        pumping: false,
        created: Promise.resolve(false),
        failure: undefined,
        logs: new RingBuffer<LogLine>(logLines),
        pods: new Map(),
        endpoints: new Map(),
        ready: new Map(),
        readyAt: new Map(),
        everReady: new Set(),
        deadlines: new Map(),
        removed: false,
      };
      revisions.set(template.id, rev);
      watchNamespace(template.namespace);
      rev.created = createObjects(rev);
      // What the watches saw before this revision was known.
      const w = namespaces.get(template.namespace)!;
      for (const p of w.pods.items()) {
        if (revOf(p) !== template.id) continue;
        watchDeadline(rev, p.metadata!.name!);
        rev.pods.set(p.metadata!.name!, p);
      }
      refreshEndpoints(w, template.id);
    },

    scale(revision, replicas) {
      const rev = revisions.get(revision);
      if (!rev || rev.removed) return;
      // The HPA class: the HorizontalPodAutoscaler scales the Deployment, not us.
      if (rev.template.hpa) return;
      rev.desired = Math.max(0, Math.floor(replicas));
      if (closed) return;
      void pump(rev);
    },

    async remove(revision) {
      const rev = revisions.get(revision);
      if (!rev) return;
      rev.removed = true;
      rev.desired = 0;
      clearDeadlines(rev);
      for (const p of rev.ready.values()) emit({ type: 'pod-unready', revision, pod: { ...p, state: 'terminating' } });
      rev.ready.clear();
      revisions.delete(revision);
      for (const pod of rev.pods.keys()) {
        logStreams.get(`${rev.template.namespace}/${pod}`)?.abort();
        logStreams.delete(`${rev.template.namespace}/${pod}`);
      }
      await rev.created.catch(() => false);
      const t = rev.template;
      const ignore404 = (e: unknown) => {
        if (statusOf(e) !== 404) log(`kubernetes: remove ${revision}: ${describe(e)}`);
      };
      // Background propagation: the garbage collector deletes the pods (each with its grace period).
      if (t.hpa) await autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: hpaName(t.revision), namespace: t.namespace }).catch(ignore404);
      await apps.deleteNamespacedDeployment({ name: deploymentName(t.revision), namespace: t.namespace, propagationPolicy: 'Background' }).catch(ignore404);
      await core.deleteNamespacedService({ name: serviceName(t.revision), namespace: t.namespace }).catch(ignore404);
    },

    status(revision) {
      const rev = revisions.get(revision);
      if (!rev) return undefined;
      const pods = allPods(rev);
      // With the HPA class the HPA decides: its pods are the desired count as far as we know.
      const desired = rev.template.hpa ? pods.filter((p) => p.state !== 'exited' && p.state !== 'terminating').length : rev.desired;
      const out: RevisionRuntimeStatus = { desired, ready: pods.filter((p) => p.state === 'ready').length, pods };
      if (rev.failure) out.failure = { ...rev.failure };
      return out;
    },

    readyPods(revision) {
      const rev = revisions.get(revision);
      return rev ? [...rev.ready.values()].map((p) => ({ ...p })) : [];
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    logs(revision, o) {
      return revisions.get(revision)?.logs.tail(o?.tail) ?? [];
    },

    followLogs(revision, listener) {
      const set = followers.get(revision) ?? new Set<(l: LogLine) => void>();
      followers.set(revision, set);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && followers.get(revision) === set) followers.delete(revision);
      };
    },

    /**
     * Scales every revision to zero (its pods drain and stop on the cluster;
     * the Deployments stay, so a restarted control plane adopts them), then
     * stops watching.
     */
    setWritable(on) {
      if (on && !writable) for (const rev of revisions.values()) rev.sent = -1;
      writable = on;
    },

    async close() {
      if (closed) return;
      closed = true;
      // Not the leader: the Deployments are the new leader's to scale.
      if (!writable) for (const rev of revisions.values()) rev.sent = 0;
      await Promise.all(
        [...revisions.values()].map(async (rev) => {
          rev.desired = 0;
          // The HPA class: the HorizontalPodAutoscaler owns the replicas, leave them.
          if (rev.template.hpa) return;
          if (!(await rev.created.catch(() => false)) || rev.sent === 0) return;
          const t = rev.template;
          await apps
            .replaceNamespacedDeploymentScale({
              name: deploymentName(t.revision),
              namespace: t.namespace,
              body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: deploymentName(t.revision), namespace: t.namespace }, spec: { replicas: 0 } },
            })
            .then(() => (rev.sent = 0))
            .catch((e: unknown) => log(`kubernetes: scale ${t.id} to 0 on close: ${describe(e)}`));
        }),
      );
      for (const rev of revisions.values()) clearDeadlines(rev);
      for (const w of namespaces.values()) {
        w.slices.stop();
        w.pods.stop();
      }
      for (const s of logStreams.values()) s.abort();
      logStreams.clear();
    },
  };
}
