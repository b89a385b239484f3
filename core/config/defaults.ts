/**
 * Knative's `config-defaults` ConfigMap: the values the webhook fills into a
 * revision when the user leaves them out, and the limits it validates against.
 * Keys, defaults and cross-checks follow knative/serving
 * `pkg/apis/config/defaults.go` and `config/core/configmaps/defaults.yaml`
 * (reference/knative-serving.md §3 Timeouts).
 */
import type { FieldIssue } from '../errors.js';

export const DEFAULTS_CONFIG_NAME = 'config-defaults';

export interface DefaultsConfig {
  /** Per-request timeout when `timeoutSeconds` is unset or 0. @default 300 */
  revisionTimeoutSeconds: number;
  /** Largest `timeoutSeconds` a revision may ask for. @default 600 */
  maxRevisionTimeoutSeconds: number;
  /** Time allowed before the first response byte; defaults to `revisionTimeoutSeconds`. @default 300 */
  revisionResponseStartTimeoutSeconds: number;
  /** Time allowed between response writes; 0 means no limit. @default 0 */
  revisionIdleTimeoutSeconds: number;
  /** Name of the serving container when the user gives none; may use `{{.Name}}`. @default "user-container" */
  containerNameTemplate: string;
  /** Name of init containers when the user gives none. @default "init-container" */
  initContainerNameTemplate: string;
  /** `containerConcurrency` when unset; 0 means unlimited. @default 0 */
  containerConcurrency: number;
  /** Upper bound for `containerConcurrency` (and autoscaling targets). @default 1000 */
  containerConcurrencyMaxLimit: number;
  /** Whether users may set `containerConcurrency: 0` (unbounded). @default true */
  allowContainerConcurrencyZero: boolean;
  /** Default for PodSpec `enableServiceLinks`; undefined leaves Kubernetes' default. @default false */
  enableServiceLinks: boolean | undefined;
  /** Resource quantities applied to containers that do not set them (Kubernetes only). */
  revisionCpuRequest: string | undefined;
  revisionMemoryRequest: string | undefined;
  revisionEphemeralStorageRequest: string | undefined;
  revisionCpuLimit: string | undefined;
  revisionMemoryLimit: string | undefined;
  revisionEphemeralStorageLimit: string | undefined;
}

/** Knative's `defaultDefaultsConfig()`. */
export const DEFAULT_DEFAULTS_CONFIG: Readonly<DefaultsConfig> = Object.freeze({
  revisionTimeoutSeconds: 300,
  maxRevisionTimeoutSeconds: 600,
  // Knative keeps this equal to the revision timeout for backward compatibility.
  revisionResponseStartTimeoutSeconds: 300,
  revisionIdleTimeoutSeconds: 0,
  containerNameTemplate: 'user-container',
  initContainerNameTemplate: 'init-container',
  containerConcurrency: 0,
  containerConcurrencyMaxLimit: 1000,
  allowContainerConcurrencyZero: true,
  enableServiceLinks: false,
  revisionCpuRequest: undefined,
  revisionMemoryRequest: undefined,
  revisionEphemeralStorageRequest: undefined,
  revisionCpuLimit: undefined,
  revisionMemoryLimit: undefined,
  revisionEphemeralStorageLimit: undefined,
});

const INT32_MAX = 2_147_483_647;

const QUANTITY_KEYS = {
  'revision-cpu-request': 'revisionCpuRequest',
  'revision-memory-request': 'revisionMemoryRequest',
  'revision-ephemeral-storage-request': 'revisionEphemeralStorageRequest',
  'revision-cpu-limit': 'revisionCpuLimit',
  'revision-memory-limit': 'revisionMemoryLimit',
  'revision-ephemeral-storage-limit': 'revisionEphemeralStorageLimit',
} as const satisfies Record<string, keyof DefaultsConfig>;

// Kubernetes resource.Quantity: a signed decimal number with an optional
// binary (Ki..Ei), decimal (n, u, m, k, M..E) or exponent suffix.
const QUANTITY_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

// Go's strconv.ParseBool, which knative.dev/pkg/configmap AsBool uses.
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/**
 * Parses `config-defaults` data the way `NewDefaultsConfigFromMap` does.
 * Unknown keys are ignored, as in Knative (so a ConfigMap from a newer
 * Knative still loads). On any issue the returned config is still complete,
 * with the default kept for each bad key, but callers must not apply it.
 */
