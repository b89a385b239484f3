/**
 * Validation of `serving.knative.dev/v1` Service, following the Knative
 * webhook: `pkg/apis/serving/v1/{service,revision,route}_validation.go`,
 * `pkg/apis/serving/k8s_validation.go` and `metadata_validation.go`
 * (knative/serving). Messages keep Knative's wording where it has one
 * (`expected 0 <= 2000 <= 1000`, `"x" is a reserved environment variable`).
 *
 * Zeno's own rule on top: locally a container runs `command` + `args`
 * (the image is only used on Kubernetes), so the local runtime needs a
 * `command`.
 */
import { validateAsyncAnnotations } from '../../core/config/async.js';
import { validateDeploymentAnnotations } from '../../core/config/deployment.js';
import { validateAutoscalingAnnotations } from '../../core/config/autoscaler.js';
import type { FieldIssue } from '../../core/errors.js';
import { parseQuantity } from '../../core/quantity.js';
import { SERVING_API_VERSION } from '../../core/types.js';
import type { ValidationContext } from './context.js';
import { isCIdentifier, isDns1035Label, isDns1123Label, isQualifiedName, validateAnnotations, validateLabels, validateObjectMeta } from './names.js';
import { isRecord, optionalBool, optionalInt, optionalString, outOfBounds, unknownFields } from './shape.js';

const INT32_MAX = 2_147_483_647;

/**
 * Ports the queue-proxy and profiling server own inside a Knative pod
 * (`pkg/networking/constants.go`: 8012 HTTP/1, 8013 h2c, 8022 admin,
 * 9090 autoscaler metrics, 9091 user metrics; knative.dev/pkg profiling 8008).
 */
export const RESERVED_PORTS: ReadonlySet<number> = new Set([8008, 8012, 8013, 8022, 9090, 9091]);

/** The runtime contract's variables, set by the platform (k8s_validation.go reservedEnvVars). */
export const RESERVED_ENV_VARS: ReadonlySet<string> = new Set(['PORT', 'K_SERVICE', 'K_CONFIGURATION', 'K_REVISION']);

/** queue-proxy's container name is taken. */
const RESERVED_CONTAINER_NAMES: ReadonlySet<string> = new Set(['queue-proxy']);

/** Port names select the protocol (runtime contract): empty, `http1` or `h2c`. */
const PORT_NAMES: ReadonlySet<string> = new Set(['', 'http1', 'h2c']);

/** Knative labels users may not set on a Service (service_validation.go validateLabels). */
const SERVING_LABEL_PREFIX = 'serving.knative.dev/';
const VISIBILITY_LABEL = 'networking.knative.dev/visibility';

const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const SERVICE_SPEC_FIELDS = new Set(['template', 'traffic']);
const TEMPLATE_FIELDS = new Set(['metadata', 'spec']);
// `kn service export` writes `creationTimestamp: null` into the template.
const TEMPLATE_META_FIELDS = new Set(['name', 'generateName', 'namespace', 'labels', 'annotations', 'creationTimestamp']);
// Knative's RevisionSpec fields plus the PodSpec fields its PodSpecMask can allow.
const REVISION_SPEC_FIELDS = new Set([
  'containerConcurrency', 'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds', 'containers',
  'serviceAccountName', 'volumes', 'imagePullSecrets', 'enableServiceLinks', 'automountServiceAccountToken',
  'affinity', 'nodeSelector', 'tolerations', 'securityContext', 'priorityClassName', 'runtimeClassName',
  'schedulerName', 'hostAliases', 'initContainers', 'topologySpreadConstraints', 'dnsPolicy', 'dnsConfig',
  'hostIPC', 'hostPID', 'hostNetwork', 'shareProcessNamespace',
]);
// Every Kubernetes Container field, so typos (`comand`) are caught.
const CONTAINER_FIELDS = new Set([
  'name', 'image', 'command', 'args', 'workingDir', 'ports', 'envFrom', 'env', 'resources', 'resizePolicy',
  'restartPolicy', 'volumeMounts', 'volumeDevices', 'livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle',
  'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy', 'securityContext', 'stdin', 'stdinOnce', 'tty',
]);
// ContainerPortMask: only these three may be set.
const PORT_FIELDS = new Set(['containerPort', 'name', 'protocol']);
const ENV_FIELDS = new Set(['name', 'value', 'valueFrom']);
const PROBE_FIELDS = new Set([
  'httpGet', 'tcpSocket', 'exec', 'grpc', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds',
  'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds',
]);
const HTTP_GET_FIELDS = new Set(['path', 'port', 'host', 'scheme', 'httpHeaders']);
const TCP_SOCKET_FIELDS = new Set(['port', 'host']);
const TRAFFIC_FIELDS = new Set(['revisionName', 'configurationName', 'latestRevision', 'percent', 'tag', 'url']);

