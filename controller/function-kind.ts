/**
 * The compact `zeno.dev/v1` Function kind (docs/functions.md) and its one
 * conversion: a Function becomes a Knative Service that the platform owns.
 *
 * ```yaml
 * apiVersion: zeno.dev/v1
 * kind: Function
 * metadata: {name: hello, annotations: {autoscaling.knative.dev/min-scale: "0"}}
 * spec: {handler: ./hello.ts, env: {GREETING: hi}, containerConcurrency: 0, timeoutSeconds: 300}
 * ```
 *
 * becomes a Service whose one container runs the Node function runtime on
 * the handler (`command: [node, <root>/dist/functions/node/main.js]`,
 * `args: [/abs/hello.ts]`), or with `spec.command` instead of `handler`,
 * that command in the manifest's folder. The conversion is pure: the caller
 * supplies the manifest's folder and the runtime's entry point.
 */
import path from 'node:path';
import { AUTOSCALING_GROUP } from '../core/config/autoscaler.js';
import { SERVING_API_VERSION } from '../core/types.js';
import type { Container, KObject, RevisionTemplate, Service } from '../core/types.js';

export const FUNCTION_API_VERSION = 'zeno.dev/v1';
export const FUNCTION_KIND = 'Function';
/** The label on a generated Service naming the Function it came from. */
export const FUNCTION_LABEL = 'zeno.dev/function';
/** Where a manifest's relative paths start (set by the CLI; cli/manifests.ts). */
export const BASE_DIR_ANNOTATION = 'zeno.dev/base-dir';
/** Handler files the Node runtime loads (TypeScript is compiled on load). */
export const HANDLER_EXTENSIONS: readonly string[] = ['.js', '.mjs', '.ts'];

// A type alias (not an interface) so it is assignable to KObject's Record<string, unknown> spec.
export type FunctionSpec = {
  /** A module whose default export is a fetch handler; relative to the manifest's folder. */
  handler?: string;
  /** Any program listening on $PORT, run in the manifest's folder (instead of handler). */
  command?: string[];
  env?: Record<string, string>;
  containerConcurrency?: number;
  timeoutSeconds?: number;
  /** The container's resources (`limits.memory` is enforced by the local runtime). */
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
};

export type ZenoFunction = KObject<FunctionSpec>;

export interface ConversionOptions {
  /** Absolute folder of the manifest: relative handler paths and the command's working folder. */
  baseDir: string;
  /** Absolute path of the Node runtime's entry (functions/node nodeRuntimeEntry()). */
  runtimeEntry: string;
}

/** True for `autoscaling.knative.dev/*` keys, which Knative reads from the revision template. */
function isAutoscalingKey(key: string): boolean {
  return key.startsWith(`${AUTOSCALING_GROUP}/`);
}

/**
 * The Service a (validated) Function stands for. Name, namespace and labels
 * go to the Service (plus `zeno.dev/function: NAME`); autoscaling
 * annotations go to the revision template, where Knative reads them; other
 * annotations (such as `zeno.dev/base-dir`) stay on the Service. The
 * Function owns the Service (controller ownerReference with its uid).
 * Unset containerConcurrency / timeoutSeconds stay unset, so Knative's
 * defaulting (config-defaults) applies to the Service as to any other.
 */
export function functionToService(fn: ZenoFunction, opts: ConversionOptions): Service {
  const name = fn.metadata.name;
  const spec = fn.spec ?? {};
  const annotations = fn.metadata.annotations ?? {};
  const templateAnnotations: Record<string, string> = {};
  const serviceAnnotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) {
    if (isAutoscalingKey(k)) templateAnnotations[k] = v;
    else serviceAnnotations[k] = v;
  }

  const container: Container = spec.handler !== undefined
    ? { command: ['node', opts.runtimeEntry], args: [path.resolve(opts.baseDir, spec.handler)] }
    : { command: [...(spec.command ?? [])], workingDir: opts.baseDir };
  const env = Object.entries(spec.env ?? {});
  if (env.length) container.env = env.map(([k, v]) => ({ name: k, value: v }));
  if (spec.resources) container.resources = structuredClone(spec.resources);

  const template: RevisionTemplate = {
    ...(Object.keys(templateAnnotations).length ? { metadata: { annotations: templateAnnotations } } : {}),
    spec: {
      ...(spec.containerConcurrency !== undefined ? { containerConcurrency: spec.containerConcurrency } : {}),
      ...(spec.timeoutSeconds !== undefined ? { timeoutSeconds: spec.timeoutSeconds } : {}),
      containers: [container],
    },
  };

  return {
    apiVersion: SERVING_API_VERSION,
    kind: 'Service',
    metadata: {
      name,
      ...(fn.metadata.namespace ? { namespace: fn.metadata.namespace } : {}),
      labels: { ...(fn.metadata.labels ?? {}), [FUNCTION_LABEL]: name },
      ...(Object.keys(serviceAnnotations).length ? { annotations: serviceAnnotations } : {}),
      ownerReferences: [{ apiVersion: FUNCTION_API_VERSION, kind: FUNCTION_KIND, name, uid: fn.metadata.uid ?? '', controller: true }],
    },
    spec: { template },
  };
}

/** Whether a stored Service was generated from the Function `name` (and may be replaced or deleted with it). */
export function isOwnedBy(svc: KObject, name: string): boolean {
  return svc.metadata.labels?.[FUNCTION_LABEL] === name
    && (svc.metadata.ownerReferences ?? []).some((r) => r.kind === FUNCTION_KIND && r.apiVersion === FUNCTION_API_VERSION && r.name === name);
}

/**
 * What `get` shows for a Function: the stored object with the status of the
 * Service it owns (url, latest revisions, conditions), so `zeno get functions`
 * tells whether the function is Ready without a second lookup.
 */
export function withServiceStatus(fn: KObject, svc: KObject | undefined): KObject {
  const out: KObject = { ...fn };
  delete out.status;
  if (!svc || !isOwnedBy(svc, fn.metadata.name)) return out;
  const s = (svc.status ?? {}) as Record<string, unknown>;
  const status: Record<string, unknown> = {};
  for (const k of ['url', 'address', 'latestReadyRevisionName', 'latestCreatedRevisionName', 'conditions'] as const) {
    if (s[k] !== undefined) status[k] = s[k];
  }
  if (Object.keys(status).length) out.status = status;
  return out;
}
