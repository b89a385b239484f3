/**
 * Pure builders: one Revision (a PodTemplate) → the Deployment and Service
 * that run it on Kubernetes. No I/O here; kube-runtime.ts sends them.
 */
import type { Probe } from '../../core/types.js';
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
 * subresource owns spec.replicas from then on). Locally a container runs its
 * command in its workingDir; on Kubernetes it runs its image, with command
 * and args when given; the workingDir (a path on the machine that applied
 * the manifest) is not used.
 */
export function buildDeployment(t: PodTemplate, replicas = 0): Built<Manifest> {
  if (!t.image) {
    return { ok: false, failure: { reason: 'ImageRequired', message: `On Kubernetes a container runs its image; revision ${t.revision} has none (set spec.template.spec.containers[0].image)` } };
  }
  const labels = revisionLabels(t);
  const container: Record<string, unknown> = {
    name: USER_CONTAINER,
    image: t.image,
    ports: [{ name: 'http1', containerPort: t.containerPort, protocol: 'TCP' }],
    env: containerEnv(t),
    readinessProbe: readinessProbe(t.readinessProbe, t.containerPort),
    // Kubernetes ≥ 1.30 (PodLifecycleSleepAction): no shell needed in the image.
    lifecycle: { preStop: { sleep: { seconds: preStopSeconds(t.timeoutSeconds) } } },
  };
  // The cgroup enforces resources on Kubernetes (the local runtime enforces limits.memory itself).
  if (t.resources) container.resources = structuredClone(t.resources);
  if (t.command.length) container.command = [...t.command];
  if (t.args.length) container.args = [...t.args];
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
            containers: [container],
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

/** The revision's Service: selects its pods, so its EndpointSlices list them. */
export function buildService(t: PodTemplate): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(t.revision), namespace: t.namespace, labels: revisionLabels(t) },
    spec: {
      type: 'ClusterIP',
      selector: { [LABELS.revision]: t.revision },
      ports: [{ name: 'http1', port: 80, targetPort: t.containerPort, protocol: 'TCP' }],
    },
  };
}