export function parseDefaultsConfigMap(data: Record<string, unknown> | undefined): { config: DefaultsConfig; issues: FieldIssue[] } {
  const config: DefaultsConfig = { ...DEFAULT_DEFAULTS_CONFIG };
  const issues: FieldIssue[] = [];
  const d = data ?? {};
  const str = (key: string): string | undefined => {
    const v = d[key];
    if (v === undefined || v === null) return undefined;
    // ConfigMap data values are strings; YAML users often write `"300"` as 300.
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v === 'string') return v;
    issues.push({ path: `data.${key}`, message: 'must be a string' });
    return undefined;
  };
  const int = (key: string): number | undefined => {
    const raw = str(key);
    if (raw === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(raw.trim())) {
      issues.push({ path: `data.${key}`, message: `must be an integer, got ${JSON.stringify(raw)}` });
      return undefined;
    }
    return Number(raw.trim());
  };

  for (const key of ['container-name-template', 'init-container-name-template'] as const) {
    const raw = str(key);
    if (raw === undefined) continue;
    const problem = checkNameTemplate(raw);
    if (problem) issues.push({ path: `data.${key}`, message: problem });
    else if (key === 'container-name-template') config.containerNameTemplate = raw;
    else config.initContainerNameTemplate = raw;
  }

  const allowZero = str('allow-container-concurrency-zero');
  if (allowZero !== undefined) {
    if (GO_TRUE.has(allowZero)) config.allowContainerConcurrencyZero = true;
    else if (GO_FALSE.has(allowZero)) config.allowContainerConcurrencyZero = false;
    else issues.push({ path: 'data.allow-container-concurrency-zero', message: `must be true or false, got ${JSON.stringify(allowZero)}` });
  }

  // A tri-state: "true"/"false" (any case) set it, anything else ("default")
  // leaves the field to Kubernetes (asTriState in defaults.go).
  const links = str('enable-service-links');
  if (links !== undefined) {
    const l = links.toLowerCase();
    config.enableServiceLinks = l === 'true' ? true : l === 'false' ? false : undefined;
  }

  const timeout = int('revision-timeout-seconds');
  if (timeout !== undefined) config.revisionTimeoutSeconds = timeout;
  const maxTimeout = int('max-revision-timeout-seconds');
  if (maxTimeout !== undefined) config.maxRevisionTimeoutSeconds = maxTimeout;
  const idle = int('revision-idle-timeout-seconds');
  if (idle !== undefined) config.revisionIdleTimeoutSeconds = idle;
  const cc = int('container-concurrency');
  if (cc !== undefined) config.containerConcurrency = cc;
  const ccMax = int('container-concurrency-max-limit');
  if (ccMax !== undefined) config.containerConcurrencyMaxLimit = ccMax;

  for (const [key, field] of Object.entries(QUANTITY_KEYS)) {
    const raw = str(key);
    if (raw === undefined) continue;
    if (QUANTITY_RE.test(raw.trim())) config[field] = raw.trim();
    else issues.push({ path: `data.${key}`, message: `must be a Kubernetes quantity such as "400m" or "100Mi", got ${JSON.stringify(raw)}` });
  }

  // The response-start timeout follows whatever revision timeout was set,
  // unless given explicitly (defaults.go parses it in a second pass).
  config.revisionResponseStartTimeoutSeconds = config.revisionTimeoutSeconds;
  const start = int('revision-response-start-timeout-seconds');
  if (start !== undefined) config.revisionResponseStartTimeoutSeconds = start;

  // Cross-field checks, in Knative's order and wording.
  if (config.revisionTimeoutSeconds > config.maxRevisionTimeoutSeconds) {
    issues.push({
      path: 'data.revision-timeout-seconds',
      message: `revision-timeout-seconds (${config.revisionTimeoutSeconds}) cannot be greater than max-revision-timeout-seconds (${config.maxRevisionTimeoutSeconds})`,
    });
  }
  if (config.revisionResponseStartTimeoutSeconds > 0 && config.revisionResponseStartTimeoutSeconds > config.revisionTimeoutSeconds) {
    issues.push({
      path: 'data.revision-response-start-timeout-seconds',
      message: `revision-response-start-timeout-seconds (${config.revisionResponseStartTimeoutSeconds}) cannot be greater than revision-timeout-seconds (${config.revisionTimeoutSeconds})`,
    });
  }
  if (config.revisionIdleTimeoutSeconds > 0 && config.revisionIdleTimeoutSeconds > config.revisionTimeoutSeconds) {
    issues.push({
      path: 'data.revision-idle-timeout-seconds',
      message: `revision-idle-timeout-seconds (${config.revisionIdleTimeoutSeconds}) cannot be greater than revision-timeout-seconds (${config.revisionTimeoutSeconds})`,
    });
  }
  if (config.containerConcurrencyMaxLimit < 1) {
    issues.push({ path: 'data.container-concurrency-max-limit', message: `expected 1 <= ${config.containerConcurrencyMaxLimit} <= ${INT32_MAX}` });
  } else if (config.containerConcurrency < 0 || config.containerConcurrency > config.containerConcurrencyMaxLimit) {
    issues.push({ path: 'data.container-concurrency', message: `expected 0 <= ${config.containerConcurrency} <= ${config.containerConcurrencyMaxLimit}` });
  }
  return { config, issues };
}

// Knative runs these as Go text/templates over the parent's ObjectMeta. Zeno
// supports the part people use: literal text plus {{.Name}} / {{.Namespace}}.
const TEMPLATE_ACTION = /\{\{-?\s*\.(Name|Namespace)\s*-?\}\}/g;

function checkNameTemplate(t: string): string | undefined {
  if (t.replace(TEMPLATE_ACTION, '').includes('{{')) {
    return 'only {{.Name}} and {{.Namespace}} are supported in a name template';
  }
  return undefined;
}

/**
 * The container name a template yields for a parent object, e.g.
 * `"{{.Name}}-app"` for Service `hello` gives `hello-app`.
 */
export function renderContainerName(template: string, parent: { name?: string; namespace?: string }): string {
  return template.replace(TEMPLATE_ACTION, (_m, field: string) => (field === 'Name' ? parent.name ?? '' : parent.namespace ?? ''));
}