// A loose image reference check in the spirit of go-containerregistry's weak
// validation: [registry[:port]/]repo[/more][:tag][@algo:hex].
const IMAGE_RE =
  /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::\w[\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

/** Checks a Service as written by the user (before defaulting). Paths start at the object root. */
export function validateService(obj: unknown, ctx: ValidationContext): FieldIssue[] {
  if (!isRecord(obj)) return [{ path: '', message: 'a Service must be a mapping' }];
  const issues: FieldIssue[] = [];
  if (obj.apiVersion !== SERVING_API_VERSION) {
    issues.push({ path: 'apiVersion', message: `must be ${SERVING_API_VERSION}, got ${JSON.stringify(obj.apiVersion)}` });
  }
  if (obj.kind !== 'Service') issues.push({ path: 'kind', message: `must be Service, got ${JSON.stringify(obj.kind)}` });
  issues.push(...unknownFields(obj, TOP_FIELDS, ''));

  // Service names become host labels (NAME.NAMESPACE.DOMAIN): DNS-1035.
  issues.push(...validateObjectMeta(obj.metadata, 'metadata', 'dns1035-label'));
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const serviceName = typeof meta.name === 'string' ? meta.name : '';
  issues.push(...validateServiceLabels(meta.labels));
  issues.push(...validateAutoscalingAnnotations(stringEntries(meta.annotations), 'metadata.annotations', ctx.autoscaler));
  issues.push(...validateAsyncAnnotations(stringEntries(meta.annotations), 'metadata.annotations'));

  const spec = obj.spec;
  if (spec === undefined || spec === null) {
    issues.push({ path: 'spec', message: 'missing field(s)' });
    return issues;
  }
  if (!isRecord(spec)) {
    issues.push({ path: 'spec', message: 'must be a mapping' });
    return issues;
  }
  issues.push(...unknownFields(spec, SERVICE_SPEC_FIELDS, 'spec'));
  issues.push(...validateTemplate(spec.template, 'spec.template', serviceName, ctx));
  // An empty list is defaulted to 100% latest before Knative validates it.
  if (spec.traffic !== undefined && spec.traffic !== null && !(Array.isArray(spec.traffic) && spec.traffic.length === 0)) {
    issues.push(...validateTraffic(spec.traffic, 'spec.traffic', serviceName));
  }
  return issues;
}

function validateServiceLabels(labels: unknown): FieldIssue[] {
  if (!isRecord(labels)) return [];
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const path = `metadata.labels["${key}"]`;
    if (key === VISIBILITY_LABEL) {
      if (value !== 'cluster-local') issues.push({ path, message: `invalid value: ${JSON.stringify(value)}: must be "cluster-local"` });
    } else if (key.startsWith(SERVING_LABEL_PREFIX)) {
      issues.push({ path, message: `invalid key name ${JSON.stringify(key)}: ${SERVING_LABEL_PREFIX}* labels are set by the platform` });
    }
  }
  return issues;
}

