/**
 * Resource shapes as Knative writes them. Only the fields Zeno reads are
 * typed; everything else a user writes is kept as it is.
 */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid?: string; controller?: boolean }[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  severity?: 'Error' | 'Warning' | 'Info';
}

export interface KObject<Spec = Record<string, unknown>, Status = Record<string, unknown>> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  /** ConfigMaps carry data instead of spec. */
  data?: Record<string, string>;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface HttpGetAction {
  path?: string;
  port?: number | string;
  host?: string;
  scheme?: string;
  httpHeaders?: { name: string; value: string }[];
}

export interface Probe {
  httpGet?: HttpGetAction;
  tcpSocket?: { port?: number | string; host?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  ports?: { containerPort?: number; name?: string; protocol?: string }[];
  readinessProbe?: Probe;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

export interface RevisionSpecFields {
  containerConcurrency?: number;
  timeoutSeconds?: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  containers: Container[];
}

export interface RevisionTemplate {
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: RevisionSpecFields;
}

export interface TrafficTarget {
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  tag?: string;
  url?: string;
}

export interface ServiceSpec {
  template: RevisionTemplate;
  traffic?: TrafficTarget[];
}

export interface ServiceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  url?: string;
  address?: { url: string };
  latestReadyRevisionName?: string;
  latestCreatedRevisionName?: string;
  traffic?: TrafficTarget[];
}

export type Service = KObject<ServiceSpec, ServiceStatus>;

export interface RevisionStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  actualReplicas?: number;
  desiredReplicas?: number;
  containerStatuses?: { name: string; imageDigest?: string }[];
  /** Zeno: the autoscaler's latest decision for this revision. */
  autoscaler?: {
    desiredScale: number;
    actualScale: number;
    panicMode: boolean;
    /** Stable-window average of the metric (concurrency or RPS). */
    observedStableValue: number;
    observedPanicValue: number;
    excessBurstCapacity: number;
    /** Knative's ServerlessService mode from the EBC arithmetic. */
    mode: 'Serve' | 'Proxy';
  };
}

export type Revision = KObject<RevisionSpecFields, RevisionStatus>;

export const SERVING_GROUP = 'serving.knative.dev';
export const SERVING_API_VERSION = 'serving.knative.dev/v1';

/** `namespace/name`: how components refer to a revision internally. */
export type RevisionId = string;

export function revisionId(namespace: string, name: string): RevisionId {
  return `${namespace}/${name}`;
}

export function splitId(id: string): { namespace: string; name: string } {
  const i = id.indexOf('/');
  return { namespace: id.slice(0, i), name: id.slice(i + 1) };
}
