/**
 * Pure builders: one Revision (a PodTemplate) → the Deployment and Service
 * that run it on Kubernetes. No I/O here; kube-runtime.ts sends them.
 */
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { HpaSettings } from '../../core/config/autoscaler.js';
import type { Probe } from '../../core/types.js';
import { SIDECAR_ENV } from '../sidecar/env.js';
import type { PodTemplate, RevisionFailure } from '../runtime.js';

/** Knative's labels on everything a revision owns (pkg/apis/serving/register.go), plus who manages it. */
export const LABELS = {
  service: 'serving.knative.dev/service',
  configuration: 'serving.knative.dev/configuration',
  revision: 'serving.knative.dev/revision',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;
export const MANAGED_BY = 'zeno';

/** The user container's name in Knative's pods. */
export const USER_CONTAINER = 'user-container';
/** The sidecar's container name: Knative's queue-proxy, whose job it does. */
export const SIDECAR_CONTAINER = 'queue-proxy';
/** Knative's probe header and value: the sidecar answers it with the user container's readiness. */
export const PROBE_HEADER = { name: 'K-Network-Probe', value: 'queue' } as const;
/** HorizontalPodAutoscaler's maxReplicas when max-scale is 0 (Knative: math.MaxInt32, "no limit"). */
export const HPA_MAX_REPLICAS = 2_147_483_647;

/**
 * The queue-proxy-style sidecar (functions/sidecar), added to every pod in
 * cluster mode: it listens on the serving port and forwards to the user
 * container, holding the pod to containerConcurrency.
 */
export interface SidecarSpec {
  /** An image with Zeno's build, e.g. the platform image. */
  image: string;
  /** @default ['node', 'dist/functions/sidecar/main.js'] (run in the image's working directory) */
  command?: string[];
}

export interface BuildOptions {
  /** Cluster mode: put the sidecar in front of the user container. */
  sidecar?: SidecarSpec;
}

export const DEFAULT_SIDECAR_COMMAND = ['node', 'dist/functions/sidecar/main.js'];
/** Knative's default progress-deadline (config-deployment), also PLATFORM_DEFAULTS.progressDeadlineMs. */
export const PROGRESS_DEADLINE_SECONDS = 600;
/** queue-proxy's drain waits for 30 s without a request (reference §3); the preStop sleep stands in for it. */
export const DRAIN_SECONDS = 30;

/** Knative names a revision's Deployment `<revision>-deployment`. */
export function deploymentName(revision: string): string {
  return `${revision}-deployment`;
}

export function serviceName(revision: string): string {
  return revision;
}

export function revisionLabels(t: PodTemplate): Record<string, string> {
  return {
    app: t.revision,
    [LABELS.service]: t.service,
    [LABELS.configuration]: t.configuration,
    [LABELS.revision]: t.revision,
    [LABELS.managedBy]: MANAGED_BY,
  };
}

/** The selector of everything this runtime manages in a namespace. */
export const MANAGED_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY}`;

export interface K8sProbe {
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port: number | string; host?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

/**
 * The container's readiness probe with its port defaulted to the container
 * port, or a TCP check of that port. Knative's periodSeconds 0 means "as
 * often as possible" (queue-proxy probes every 50 ms); a kubelet's minimum is 1 s.
 */
export function readinessProbe(probe: Probe | undefined, containerPort: number): K8sProbe {
  const timing = (p: Probe | undefined): Omit<K8sProbe, 'httpGet' | 'tcpSocket'> => {
    const out: Omit<K8sProbe, 'httpGet' | 'tcpSocket'> = { periodSeconds: Math.max(1, p?.periodSeconds ?? 1) };
    if (p?.initialDelaySeconds !== undefined) out.initialDelaySeconds = p.initialDelaySeconds;
    if (p?.timeoutSeconds !== undefined) out.timeoutSeconds = Math.max(1, p.timeoutSeconds);
    out.successThreshold = Math.max(1, p?.successThreshold ?? 1);
    out.failureThreshold = Math.max(1, p?.failureThreshold ?? 3);
    return out;
  };
  if (probe?.httpGet) {
    const h = probe.httpGet;
    const httpGet: NonNullable<K8sProbe['httpGet']> = { path: h.path ?? '/', port: h.port ?? containerPort };
    if (h.host) httpGet.host = h.host;
    if (h.scheme) httpGet.scheme = h.scheme.toUpperCase();
    if (h.httpHeaders?.length) httpGet.httpHeaders = h.httpHeaders.map((x) => ({ name: x.name, value: x.value }));
    return { httpGet, ...timing(probe) };
  }
  const tcpSocket: NonNullable<K8sProbe['tcpSocket']> = { port: probe?.tcpSocket?.port ?? containerPort };
  if (probe?.tcpSocket?.host) tcpSocket.host = probe.tcpSocket.host;
  return { tcpSocket, ...timing(probe) };
}

/**
 * The runtime contract's env (reference §4): PORT is ports[0].containerPort,
 * K_SERVICE, K_CONFIGURATION and K_REVISION name the revision. They win over
 * the container's own values for the same names (the names are reserved).
 */
export function containerEnv(t: PodTemplate): { name: string; value: string }[] {
  const contract: Record<string, string> = {
    PORT: String(t.containerPort),
    K_SERVICE: t.service,
    K_CONFIGURATION: t.configuration,
    K_REVISION: t.revision,
  };
  const env = Object.entries(t.env)
    .filter(([k]) => !(k in contract))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));
  return [...env, ...Object.entries(contract).map(([name, value]) => ({ name, value }))];
}

/** The preStop sleep: the drain window, inside the grace period. */
export function preStopSeconds(timeoutSeconds: number): number {
  return Math.max(1, Math.min(DRAIN_SECONDS, Math.floor(timeoutSeconds)));
}

export type Built<T> = { ok: true; object: T } | { ok: false; failure: RevisionFailure };

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> }; spec: any };

/**
 * The revision's Deployment: zero replicas until scale() (the scale
 * subresource owns spec.replicas from then on; with the HPA class the
 * HorizontalPodAutoscaler does). Locally a container runs its command in
 * its workingDir; on Kubernetes it runs its image, with command and args
 * when given; the workingDir (a path on the machine that applied the
 * manifest) is not used.
 *
 * Without a sidecar the user container serves the pod's traffic, carries
 * the readiness probe, and its preStop sleeps through the drain window.
 * With one (cluster mode, Knative's pod shape, resources/deploy.go): the
 * sidecar serves on 8012 and runs the user's probe (the kubelet probes the
 * sidecar with `K-Network-Probe: queue`), and the user container's preStop
 * calls the sidecar's `/wait-for-drain`, so it gets SIGTERM only once the
 * drain is over.
 */
export function buildDeployment(t: PodTemplate, replicas = 0, opts: BuildOptions = {}): Built<Manifest> {
  if (!t.image) {
    return { ok: false, failure: { reason: 'ImageRequired', message: `On Kubernetes a container runs its image; revision ${t.revision} has none (set spec.template.spec.containers[0].image)` } };
  }
  const labels = revisionLabels(t);
  const sidecar = opts.sidecar;
  const container: Record<string, unknown> = {
    name: USER_CONTAINER,
    image: t.image,
    ports: [{ name: sidecar ? 'user-port' : 'http1', containerPort: t.containerPort, protocol: 'TCP' }],
    env: containerEnv(t),
  };
  if (sidecar) {
    container.lifecycle = { preStop: { httpGet: { path: '/wait-for-drain', port: PLATFORM_DEFAULTS.sidecarAdminPort } } };
  } else {
    container.readinessProbe = readinessProbe(t.readinessProbe, t.containerPort);
    // Kubernetes ≥ 1.30 (PodLifecycleSleepAction): no shell needed in the image.
    container.lifecycle = { preStop: { sleep: { seconds: preStopSeconds(t.timeoutSeconds) } } };
  }
  // The cgroup enforces resources on Kubernetes (the local runtime enforces limits.memory itself).
  if (t.resources) container.resources = structuredClone(t.resources);
  if (t.command.length) container.command = [...t.command];
  if (t.args.length) container.args = [...t.args];
  const containers: Record<string, unknown>[] = [container];
  if (sidecar) containers.push(sidecarContainer(t, sidecar));
  return {
    ok: true,
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: deploymentName(t.revision), namespace: t.namespace, labels },
      spec: {
        replicas,
        selector: { matchLabels: { [LABELS.revision]: t.revision } },
        progressDeadlineSeconds: t.progressDeadlineMs !== undefined ? Math.max(1, Math.ceil(t.progressDeadlineMs / 1000)) : PROGRESS_DEADLINE_SECONDS,
        template: {
          metadata: { labels },
          spec: {
            containers,
            // Knative's pod: terminationGracePeriodSeconds = the revision's timeoutSeconds (reference §3).
            terminationGracePeriodSeconds: t.timeoutSeconds,
            // Service links slow pod start in busy namespaces (knative/serving #8498).
            enableServiceLinks: false,
          },
        },
      },
    },
  };
}

/**
 * The sidecar container: queue-proxy's env names (functions/sidecar/env.ts),
 * its ports (8012 serving, 8022 admin), and the kubelet's readiness probe
 * aimed at it with the user probe's timing. Its drain quiet period is
 * preStopSeconds(timeoutSeconds), so the drain fits the grace period.
 */
export function sidecarContainer(t: PodTemplate, sidecar: SidecarSpec): Record<string, unknown> {
  const serving = PLATFORM_DEFAULTS.sidecarServingPort;
  const admin = PLATFORM_DEFAULTS.sidecarAdminPort;
  const env: { name: string; value: string }[] = [
    { name: SIDECAR_ENV.servingPort, value: String(serving) },
    { name: SIDECAR_ENV.adminPort, value: String(admin) },
    { name: SIDECAR_ENV.userPort, value: String(t.containerPort) },
    { name: SIDECAR_ENV.containerConcurrency, value: String(t.containerConcurrency ?? 0) },
    { name: SIDECAR_ENV.timeoutSeconds, value: String(t.timeoutSeconds) },
    { name: SIDECAR_ENV.drainQuietSeconds, value: String(preStopSeconds(t.timeoutSeconds)) },
  ];
  if (t.readinessProbe) env.push({ name: SIDECAR_ENV.readinessProbe, value: JSON.stringify(t.readinessProbe) });
  const timing = readinessProbe(t.readinessProbe, t.containerPort);
  delete timing.httpGet;
  delete timing.tcpSocket;
  return {
    name: SIDECAR_CONTAINER,
    image: sidecar.image,
    command: [...(sidecar.command ?? DEFAULT_SIDECAR_COMMAND)],
    ports: [
      { name: 'http1', containerPort: serving, protocol: 'TCP' },
      { name: 'http-queueadm', containerPort: admin, protocol: 'TCP' },
    ],
    env,
    readinessProbe: { httpGet: { path: '/', port: serving, httpHeaders: [{ ...PROBE_HEADER }] }, ...timing },
  };
}

/** The revision's Service: selects its pods, so its EndpointSlices list them. */
export function buildService(t: PodTemplate, opts: BuildOptions = {}): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(t.revision), namespace: t.namespace, labels: revisionLabels(t) },
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.revision]: t.revision },
      // With the sidecar, traffic enters through it (Knative: targetPort 8012, queue-proxy).
      ports: [{ name: 'http1', port: 80, targetPort: opts.sidecar ? PLATFORM_DEFAULTS.sidecarServingPort : t.containerPort, protocol: 'TCP' }],
    },
  };
}

/** Knative names the revision's HPA after its PodAutoscaler, i.e. the revision. */
export function hpaName(revision: string): string {
  return revision;
}

/**
 * A Kubernetes quantity in canonical form for a whole number of units:
 * the largest suffix that divides it evenly (resource.Quantity.String()).
 */
export function quantity(n: number, base: 'binary' | 'decimal'): string {
  let v = Math.trunc(n);
  if (v === 0) return '0';
  const suffixes = base === 'binary' ? ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] : ['', 'k', 'M', 'G', 'T', 'P', 'E'];
  const step = base === 'binary' ? 1024 : 1000;
  let i = 0;
  while (i < suffixes.length - 1 && v % step === 0) {
    v /= step;
    i++;
  }
  return `${v}${suffixes[i]}`;
}

/**
 * The revision's autoscaling/v2 HorizontalPodAutoscaler for the HPA class,
 * as Knative's MakeHPA builds it (pkg/reconciler/autoscaling/hpa/resources/
 * hpa.go): maxReplicas = max-scale or MaxInt32 when 0; minReplicas =
 * min-scale when > 0, else the HPA's own minimum, 1 (the HPA cannot scale
 * to zero; Knative leaves the field to the API server's default, we write
 * it out); a metric only when autoscaling.knative.dev/target is set — cpu:
 * Utilization ceil(target) %, memory: AverageValue target Mi, anything
 * else: a Pods metric of that name with AverageValue target — otherwise the
 * HPA's default (80 % CPU); a window sets both stabilization windows.
 */
export function buildHpa(t: PodTemplate, hpa: HpaSettings): Manifest {
  const spec: Record<string, unknown> = {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName(t.revision) },
    minReplicas: Math.max(1, hpa.minScale),
    maxReplicas: hpa.maxScale > 0 ? hpa.maxScale : HPA_MAX_REPLICAS,
  };
  if (hpa.target !== undefined) {
    if (hpa.metric === 'cpu') {
      spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: Math.ceil(hpa.target) } } }];
    } else if (hpa.metric === 'memory') {
      spec.metrics = [{ type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: quantity(Math.trunc(hpa.target) * 1024 * 1024, 'binary') } } }];
    } else {
      spec.metrics = [{ type: 'Pods', pods: { metric: { name: hpa.metric }, target: { type: 'AverageValue', averageValue: quantity(hpa.target, 'decimal') } } }];
    }
  }
  if (hpa.windowSeconds !== undefined) {
    spec.behavior = { scaleDown: { stabilizationWindowSeconds: hpa.windowSeconds }, scaleUp: { stabilizationWindowSeconds: hpa.windowSeconds } };
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: hpaName(t.revision), namespace: t.namespace, labels: revisionLabels(t), annotations: { 'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev' } },
    spec,
  };
}