function validateTemplate(template: unknown, path: string, serviceName: string, ctx: ValidationContext): FieldIssue[] {
  if (template === undefined || template === null) return [{ path, message: 'missing field(s)' }];
  if (!isRecord(template)) return [{ path, message: 'must be a mapping' }];
  const issues = unknownFields(template, TEMPLATE_FIELDS, path);

  const meta = template.metadata;
  if (meta !== undefined && meta !== null) {
    const mpath = `${path}.metadata`;
    if (!isRecord(meta)) {
      issues.push({ path: mpath, message: 'must be a mapping' });
    } else {
      issues.push(...unknownFields(meta, TEMPLATE_META_FIELDS, mpath));
      issues.push(...validateRevisionName(meta, mpath, serviceName));
      issues.push(...validateLabels(meta.labels, `${mpath}.labels`));
      issues.push(...validateAnnotations(meta.annotations, `${mpath}.annotations`));
      issues.push(...validateAutoscalingAnnotations(stringEntries(meta.annotations), `${mpath}.annotations`, ctx.autoscaler));
      issues.push(...validateAsyncAnnotations(stringEntries(meta.annotations), `${mpath}.annotations`));
      issues.push(...validateDeploymentAnnotations(stringEntries(meta.annotations), `${mpath}.annotations`));
    }
  }

  issues.push(...validateRevisionSpec(template.spec, `${path}.spec`, ctx));
  return issues;
}

/** validateRevisionName: a DNS-1035 label that starts with `<service>-`. */
function validateRevisionName(meta: Record<string, unknown>, path: string, serviceName: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const generateName = optionalString(meta, 'generateName', path, issues);
  if (generateName) {
    // A prefix may end in '-': mask it as Kubernetes' maskTrailingDash does.
    const msgs = isDns1035Label(generateName.endsWith('-') ? `${generateName.slice(0, -1)}a` : generateName);
    if (msgs.length) issues.push({ path: `${path}.generateName`, message: `not a DNS 1035 label prefix: ${msgs.join('; ')}` });
  }
  const name = optionalString(meta, 'name', path, issues);
  if (name) {
    const msgs = isDns1035Label(name);
    if (msgs.length) {
      issues.push({ path: `${path}.name`, message: `not a DNS 1035 label: ${msgs.join('; ')}` });
    } else if (serviceName && !name.startsWith(`${serviceName}-`)) {
      issues.push({ path: `${path}.name`, message: `${JSON.stringify(name)} must have prefix ${JSON.stringify(`${serviceName}-`)}` });
    }
  }
  return issues;
}

