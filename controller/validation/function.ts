/**
 * Validation of the compact `zeno.dev/v1` Function (controller/function-kind.ts).
 * The rules are the Service's (validation/service.ts, after Knative's
 * webhook) for what the Function turns into: a DNS-1035 name, Knative's
 * autoscaling annotations, containerConcurrency and timeoutSeconds within
 * config-defaults' limits, environment variable names that are C
 * identifiers and not the runtime contract's. Plus the Function's own:
 * exactly one of `handler` or `command`; a handler the Node runtime can load.
 */
import path from 'node:path';
import { validateAsyncAnnotations } from '../../core/config/async.js';
import { validateDeploymentAnnotations } from '../../core/config/deployment.js';
import { validateAutoscalingAnnotations } from '../../core/config/autoscaler.js';
import type { FieldIssue } from '../../core/errors.js';
import { FUNCTION_API_VERSION, FUNCTION_KIND, FUNCTION_LABEL, HANDLER_EXTENSIONS } from '../function-kind.js';
import type { ValidationContext } from './context.js';
import { isCIdentifier, validateObjectMeta } from './names.js';
import { RESERVED_ENV_VARS, validateResources } from './service.js';
import { isRecord, optionalInt, outOfBounds, unknownFields } from './shape.js';

const TOP_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
const SPEC_FIELDS = new Set(['handler', 'command', 'env', 'containerConcurrency', 'timeoutSeconds', 'resources']);
/** Labels the platform sets on the generated Service (service_validation.go refuses serving.knative.dev/*). */
const SERVING_LABEL_PREFIX = 'serving.knative.dev/';

/** Checks a Function as written by the user. Paths start at the object root. */
export function validateFunction(obj: unknown, ctx: ValidationContext): FieldIssue[] {
  if (!isRecord(obj)) return [{ path: '', message: 'a Function must be a mapping' }];
  const issues: FieldIssue[] = [];
  if (obj.apiVersion !== FUNCTION_API_VERSION) {
    issues.push({ path: 'apiVersion', message: `must be ${FUNCTION_API_VERSION}, got ${JSON.stringify(obj.apiVersion)}` });
  }
  if (obj.kind !== FUNCTION_KIND) issues.push({ path: 'kind', message: `must be ${FUNCTION_KIND}, got ${JSON.stringify(obj.kind)}` });
  issues.push(...unknownFields(obj, TOP_FIELDS, ''));

  // The Function's name is its Service's, a host label: DNS-1035.
  issues.push(...validateObjectMeta(obj.metadata, 'metadata', 'dns1035-label'));
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  if (isRecord(meta.labels)) {
    for (const key of Object.keys(meta.labels)) {
      if (key.startsWith(SERVING_LABEL_PREFIX) || key === FUNCTION_LABEL) {
        issues.push({ path: `metadata.labels["${key}"]`, message: `invalid key name ${JSON.stringify(key)}: set by the platform on the generated Service` });
      }
    }
  }
  issues.push(...validateAutoscalingAnnotations(stringEntries(meta.annotations), 'metadata.annotations', ctx.autoscaler));
  issues.push(...validateAsyncAnnotations(stringEntries(meta.annotations), 'metadata.annotations'));
  issues.push(...validateDeploymentAnnotations(stringEntries(meta.annotations), 'metadata.annotations'));

  const spec = obj.spec;
  if (spec === undefined || spec === null) return [...issues, { path: 'spec', message: 'missing field(s): set spec.handler or spec.command' }];
  if (!isRecord(spec)) return [...issues, { path: 'spec', message: 'must be a mapping' }];
  issues.push(...unknownFields(spec, SPEC_FIELDS, 'spec'));
  if ((ctx.runtime ?? 'local') !== 'local') {
    issues.push({ path: 'spec', message: 'Functions run on the embedded (local) runtime only; on Kubernetes write a Service with an image' });
  }

  const hasHandler = spec.handler !== undefined && spec.handler !== null;
  const hasCommand = spec.command !== undefined && spec.command !== null;
  if (hasHandler && hasCommand) {
    issues.push({ path: 'spec.command', message: 'expected exactly one, got both: handler, command' });
  } else if (!hasHandler && !hasCommand) {
    issues.push({ path: 'spec', message: 'expected exactly one, got neither: handler, command' });
  }
  if (hasHandler) issues.push(...validateHandler(spec.handler));
  if (hasCommand) issues.push(...validateCommand(spec.command));
  issues.push(...validateEnv(spec.env));
  // The container's resources, as in a Service (limits.memory is enforced locally).
  issues.push(...validateResources(spec.resources, 'spec.resources'));

  // Knative's ValidateContainerConcurrency and validateTimeoutSeconds, as for a Service.
  const d = ctx.defaults;
  const cc = optionalInt(spec, 'containerConcurrency', 'spec', issues);
  if (cc !== undefined) {
    const min = d.allowContainerConcurrencyZero ? 0 : 1;
    if (cc < min || cc > d.containerConcurrencyMaxLimit) {
      issues.push({ path: 'spec.containerConcurrency', message: outOfBounds(cc, min, d.containerConcurrencyMaxLimit) });
    }
  }
  const timeout = optionalInt(spec, 'timeoutSeconds', 'spec', issues);
  // 0 means "use revision-timeout-seconds" (it is defaulted).
  if (timeout !== undefined && timeout !== 0 && (timeout < 0 || timeout > d.maxRevisionTimeoutSeconds)) {
    issues.push({ path: 'spec.timeoutSeconds', message: outOfBounds(timeout, 0, d.maxRevisionTimeoutSeconds) });
  }
  return issues;
}

