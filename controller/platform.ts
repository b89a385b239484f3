import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { RevisionThrottler, type Backend } from '../activator/throttler.js';
import { createMultiscaler } from '../autoscaler/multiscaler.js';
import { StatsAggregator } from '../autoscaler/stats-aggregator.js';
import { realClock, type Clock } from '../core/clock.js';
import { resolveHpaSettings, resolveRevisionScaling } from '../core/config/autoscaler.js';
import { CONFIG_FILE_NAMES, PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { ZenoError } from '../core/errors.js';
import { createMetrics, type RevisionLabels, type ZenoMetrics } from '../core/metrics.js';
import { splitId, type KObject, type RevisionId } from '../core/types.js';
import { EventingController, recordTriggerOutcome } from '../eventing/broker/controller.js';
import { ApiServerSourceController, type ApiServerClient } from '../eventing/sources/apiserver.js';
import { BROKER_PATH_PREFIX, createBrokerIngress } from '../eventing/broker/ingress.js';
import { createDispatcher } from '../eventing/dispatcher/dispatcher.js';
import { viaLocalGateway } from '../gateway/local.js';
import type { EventLog } from '../eventing/log/event-log.js';
import { openJetStreamEventLog } from '../eventing/log/jetstream-log.js';
import { openSqliteEventLog } from '../eventing/log/sqlite-log.js';
import { CHANNEL_PATH_PREFIX, createChannelIngress } from '../eventing/flows/channel-ingress.js';
import { FlowsController } from '../eventing/flows/controller.js';
import { SourcesController } from '../eventing/sources/controller.js';
import { createLocalRuntime } from '../functions/local/index.js';
import type { DrainWaiter, FunctionRuntime } from '../functions/runtime.js';
import { mountAsyncCalls } from '../gateway/async/index.js';
import { createTracer, type OtelSettings } from '../gateway/otel.js';
import { RouteTable } from '../gateway/routes.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../core/http-server.js';
import { createGateway, sendError, jsonAccessLog, type RevisionHandle } from '../gateway/server.js';
import { Agent } from 'undici';
import { createAdminApi } from './admin-api.js';
import { createDashboard } from './dashboard.js';
import { DataPlaneFeed, registerDataPlaneEndpoints } from './dataplane-feed.js';
import { coldStartEvent, scaleEvent, watchConditionEvents } from './condition-events.js';
import { EventRecorder } from './events.js';
import { createServiceStats } from './top.js';
import { loadManifests, validateManifests } from './manifest.js';
import { CONFIG_NAMESPACE, configFromConfigMaps, type KnativeConfig } from './platform-config.js';
import { Reconciler } from './reconciler.js';
import { openSqliteStore } from './store.js';
import { validateConfigMap } from './validation/configmap.js';
import type { RuntimeKind } from './validation/context.js';

export interface PlatformOptions {
  port: number;
  adminPort: number;
  host: string;
  dataDir: string;
  /** YAML files of Knative ConfigMaps applied at start (`zeno up --config`). */
  configFiles: string[];
  log?: (line: string) => void;
  clock?: Clock;
  maxBodyBytes?: number;
  /** Warm Node runtime processes for Functions (default PLATFORM_DEFAULTS.warmPoolSize; 0 = off). */
  warmPoolSize?: number;
  /** Time a client has to send a whole request head (`zeno up --headers-timeout`; default PLATFORM_DEFAULTS.headersTimeoutMs). */
  headersTimeoutMs?: number;
  /** The gateway's lean server (`zeno up --lean-server`; default PLATFORM_DEFAULTS.gatewayLeanServer). */
  leanServer?: boolean;
  /** One JSON line per gateway request (`zeno up --access-log`); off when unset. */
  accessLog?: (line: string) => void;
  /** OpenTelemetry trace export (gateway/otel.ts otelSettingsFromEnv); off when unset. */
  otel?: OtelSettings;
  /**
   * NATS server with JetStream (`zeno up --nats`): the durable event log
   * lives there instead of in the data dir, shared by every instance on it.
   */
  natsUrl?: string;
  /** Names the stream and subjects on NATS (`zeno up --nats-prefix`, default `zeno`). */
  natsPrefix?: string;
  /**
   * Where functions run when not in local processes (`zeno up --runtime
   * kubernetes`): builds the runtime; the drain hook is the data plane's.
   * @default the local runtime
   */
  createRuntime?: (deps: { clock: Clock; drain: DrainWaiter; log: (line: string) => void }) => FunctionRuntime;
  /**
   * What createRuntime runs on, for validation on apply: on Kubernetes a
   * container runs its image, locally its command.
   * @default 'local' without createRuntime
   */
  runtimeKind?: RuntimeKind;
  /**
   * Leader election (cluster mode): the Service reconciler and the
   * autoscaler run only while this instance leads; a standby serves nothing
   * until it takes over. Without it this instance always leads.
   */
  leaderElection?: (hooks: LeaderHooks, deps: { clock: Clock; log: (line: string) => void }) => LeaderElection;
  /**
   * Knative's ConfigMaps from elsewhere (cluster mode: the platform
   * namespace's, functions/kubernetes/config-watch.ts), followed while the
   * platform runs. start() resolves after the first load, which the platform
   * waits for (up to PLATFORM_DEFAULTS.configSyncWaitMs) before reconciling.
   */
  configWatch?: (sink: ConfigSink, deps: { clock: Clock; log: (line: string) => void }) => { start(): Promise<void>; stop(): void };
  /**
   * The URL the gateway is reached at when that is not http://HOST:PORT
   * (`zeno up --gateway-url`; in a cluster, its Service): advertised in
   * statuses (Broker and Channel addresses, the port of Service URLs) and
   * used for the platform's own calls through the gateway.
   */
  gatewayUrl?: string;
  /**
   * The Kubernetes API for ApiServerSources (cluster mode). Without it they
   * are stored but not Ready (there is no API server to watch).
   */
  apiServerClient?: (deps: { clock: Clock; log: (line: string) => void }) => ApiServerClient;
  /**
   * The admin API's bearer token (`zeno up --token-file`, $ZENO_TOKEN), so
   * data-plane replicas can share it; random per start when unset.
   */
  token?: string;
}

/** Where followed ConfigMaps go: validated like an apply; an invalid one is logged and the previous settings stay. */
export interface ConfigSink {
  put(cm: KObject): void;
  delete(namespace: string, name: string): void;
  /** After a full list of a namespace: ConfigMaps stored from before and no longer there are dropped. */
  synced(namespace: string, names: string[]): void;
}

/** What the platform does when leadership comes and goes. */
export interface LeaderHooks {
  started(): void;
  stopped(): void;
}

/** A running election (functions/kubernetes/leader.ts's LeaderElector fits). */
export interface LeaderElection {
  start(): void;
  /** Stops campaigning; a leader releases its Lease. */
  stop(): Promise<void>;
}

export interface Platform {
  gatewayUrl: string;
  adminUrl: string;
  token: string;
  /** The platform's metrics (core/metrics.ts): eventing and async code records through it. */
  metrics: ZenoMetrics;
  /** Whether this instance runs the reconciler and autoscaler now (always, without leader election). */
  isLeader(): boolean;
  close(): Promise<void>;
}

function writePrivate(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/**
 * The SQLite files hold every resource as applied (env values included) and
 * every accepted event: owner-only (0600) even when the data dir is not
 * private. A new database is created empty with that mode before SQLite
 * opens it (its -wal and -shm files take the database file's mode); an
 * existing one, and its -wal and -shm, are chmodded.
 */
export function makePrivateDatabase(file: string): void {
  if (!fs.existsSync(file)) fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      fs.chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Claims the data dir for this process, refusing a second live platform on it. */
function lockDataDir(dir: string): () => void {
  const pidFile = path.join(dir, CONFIG_FILE_NAMES.pid);
  try {
    const other = Number(fs.readFileSync(pidFile, 'utf8').trim());
    if (other && other !== process.pid && pidAlive(other)) {
      throw new ZenoError('ZENO_ERR_DATA_DIR', `another zeno (pid ${other}) is already running with data dir ${dir}; stop it or use another --data-dir`);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.writeFileSync(pidFile, String(process.pid));
  return () => {
    try {
      if (fs.readFileSync(pidFile, 'utf8').trim() === String(process.pid)) fs.unlinkSync(pidFile);
    } catch {
      // already gone
    }
  };
}

/**
 * This instance's id, made once and kept in the data dir: instances sharing
 * one NATS name their own consumers with it (gateway/async/queue.ts).
 */
function instanceIdOf(dataDir: string): string {
  const file = path.join(dataDir, CONFIG_FILE_NAMES.instanceId);
  try {
    const id = fs.readFileSync(file, 'utf8').trim();
    if (/^[a-z0-9]{8,32}$/.test(id)) return id;
  } catch {
    // not made yet
  }
  const id = randomBytes(8).toString('hex');
  fs.writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/**
 * Wires the embedded platform: SQLite store, reconciler, local runtime,
 * autoscaler, activator/throttlers, gateway and admin API, in one process.
 */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const log = opts.log ?? (() => undefined);
  const clock = opts.clock ?? realClock;
  const runtimeKind: RuntimeKind = opts.runtimeKind ?? 'local';
  const dataDir = path.resolve(opts.dataDir);
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (e) {
    throw new ZenoError('ZENO_ERR_DATA_DIR', `cannot use data dir ${dataDir}: ${(e as Error).message}`);
  }

  // --config files are validated before anything starts: an invalid one starts nothing.
  const loaded = loadManifests(opts.configFiles);
  if (loaded.issues.length) throw new ZenoError('ZENO_ERR_INVALID_YAML', 'invalid --config file', { issues: loaded.issues });
  const cfgIssues = validateManifests(loaded.docs, { defaults: configFromConfigMaps([]).defaults, autoscaler: configFromConfigMaps([]).autoscaler });
  const notCm = loaded.docs.filter((doc) => doc.object.kind !== 'ConfigMap');
  for (const doc of notCm) cfgIssues.push({ path: 'kind', message: '--config files hold ConfigMaps only; use "zeno apply" for other resources', file: doc.file });
  if (cfgIssues.length) throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', 'invalid --config file', { issues: cfgIssues });

  const unlock = lockDataDir(dataDir);
  makePrivateDatabase(path.join(dataDir, CONFIG_FILE_NAMES.database));
  const store = openSqliteStore(path.join(dataDir, CONFIG_FILE_NAMES.database), { clock });
  store.transaction(() => {
    for (const doc of loaded.docs) {
      const cm = doc.object;
      store.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...cm.metadata, namespace: cm.metadata.namespace ?? CONFIG_NAMESPACE }, data: cm.data ?? {} });
    }
  });

  // One durable log for everything accepted with a 202 (broker events, async calls).
  let eventLog: EventLog;
  try {
    eventLog = opts.natsUrl
      ? await openJetStreamEventLog({ url: opts.natsUrl, clock, ...(opts.natsPrefix ? { prefix: opts.natsPrefix } : {}) })
      : (makePrivateDatabase(path.join(dataDir, CONFIG_FILE_NAMES.eventLog)), openSqliteEventLog(path.join(dataDir, CONFIG_FILE_NAMES.eventLog), { clock }));
  } catch (e) {
    // NATS unreachable: nothing has started yet.
    store.close();
    unlock();
    throw e;
  }

  let knative: KnativeConfig = configFromConfigMaps(store.list('configmaps'));
  const events = new EventRecorder(clock);
  const routes = new RouteTable();
  const handles = new Map<RevisionId, RevisionHandle>();
  const metrics = createMetrics();
  /** Knative's revision labels for metrics, from the stored Revision's labels. */
  const labelsOf = (id: RevisionId): RevisionLabels => {
    const { namespace, name } = splitId(id);
    const l = store.get('revisions', namespace, name)?.metadata.labels ?? {};
    return { namespace, revision: name, service: l['serving.knative.dev/service'] ?? '', configuration: l['serving.knative.dev/configuration'] ?? '' };
  };

  // Stats from data-plane replicas (`zeno up --role gateway`), summed with this process's own.
  const replicaStats = new StatsAggregator({ staleAfterMs: PLATFORM_DEFAULTS.dataPlaneStatsStaleMs });
  // What the replicas route with, kept in step with this process's own gateway.
  let gatewayPort = 0;
  let stopping = false;
  const feed = new DataPlaneFeed(() => gatewayPort);
  // Reconciler is created below; the runtime's drain hook and the scaler need the handles.
  const drain: DrainWaiter = async (podId, signal) => {
    // The pod already left routing (pod-unready went out on the feed before the drain starts).
    const seq = feed.seq();
    await Promise.all([...handles.values()].map((h) => h.throttler.waitForDrain(podId, signal)));
    // Replicas too: each must have applied that change and finished its requests on the pod.
    await waitForReplicaDrain(podId, seq, signal);
  };
  const waitForReplicaDrain = async (podId: string, seq: number, signal?: AbortSignal): Promise<void> => {
    const giveUpAt = clock.now() + PLATFORM_DEFAULTS.dataPlaneDrainMaxMs;
    // Stopping: the replicas lose their feed now, and the pods stop with the platform.
    while (!stopping && !replicaStats.podDrained(podId, seq, clock.now()) && clock.now() < giveUpAt) {
      if (signal?.aborted) return;
      await clock.sleep(PLATFORM_DEFAULTS.dataPlaneDrainPollMs, signal).catch(() => undefined);
    }
  };
  const runtime: FunctionRuntime = opts.createRuntime
    ? opts.createRuntime({ clock, drain, log })
    : createLocalRuntime({
        clock,
        ...(opts.warmPoolSize !== undefined ? { warmPoolSize: opts.warmPoolSize } : {}),
        drain,
      });
  let reconciler: Reconciler | undefined;
  /** Last desired count per revision and last cold-start event, for `zeno describe` events. */
  const lastScale = new Map<RevisionId, number>();
  const lastColdStart = new Map<string, number>();
  const stopConditionEvents = watchConditionEvents(store, events);
  const stopColdStartEvents = metrics.onActivity((a) => {
    if (a.kind !== 'cold-start') return;
    const key = `${a.labels.namespace}/${a.labels.revision}`;
    const ev = coldStartEvent(lastColdStart.get(key), clock.now(), a.waitMs);
    if (!ev) return;
    lastColdStart.set(key, clock.now());
    events.record('Revision', a.labels.namespace, a.labels.revision, ev.type, ev.reason, ev.message);
  });
  const scaler = createMultiscaler({
    clock,
    remote: replicaStats,
    config: () => knative.autoscaler,
    scale: (rev, n) => {
      // At zero a past failure says nothing about the next start: try again.
      const h = handles.get(rev);
      if (n === 0 && h) {
        h.failure = undefined;
        h.startedOnce = false;
        syncBackends(rev);
      }
      // The runtime first: on a scale from zero a warm process is specialized
      // here, and the bookkeeping below need not delay it.
      runtime.scale(rev, n);
      const ev = scaleEvent(lastScale.get(rev), n);
      lastScale.set(rev, n);
      if (ev) events.record('Revision', splitId(rev).namespace, splitId(rev).name, ev.type, ev.reason, ev.message);
      // The status refresh (SQLite writes, watch events) waits a turn of the
      // event loop: a scale from zero runs inside the cold request's
      // admission, and as a microtask the refresh would run before that
      // request is forwarded to the pod.
      setImmediate(() => {
        if (reconciling) reconciler?.markRevision(rev);
      });
    },
    readyPods: (rev) => runtime.readyPods(rev).length,
    onDecision: (rev, d) => {
      // A turn later, like the status refresh after a scale (above): a poke
      // decides inside the cold request's admission, and a changed decision
      // refreshes the revision's status.
      setImmediate(() => {
        if (reconciling) reconciler?.recordDecision(rev, d);
      });
      const m = handles.get(rev)?.metrics;
      if (m) metrics.recordDecision(m.labels, d);
    },
  });
  /**
   * Per revision, pods that listen and hold requests until their handler is
   * loaded, not ready yet (pod-listening with holdsRequests): the throttler
   * sends requests there only while no pod is ready.
   */
  const earlyPods = new Map<RevisionId, Map<string, Backend>>();
  const syncBackends = (rev: RevisionId) => {
    const h = handles.get(rev);
    // Not while the revision is failing: a restarted pod of a handler that
    // cannot load would only bounce the requests (they wait for the verdict).
    const early = h?.failure ? undefined : earlyPods.get(rev);
    const ready = runtime.readyPods(rev).map((p) => ({ id: p.id, url: p.url }));
    const earlyList = early ? [...early.values()] : [];
    h?.throttler.updateBackends(ready, earlyList);
    feed.setPods(rev, ready, earlyList, h?.failure?.message);
  };
  // A warm process of the pool gets its connection when it joins the pool,
  // not when a cold start specializes it: then the cold request is written
  // as soon as it is forwarded, not a turn of the event loop later (after the
  // connect completes), behind whatever else the platform does in that turn.
  runtime.onWarmListening?.((url) => gateway.preconnect(url, { untilTaken: true }));
  runtime.subscribe((e) => {
    if (e.type === 'pod-listening') {
      // The first request to a pod that is still importing its handler need not wait for the TCP connect…
      gateway.preconnect(e.pod.url);
      // …nor for the import to finish: it travels meanwhile and waits in the pod.
      if (e.holdsRequests) {
        let m = earlyPods.get(e.revision);
        if (!m) earlyPods.set(e.revision, (m = new Map()));
        m.set(e.pod.id, { id: e.pod.id, url: e.pod.url });
        syncBackends(e.revision);
      }
    }
    if (e.type === 'pod-ready' || e.type === 'pod-unready' || e.type === 'pod-exited') {
      const m = earlyPods.get(e.revision);
      if (m?.delete(e.pod.id) && m.size === 0) earlyPods.delete(e.revision);
      syncBackends(e.revision);
    }
    const h = handles.get(e.revision);
    if (!h) return;
    if (e.type === 'pod-ready' && h.metrics && e.pod.readyAt !== undefined) metrics.recordPodStart(h.metrics.labels, e.pod.readyAt - e.pod.startedAt);
    if (e.type === 'pod-ready' || e.type === 'revision-recovered') {
      const hadFailure = h.failure !== undefined;
      h.failure = undefined;
      h.startedOnce = true;
      if (hadFailure) syncBackends(e.revision);
    }
    // Better than Knative (which holds requests until they time out): when an
    // activation cannot succeed (no pod ever got ready), requests waiting for
    // it fail now, with why. A revision that did start and then crashes keeps
    // its requests queued while its pods restart.
    if (e.type === 'revision-failed' && !h.startedOnce) {
      h.failure = new ZenoError('ZENO_ERR_REVISION_FAILED', `revision ${e.revision} cannot start: ${e.failure.reason}: ${e.failure.message}`, { retryAfter: 1 });
      syncBackends(e.revision);
      if (!h.throttler.hasBackends()) h.throttler.failAll(h.failure);
    }
  });

  const maxBodyBytes = opts.maxBodyBytes ?? PLATFORM_DEFAULTS.maxBodyBytes;
  const httpLimits: HttpLimits = { ...DEFAULT_HTTP_LIMITS, headersTimeoutMs: opts.headersTimeoutMs ?? DEFAULT_HTTP_LIMITS.headersTimeoutMs };
  // Spans for the gateway, activator, broker deliveries and async calls, when configured.
  const tracer = opts.otel ? createTracer({ settings: opts.otel, clock, log }) : undefined;
  if (opts.otel) log(`zeno: exporting traces to ${opts.otel.url} as service "${opts.otel.serviceName}" (OTLP/HTTP JSON)`);
  const gateway = createGateway({
    clock,
    routes,
    ...(tracer ? { tracer } : {}),
    http: httpLimits,
    ...(opts.leanServer === undefined ? {} : { leanServer: opts.leanServer }),
    revision: (id) => handles.get(id),
    maxBodyBytes,
    ...(opts.accessLog ? { accessLog: jsonAccessLog(opts.accessLog) } : {}),
  });
  metrics.setServingSource(function* () {
    for (const [id, h] of handles) {
      if (!h.metrics) continue;
      yield { labels: h.metrics.labels, queueDepth: h.throttler.queued(), inFlight: h.throttler.inFlight(), readyPods: runtime.readyPods(id).length, requestedPods: scaler.desired(id) ?? 0 };
    }
  });
  const serveMetrics = async (res: import('node:http').ServerResponse): Promise<void> => {
    const body = await metrics.render();
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
    res.end(body);
  };
  // Prometheus scrapes the gateway port (like the design's contract) or the admin port with the token.
  gateway.mount('/metrics', (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    // Paths that only start with /metrics are nobody's: the same coded 404 as an unrouted request.
    if (path !== '/metrics') return sendError(res, new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', `no function is routed at path ${JSON.stringify((path ?? '').slice(0, 100))}`));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendError(res, new ZenoError('ZENO_ERR_METHOD_NOT_ALLOWED', '/metrics answers GET and HEAD'));
    }
    return serveMetrics(res);
  });
  let gatewayUrl = '';
  // POST /async-function/: calls kept in the event log, run through the gateway (docs/async.md).
  const asyncCalls = mountAsyncCalls({
    gateway, log: eventLog, routes, clock, maxBodyBytes, logLine: log, metrics: metrics.async,
    ...(tracer ? { tracer } : {}),
    instanceId: instanceIdOf(dataDir),
    gatewayUrl: () => gatewayUrl,
    service: (ns, name) => store.get('services', ns, name),
  });
  // Broker ingress (eventing/broker/ingress.ts): answers 202 once the event log has the event.
  // The Brokers that exist, kept from the store's watch: the ingress asks for every event, and store.get clones.
  const brokerKey = (ns: string, name: string) => `${ns}/${name}`;
  const brokers = new Set(store.list('brokers').map((b) => brokerKey(b.metadata.namespace ?? '', b.metadata.name)));
  store.watch((e) => {
    if (e.kind !== 'brokers') return;
    const k = brokerKey(e.object.metadata.namespace ?? '', e.object.metadata.name);
    if (e.type === 'DELETED') brokers.delete(k);
    else brokers.add(k);
  });
  gateway.mount(BROKER_PATH_PREFIX, createBrokerIngress({
    log: eventLog,
    clock,
    maxEventBytes: PLATFORM_DEFAULTS.maxEventBytes,
    hasBroker: (ns, name) => brokers.has(brokerKey(ns, name)),
    onAnswered: (a) => metrics.eventing.brokerEvent(a),
  }));
  const gwPort = await gateway.listen(opts.port, opts.host);
  gatewayPort = gwPort;
  const urlHost = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  gatewayUrl = opts.gatewayUrl?.replace(/\/+$/, '') ?? `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${gwPort}`;
  // Service URLs carry the port the gateway is reached at (none for 80/443), as Knative's do.
  const urlPort = new URL(gatewayUrl).port;
  void asyncCalls.start().catch((e: unknown) => log(`async: cannot load the queue: ${(e as Error).message}`));

  // ConfigMaps followed from the cluster: loaded before anything reconciles, like Knative's controllers.
  const configWatch = opts.configWatch?.({
    put(cm) {
      const issues = validateConfigMap(cm);
      if (issues.length) {
        log(`config: ConfigMap ${cm.metadata.namespace}/${cm.metadata.name} is invalid, the previous settings stay: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
        return;
      }
      store.put('configmaps', cm);
    },
    delete(namespace, name) {
      store.delete('configmaps', namespace, name);
    },
    synced(namespace, names) {
      for (const cm of store.list('configmaps', namespace)) if (!names.includes(cm.metadata.name)) store.delete('configmaps', namespace, cm.metadata.name);
    },
  }, { clock, log });
  if (configWatch) {
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const loaded = await Promise.race([
      configWatch.start().then(() => true),
      new Promise<false>((resolve) => (timer = realClock.setTimeout(() => resolve(false), PLATFORM_DEFAULTS.configSyncWaitMs))),
    ]);
    realClock.clearTimeout(timer);
    if (!loaded) log(`config: ConfigMaps not loaded within ${PLATFORM_DEFAULTS.configSyncWaitMs} ms; starting with the stored settings, updates apply when they arrive`);
    // The store's watch (below) follows later changes; what the first load stored counts from now.
    knative = configFromConfigMaps(store.list('configmaps'));
  }

  // Under leader election the reconciler and the autoscaler wait for the Lease.
  let leading = !opts.leaderElection;
  let reconciling = false;
  // Sources (PingSource, ContainerSource, SinkBinding): a SinkBinding's env reaches Services through the reconciler.
  // ApiServerSources watch the cluster; under leader election only the leader does (else each event goes out twice).
  const apiServerSources = new ApiServerSourceController({
    store, clock, gatewayUrl, log,
    ...(opts.apiServerClient ? { client: opts.apiServerClient({ clock, log }) } : {}),
  });
  // Runs only while leading (a PingSource on two instances would fire twice); a controller is not restartable, so each lead gets a new one.
  const newSources = () => new SourcesController({ store, clock, gatewayUrl, defaultBaseDir: process.cwd(), log, onBindingsChanged: () => { if (reconciling) reconciler?.resyncAll(); } });
  let sources = newSources();
  let sourcesState: 'idle' | 'running' | 'closed' = 'idle';
  // Channels (addressed on the gateway, backed by the event log), Subscriptions, Sequences, Parallels.
  const flows = new FlowsController({
    store, clock, log: eventLog, gatewayUrl, logLine: log, consumerIdsByName: opts.natsUrl !== undefined,
    // A Subscription's ref to a Service is delivered through the gateway's routing in process, as a Trigger's is.
    agent: viaLocalGateway(gateway.local, () => gatewayUrl, new Agent({ keepAliveTimeout: 30_000 })),
  });
  gateway.mount(CHANNEL_PATH_PREFIX, createChannelIngress({ log: eventLog, exists: (ns, name) => store.get('channels', ns, name) !== undefined, maxBodyBytes, sendError }));

  reconciler = new Reconciler({
    bindingEnv: (svc) => sources.bindingEnv(svc),
    store,
    runtime,
    scaler,
    events,
    clock,
    defaultBaseDir: process.cwd(),
    initialScale: (annotations, cc) => {
      const s = resolveRevisionScaling(knative.autoscaler, annotations, cc);
      return s.maxScale > 0 ? Math.min(s.initialScale, s.maxScale) : s.initialScale;
    },
    hpaSettings: (annotations) => resolveHpaSettings(knative.autoscaler, annotations),
    config: () => ({ domain: knative.domain.domain, gc: knative.gc, urlPortSuffix: urlPort ? `:${urlPort}` : '' }),
    dataPlane: {
      addRevision(id, o) {
        if (handles.has(id)) return;
        handles.set(id, {
          throttler: new RevisionThrottler({
            clock,
            containerConcurrency: o.containerConcurrency,
            queueDepth: PLATFORM_DEFAULTS.activatorQueueDepth,
            retryAfterSeconds: PLATFORM_DEFAULTS.retryAfterSeconds,
            onQueued: () => scaler.poke(id),
          }),
          stats: scaler.statsFor(id),
          metrics: metrics.revision(labelsOf(id)),
          timeoutMs: o.timeoutMs,
          responseStartTimeoutMs: o.responseStartTimeoutMs,
          idleTimeoutMs: o.idleTimeoutMs,
        });
        feed.upsertRevision(id, { ...o, labels: labelsOf(id) });
        syncBackends(id);
      },
      removeRevision(id) {
        earlyPods.delete(id);
        lastScale.delete(id);
        lastColdStart.delete(id);
        const h = handles.get(id);
        h?.throttler.failAll(new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', `revision ${id} was deleted`));
        if (h?.metrics) metrics.forget(h.metrics.labels);
        handles.delete(id);
        feed.removeRevision(id);
        replicaStats.forget(id);
      },
      setRoute: (entry, domain, tags) => {
        routes.set(entry, domain, tags);
        feed.setRoute({ namespace: entry.namespace, service: entry.service, domain, targets: entry.targets, tags: [...tags] });
      },
      deleteRoute: (ns, name) => {
        routes.delete(ns, name);
        feed.deleteRoute(ns, name);
      },
    },
  });

  store.watch((e) => {
    if (e.kind !== 'configmaps') return;
    const next = configFromConfigMaps(store.list('configmaps'));
    const domainChanged = next.domain.domain !== knative.domain.domain;
    knative = next;
    if (domainChanged && reconciling) reconciler?.resyncAll();
  });
  const startLeading = (): void => {
    leading = true;
    scaler.setActive(true);
    if (!reconciling) reconciler?.start();
    reconciling = true;
    if (sourcesState === 'closed') sources = newSources();
    if (sourcesState !== 'running') sources.start();
    sourcesState = 'running';
    apiServerSources.setActive(true);
  };
  const stopLeading = (): void => {
    leading = false;
    if (reconciling) reconciler?.stop();
    reconciling = false;
    scaler.setActive(false);
    if (sourcesState === 'running') {
      sourcesState = 'closed';
      void sources.close().catch((e: unknown) => log(`sources: stopping: ${(e as Error).message}`));
    }
    apiServerSources.setActive(false);
  };
  if (leading) startLeading();
  else scaler.setActive(false);
  apiServerSources.setActive(leading);
  apiServerSources.start();
  flows.start();

  // Eventing: the dispatcher delivers each Trigger's events through the gateway; the controller keeps statuses and subscriptions.
  let eventing: EventingController | undefined;
  const dispatcher = createDispatcher({
    log: eventLog,
    clock,
    ...(tracer ? { tracer } : {}),
    // A Trigger's ref to a Service is delivered through the gateway's routing in process (gateway/local.ts).
    agent: viaLocalGateway(gateway.local, () => gatewayUrl, new Agent({ keepAliveTimeout: 30_000 })),
    closeAgent: true,
    logLine: log,
    onOutcome: (id, o) => {
      const t = eventing?.triggerOf(id);
      if (t) recordTriggerOutcome(metrics.eventing, t, o);
    },
    onRedelivery: (id) => {
      const t = eventing?.triggerOf(id);
      if (t) metrics.eventing.triggerRedelivered(t);
    },
  });
  eventing = new EventingController({
    store,
    log: eventLog,
    dispatcher,
    clock,
    gatewayUrl,
    brDefaults: () => knative.brDefaults,
    // Instances on one NATS share each Trigger's consumer (their stores give it different uids).
    consumerIdsByName: opts.natsUrl !== undefined,
    onError: (e) => log(`eventing: ${(e as Error).message}`),
  });
  eventing.start();

  const token = opts.token ?? randomBytes(32).toString('hex');
  const dashboard = createDashboard({ clock, token, store, runtime, metrics, events });
  const admin = createAdminApi({
    store,
    runtime,
    events,
    token,
    maxBodyBytes,
    http: { ...httpLimits, requestTimeoutMs: PLATFORM_DEFAULTS.adminRequestTimeoutMs },
    allowWithoutToken: (req) => dashboard.allows(req),
    config: () => knative,
    runtimeKind,
    info: () => ({ version: '0.1.0', gatewayUrl, domain: knative.domain.domain, runtime: runtimeKind, leader: leading }),
    decorate: (plural, obj) => (plural === 'triggers' ? eventing?.withDeliveryStats(obj) ?? obj : obj),
  });
  admin.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.contentType).header('cache-control', 'no-store');
    return metrics.render();
  });
  dashboard.register(admin);
  // `zeno top`: the dashboard's replica view plus windowed rates and latency.
  const serviceStats = createServiceStats({ clock, store, metrics, replicas: () => dashboard.state().services });
  serviceStats.register(admin);
  // Data-plane replicas: the route feed and their stats (controller/dataplane-feed.ts).
  const dataPlane = registerDataPlaneEndpoints(admin, { feed, stats: replicaStats, clock, poke: (rev) => scaler.poke(rev), log });
  let adminUrl: string;
  try {
    await admin.listen({ port: opts.adminPort, host: opts.host });
    const addr = admin.server.address();
    const adminPort = typeof addr === 'object' && addr ? addr.port : opts.adminPort;
    adminUrl = `http://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${adminPort}`;
  } catch (e) {
    serviceStats.close();
    dashboard.close();
    dataPlane.close();
    await asyncCalls.close(0);
    await apiServerSources.close();
    await sources.close();
    await flows.close();
    await gateway.close(0);
    eventing.stop();
    await dispatcher.close();
    await runtime.close();
    await eventLog.close();
    store.close();
    unlock();
    throw new ZenoError('ZENO_ERR_DATA_DIR', `cannot listen on admin port ${opts.adminPort}: ${(e as Error).message}`);
  }

  const election = opts.leaderElection?.({ started: startLeading, stopped: stopLeading }, { clock, log });
  election?.start();

  writePrivate(path.join(dataDir, CONFIG_FILE_NAMES.token), `${token}\n`);
  writePrivate(path.join(dataDir, CONFIG_FILE_NAMES.adminUrl), `${adminUrl}\n`);
  writePrivate(path.join(dataDir, CONFIG_FILE_NAMES.gatewayUrl), `${gatewayUrl}\n`);
  log(`zeno: gateway ${gatewayUrl}, admin ${adminUrl}, data dir ${dataDir}`);

  let closed: Promise<void> | undefined;
  return {
    gatewayUrl,
    adminUrl,
    token,
    metrics,
    isLeader: () => leading,
    close() {
      closed ??= (async () => {
        stopping = true;
        configWatch?.stop();
        stopConditionEvents();
        stopColdStartEvents();
        serviceStats.close();
        dashboard.close();
        dataPlane.close();
        await admin.close();
        await asyncCalls.close(10_000);
        // Deliveries in flight are aborted; the log hands them out again at the next start.
        eventing?.stop();
        await dispatcher.close();
        await gateway.close(10_000);
        // The last spans (of the requests that just finished) go out before the stop.
        await tracer?.close();
        scaler.close();
        if (reconciling) reconciler?.stop();
        reconciling = false;
        await apiServerSources.close();
        sourcesState = 'closed';
        await sources.close();
        await flows.close();
        for (const h of handles.values()) h.throttler.failAll(new ZenoError('ZENO_ERR_SHUTTING_DOWN', undefined, { retryAfter: 1 }));
        await runtime.close();
        // Released last: a standby takes over once this instance wrote its last.
        await election?.stop();
        await eventLog.close();
        store.close();
        unlock();
      })();
      return closed;
    },
  };
}
