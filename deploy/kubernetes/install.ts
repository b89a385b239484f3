/**
 * The install manifests of deploy/kubernetes/, built from the project's own
 * tables so they cannot drift from the code: the CRDs from core/kinds.ts, the
 * ConfigMaps from core/config's defaults, the RBAC rules from what
 * functions/kubernetes calls (test/deploy-manifests.test.ts checks both ways).
 * Pure: generate.ts writes the files, the test compares them.
 *
 * One image, two Deployments (docs/ARCHITECTURE.md "Cluster mode"): the
 * control plane (`zeno up`: reconcilers, autoscaler, store, broker ingress,
 * admin API, and a gateway of its own), one replica on a Lease; and the data
 * plane (`zeno up --role gateway`: gateway and activator only), scaled out,
 * with no Kubernetes API rights at all. Services: one per role a client
 * addresses (gateway, broker ingress, admin API), plus the control plane's
 * own for the data-plane replicas.
 */
import { formatDuration } from '../../core/duration.js';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG, DEFAULTS_CONFIG_NAME } from '../../core/config/defaults.js';
import { DEFAULT_DOMAIN_CONFIG, DOMAIN_CONFIG_NAME } from '../../core/config/domain.js';
import { DEFAULT_GC_CONFIG, GC_CONFIG_NAME } from '../../core/config/gc.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { KINDS, type KindInfo } from '../../core/kinds.js';
import { AUTOSCALER_CONFIG_NAME } from '../../controller/validation/configmap.js';
import { BR_DEFAULTS_CONFIG_NAME, BR_DEFAULTS_KEY, DEFAULT_BR_DEFAULTS_CONFIG } from '../../eventing/resources/br-defaults.js';
import { stringify } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any };

export const NAMESPACE = 'zeno-system';
export const VERSION = '0.1.0';
/** Not published anywhere yet: build them from deploy/docker/ and push to your registry (README "Run on Kubernetes"). */
export const PLATFORM_IMAGE = `ghcr.io/zeno/platform:${VERSION}`;
export const NODE_RUNTIME_IMAGE = `ghcr.io/zeno/node-runtime:${VERSION}`;
export const SERVICE_ACCOUNT = 'zeno-controller';
/** The data plane's identity: bound to nothing, and its pods mount no API token. */
export const GATEWAY_SERVICE_ACCOUNT = 'zeno-gateway';
export const APP = 'zeno';
export const GATEWAY_APP = 'zeno-gateway';
/** Data-plane replicas in the install; scale the Deployment for more. */
export const GATEWAY_REPLICAS = 2;
const LABELS = { 'app.kubernetes.io/name': APP, 'app.kubernetes.io/part-of': 'zeno', 'app.kubernetes.io/version': VERSION };
const SELECTOR = { 'app.kubernetes.io/name': APP };
const GATEWAY_LABELS = { ...LABELS, 'app.kubernetes.io/name': GATEWAY_APP, 'app.kubernetes.io/component': 'data-plane' };
const GATEWAY_SELECTOR = { 'app.kubernetes.io/name': GATEWAY_APP };
const DATA_DIR = '/var/lib/zeno';
/**
 * The admin token both Deployments read (`zeno up --token-file`): a Secret
 * the operator creates, since a token in a shipped manifest would be
 * everyone's (README "Run on Kubernetes").
 */
export const TOKEN_SECRET = 'zeno-admin-token';
const TOKEN_DIR = '/var/run/zeno';
const TOKEN_FILE = `${TOKEN_DIR}/token`;
/** The control plane's own Service, which the data-plane replicas follow (admin port) and forward to (gateway port). */
export const CONTROL_SERVICE = 'zeno-control';
const CONTROL_URL = `http://${CONTROL_SERVICE}.${NAMESPACE}.svc.cluster.local:${PLATFORM_DEFAULTS.adminPort}`;