function validateRevisionSpec(spec: unknown, path: string, ctx: ValidationContext): FieldIssue[] {
  if (spec === undefined || spec === null) return [{ path, message: 'missing field(s)' }];
  if (!isRecord(spec)) return [{ path, message: 'must be a mapping' }];
  const issues = unknownFields(spec, REVISION_SPEC_FIELDS, path);
  const d = ctx.defaults;

  // ValidateContainerConcurrency: [0 or 1, container-concurrency-max-limit].
  const cc = optionalInt(spec, 'containerConcurrency', path, issues);
  if (cc !== undefined) {
    const min = d.allowContainerConcurrencyZero ? 0 : 1;
    if (cc < min || cc > d.containerConcurrencyMaxLimit) {
      issues.push({ path: `${path}.containerConcurrency`, message: outOfBounds(cc, min, d.containerConcurrencyMaxLimit) });
    }
  }

  // validateTimeoutSeconds: 0 means "use revision-timeout-seconds" (it is
  // defaulted), anything else must be within max-revision-timeout-seconds.
  const timeout = optionalInt(spec, 'timeoutSeconds', path, issues);
  if (timeout !== undefined && timeout !== 0 && (timeout < 0 || timeout > d.maxRevisionTimeoutSeconds)) {
    issues.push({ path: `${path}.timeoutSeconds`, message: outOfBounds(timeout, 0, d.maxRevisionTimeoutSeconds) });
  }
  // The response must start, and stay active, within the request timeout.
  const effectiveTimeout = timeout ? timeout : d.revisionTimeoutSeconds;
  const start = optionalInt(spec, 'responseStartTimeoutSeconds', path, issues);
  if (start !== undefined && (start < 0 || start > effectiveTimeout)) {
    issues.push({ path: `${path}.responseStartTimeoutSeconds`, message: outOfBounds(start, 0, effectiveTimeout) });
  }
  const idle = optionalInt(spec, 'idleTimeoutSeconds', path, issues);
  if (idle !== undefined && (idle < 0 || idle > effectiveTimeout)) {
    issues.push({ path: `${path}.idleTimeoutSeconds`, message: outOfBounds(idle, 0, effectiveTimeout) });
  }

  const containers = spec.containers;
  const cpath = `${path}.containers`;
  if (containers === undefined || containers === null || (Array.isArray(containers) && containers.length === 0)) {
    issues.push({ path: cpath, message: 'missing field(s)' });
  } else if (!Array.isArray(containers)) {
    issues.push({ path: cpath, message: 'must be a list of containers' });
  } else if (containers.length > 1) {
    // Knative can run sidecars on Kubernetes; a revision here is one process.
    issues.push({ path: cpath, message: `exactly one container is supported, found ${containers.length}` });
  } else {
    issues.push(...validateContainer(containers[0], `${cpath}[0]`, ctx));
  }
  return issues;
}

