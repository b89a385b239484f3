/**
 * Zeno's own settings (not Knative ConfigMap keys): the single source of
 * defaults for ports, limits and timings of the embedded platform.
 * Knative's keys live beside this file (autoscaler.ts, defaults.ts, domain.ts).
 */
export const PLATFORM_DEFAULTS = Object.freeze({
  /**
   * Leader election in cluster mode (functions/kubernetes/leader.ts): the
   * Lease's name (in the namespace of the kubeconfig's context, or the pod's),
   * and client-go's timings (LeaseDuration 15 s, RenewDeadline 10 s,
   * RetryPeriod 2 s): a standby takes over at most 15 s after the leader last
   * renewed, at once when the leader stops and releases the Lease.
   */
  leaseName: 'zeno-controller',
  leaseDurationMs: 15_000,
  leaseRenewDeadlineMs: 10_000,
  leaseRetryPeriodMs: 2_000,
  /** Cluster mode: how long start waits for the first load of the cluster's ConfigMaps before reconciling with what is stored. */
  configSyncWaitMs: 5_000,
  /** Gateway (data plane) port: Knative's ingress, OpenFaaS's gateway. */
  gatewayPort: 8080,
  /** Admin API port. */
  adminPort: 8081,
  /** Loopback unless told otherwise (secure by default). */
  host: '127.0.0.1',
  dataDir: '.zeno',
  /** Largest request body the gateway forwards (10 MiB). */
  maxBodyBytes: 10 * 1024 * 1024,
  /**
   * Largest request head (request line plus headers) the gateway and the
   * admin API read; more is answered 431 ZENO_ERR_HEADERS_TOO_LARGE. Node's
   * own default (16 KiB), written down here so it is one of our settings
   * (nginx allows 4 × 8 KiB header buffers).
   */
  maxHeaderBytes: 16 * 1024,
  /**
   * A client has this long from connecting (or from the end of its previous
   * request on a kept-alive connection) to send the whole request head;
   * then it gets 408 ZENO_ERR_CLIENT_TIMEOUT and is cut off. Bounds slowloris
   * connections that trickle headers. Node's default is 60 s; nginx's
   * client_header_timeout is 60 s; 10 s is plenty on loopback and LANs.
   * `zeno up --headers-timeout` changes it.
   */
  headersTimeoutMs: 10_000,
  /**
   * How often Node looks for connections past headersTimeoutMs (its
   * connectionsCheckingInterval, default 30 s, which would let a slowloris
   * connection live up to 40 s instead of 10 s).
   */
  connectionsCheckingIntervalMs: 1_000,
  /**
   * Time to receive a whole request (head and body) on the admin API
   * (Node's requestTimeout; its default is 300 s). The gateway sets none:
   * a function's request is bounded by its revision's timeoutSeconds, which
   * covers a slow upload too.
   */
  adminRequestTimeoutMs: 60_000,
  /**
   * Idle kept-alive connections are closed after this long (Node's
   * keepAliveTimeout, default 5 s). Above the 60 s idle timeout of common
   * load balancers, so they never reuse a connection we are closing.
   */
  keepAliveTimeoutMs: 65_000,
  /**
   * The gateway's lean server (gateway/lean.ts): plain GET/HEAD requests
   * to a function with a ready pod are read and answered on the socket
   * without Node's http.Server objects, which costs about a sixth less CPU
   * per proxied request; everything else is handed to Node's server as
   * before. Off = Node's server for every request (for A/B runs).
   */
  gatewayLeanServer: true,
  /**
   * Connections to one pod that the gateway's own client (gateway/upstream.ts)
   * keeps busy for the platform's in-process requests (event deliveries);
   * past it they wait, first come first served, for one to be free. Every
   * Trigger may have triggerMaxInFlight deliveries at once, so without a cap
   * 10 Triggers on one Service would open 1,000 connections to its pod.
   */
  ownClientMaxConnectionsPerPod: 256,
  /**
   * Deepest nesting of objects and arrays accepted in JSON the platform
   * parses (admin API bodies, CloudEvent data). Manifests nest about 10
   * levels; past a few thousand, walking the value overflows the stack, so
   * deeper input is refused with 400 (ZENO_ERR_BAD_REQUEST / ZENO_ERR_INVALID_EVENT).
   */
  maxJsonDepth: 256,
  /** Per-revision pending-request queue in the activator (Knative: 10000). */
  activatorQueueDepth: 10_000,
  /** Retry-After seconds sent with 503 when a queue is full. */
  retryAfterSeconds: 1,
  /**
   * Retry-After seconds sent when the event log cannot store an event or an
   * async call (NATS unreachable, disk full, data dir read-only): about the
   * NATS client's reconnect wait (2 s).
   */
  storageRetryAfterSeconds: 2,
  /**
   * Readiness check period until a pod is first ready, when no probe period is
   * given. queue-proxy uses 50 ms; we probe every 10 ms on purpose, because
   * this period is the granularity of a cold start (a loopback connect costs
   * about 0.1 ms), and it cut the cold-start tail by up to 40 ms.
   */
  defaultProbePeriodMs: 10,
  /** Per-attempt timeout of the default TCP probe (queue-proxy: 100 ms). */
  defaultProbeTimeoutMs: 100,
  /** A pod that is not ready this long after start fails the revision (Knative progress-deadline: 600s). */
  progressDeadlineMs: 600_000,
  /** Crash-restart backoff: base and cap, doubling (kubelet: 10 s base, 5 min cap; we start faster). */
  restartBackoffBaseMs: 100,
  restartBackoffMaxMs: 30_000,
  /**
   * How often the local runtime samples the resident memory of pods whose
   * container sets `resources.limits.memory` (one pass over /proc for all
   * of them); a pod past its limit is killed and reported OOMKilled.
   */
  memoryCheckMs: 250,
  /** A pod that ran this long without crashing resets its backoff. */
  restartBackoffResetMs: 60_000,
  /**
   * Generic Node runtime processes the local runtime keeps warm for
   * Node-runtime functions (Fission's pool, reference peers.md); 0 disables it.
   */
  warmPoolSize: 2,
  /** A ContainerSource process gets this long after SIGTERM before SIGKILL (Kubernetes' terminationGracePeriodSeconds is 30 s; local processes stop faster). */
  sourceGraceMs: 10_000,
  /** Lines of logs kept per revision for `zeno logs`. */
  logLinesPerRevision: 2_000,
  /** Autoscaler decision tick (Knative tickInterval) and stats collection period. */
  autoscalerTickMs: 2_000,
  statsPeriodMs: 1_000,
  /**
   * Data-plane replicas (`zeno up --role gateway`): a replica whose last
   * stats report is older than this is taken for dead and its stats stop
   * counting (three missed 1 s periods: one late report is jitter, three
   * are not).
   */
  dataPlaneStatsStaleMs: 3_000,
  /** The control plane writes a heartbeat line on each data-plane feed this often when nothing else changed. */
  dataPlaneHeartbeatMs: 5_000,
  /** A replica that read nothing on its feed for this long (three heartbeats) takes the connection for dead and reconnects. */
  dataPlaneFeedSilenceMs: 15_000,
  /** Feed reconnect backoff: base, doubling per failed attempt, capped (with jitter). */
  dataPlaneReconnectBaseMs: 100,
  dataPlaneReconnectMaxMs: 5_000,
  /**
   * Scale-down drain with data-plane replicas: how often the control plane
   * looks whether every replica has seen the pod leave and finished its
   * requests there (they report each stats period), and how long it waits
   * at most for them (Knative's queue-proxy drains for 30 s) before the pod
   * gets SIGTERM anyway (a function should finish in-flight work then).
   */
  dataPlaneDrainPollMs: 100,
  dataPlaneDrainMaxMs: 30_000,
  /**
   * A replica's calls to the control plane: a stats report or poke must be
   * answered within dataPlaneStatsTimeoutMs (else it counts as failed and the
   * next period tries again); a forwarded broker, channel or async call gets
   * dataPlaneForwardTimeoutMs for the answer head and between body pieces
   * (the control plane answers those once the log append is durable, which
   * takes milliseconds; a minute only covers a stalled store).
   */
  dataPlaneStatsTimeoutMs: 10_000,
  dataPlaneForwardTimeoutMs: 60_000,
  /** Bytes a slow replica may leave unread on its feed before the control plane cuts it off (it resyncs from a snapshot). */
  dataPlaneFeedMaxBufferedBytes: 8 * 1024 * 1024,
  /**
   * Per-attempt timeout of an event delivery when the delivery spec has no
   * `timeout` (Knative then has none of its own; 300 s is undici's and
   * Knative Serving's default request timeout, so a subscriber that hangs
   * frees its in-flight slot eventually).
   */
  eventDeliveryTimeoutMs: 300_000,
  /** While a subscription's subscriber cannot be resolved, how often the dispatcher looks again. */
  eventHoldRecheckMs: 1_000,
  /** Events a Channel Subscription may have outstanding (leased or waiting for a retry) at once. */
  subscriptionMaxInFlight: 100,
  /** Lease of a fetched channel event (the dispatcher raises it to cover two attempt timeouts). */
  subscriptionLeaseMs: 30_000,
  /** The dashboard's sampling period for its replicas-and-requests history and live updates. */
  dashboardSampleMs: 1_000,
  /** Samples of history kept per service (5 minutes at 1 s). */
  dashboardHistory: 300,
  /** Time `zeno apply` waits for Ready before giving up. */
  applyWaitMs: 120_000,
  /** The window `zeno top` computes requests per second and p50/p99 latency over (sampled every dashboardSampleMs). */
  topWindowMs: 10_000,
  /** How often `zeno top` redraws on a terminal, and non-TTY wait progress prints at most. */
  cliRefreshMs: 1_000,
  /** OpenTelemetry export (gateway/otel.ts): how often queued spans are sent (the SDK's BatchSpanProcessor: 5 s; 1 s here so traces show up while you look). */
  otelFlushMs: 1_000,
  /** Spans queued for export at most; more are dropped (the SDK's maxQueueSize). */
  otelMaxQueue: 2_048,
  /** One export request's timeout unless OTEL_EXPORTER_OTLP_TIMEOUT says (the spec's default, 10 s). */
  otelExportTimeoutMs: 10_000,
  /**
   * Largest CloudEvent a broker ingress accepts (the whole HTTP body). The
   * spec asks intermediaries to forward at least 64 KiB; 1 MiB is NATS'
   * default max_payload, so the same events fit the JetStream log.
   */
  maxEventBytes: 1024 * 1024,
  /**
   * Events a Trigger may have outstanding (being delivered, or waiting for a
   * retry): a slow or dead subscriber holds at most this many and never
   * blocks other Triggers (JetStream's MaxAckPending).
   */
  triggerMaxInFlight: 100,
  /** How often acked events are deleted from the event log. */
  eventLogCompactMs: 30_000,
  /**
   * The queue-proxy-style sidecar in cluster pods (functions/sidecar):
   * Knative's queue-proxy ports (pkg/networking/constants.go: 8012 serving,
   * 8022 admin), its breaker queue of 10 × containerConcurrency
   * (main.go buildBreaker), and its drain: stop once 30 s passed with no new
   * request (reference knative-serving.md §3), capped by the revision's
   * timeoutSeconds so the drain fits the pod's grace period.
   */
  sidecarServingPort: 8012,
  sidecarAdminPort: 8022,
  sidecarQueueDepthPerSlot: 10,
  sidecarDrainQuietMs: 30_000,
  /** How long one kubelet probe of the sidecar keeps retrying an aggressive user probe (under the kubelet's 1 s default timeout). */
  sidecarProbeBudgetMs: 900,
  /** Knative's probe header: a request carrying it is answered by the sidecar's readiness check, not proxied. */
  sidecarProbeHeader: 'k-network-probe',
});

export type PlatformDefaults = typeof PLATFORM_DEFAULTS;

export const CONFIG_FILE_NAMES = {
  adminUrl: 'admin-url',
  token: 'token',
  gatewayUrl: 'gateway-url',
  database: 'zeno.db',
  /** The durable event log (brokers, async calls) in embedded mode. */
  eventLog: 'events.db',
  pid: 'zeno.pid',
  /** This instance's id (random, made once): names its own consumers on a shared NATS. */
  instanceId: 'instance-id',
} as const;