// ---------------------------------------------------------------- RBAC

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * What the Kubernetes runtime (functions/kubernetes/kube-runtime.ts) does, in
 * every namespace a function may live in: exactly these, nothing more.
 * create/delete a revision's Deployment and Service; update the Deployment's
 * scale subresource; list+watch Pods (health) and EndpointSlices (routable
 * endpoints); get pods/log (`zeno logs`). Nothing reads the Deployments back.
 */
export const RUNTIME_RULES: readonly PolicyRule[] = [
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['create', 'delete'] },
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update'] },
  { apiGroups: [''], resources: ['services'], verbs: ['create', 'delete'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  { apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'], verbs: ['create', 'delete'] },
];

/**
 * In the platform's own namespace: leader election (functions/kubernetes/leader.ts)
 * on one Lease, where `create` cannot be limited by name (the name is not
 * known to the authorizer before the object exists) but get and update can;
 * and following Knative's ConfigMaps.
 */
export const NAMESPACE_RULES: readonly PolicyRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: [PLATFORM_DEFAULTS.leaseName] },
  // Knative's ConfigMaps of the platform (functions/kubernetes/config-watch.ts): read only.
  { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'watch'] },
];

function rbac(): K8sObject[] {
  const sa = { kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: NAMESPACE };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace: NAMESPACE, labels: LABELS } },
    // The data plane calls no Kubernetes API: an identity with no binding, and no token mounted.
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: GATEWAY_SERVICE_ACCOUNT, namespace: NAMESPACE, labels: GATEWAY_LABELS }, automountServiceAccountToken: false },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'zeno-runtime', labels: LABELS },
      rules: RUNTIME_RULES.map((r) => ({ ...r })),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'zeno-runtime', labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'zeno-runtime' },
      subjects: [sa],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'zeno-platform', namespace: NAMESPACE, labels: LABELS },
      rules: NAMESPACE_RULES.map((r) => ({ ...r })),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'zeno-platform', namespace: NAMESPACE, labels: LABELS },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'zeno-platform' },
      subjects: [sa],
    },
  ];
}

// ---------------------------------------------------------------- CRDs

type Schema = Record<string, any>;
const preserved = (description: string): Schema => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });
const list = (description: string): Schema => ({ type: 'array', description, items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } });
const str = (description: string): Schema => ({ type: 'string', description });
const int = (description: string): Schema => ({ type: 'integer', format: 'int64', description });

const DESTINATION = 'A Destination: ref (apiVersion, kind, name, namespace) and/or uri.';
const DELIVERY = 'DeliverySpec: retry, backoffPolicy, backoffDelay, deadLetterSink, timeout.';
const CE_OVERRIDES = 'CloudEvent extensions added to every event sent.';

/**
 * Each kind's spec, top level only, in Knative's field names; deeper levels
 * keep unknown fields (the platform's own validation, controller/validation/,
 * is the authority: it names the file, line and field of a mistake).
 */