function validateHandler(v: unknown): FieldIssue[] {
  const p = 'spec.handler';
  if (typeof v !== 'string') return [{ path: p, message: `must be a string (a file such as ./handler.mjs), got ${JSON.stringify(v)}` }];
  if (v.trim() === '') return [{ path: p, message: 'must name a file, e.g. ./handler.mjs' }];
  if (!HANDLER_EXTENSIONS.includes(path.extname(v))) {
    return [{ path: p, message: `the Node runtime loads ${HANDLER_EXTENSIONS.join(', ')} files, not ${JSON.stringify(v)}` }];
  }
  return [];
}

function validateCommand(v: unknown): FieldIssue[] {
  const p = 'spec.command';
  if (!Array.isArray(v)) return [{ path: p, message: 'must be a list of strings, e.g. [python3, app.py]' }];
  if (v.length === 0) return [{ path: p, message: 'must name the program to run, e.g. [python3, app.py]' }];
  const bad = v.findIndex((x) => typeof x !== 'string');
  if (bad >= 0) return [{ path: `${p}[${bad}]`, message: `must be a string (quote it), got ${JSON.stringify(v[bad])}` }];
  if (v[0] === '') return [{ path: `${p}[0]`, message: 'the program may not be empty' }];
  return [];
}

/** `env` is a map NAME → value; names as Kubernetes checks them, values strings as Kubernetes requires. */
function validateEnv(env: unknown): FieldIssue[] {
  if (env === undefined || env === null) return [];
  if (!isRecord(env)) return [{ path: 'spec.env', message: 'must map variable names to string values, e.g. {GREETING: hi}' }];
  const issues: FieldIssue[] = [];
  for (const [name, value] of Object.entries(env)) {
    const p = `spec.env["${name}"]`;
    if (RESERVED_ENV_VARS.has(name)) {
      issues.push({ path: p, message: `${JSON.stringify(name)} is a reserved environment variable` });
    } else {
      const msgs = isCIdentifier(name);
      if (msgs.length) issues.push({ path: p, message: `invalid environment variable name ${JSON.stringify(name)}: ${msgs.join('; ')}` });
    }
    if (typeof value !== 'string') issues.push({ path: p, message: `must be a string (quote it), got ${JSON.stringify(value)}` });
  }
  return issues;
}

/**
 * The checks that need the file system, done where the manifest's folder is
 * known (the CLI before sending; the embedded platform on apply): a handler
 * must exist relative to `baseDir`. `isFile` is injected so the rule stays
 * testable without files.
 */
export function validateFunctionFiles(obj: unknown, baseDir: string, isFile: (abs: string) => boolean): FieldIssue[] {
  if (!isRecord(obj) || obj.apiVersion !== FUNCTION_API_VERSION || obj.kind !== FUNCTION_KIND || !isRecord(obj.spec)) return [];
  const handler = obj.spec.handler;
  if (typeof handler !== 'string' || handler.trim() === '') return [];
  const abs = path.resolve(baseDir, handler);
  if (isFile(abs)) return [];
  return [{ path: 'spec.handler', message: `no such file: ${abs}` }];
}

function stringEntries(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}
