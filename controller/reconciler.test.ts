import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { Condition, KObject, RevisionId, TrafficTarget } from '../core/types.js';
import type { FunctionRuntime, LogLine, PodInfo, PodTemplate, RevisionFailure, RevisionRuntimeStatus, RuntimeEvent } from '../functions/runtime.js';
import type { RouteEntry } from '../gateway/routes.js';
import { EventRecorder } from './events.js';
import { BASE_DIR_ANNOTATION, Reconciler, type DataPlanePort, type ScalerPort } from './reconciler.js';
import { openSqliteStore, type ResourceStore } from './store.js';
import { DEFAULT_GC_CONFIG, type GcConfig } from '../core/config/gc.js';

// ---- tiny fakes ----

/** Records calls; pods become ready only when a test says so. */
class FakeRuntime implements FunctionRuntime {
  calls: string[] = [];
  templates = new Map<RevisionId, PodTemplate>();
  private state = new Map<RevisionId, { desired: number; pods: PodInfo[]; failure?: RevisionFailure }>();
  private listeners = new Set<(e: RuntimeEvent) => void>();
  private seq = 0;

  deploy(t: PodTemplate): void {
    this.calls.push(`deploy ${t.id}`);
    this.templates.set(t.id, t);
    if (!this.state.has(t.id)) this.state.set(t.id, { desired: 0, pods: [] });
  }
  scale(rev: RevisionId, n: number): void {
    this.calls.push(`scale ${rev} ${n}`);
    const s = this.state.get(rev);
    if (s) s.desired = n;
  }
  async remove(rev: RevisionId): Promise<void> {
    this.calls.push(`remove ${rev}`);
    this.state.delete(rev);
  }
  status(rev: RevisionId): RevisionRuntimeStatus | undefined {
    const s = this.state.get(rev);
    if (!s) return undefined;
    const ready = s.pods.filter((p) => p.state === 'ready').length;
    return { desired: s.desired, ready, pods: s.pods, ...(s.failure ? { failure: s.failure } : {}) };
  }
  readyPods(rev: RevisionId): PodInfo[] {
    return (this.state.get(rev)?.pods ?? []).filter((p) => p.state === 'ready');
  }
  subscribe(l: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  logs(): LogLine[] {
    return [];
  }
  followLogs(): () => void {
    return () => undefined;
  }
  async close(): Promise<void> {}

  // test controls
  podReady(rev: RevisionId): void {
    const s = this.state.get(rev);
    if (!s) throw new Error(`not deployed: ${rev}`);
    const pod: PodInfo = { id: `${rev.split('/')[1]}-${++this.seq}`, revision: rev, url: `http://127.0.0.1:${40000 + this.seq}`, state: 'ready', restarts: 0, startedAt: 0, readyAt: 0 };
    s.pods.push(pod);
    delete s.failure;
    this.emit({ type: 'pod-ready', revision: rev, pod });
  }
  fail(rev: RevisionId, failure: RevisionFailure): void {
    const s = this.state.get(rev);
    if (!s) throw new Error(`not deployed: ${rev}`);
    s.failure = failure;
    this.emit({ type: 'revision-failed', revision: rev, failure });
  }
  private emit(e: RuntimeEvent): void {
    for (const l of this.listeners) l(e);
  }
}

type Upsert = Parameters<ScalerPort['upsert']>[1];
class FakeScaler implements ScalerPort {
  upserts: { rev: RevisionId; opts: Upsert }[] = [];
  removed: RevisionId[] = [];
  desiredOf = new Map<RevisionId, number>();
  upsert(rev: RevisionId, opts: Upsert): void {
    this.upserts.push({ rev, opts });
  }
  remove(rev: RevisionId): void {
    this.removed.push(rev);
  }
  desired(rev: RevisionId): number | undefined {
    return this.desiredOf.get(rev);
  }
  last(rev: RevisionId): Upsert | undefined {
    return this.upserts.filter((u) => u.rev === rev).at(-1)?.opts;
  }
}

class FakeDataPlane implements DataPlanePort {
  added = new Map<RevisionId, { containerConcurrency: number; timeoutMs: number }>();
  removed: RevisionId[] = [];
  routes = new Map<string, { entry: RouteEntry; domain: string; tags: Record<string, RevisionId> }>();
  deletedRoutes: string[] = [];
  addRevision(id: RevisionId, o: { containerConcurrency: number; timeoutMs: number }): void {
    this.added.set(id, o);
  }
  removeRevision(id: RevisionId): void {
    this.removed.push(id);
  }
  setRoute(entry: RouteEntry, domain: string, tags: Map<string, RevisionId>): void {
    this.routes.set(`${entry.namespace}/${entry.service}`, { entry: structuredClone(entry), domain, tags: Object.fromEntries(tags) });
  }
  deleteRoute(ns: string, service: string): void {
    this.deletedRoutes.push(`${ns}/${service}`);
    this.routes.delete(`${ns}/${service}`);
  }
}

// ---- harness ----

const DOMAIN = 'example.com';
const PORT = ':8080';
const INITIAL_SCALE = 'autoscaling.knative.dev/initial-scale';

let dir: string;
let store: ResourceStore;
let runtime: FakeRuntime;
let scaler: FakeScaler;
let dataPlane: FakeDataPlane;
let events: EventRecorder;
let clock: FakeClock;
let rec: Reconciler;
let gc: GcConfig = { ...DEFAULT_GC_CONFIG };

function newReconciler(): Reconciler {
  return new Reconciler({
    store, runtime, scaler, dataPlane, events, clock,
    config: () => ({ domain: DOMAIN, urlPortSuffix: PORT, gc }),
    defaultBaseDir: '/srv/fns',
    // Stand-in for config-autoscaler: the annotation, else Knative's default of 1.
    initialScale: (annotations) => Number(annotations[INITIAL_SCALE] ?? 1),
  });
}

beforeEach(() => {
  gc = { ...DEFAULT_GC_CONFIG };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-rec-'));
  clock = new FakeClock();
  store = openSqliteStore(path.join(dir, 'zeno.db'), { clock });
  runtime = new FakeRuntime();
  scaler = new FakeScaler();
  dataPlane = new FakeDataPlane();
  events = new EventRecorder(clock);
  rec = newReconciler();
  rec.start();
});

afterEach(() => {
  rec.stop();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The reconciler works in microtasks; this lets every queued one run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

interface SvcOpts {
  image?: string;
  templateName?: string;
  annotations?: Record<string, string>;
  traffic?: TrafficTarget[];
  serviceAnnotations?: Record<string, string>;
}
function service(name: string, o: SvcOpts = {}): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', ...(o.serviceAnnotations ? { annotations: o.serviceAnnotations } : {}) },
    spec: {
      template: {
        ...(o.templateName || o.annotations ? { metadata: { ...(o.templateName ? { name: o.templateName } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) } } : {}),
        spec: {
          containerConcurrency: 10,
          timeoutSeconds: 30,
          containers: [{ image: o.image ?? 'img:1', command: ['node', 'server.js'], workingDir: './hello', env: [{ name: 'GREETING', value: 'hi' }], ports: [{ containerPort: 9090 }] }],
        },
      },
      ...(o.traffic ? { traffic: o.traffic } : {}),
    },
  };
}

async function apply(name: string, o: SvcOpts = {}): Promise<void> {
  store.put('services', service(name, o));
  await settle();
}

const id = (rev: string): RevisionId => `default/${rev}`;
const get = (kind: 'services' | 'configurations' | 'revisions' | 'routes', name: string) => store.get(kind, 'default', name);
const conds = (o: KObject | undefined) => (o?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
const cond = (o: KObject | undefined, type: string) => conds(o).find((c) => c.type === type);
const status = (o: KObject | undefined) => (o?.status ?? {}) as Record<string, unknown>;
/** `Type=Status` for the listed condition types, for compact assertions. */
function condSummary(o: KObject | undefined, ...types: string[]): Record<string, string | undefined> {
  return Object.fromEntries(types.map((t) => [t, cond(o, t)?.status]));
}

async function ready(rev: string): Promise<void> {
  runtime.podReady(id(rev));
  await settle();
}

// ---- tests ----

describe('a new Service', () => {
  it('creates Configuration, Revision NAME-00001 and Route, and hands the revision to runtime, data plane and autoscaler', async () => {
    await apply('hello', { serviceAnnotations: { [BASE_DIR_ANNOTATION]: '/manifests' } });

    const svc = get('services', 'hello')!;
    const cfg = get('configurations', 'hello')!;
    expect(cfg.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'hello', uid: svc.metadata.uid, controller: true });
    expect(cfg.metadata.labels?.['serving.knative.dev/service']).toBe('hello');
    expect((cfg.spec as { template: unknown }).template).toEqual((svc.spec as { template: unknown }).template);

    const rev = get('revisions', 'hello-00001')!;
    expect(rev.metadata.labels).toMatchObject({
      'serving.knative.dev/service': 'hello',
      'serving.knative.dev/configuration': 'hello',
      'serving.knative.dev/configurationGeneration': '1',
    });
    expect(rev.metadata.annotations?.[BASE_DIR_ANNOTATION]).toBe('/manifests');
    expect(rev.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Configuration', name: 'hello', uid: cfg.metadata.uid });

    const route = get('routes', 'hello')!;
    expect(route.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'hello' });

    expect(runtime.calls).toEqual(['deploy default/hello-00001']);
    expect(runtime.templates.get(id('hello-00001'))).toEqual({
      id: 'default/hello-00001', namespace: 'default', service: 'hello', configuration: 'hello', revision: 'hello-00001',
      image: 'img:1', command: ['node', 'server.js'], args: [], workingDir: path.resolve('/manifests', 'hello'),
      env: { GREETING: 'hi' }, containerPort: 9090, timeoutSeconds: 30, containerConcurrency: 10,
    });
    expect(dataPlane.added.get(id('hello-00001'))).toEqual({ containerConcurrency: 10, timeoutMs: 30_000, responseStartTimeoutMs: 0, idleTimeoutMs: 0 });
    expect(scaler.last(id('hello-00001'))).toMatchObject({ containerConcurrency: 10, routed: true, initialScaleReached: false });
    // Nothing ready yet: traffic goes to the latest created revision so the activator can hold requests.
    expect(dataPlane.routes.get('default/hello')).toEqual({
      entry: { namespace: 'default', service: 'hello', targets: [{ revision: 'default/hello-00001', percent: 100 }] },
      domain: DOMAIN,
      tags: {},
    });
  });

  it('is Ready Unknown until a pod is ready, then Ready True with URL, latestReadyRevisionName and traffic', async () => {
    await apply('hello');
    const url = 'http://hello.default.example.com:8080';

    let svc = get('services', 'hello');
    expect(condSummary(svc, 'Ready', 'ConfigurationsReady', 'RoutesReady')).toEqual({ Ready: 'Unknown', ConfigurationsReady: 'Unknown', RoutesReady: 'Unknown' });
    expect(status(svc)).toMatchObject({ url, address: { url }, latestCreatedRevisionName: 'hello-00001', observedGeneration: 1 });
    expect(status(svc).latestReadyRevisionName).toBeUndefined();
    expect(cond(get('revisions', 'hello-00001'), 'Ready')?.status).toBe('Unknown');
    expect(cond(get('configurations', 'hello'), 'Ready')?.status).toBe('Unknown');
    // Waiting for a first ready revision is Unknown on the Route too, not False.
    expect(condSummary(get('routes', 'hello'), 'Ready', 'AllTrafficAssigned')).toEqual({ Ready: 'Unknown', AllTrafficAssigned: 'Unknown' });
    expect(cond(get('routes', 'hello'), 'Ready')?.reason).toBe('RevisionMissing');

    await ready('hello-00001');

    svc = get('services', 'hello');
    expect(condSummary(svc, 'Ready', 'ConfigurationsReady', 'RoutesReady')).toEqual({ Ready: 'True', ConfigurationsReady: 'True', RoutesReady: 'True' });
    expect(status(svc)).toMatchObject({
      url,
      latestCreatedRevisionName: 'hello-00001',
      latestReadyRevisionName: 'hello-00001',
      traffic: [{ revisionName: 'hello-00001', latestRevision: true, percent: 100 }],
    });
    const rev = get('revisions', 'hello-00001');
    expect(condSummary(rev, 'Ready', 'ContainerHealthy', 'ResourcesAvailable', 'Active')).toEqual({ Ready: 'True', ContainerHealthy: 'True', ResourcesAvailable: 'True', Active: 'True' });
    expect(status(rev)).toMatchObject({ actualReplicas: 1 });
    expect(status(get('configurations', 'hello'))).toMatchObject({ latestCreatedRevisionName: 'hello-00001', latestReadyRevisionName: 'hello-00001' });
    expect(condSummary(get('routes', 'hello'), 'Ready', 'AllTrafficAssigned')).toEqual({ Ready: 'True', AllTrafficAssigned: 'True' });
    expect(status(get('routes', 'hello'))).toMatchObject({ url });
    expect(events.list('default', 'Revision', 'hello-00001').map((e) => e.reason)).toContain('PodReady');
  });

  it('writes nothing new when reconciled again without a change', async () => {
    await apply('hello');
    await ready('hello-00001');
    const before = store.list('services').concat(store.list('revisions'), store.list('routes'), store.list('configurations'));
    rec.resyncAll();
    await settle();
    expect(runtime.calls).toEqual(['deploy default/hello-00001']);
    expect(store.list('services').concat(store.list('revisions'), store.list('routes'), store.list('configurations'))).toEqual(before);
  });
});

describe('a template change', () => {
  it('creates NAME-00002 and moves traffic only once it is ready', async () => {
    await apply('hello');
    await ready('hello-00001');
    await apply('hello', { image: 'img:2' });

    expect(get('revisions', 'hello-00002')?.metadata.labels?.['serving.knative.dev/configurationGeneration']).toBe('2');
    expect(runtime.calls).toEqual(['deploy default/hello-00001', 'deploy default/hello-00002']);
    // Not ready yet: the route stays on 00001, and the Service is not Ready.
    expect(dataPlane.routes.get('default/hello')?.entry.targets).toEqual([{ revision: 'default/hello-00001', percent: 100 }]);
    let svc = get('services', 'hello');
    expect(status(svc)).toMatchObject({ latestCreatedRevisionName: 'hello-00002', latestReadyRevisionName: 'hello-00001', observedGeneration: 2 });
    expect(cond(svc, 'Ready')?.status).toBe('Unknown');
    expect(cond(svc, 'RoutesReady')?.status).toBe('True');
    expect(scaler.last(id('hello-00002'))).toMatchObject({ routed: false });
    expect(scaler.last(id('hello-00001'))).toMatchObject({ routed: true });

    await ready('hello-00002');

    expect(dataPlane.routes.get('default/hello')?.entry.targets).toEqual([{ revision: 'default/hello-00002', percent: 100 }]);
    svc = get('services', 'hello');
    expect(cond(svc, 'Ready')?.status).toBe('True');
    expect(status(svc)).toMatchObject({ latestReadyRevisionName: 'hello-00002', traffic: [{ revisionName: 'hello-00002', latestRevision: true, percent: 100 }] });
    // The old revision stays (for rollback) but is no longer routed: it may scale to zero.
    expect(scaler.last(id('hello-00001'))).toMatchObject({ routed: false });
    expect(scaler.last(id('hello-00002'))).toMatchObject({ routed: true });
    expect(get('revisions', 'hello-00001')).toBeDefined();
  });

  it('does not create a revision for a label- or annotation-only Service change', async () => {
    await apply('hello');
    await apply('hello', { serviceAnnotations: { note: 'x' } });
    expect(store.list('revisions').map((r) => r.metadata.name)).toEqual(['hello-00001']);
  });

  it('uses template.metadata.name as the revision name, and refuses to reuse it for another template', async () => {
    await apply('hello', { templateName: 'hello-v1' });
    expect(store.list('revisions').map((r) => r.metadata.name)).toEqual(['hello-v1']);
    expect(runtime.calls).toEqual(['deploy default/hello-v1']);
    await ready('hello-v1');
    expect(status(get('services', 'hello'))).toMatchObject({ latestReadyRevisionName: 'hello-v1' });

    await apply('hello', { templateName: 'hello-v1', image: 'img:2' });
    const svc = get('services', 'hello');
    expect(cond(svc, 'ConfigurationsReady')).toMatchObject({ status: 'False', reason: 'RevisionNameTaken' });
    expect(cond(svc, 'Ready')?.status).toBe('False');
    expect(store.list('revisions').map((r) => r.metadata.name)).toEqual(['hello-v1']);
  });
});

describe('traffic', () => {
  it('splits by percent with tags: route targets, tag map, status.traffic with tag URLs', async () => {
    await apply('hello', { templateName: 'hello-v1' });
    await ready('hello-v1');
    await apply('hello', {
      templateName: 'hello-v2',
      image: 'img:2',
      traffic: [
        { revisionName: 'hello-v1', percent: 60, tag: 'old' },
        { latestRevision: true, percent: 40, tag: 'new' },
        { revisionName: 'hello-v1', percent: 0, tag: 'pinned' },
      ],
    });
    await ready('hello-v2');

    expect(dataPlane.routes.get('default/hello')).toEqual({
      entry: {
        namespace: 'default',
        service: 'hello',
        targets: [
          { revision: 'default/hello-v1', percent: 60, tag: 'old' },
          { revision: 'default/hello-v2', percent: 40, tag: 'new' },
        ],
      },
      domain: DOMAIN,
      tags: { old: 'default/hello-v1', new: 'default/hello-v2', pinned: 'default/hello-v1' },
    });
    const want = [
      { revisionName: 'hello-v1', latestRevision: false, percent: 60, tag: 'old', url: 'http://old-hello.default.example.com:8080' },
      { revisionName: 'hello-v2', latestRevision: true, percent: 40, tag: 'new', url: 'http://new-hello.default.example.com:8080' },
      { revisionName: 'hello-v1', latestRevision: false, percent: 0, tag: 'pinned', url: 'http://pinned-hello.default.example.com:8080' },
    ];
    expect(status(get('services', 'hello')).traffic).toEqual(want);
    expect(status(get('routes', 'hello')).traffic).toEqual(want);
    expect(cond(get('services', 'hello'), 'Ready')?.status).toBe('True');
    // Both revisions take traffic, so both are routed for the autoscaler.
    expect(scaler.last(id('hello-v1'))).toMatchObject({ routed: true });
    expect(scaler.last(id('hello-v2'))).toMatchObject({ routed: true });
  });

  it('reports RevisionMissing (RoutesReady False) for a revisionName that does not exist', async () => {
    await apply('hello', { traffic: [{ revisionName: 'hello-nope', percent: 100 }] });
    await ready('hello-00001');

    const svc = get('services', 'hello');
    expect(cond(svc, 'ConfigurationsReady')?.status).toBe('True');
    expect(cond(svc, 'RoutesReady')).toMatchObject({ status: 'False', reason: 'RevisionMissing' });
    expect(cond(svc, 'RoutesReady')?.message).toContain('hello-nope');
    expect(cond(svc, 'Ready')).toMatchObject({ status: 'False', reason: 'RevisionMissing' });
    expect(condSummary(get('routes', 'hello'), 'Ready', 'AllTrafficAssigned')).toEqual({ Ready: 'False', AllTrafficAssigned: 'False' });
    expect(dataPlane.routes.get('default/hello')?.entry.targets).toEqual([]);
  });

  it('keeps RevisionMissing False while also waiting for the first ready revision', async () => {
    // The missing target comes first; the latestRevision target after it must not hide it.
    await apply('hello', { traffic: [{ revisionName: 'hello-nope', percent: 50 }, { latestRevision: true, percent: 50 }] });
    const svc = get('services', 'hello');
    expect(cond(svc, 'RoutesReady')).toMatchObject({ status: 'False', reason: 'RevisionMissing' });
    expect(cond(svc, 'RoutesReady')?.message).toContain('hello-nope');
    expect(cond(svc, 'Ready')?.status).toBe('False');
  });
});

describe('failures', () => {
  it('marks a revision that failed before ever being ready Ready False with the reason, and the Service too', async () => {
    await apply('hello');
    runtime.fail(id('hello-00001'), { reason: 'ExitCode1', message: 'Container failed with: boom' });
    await settle();

    const rev = get('revisions', 'hello-00001');
    expect(cond(rev, 'Ready')).toMatchObject({ status: 'False', reason: 'ExitCode1', message: 'Container failed with: boom' });
    expect(cond(rev, 'ContainerHealthy')).toMatchObject({ status: 'False', reason: 'ExitCode1' });
    const svc = get('services', 'hello');
    expect(cond(svc, 'ConfigurationsReady')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(cond(svc, 'Ready')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(cond(svc, 'Ready')?.message).toContain('boom');
    expect(cond(get('configurations', 'hello'), 'Ready')).toMatchObject({ status: 'False', reason: 'RevisionFailed' });
    expect(cond(svc, 'RoutesReady')).toMatchObject({ status: 'False', reason: 'RevisionMissing' });
    expect(condSummary(get('routes', 'hello'), 'Ready', 'AllTrafficAssigned')).toEqual({ Ready: 'False', AllTrafficAssigned: 'False' });
    expect(events.list('default', 'Revision', 'hello-00001').map((e) => e.reason)).toContain('ExitCode1');
  });

  it('keeps a revision that served before Ready when it later fails (pods restart with backoff)', async () => {
    await apply('hello');
    await ready('hello-00001');
    // The only pod is gone and the runtime reports a failure.
    (runtime.status(id('hello-00001'))!.pods[0] as PodInfo).state = 'exited';
    runtime.fail(id('hello-00001'), { reason: 'ExitCode1', message: 'crash' });
    await settle();
    const rev = get('revisions', 'hello-00001');
    expect(cond(rev, 'Ready')?.status).toBe('True');
    expect(cond(rev, 'ContainerHealthy')).toMatchObject({ status: 'False', reason: 'ExitCode1' });
    expect(cond(get('services', 'hello'), 'Ready')?.status).toBe('True');
  });
});

describe('deleting a Service', () => {
  it('removes its revisions from runtime, autoscaler and data plane, and deletes Configuration, Revisions and Route', async () => {
    await apply('hello');
    await ready('hello-00001');
    await apply('hello', { image: 'img:2' });
    await apply('other');
    store.delete('services', 'default', 'hello');
    await settle();

    expect(runtime.calls.filter((c) => c.startsWith('remove')).sort()).toEqual(['remove default/hello-00001', 'remove default/hello-00002']);
    expect([...scaler.removed].sort()).toEqual(['default/hello-00001', 'default/hello-00002']);
    expect([...dataPlane.removed].sort()).toEqual(['default/hello-00001', 'default/hello-00002']);
    expect(dataPlane.deletedRoutes).toEqual(['default/hello']);
    expect(get('configurations', 'hello')).toBeUndefined();
    expect(get('routes', 'hello')).toBeUndefined();
    expect(store.list('revisions').map((r) => r.metadata.name)).toEqual(['other-00001']);
    expect(events.list('default', 'Service', 'hello')).toEqual([]);
    // The other Service is untouched.
    expect(dataPlane.routes.has('default/other')).toBe(true);
    expect(get('configurations', 'other')).toBeDefined();
  });
});

describe('initial scale and restarts', () => {
  it('marks a revision with initial-scale 0 Ready without any pod', async () => {
    await apply('lazy', { annotations: { [INITIAL_SCALE]: '0' } });
    const rev = get('revisions', 'lazy-00001');
    expect(cond(rev, 'Ready')?.status).toBe('True');
    expect(cond(rev, 'ContainerHealthy')).toMatchObject({ status: 'Unknown', reason: 'NotStarted' });
    expect(cond(rev, 'Active')).toMatchObject({ status: 'False', reason: 'NoTraffic' });
    expect(status(rev)).toMatchObject({ actualReplicas: 0, desiredReplicas: 0 });
    expect(cond(get('services', 'lazy'), 'Ready')?.status).toBe('True');
    expect(status(get('services', 'lazy')).latestReadyRevisionName).toBe('lazy-00001');
  });

  it('does not mark an initial-scale 1 revision Ready without a pod', async () => {
    await apply('eager');
    expect(cond(get('revisions', 'eager-00001'), 'Ready')?.status).toBe('Unknown');
  });

  it('upserts a revision restored Ready with initialScaleReached true, and redeploys it', async () => {
    await apply('hello');
    await ready('hello-00001');
    expect(scaler.upserts.map((u) => u.opts.initialScaleReached)).toEqual([false]);

    // A restart: fresh reconciler, runtime, scaler and data plane; the same store.
    rec.stop();
    runtime = new FakeRuntime();
    scaler = new FakeScaler();
    dataPlane = new FakeDataPlane();
    rec = newReconciler();
    rec.start();
    await settle();

    expect(runtime.calls).toEqual(['deploy default/hello-00001']);
    expect(scaler.last(id('hello-00001'))).toMatchObject({ routed: true, initialScaleReached: true });
    expect(dataPlane.routes.get('default/hello')?.entry.targets).toEqual([{ revision: 'default/hello-00001', percent: 100 }]);
    // No pod is up yet in the new process, but a revision that served stays Ready.
    expect(cond(get('services', 'hello'), 'Ready')?.status).toBe('True');
  });
});

describe('revision GC (config-gc)', () => {
  const rollTwice = async (first: SvcOpts = {}) => {
    await apply('hello', first);
    await ready('hello-00001');
    await apply('hello', { image: 'img:2' });
    await ready('hello-00002');
  };

  it('records the routing state Knative GC reads', async () => {
    await rollTwice();
    const old = get('revisions', 'hello-00001')!;
    expect(old.metadata.labels?.['serving.knative.dev/routingState']).toBe('reserve');
    expect(old.metadata.annotations?.['serving.knative.dev/routingStateModified']).toBe(new Date(clock.now()).toISOString());
    expect(get('revisions', 'hello-00002')!.metadata.labels?.['serving.knative.dev/routingState']).toBe('active');
  });

  it('keeps unrouted revisions within min-non-active-revisions (default 20), however old', async () => {
    gc = { ...DEFAULT_GC_CONFIG, retainSinceCreateTimeMs: 1_000, retainSinceLastActiveTimeMs: 1_000 };
    await rollTwice();
    clock.advance(60_000);
    await settle();
    expect(get('revisions', 'hello-00001')).toBeDefined();
  });

  it('deletes an unrouted revision past both retention times, at the periodic check', async () => {
    gc = { retainSinceCreateTimeMs: 1_000, retainSinceLastActiveTimeMs: 1_000, minNonActiveRevisions: 0, maxNonActiveRevisions: 1000 };
    await rollTwice();
    expect(get('revisions', 'hello-00001')).toBeDefined();
    clock.advance(60_000);
    await settle();
    expect(get('revisions', 'hello-00001')).toBeUndefined();
    expect(runtime.calls).toContain('remove default/hello-00001');
    expect(scaler.removed).toContain('default/hello-00001');
    // The routed, latest revision is never collected.
    expect(get('revisions', 'hello-00002')).toBeDefined();
    expect(events.list('default', 'Service', 'hello').some((e) => e.reason === 'RevisionCollected')).toBe(true);
  });

  it('never deletes a revision annotated serving.knative.dev/no-gc', async () => {
    gc = { retainSinceCreateTimeMs: 0, retainSinceLastActiveTimeMs: 0, minNonActiveRevisions: 0, maxNonActiveRevisions: 0 };
    await rollTwice({ annotations: { 'serving.knative.dev/no-gc': 'true' } });
    clock.advance(60_000);
    await settle();
    expect(get('revisions', 'hello-00001')).toBeDefined();
  });
});