const SPECS: Record<string, Record<string, Schema>> = {
  Service: { template: preserved('RevisionTemplateSpec: metadata (annotations such as autoscaling.knative.dev/*) and spec (containers, containerConcurrency, timeoutSeconds, ...).'), traffic: list('TrafficTargets: revisionName or latestRevision, percent, tag.') },
  Configuration: { template: preserved('RevisionTemplateSpec.') },
  Revision: {
    containers: list('Exactly one container (image on Kubernetes).'),
    containerConcurrency: int('Most requests one pod serves at once; 0 = unlimited.'),
    timeoutSeconds: int('Per-request timeout.'),
    responseStartTimeoutSeconds: int('Time allowed until the response head.'),
    idleTimeoutSeconds: int('Time allowed between response writes.'),
  },
  Route: { traffic: list('TrafficTargets: revisionName or configurationName/latestRevision, percent, tag.') },
  Function: {
    handler: str('A Node handler module (.js, .mjs, .ts), relative to the manifest.'),
    command: { type: 'array', items: { type: 'string' }, description: 'A command to run instead of a handler.' },
    env: { type: 'object', description: 'Environment variables: a map of name to value.', additionalProperties: { type: 'string' } },
    containerConcurrency: int('Most requests one pod serves at once; 0 = unlimited.'),
    timeoutSeconds: int('Per-request timeout.'),
  },
  Broker: { config: preserved('KReference to the broker class config.'), delivery: preserved(DELIVERY) },
  Trigger: {
    broker: str('The Broker this Trigger subscribes to.'),
    filter: preserved('Exact attribute filter: attributes.'),
    filters: list('SubscriptionsAPIFilters: exact, prefix, suffix, all, any, not, cesql.'),
    subscriber: preserved(DESTINATION),
    delivery: preserved(DELIVERY),
  },
  Channel: { channelTemplate: preserved('The channel implementation (kind, apiVersion, spec).'), subscribers: list('Subscribers, set from Subscriptions.'), delivery: preserved(DELIVERY) },
  Subscription: { channel: preserved('KReference to the Channel.'), subscriber: preserved(DESTINATION), reply: preserved(DESTINATION), delivery: preserved(DELIVERY) },
  Sequence: { steps: list('Destinations called in order, each with an optional delivery.'), channelTemplate: preserved('The channel implementation.'), reply: preserved(DESTINATION) },
  Parallel: { branches: list('Branches: filter, subscriber, reply, delivery.'), channelTemplate: preserved('The channel implementation.'), reply: preserved(DESTINATION) },
  PingSource: {
    schedule: str('Cron schedule (5 or 6 fields).'),
    timezone: str('IANA time zone of the schedule.'),
    contentType: str('Media type of data.'),
    data: str('Event data as text.'),
    dataBase64: str('Event data, base64.'),
    sink: preserved(DESTINATION),
    ceOverrides: preserved(CE_OVERRIDES),
  },
  ContainerSource: { template: preserved('PodTemplateSpec of the source process.'), sink: preserved(DESTINATION), ceOverrides: preserved(CE_OVERRIDES) },
  SinkBinding: { subject: preserved('The workload to bind: apiVersion, kind, and name or selector.'), sink: preserved(DESTINATION), ceOverrides: preserved(CE_OVERRIDES) },
  ApiServerSource: {
    resources: list('APIVersionKindSelectors to watch: apiVersion, kind, selector.'),
    owner: preserved('Only objects owned by this apiVersion and kind.'),
    mode: str('Reference or Resource: what an event carries.'),
    serviceAccountName: str('The identity the watches run as.'),
    namespaceSelector: preserved('Namespaces to watch (LabelSelector).'),
    filters: list('SubscriptionsAPIFilters applied to the events.'),
    sink: preserved(DESTINATION),
    ceOverrides: preserved(CE_OVERRIDES),
  },
};

const READY = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
];
const AGE = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