/** One container (also used for a ContainerSource's pod template). */
export function validateContainer(c: unknown, path: string, ctx: ValidationContext): FieldIssue[] {
  if (!isRecord(c) || Object.keys(c).length === 0) {
    return [{ path, message: isRecord(c) ? 'missing field(s)' : 'must be a mapping' }];
  }
  const issues = unknownFields(c, CONTAINER_FIELDS, path);
  const local = (ctx.runtime ?? 'local') === 'local';

  const name = optionalString(c, 'name', path, issues);
  if (name) {
    const msgs = isDns1123Label(name);
    if (msgs.length) issues.push({ path: `${path}.name`, message: `not a DNS 1123 label: ${msgs.join('; ')}` });
    else if (RESERVED_CONTAINER_NAMES.has(name)) issues.push({ path: `${path}.name`, message: `${JSON.stringify(name)} is a reserved container name` });
  }

  const image = optionalString(c, 'image', path, issues);
  if (image && !IMAGE_RE.test(image)) {
    issues.push({ path: `${path}.image`, message: `Failed to parse image reference ${JSON.stringify(image)}` });
  }
  const command = stringList(c, 'command', path, issues);
  stringList(c, 'args', path, issues);
  optionalString(c, 'workingDir', path, issues);

  const hasCommand = command !== undefined && command.length > 0;
  // A malformed command was already reported; do not also call it missing.
  const commandMalformed = c.command !== undefined && c.command !== null && command === undefined;
  if (!commandMalformed) issues.push(...validateRunnable(path, hasCommand, image, local));

  issues.push(...validateEnv(c.env, `${path}.env`, local));
  issues.push(...validateResources(c.resources, `${path}.resources`));
  const port = validatePorts(c.ports, `${path}.ports`, issues);
  if (c.readinessProbe !== undefined && c.readinessProbe !== null) {
    issues.push(...validateProbe(c.readinessProbe, `${path}.readinessProbe`, port, local));
  }
  if (c.livenessProbe !== undefined && c.livenessProbe !== null) {
    issues.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`, port, local));
  }
  return issues;
}

const RESOURCES_FIELDS = new Set(['limits', 'requests', 'claims']);

/**
 * `resources`: limits and requests map resource names to Kubernetes
 * quantities (`128Mi`, `0.5`, `500m`); a request may not exceed its limit
 * (Kubernetes' ValidateResourceRequirements). Locally `limits.memory` is
 * enforced (functions/local/memory.ts); the rest only matters on Kubernetes.
 */
export function validateResources(r: unknown, path: string): FieldIssue[] {
  if (r === undefined || r === null) return [];
  if (!isRecord(r)) return [{ path, message: 'must be a mapping with limits and requests' }];
  const issues = unknownFields(r, RESOURCES_FIELDS, path);
  const parsed: Record<'limits' | 'requests', Record<string, number>> = { limits: {}, requests: {} };
  for (const which of ['limits', 'requests'] as const) {
    const m = r[which];
    if (m === undefined || m === null) continue;
    if (!isRecord(m)) {
      issues.push({ path: `${path}.${which}`, message: 'must map resource names to quantities, e.g. {memory: 128Mi, cpu: 500m}' });
      continue;
    }
    for (const [name, v] of Object.entries(m)) {
      const q = typeof v === 'string' || typeof v === 'number' ? parseQuantity(v) : undefined;
      if (q === undefined) issues.push({ path: `${path}.${which}.${name}`, message: `${JSON.stringify(v)} is not a quantity (e.g. 128Mi, 1Gi, 500m)` });
      else if (q < 0) issues.push({ path: `${path}.${which}.${name}`, message: 'must be greater than or equal to 0' });
      else parsed[which][name] = q;
    }
  }
  for (const [name, req] of Object.entries(parsed.requests)) {
    const lim = parsed.limits[name];
    if (lim !== undefined && req > lim) issues.push({ path: `${path}.requests.${name}`, message: `must be less than or equal to ${name} limit` });
  }
  return issues;
}

/** Locally a container runs `command` + `args`; on Kubernetes, its image. */
function validateRunnable(path: string, hasCommand: boolean, image: string | undefined, local: boolean): FieldIssue[] {
  if (!hasCommand && !image) {
    return [{ path, message: 'set `command` (and `args`) to run it locally, or `image` to run it on Kubernetes' }];
  }
  if (local && !hasCommand) {
    return [{
      path: `${path}.command`,
      message: 'the embedded runtime runs `command` + `args`, not container images: add `command` (the image is only used on Kubernetes)',
    }];
  }
  if (!local && !image) return [{ path: `${path}.image`, message: 'missing field(s): Kubernetes runs the container image' }];
  return [];
}

function validateEnv(env: unknown, path: string, local: boolean): FieldIssue[] {
  if (env === undefined || env === null) return [];
  if (!Array.isArray(env)) return [{ path, message: 'must be a list of {name, value}' }];
  const issues: FieldIssue[] = [];
  env.forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (!isRecord(e)) {
      issues.push({ path: p, message: 'must be a mapping with name and value' });
      return;
    }
    issues.push(...unknownFields(e, ENV_FIELDS, p));
    const name = optionalString(e, 'name', p, issues);
    if (!name) {
      if (e.name === undefined || e.name === null || e.name === '') issues.push({ path: `${p}.name`, message: 'missing field(s)' });
    } else if (RESERVED_ENV_VARS.has(name)) {
      issues.push({ path: `${p}.name`, message: `${JSON.stringify(name)} is a reserved environment variable` });
    } else {
      const msgs = isCIdentifier(name);
      if (msgs.length) issues.push({ path: `${p}.name`, message: `invalid environment variable name ${JSON.stringify(name)}: ${msgs.join('; ')}` });
    }
    // Kubernetes rejects `value: 8080`: env values are strings.
    if (e.value !== undefined && e.value !== null && typeof e.value !== 'string') {
      issues.push({ path: `${p}.value`, message: `must be a string (quote it), got ${JSON.stringify(e.value)}` });
    }
    if (e.valueFrom !== undefined && e.valueFrom !== null) {
      if (local) issues.push({ path: `${p}.valueFrom`, message: 'the embedded runtime has no Secrets or ConfigMaps to read from: use `value`' });
      else if (e.value !== undefined && e.value !== null) issues.push({ path: `${p}.valueFrom`, message: 'may not be specified when `value` is not empty' });
      // Refused rather than dropped: the Kubernetes runtime's pod template carries `value` entries only (functions/kubernetes/manifests.ts).
      else issues.push({ path: `${p}.valueFrom`, message: 'the Kubernetes runtime does not pass valueFrom to the pod yet: use `value`' });
    }
  });
  return issues;
}

/** Checks `ports` and returns the serving port (number and name) probes must match. */
function validatePorts(ports: unknown, path: string, issues: FieldIssue[]): { number: number; name: string } {
  // validateContainersPorts: the serving port defaults to 8080 (runtime contract).
  const port = { number: 8080, name: '' };
  if (ports === undefined || ports === null) return port;
  if (!Array.isArray(ports)) {
    issues.push({ path, message: 'must be a list with one {containerPort}' });
    return port;
  }
  if (ports.length > 1) {
    issues.push({ path, message: 'more than one container port is set: only a single port is allowed' });
  }
  const p = ports[0];
  if (p === undefined) return port;
  const ppath = `${path}[0]`;
  if (!isRecord(p)) {
    issues.push({ path: ppath, message: 'must be a mapping with containerPort' });
    return port;
  }
  for (const k of Object.keys(p)) {
    if (!PORT_FIELDS.has(k)) issues.push({ path: `${ppath}.${k}`, message: `must not set the field(s): ${k}` });
  }
  const n = optionalInt(p, 'containerPort', ppath, issues);
  if (n !== undefined) {
    if (n < 1 || n > 65535) issues.push({ path: `${ppath}.containerPort`, message: outOfBounds(n, 1, 65535) });
    else if (RESERVED_PORTS.has(n)) issues.push({ path: `${ppath}.containerPort`, message: `${n} is a reserved port, please use a different value` });
    else port.number = n;
  }
  const name = optionalString(p, 'name', ppath, issues);
  if (name !== undefined) {
    if (!PORT_NAMES.has(name)) issues.push({ path: `${ppath}.name`, message: `Port name ${name} is not allowed: name must be empty, or one of: 'h2c', 'http1'` });
    port.name = name;
  }
  const protocol = optionalString(p, 'protocol', ppath, issues);
  if (protocol !== undefined && protocol !== '' && protocol !== 'TCP') {
    issues.push({ path: `${ppath}.protocol`, message: `invalid value: ${protocol}: only TCP is supported` });
  }
  return port;
}

/**
 * validateProbe + validateReadinessProbe: exactly one handler; a named or
 * numbered port must be the container's port (the platform probes that one);
 * timings as Knative allows. `periodSeconds` 0 (or unset) selects Knative's
 * aggressive probing, which has no timeout or failure threshold of its own.
 * Unset `timeoutSeconds` / `failureThreshold` with a period take Kubernetes'
 * defaults (1 and 3) rather than failing as zeros.
 */
function validateProbe(probe: unknown, path: string, port: { number: number; name: string }, local: boolean): FieldIssue[] {
  if (!isRecord(probe)) return [{ path, message: 'must be a mapping' }];
  const issues = unknownFields(probe, PROBE_FIELDS, path);
  const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (handlers.length === 0) {
    issues.push({ path, message: 'expected exactly one, got neither: httpGet, tcpSocket, exec, grpc' });
  } else if (handlers.length > 1) {
    issues.push({ path, message: `expected exactly one, got both: ${handlers.join(', ')}` });
  }
  for (const h of handlers) {
    const hpath = `${path}.${h}`;
    const action = probe[h];
    if (h === 'exec' || h === 'grpc') {
      // On Kubernetes too: the runtime's Deployment builds httpGet and tcpSocket probes only, so an exec probe would silently become a TCP check.
      issues.push({ path: hpath, message: `the ${local ? 'embedded' : 'Kubernetes'} runtime cannot run ${h} probes: use httpGet or tcpSocket` });
      continue;
    }
    if (!isRecord(action)) {
      issues.push({ path: hpath, message: 'must be a mapping' });
      continue;
    }
    issues.push(...unknownFields(action, h === 'httpGet' ? HTTP_GET_FIELDS : TCP_SOCKET_FIELDS, hpath));
    issues.push(...validateProbePort(action.port, `${hpath}.port`, port));
    if (h === 'httpGet') {
      const p = optionalString(action, 'path', hpath, issues);
      if (p !== undefined && p !== '' && !p.startsWith('/')) issues.push({ path: `${hpath}.path`, message: 'must start with "/"' });
      const scheme = optionalString(action, 'scheme', hpath, issues);
      if (scheme !== undefined && scheme !== 'HTTP' && scheme !== 'HTTPS') issues.push({ path: `${hpath}.scheme`, message: `must be HTTP or HTTPS, got ${JSON.stringify(scheme)}` });
      issues.push(...validateHttpHeaders(action.httpHeaders, `${hpath}.httpHeaders`));
    }
  }

  const initialDelay = optionalInt(probe, 'initialDelaySeconds', path, issues);
  if (initialDelay !== undefined && initialDelay < 0) issues.push({ path: `${path}.initialDelaySeconds`, message: outOfBounds(initialDelay, 0, INT32_MAX) });
  const period = optionalInt(probe, 'periodSeconds', path, issues);
  if (period !== undefined && period < 0) issues.push({ path: `${path}.periodSeconds`, message: outOfBounds(period, 0, INT32_MAX) });
  const success = optionalInt(probe, 'successThreshold', path, issues);
  if (success !== undefined && success < 1) issues.push({ path: `${path}.successThreshold`, message: outOfBounds(success, 1, INT32_MAX) });
  const timeout = optionalInt(probe, 'timeoutSeconds', path, issues);
  const failure = optionalInt(probe, 'failureThreshold', path, issues);
  if (!period) {
    if (failure) issues.push({ path: `${path}.failureThreshold`, message: 'failureThreshold is disallowed when periodSeconds is zero' });
    if (timeout) issues.push({ path: `${path}.timeoutSeconds`, message: 'timeoutSeconds is disallowed when periodSeconds is zero' });
  } else {
    if (timeout !== undefined && timeout < 1) issues.push({ path: `${path}.timeoutSeconds`, message: outOfBounds(timeout, 1, INT32_MAX) });
    if (failure !== undefined && failure < 1) issues.push({ path: `${path}.failureThreshold`, message: outOfBounds(failure, 1, INT32_MAX) });
  }
  return issues;
}

function validateProbePort(v: unknown, path: string, port: { number: number; name: string }): FieldIssue[] {
  if (v === undefined || v === null || v === 0 || v === '') return [];
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 1 || v > 65535) return [{ path, message: outOfBounds(v, 1, 65535) }];
    if (v !== port.number) return [{ path, message: `invalid value: ${v}: Probe port must match container port (${port.number})` }];
    return [];
  }
  if (typeof v === 'string') {
    if (v !== port.name) return [{ path, message: `invalid value: ${v}: Probe port must match container port${port.name ? ` (${port.name})` : ''}` }];
    return [];
  }
  return [{ path, message: 'must be a port number or the port name' }];
}

function validateHttpHeaders(v: unknown, path: string): FieldIssue[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) return [{ path, message: 'must be a list of {name, value}' }];
  const issues: FieldIssue[] = [];
  v.forEach((h, i) => {
    if (!isRecord(h) || typeof h.name !== 'string' || h.name === '' || typeof h.value !== 'string') {
      issues.push({ path: `${path}[${i}]`, message: 'must have a string name and a string value' });
    }
  });
  return issues;
}

/**
 * validateTrafficList in a Service's context: the configuration is implied,
 * so `configurationName` and `url` may not be set; percents are 0..100 and
 * sum to 100 (a missing percent counts as 0); tags are unique DNS-1035 labels.
 */
function validateTraffic(traffic: unknown, path: string, serviceName: string): FieldIssue[] {
  if (!Array.isArray(traffic)) return [{ path, message: 'must be a list of traffic targets' }];
  const issues: FieldIssue[] = [];
  const tags = new Map<string, number>();
  let sum = 0;
  traffic.forEach((t, i) => {
    const p = `${path}[${i}]`;
    if (!isRecord(t)) {
      issues.push({ path: p, message: 'must be a mapping' });
      return;
    }
    issues.push(...unknownFields(t, TRAFFIC_FIELDS, p));
    if (t.configurationName !== undefined && t.configurationName !== null) {
      issues.push({ path: `${p}.configurationName`, message: 'must not set the field(s): the Service names its own configuration' });
    }
    if (t.url !== undefined && t.url !== null) issues.push({ path: `${p}.url`, message: 'must not set the field(s): url is status only' });

    const revisionName = optionalString(t, 'revisionName', p, issues) ?? '';
    if (revisionName) {
      const msgs = isQualifiedName(revisionName);
      if (msgs.length) issues.push({ path: `${p}.revisionName`, message: `invalid key name ${JSON.stringify(revisionName)}: ${msgs.join('; ')}` });
    }
    // The senses of pinning and floating must agree (validateLatestRevision).
    const latest = optionalBool(t, 'latestRevision', p, issues);
    if (latest !== undefined && latest === (revisionName !== '')) {
      issues.push({
        path: `${p}.latestRevision`,
        message: latest
          ? `may not set revisionName ${JSON.stringify(revisionName)} when latestRevision is true`
          : 'latestRevision false needs a revisionName to pin',
      });
    }

    const percent = optionalInt(t, 'percent', p, issues);
    if (percent !== undefined) {
      if (percent < 0 || percent > 100) issues.push({ path: `${p}.percent`, message: outOfBounds(percent, 0, 100) });
      sum += percent;
    }

    const tag = optionalString(t, 'tag', p, issues);
    if (tag) {
      const msgs = isDns1035Label(tag);
      if (msgs.length) issues.push({ path: `${p}.tag`, message: `not a DNS 1035 label: ${msgs.join('; ')}` });
      // The tag URL's first label is TAG-NAME (tag-template `{{.Tag}}-{{.Name}}`).
      else if (serviceName && tag.length + 1 + serviceName.length > 63) {
        issues.push({ path: `${p}.tag`, message: `the host label ${JSON.stringify(`${tag}-${serviceName}`)} must be no more than 63 characters` });
      }
      const first = tags.get(tag);
      if (first !== undefined) issues.push({ path: `${p}.tag`, message: `Multiple definitions for ${JSON.stringify(tag)}: also at ${path}[${first}].tag` });
      else tags.set(tag, i);
    }
  });
  if (sum !== 100) issues.push({ path, message: `Traffic targets sum to ${sum}, want 100` });
  return issues;
}

function stringList(obj: Record<string, unknown>, key: string, path: string, issues: FieldIssue[]): string[] | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) {
    issues.push({ path: `${path}.${key}`, message: `must be a list of strings, e.g. ["node", "server.js"]` });
    return undefined;
  }
  const bad = v.findIndex((x) => typeof x !== 'string');
  if (bad >= 0) {
    issues.push({ path: `${path}.${key}[${bad}]`, message: `must be a string (quote it), got ${JSON.stringify(v[bad])}` });
    return undefined;
  }
  return v as string[];
}

/** The string-valued entries of an annotations map (others are reported by validateAnnotations). */
function stringEntries(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
