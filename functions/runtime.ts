import type { HpaSettings } from '../core/config/autoscaler.js';
import type { Probe, RevisionId } from '../core/types.js';

/**
 * What a runtime needs to run pods of one revision. Paths are absolute:
 * the controller resolves them against the manifest's folder.
 */
export interface PodTemplate {
  id: RevisionId;
  namespace: string;
  service: string;
  configuration: string;
  revision: string;
  image?: string;
  command: string[];
  args: string[];
  /** Absolute working directory of the process. */
  workingDir: string;
  /** The container's env, already resolved to plain values. */
  env: Record<string, string>;
  /** ports[0].containerPort (default 8080); the local runtime picks a free port instead and sets PORT. */
  containerPort: number;
  readinessProbe?: Probe;
  /** The revision's timeoutSeconds: also the drain grace period (terminationGracePeriodSeconds). */
  timeoutSeconds: number;
  /** `resources.limits.memory` in bytes; the local runtime kills a pod past it (OOMKilled). */
  memoryLimitBytes?: number;
  /** The container's `resources` as written (quantities), for runtimes that pass them on (Kubernetes). */
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  /** A pod not ready this long after it started fails the revision (serving.knative.dev/progress-deadline; default PLATFORM_DEFAULTS.progressDeadlineMs). */
  progressDeadlineMs?: number;
  /**
   * The revision's containerConcurrency (0 = unlimited). The data plane
   * enforces it; on Kubernetes the pod's sidecar enforces it too, since
   * several gateways share the pods. @default 0
   */
  containerConcurrency?: number;
  /**
   * Set when the revision's autoscaling class is hpa.autoscaling.knative.dev:
   * a HorizontalPodAutoscaler scales it, not the KPA. Only the Kubernetes
   * runtime can run it; the local runtime fails such a revision.
   */
  hpa?: HpaSettings;
}

export type PodState = 'starting' | 'ready' | 'terminating' | 'exited';

export interface PodInfo {
  /** Unique for the life of the runtime, e.g. `hello-00001-7f3a`. */
  id: string;
  revision: RevisionId;
  /** Base URL the gateway forwards to, e.g. `http://127.0.0.1:41234`. */
  url: string;
  state: PodState;
  pid?: number;
  restarts: number;
  startedAt: number;
  readyAt?: number;
}

/** Why a revision cannot run, in Knative's condition vocabulary. */
export interface RevisionFailure {
  /** e.g. `ExitCode1`, `ProgressDeadlineExceeded`, `CommandNotFound`, `ProbeFailed`. */
  reason: string;
  message: string;
}

export interface RevisionRuntimeStatus {
  desired: number;
  ready: number;
  pods: PodInfo[];
  failure?: RevisionFailure;
}

export type RuntimeEvent =
  /**
   * A starting pod already listens on `pod.url` (a specialized warm process
   * importing its handler). Not ready: the data plane may open a connection
   * to it. With `holdsRequests` (the default readiness probe) the pod holds
   * every request until its handler is loaded and never serves one
   * otherwise, so the data plane may send requests now, while no pod is
   * ready; without it (a user's readinessProbe decides), nothing before
   * pod-ready.
   */
  | { type: 'pod-listening'; revision: RevisionId; pod: PodInfo; holdsRequests: boolean }
  | { type: 'pod-ready'; revision: RevisionId; pod: PodInfo }
  /** The pod left routing (scale-down, crash or failed probe). */
  | { type: 'pod-unready'; revision: RevisionId; pod: PodInfo }
  | { type: 'pod-exited'; revision: RevisionId; pod: PodInfo; code: number | null; signal: string | null }
  | { type: 'revision-failed'; revision: RevisionId; failure: RevisionFailure }
  | { type: 'revision-recovered'; revision: RevisionId };

export interface LogLine {
  time: number;
  pod: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

/**
 * The one seam between the platform and where functions run. Everything above
 * it (gateway, activator, autoscaler, reconcilers) is shared by all backends.
 */
export interface FunctionRuntime {
  /** Registers a revision's template. Revisions are immutable: deploying the same id twice is a no-op. */
  deploy(template: PodTemplate): void;
  /** Asks for `replicas` pods; the runtime converges in the background. */
  scale(revision: RevisionId, replicas: number): void;
  /** Stops every pod of the revision (draining them) and forgets it. */
  remove(revision: RevisionId): Promise<void>;
  status(revision: RevisionId): RevisionRuntimeStatus | undefined;
  /** Pods that passed their readiness probe and are not terminating. */
  readyPods(revision: RevisionId): PodInfo[];
  subscribe(listener: (e: RuntimeEvent) => void): () => void;
  /**
   * Runtimes with a warm pool (the local one): `listener` gets the URL of
   * each generic process that joins the pool and listens, before any
   * revision takes it, so the data plane can have a connection open when a
   * cold start makes it a pod (the pod keeps that URL). Sends nothing.
   */
  onWarmListening?(listener: (url: string) => void): () => void;
  /** Recent log lines of the revision's pods, oldest first. */
  logs(revision: RevisionId, opts?: { tail?: number }): LogLine[];
  followLogs(revision: RevisionId, listener: (l: LogLine) => void): () => void;
  /** Stops every pod (drain, SIGTERM, SIGKILL after grace). */
  close(): Promise<void>;
}

/**
 * Supplied by the data plane: resolves once the pod has no request in flight
 * (it is already out of routing when this is called), or when the signal aborts.
 */
export type DrainWaiter = (podId: string, signal: AbortSignal) => Promise<void>;