/** kubectl's columns, as Knative's CRDs print them. */
const COLUMNS: Record<string, Schema[]> = {
  Service: [
    { name: 'URL', type: 'string', jsonPath: '.status.url' },
    { name: 'LatestCreated', type: 'string', jsonPath: '.status.latestCreatedRevisionName' },
    { name: 'LatestReady', type: 'string', jsonPath: '.status.latestReadyRevisionName' },
    ...READY,
  ],
  Configuration: [
    { name: 'LatestCreated', type: 'string', jsonPath: '.status.latestCreatedRevisionName' },
    { name: 'LatestReady', type: 'string', jsonPath: '.status.latestReadyRevisionName' },
    ...READY,
  ],
  Revision: [
    { name: 'Config Name', type: 'string', jsonPath: ".metadata.labels['serving\\.knative\\.dev/configuration']" },
    ...READY,
    { name: 'Actual Replicas', type: 'integer', jsonPath: '.status.actualReplicas' },
    { name: 'Desired Replicas', type: 'integer', jsonPath: '.status.desiredReplicas' },
  ],
  Route: [{ name: 'URL', type: 'string', jsonPath: '.status.url' }, ...READY],
  Function: [{ name: 'URL', type: 'string', jsonPath: '.status.url' }, ...READY],
  Broker: [{ name: 'URL', type: 'string', jsonPath: '.status.address.url' }, AGE, ...READY],
  Trigger: [{ name: 'Broker', type: 'string', jsonPath: '.spec.broker' }, { name: 'Subscriber_URI', type: 'string', jsonPath: '.status.subscriberUri' }, AGE, ...READY],
  Channel: [{ name: 'URL', type: 'string', jsonPath: '.status.address.url' }, AGE, ...READY],
  Subscription: [AGE, ...READY],
  Sequence: [{ name: 'URL', type: 'string', jsonPath: '.status.address.url' }, AGE, ...READY],
  Parallel: [{ name: 'URL', type: 'string', jsonPath: '.status.address.url' }, AGE, ...READY],
  PingSource: [{ name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' }, { name: 'Schedule', type: 'string', jsonPath: '.spec.schedule' }, AGE, ...READY],
  ContainerSource: [{ name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' }, AGE, ...READY],
  SinkBinding: [{ name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' }, AGE, ...READY],
  ApiServerSource: [{ name: 'Sink', type: 'string', jsonPath: '.status.sinkUri' }, AGE, ...READY],
};

/** Short names kubectl already gives built-in resources: a CRD must not take them (Knative's ksvc declares kservice and ksvc only). */
const BUILTIN_SHORT_NAMES = new Set(['svc', 'cm', 'po', 'deploy', 'ns', 'sa', 'ep', 'ing', 'pv', 'pvc', 'rs', 'ds', 'sts', 'hpa']);

/** The kinds that get a CRD: every kind of core/kinds.ts outside the core API group. */
export function crdKinds(): KindInfo[] {
  return KINDS.filter((k) => k.group !== '');
}

const STATUS: Schema = {
  type: 'object',
  description: "Knative's status: observedGeneration, conditions, and the kind's own fields (url, address, latestReadyRevisionName, actualReplicas, ...).",
  'x-kubernetes-preserve-unknown-fields': true,
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type', 'status'],
        properties: {
          type: { type: 'string' },
          status: { type: 'string' },
          severity: { type: 'string' },
          reason: { type: 'string' },
          message: { type: 'string' },
          lastTransitionTime: { type: 'string' },
        },
      },
    },
  },
};

export function buildCrd(k: KindInfo): K8sObject {
  const spec = SPECS[k.kind];
  if (!spec) throw new Error(`deploy/kubernetes/install.ts has no spec schema for ${k.kind}: add it to SPECS`);
  const groupShort = k.group.split('.')[0]!;
  const categories = k.group.endsWith('knative.dev') ? ['all', 'knative', groupShort] : ['all', groupShort];
  const shortNames = k.shortNames.filter((s) => !BUILTIN_SHORT_NAMES.has(s));
  const version = k.apiVersion.split('/')[1]!;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${k.group}`, labels: LABELS },
    spec: {
      group: k.group,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.singular, ...(shortNames.length ? { shortNames } : {}), categories },
      scope: 'Namespaced',
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: COLUMNS[k.kind] ?? READY,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: `${k.kind} (${k.apiVersion}), in Knative's shape; validated by Zeno's admin API on apply.`,
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: spec },
                status: STATUS,
              },
            },
          },
        },
      ],
    },
  };
}

// ---------------------------------------------------------------- ConfigMaps

const num = (n: number): string => String(n);
const bool = (b: boolean): string => (b ? 'true' : 'false');
const dur = (ms: number): string => (ms === Infinity ? 'disabled' : formatDuration(ms));

/** The Knative ConfigMaps Zeno reads, every key at Zeno's default (core/config); the test parses them back to exactly those defaults. */
export function configMaps(): K8sObject[] {
  const a = DEFAULT_AUTOSCALER_CONFIG;
  const d = DEFAULT_DEFAULTS_CONFIG;
  const g = DEFAULT_GC_CONFIG;
  const cm = (name: string, data: Record<string, string>): K8sObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NAMESPACE, labels: LABELS }, data });
  return [
    cm(AUTOSCALER_CONFIG_NAME, {
      'container-concurrency-target-percentage': num(a.containerConcurrencyTargetPercentage),
      'container-concurrency-target-default': num(a.containerConcurrencyTargetDefault),
      'requests-per-second-target-default': num(a.requestsPerSecondTargetDefault),
      'target-burst-capacity': num(a.targetBurstCapacity),
      'stable-window': dur(a.stableWindowMs),
      'panic-window-percentage': num(a.panicWindowPercentage),
      'panic-threshold-percentage': num(a.panicThresholdPercentage),
      'max-scale-up-rate': num(a.maxScaleUpRate),
      'max-scale-down-rate': num(a.maxScaleDownRate),
      'enable-scale-to-zero': bool(a.enableScaleToZero),
      'scale-to-zero-grace-period': dur(a.scaleToZeroGracePeriodMs),
      'scale-to-zero-pod-retention-period': dur(a.scaleToZeroPodRetentionPeriodMs),
      'scale-down-delay': dur(a.scaleDownDelayMs),
      'pod-autoscaler-class': a.podAutoscalerClass,
      'activator-capacity': num(a.activatorCapacity),
      'initial-scale': num(a.initialScale),
      'allow-zero-initial-scale': bool(a.allowZeroInitialScale),
      'min-scale': num(a.minScale),
      'max-scale': num(a.maxScale),
      'max-scale-limit': num(a.maxScaleLimit),
    }),
    cm(DEFAULTS_CONFIG_NAME, {
      'revision-timeout-seconds': num(d.revisionTimeoutSeconds),
      'max-revision-timeout-seconds': num(d.maxRevisionTimeoutSeconds),
      'revision-response-start-timeout-seconds': num(d.revisionResponseStartTimeoutSeconds),
      'revision-idle-timeout-seconds': num(d.revisionIdleTimeoutSeconds),
      'container-name-template': d.containerNameTemplate,
      'init-container-name-template': d.initContainerNameTemplate,
      'container-concurrency': num(d.containerConcurrency),
      'container-concurrency-max-limit': num(d.containerConcurrencyMaxLimit),
      'allow-container-concurrency-zero': bool(d.allowContainerConcurrencyZero),
      ...(d.enableServiceLinks !== undefined ? { 'enable-service-links': bool(d.enableServiceLinks) } : {}),
    }),
    // Knative: each key is a domain; the one with an empty value is the default.
    cm(DOMAIN_CONFIG_NAME, { [DEFAULT_DOMAIN_CONFIG.domain]: '' }),
    cm(GC_CONFIG_NAME, {
      'retain-since-create-time': dur(g.retainSinceCreateTimeMs),
      'retain-since-last-active-time': dur(g.retainSinceLastActiveTimeMs),
      'min-non-active-revisions': num(g.minNonActiveRevisions),
      'max-non-active-revisions': g.maxNonActiveRevisions === Infinity ? 'disabled' : num(g.maxNonActiveRevisions),
    }),
    cm(BR_DEFAULTS_CONFIG_NAME, { [BR_DEFAULTS_KEY]: stringify({ clusterDefault: DEFAULT_BR_DEFAULTS_CONFIG.clusterDefault }) }),
  ];
}

// ---------------------------------------------------------------- the platform

function platform(): K8sObject[] {
  const httpGet = { path: '/healthz', port: 'http' };
  return [
    {
      // The embedded store (SQLite) and the admin token live here; one writer at a time.
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'zeno-data', namespace: NAMESPACE, labels: LABELS },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: APP, namespace: NAMESPACE, labels: LABELS },
      spec: {
        // One replica with its own store: a second one would be a standby with an empty store
        // (docs/ARCHITECTURE.md). Recreate: the volume has one writer, and the old pod releases
        // the Lease on SIGTERM before the new one starts.
        replicas: 1,
        strategy: { type: 'Recreate' },
        selector: { matchLabels: SELECTOR },
        template: {
          metadata: { labels: { ...LABELS, ...SELECTOR } },
          spec: {
            serviceAccountName: SERVICE_ACCOUNT,
            securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
            // The gateway drains for up to 10 s and in-flight async calls get as long.
            terminationGracePeriodSeconds: 40,
            containers: [
              {
                name: 'zeno',
                image: PLATFORM_IMAGE,
                args: [
                  'up',
                  '--runtime', 'kubernetes',
                  '--host', '0.0.0.0',
                  '--port', String(PLATFORM_DEFAULTS.gatewayPort),
                  '--admin-port', String(PLATFORM_DEFAULTS.adminPort),
                  '--data-dir', DATA_DIR,
                  '--lease', `${NAMESPACE}/${PLATFORM_DEFAULTS.leaseName}`,
                  // What clients in the cluster use: Broker addresses and Service URLs name it, not the pod's loopback.
                  '--gateway-url', `http://zeno-gateway.${NAMESPACE}.svc.cluster.local`,
                  // Knative's pod shape: the queue-proxy-style sidecar (functions/sidecar) in every
                  // function pod, run from this same image (node dist/functions/sidecar/main.js).
                  '--sidecar-image', PLATFORM_IMAGE,
                  // Shared with the data-plane replicas, which present it on the feed and stats endpoints.
                  '--token-file', TOKEN_FILE,
                ],
                ports: [
                  { name: 'http', containerPort: PLATFORM_DEFAULTS.gatewayPort, protocol: 'TCP' },
                  { name: 'admin', containerPort: PLATFORM_DEFAULTS.adminPort, protocol: 'TCP' },
                ],
                readinessProbe: { httpGet, periodSeconds: 5 },
                livenessProbe: { httpGet, periodSeconds: 10, failureThreshold: 6 },
                resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
                volumeMounts: [
                  { name: 'data', mountPath: DATA_DIR },
                  { name: 'token', mountPath: TOKEN_DIR, readOnly: true },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'data', persistentVolumeClaim: { claimName: 'zeno-data' } },
              TOKEN_VOLUME,
              { name: 'tmp', emptyDir: {} },
            ],
          },
        },
      },
    },
    gatewayDeployment(),
    {
      // Node drains and upgrades take the data plane's replicas one at a time, never all at once.
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: GATEWAY_APP, namespace: NAMESPACE, labels: GATEWAY_LABELS },
      spec: { maxUnavailable: 1, selector: { matchLabels: GATEWAY_SELECTOR } },
    },
    service('zeno-gateway', 'The data plane (zeno up --role gateway replicas): Host and /function/NAME routing, /async-function/NAME (forwarded to the control plane), /healthz, /metrics.', [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], GATEWAY_SELECTOR),
    service('broker-ingress', "Broker ingress (Knative's broker-ingress name): POST /brokers/NAMESPACE/NAME, served by the control plane, which writes the event log.", [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], SELECTOR),
    service('zeno-admin', "The admin API (the controller's REST, bearer token from the Secret zeno-admin-token): zeno apply/get/logs talk to it.", [{ name: 'admin', port: PLATFORM_DEFAULTS.adminPort, targetPort: 'admin', protocol: 'TCP' }], SELECTOR),
    service(CONTROL_SERVICE, "The control plane for the data-plane replicas: its feed and stats endpoints (admin port) and its own gateway, where they forward broker, channel and async calls (they need the event log).", [
      { name: 'http', port: PLATFORM_DEFAULTS.gatewayPort, targetPort: 'http', protocol: 'TCP' },
      { name: 'admin', port: PLATFORM_DEFAULTS.adminPort, targetPort: 'admin', protocol: 'TCP' },
    ], SELECTOR),
  ];
}

