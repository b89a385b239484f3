/**
 * `zeno scale NAME [--min N] [--max N] [--replicas N]`: sets a Service's
 * `autoscaling.knative.dev/min-scale` / `max-scale` on its revision
 * template (as `kn service update --scale-min/--scale-max/--scale` do, so
 * a new Revision is created), then waits, with progress, until the Service
 * is Ready and its latest ready Revision has the replicas the bounds ask
 * for. The platform validates the result as it would any apply.
 */
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { ZenoError } from '../core/errors.js';
import type { KObject } from '../core/types.js';
import { parseCount, parseTimeout, str, UsageError, type ParsedValues } from './args.js';
import { connect, progressOf, reportError, type CliContext } from './context.js';
import { waitOf } from './apply.js';
import { resolveKind } from './kinds.js';
import { waitForReady, pollDelayMs } from './wait.js';
import { formatDuration } from '../core/duration.js';

export const MIN_SCALE = 'autoscaling.knative.dev/min-scale';
export const MAX_SCALE = 'autoscaling.knative.dev/max-scale';
const FUNCTION_LABEL = 'zeno.dev/function';

export interface ScaleRequest {
  min?: number;
  max?: number;
}

/** The bounds from the flags; --replicas N is min = max = N (kn's --scale). */
export function scaleRequestOf(values: ParsedValues): ScaleRequest {
  const num = (flag: string): number | undefined => {
    const t = str(values, flag);
    return t === undefined ? undefined : parseCount(t, `--${flag}`);
  };
  const replicas = num('replicas');
  const min = num('min');
  const max = num('max');
  if (replicas !== undefined) {
    if (min !== undefined || max !== undefined) throw new UsageError('give --replicas, or --min/--max, not both');
    if (replicas < 1) throw new UsageError('flag --replicas: must be 1 or more; to let it scale to zero, use --min 0');
    return { min: replicas, max: replicas };
  }
  if (min === undefined && max === undefined) throw new UsageError('"zeno scale" needs --replicas N, --min N or --max N (see "zeno scale --help")');
  // max-scale 0 means "no limit" in Knative.
  if (min !== undefined && max !== undefined && max > 0 && min > max) throw new UsageError(`--min ${min} is above --max ${max}`);
  return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}

/** The Service to apply: the stored one with the bounds set on its template (status and server fields left out). */
export function scaledService(svc: KObject, req: ScaleRequest): KObject {
  const spec = structuredClone((svc.spec ?? {}) as { template?: { metadata?: { annotations?: Record<string, string>; name?: string } } });
  const template = (spec.template ??= {});
  const meta = (template.metadata ??= {});
  const annotations = { ...(meta.annotations ?? {}) };
  if (req.min !== undefined) annotations[MIN_SCALE] = String(req.min);
  if (req.max !== undefined) annotations[MAX_SCALE] = String(req.max);
  meta.annotations = annotations;
  // A fixed revision name would clash with the new template: let the platform name it.
  delete meta.name;
  const { name, namespace, labels, annotations: objAnnotations } = svc.metadata;
  return {
    apiVersion: svc.apiVersion || 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}), ...(objAnnotations ? { annotations: objAnnotations } : {}) },
    spec: spec as Record<string, unknown>,
  };
}

/** Whether ready replicas meet the bounds: at least min (when above 0), at most max (when above 0). */
export function replicasSettled(ready: number, req: ScaleRequest): boolean {
  if (req.min !== undefined && req.min > 0 && ready < req.min) return false;
  if (req.max !== undefined && req.max > 0 && ready > req.max) return false;
  return true;
}

function boundsText(req: ScaleRequest): string {
  if (req.min !== undefined && req.min === req.max) return `${req.min}`;
  return [req.min !== undefined ? `min ${req.min}` : '', req.max !== undefined ? `max ${req.max === 0 ? 'unlimited' : req.max}` : ''].filter(Boolean).join(', ');
}

export async function runScale(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  const req = scaleRequestOf(values);
  const wait = waitOf(values);
  const t = str(values, 'timeout');
  const timeoutMs = t === undefined ? PLATFORM_DEFAULTS.applyWaitMs : parseTimeout(t, '--timeout');
  const kind = resolveKind('service')!;
  const name = args[0]!;
  const namespace = str(values, 'namespace') ?? kind.defaultNamespace;
  const { client } = await connect(ctx, values);
  const svc = await client.getObject(kind, namespace, name);
  if (!svc) throw new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `service "${name}" not found in namespace "${namespace}" (list them with "zeno get ksvc -A")`);
  const owner = svc.metadata.labels?.[FUNCTION_LABEL];
  if (owner) {
    throw new ZenoError('ZENO_ERR_BAD_REQUEST', `service "${name}" belongs to the Function "${owner}": set its scale in the Function's manifest and "zeno apply" it (a change here would be undone)`);
  }
  const res = await client.apply([scaledService(svc, req)]);
  const stored = res.items.find((o) => o.kind === 'Service');
  ctx.out(`service.serving.knative.dev/${name} ${res.results[0]?.action ?? 'configured'} (scale ${boundsText(req)})\n`);
  if (!wait) return 0;

  const progress = progressOf(ctx);
  try {
    const target = { kind, namespace, name, ...(stored?.metadata.generation !== undefined ? { generation: stored.metadata.generation } : {}) };
    const started = ctx.clock.now();
    const [ready] = await waitForReady([target], { get: (x) => client.getObject(x.kind, x.namespace, x.name), clock: ctx.clock, timeoutMs, progress });
    if (ready?.error) return reportError(ctx, ready.error);
    // Then the replicas of the revision that now takes the traffic.
    const revKind = resolveKind('revision')!;
    const revName = (ready?.object?.status as { latestReadyRevisionName?: string } | undefined)?.latestReadyRevisionName;
    if (!revName) return 0;
    const key = `revision/${revName}`;
    for (;;) {
      const rev = await client.getObject(revKind, namespace, revName);
      const actual = Number((rev?.status as { actualReplicas?: number } | undefined)?.actualReplicas ?? 0);
      if (replicasSettled(actual, req)) {
        progress.finish(key, `${name}: ${actual} ready ${actual === 1 ? 'replica' : 'replicas'}`);
        return 0;
      }
      progress.update(key, `waiting for ${name}: ${actual} ready ${actual === 1 ? 'replica' : 'replicas'} (scale ${boundsText(req)})`);
      const left = started + timeoutMs - ctx.clock.now();
      if (left <= 0) {
        progress.finish(key);
        return reportError(ctx, new ZenoError('ZENO_ERR_NOT_READY', `service/${name} has ${actual} ready replicas after ${formatDuration(timeoutMs)}, not ${boundsText(req)}; see why with "zeno describe rev ${revName}", or wait longer with --timeout`));
      }
      await ctx.clock.sleep(Math.min(pollDelayMs(ctx.clock.now() - started), left));
    }
  } finally {
    progress.stop();
  }
}