/** The admin token, from the operator's Secret (key `token`), read-only to the owner. */
const TOKEN_VOLUME = { name: 'token', secret: { secretName: TOKEN_SECRET, items: [{ key: 'token', path: 'token' }], defaultMode: 0o400 } };

/**
 * The data plane: stateless `zeno up --role gateway` replicas (gateway and
 * activator), following the control plane's feed and reporting their stats
 * to its autoscaler. containerConcurrency holds across them through the
 * sidecar in each function pod.
 */
function gatewayDeployment(): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: GATEWAY_APP, namespace: NAMESPACE, labels: GATEWAY_LABELS },
    spec: {
      replicas: GATEWAY_REPLICAS,
      selector: { matchLabels: GATEWAY_SELECTOR },
      template: {
        metadata: { labels: { ...GATEWAY_LABELS, ...GATEWAY_SELECTOR } },
        spec: {
          serviceAccountName: GATEWAY_SERVICE_ACCOUNT,
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          // The gateway drains for up to 10 s.
          terminationGracePeriodSeconds: 20,
          // Replicas on different nodes when the cluster has them, so one node's loss leaves the others serving.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: GATEWAY_SELECTOR } }],
          containers: [
            {
              name: 'gateway',
              image: PLATFORM_IMAGE,
              args: [
                'up',
                '--role', 'gateway',
                '--host', '0.0.0.0',
                '--port', String(PLATFORM_DEFAULTS.gatewayPort),
                '--control-url', CONTROL_URL,
                '--token-file', TOKEN_FILE,
              ],
              ports: [{ name: 'http', containerPort: PLATFORM_DEFAULTS.gatewayPort, protocol: 'TCP' }],
              // Ready once it routes by a snapshot of the control plane's feed.
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 2 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 6 },
              resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'token', mountPath: TOKEN_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [TOKEN_VOLUME, { name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

function service(name: string, description: string, ports: Record<string, unknown>[], selector: Record<string, string>): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NAMESPACE, labels: LABELS, annotations: { 'zeno.dev/description': description } },
    spec: { type: 'ClusterIP', selector, ports },
  };
}

// ---------------------------------------------------------------- files

export interface InstallFile {
  name: string;
  header: string;
  objects: K8sObject[];
}

/** deploy/kubernetes/*.yaml, in the order `kubectl apply -f deploy/kubernetes/` applies them (by name). */
export function installFiles(): InstallFile[] {
  return [
    { name: '00-namespace.yaml', header: 'The namespace the platform runs in.', objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE, labels: LABELS } }] },
    { name: '10-crds.yaml', header: "Zeno's resources in Knative's shapes (core/kinds.ts). Do not install beside Knative: the groups are the same.", objects: crdKinds().map(buildCrd) },
    { name: '20-rbac.yaml', header: 'Least privilege: exactly what functions/kubernetes calls (test/deploy-manifests.test.ts checks it).', objects: rbac() },
    { name: '30-config.yaml', header: "Knative's ConfigMaps that Zeno reads, at Zeno's defaults (core/config).", objects: configMaps() },
    { name: '40-platform.yaml', header: 'The platform: the control plane (one replica on a Lease) and the data plane (zeno up --role gateway replicas). Needs the Secret zeno-admin-token (README "Run on Kubernetes").', objects: platform() },
  ];
}

/** A file's text: a generated-file header, then one YAML document per object. */
export function renderFile(f: InstallFile): string {
  const head = `# ${f.header}\n# Generated by deploy/kubernetes/generate.ts from the project's tables: edit install.ts, then npm run deploy:manifests.\n`;
  return head + f.objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
