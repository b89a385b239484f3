/**
 * The sidecar's settings from its environment, named as queue-proxy's
 * (knative/serving pkg/reconciler/revision/resources/queue.go): the
 * Deployment builder (functions/kubernetes/manifests.ts) writes them.
 */
import type { Probe } from '../../core/types.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { SidecarOptions } from './sidecar.js';

export const SIDECAR_ENV = {
  servingPort: 'QUEUE_SERVING_PORT',
  adminPort: 'QUEUE_ADMIN_PORT',
  userPort: 'USER_PORT',
  containerConcurrency: 'CONTAINER_CONCURRENCY',
  timeoutSeconds: 'REVISION_TIMEOUT_SECONDS',
  readinessProbe: 'SERVING_READINESS_PROBE',
  drainQuietSeconds: 'ZENO_DRAIN_QUIET_SECONDS',
  /** Listen address; tests use 127.0.0.1. @default 0.0.0.0 */
  host: 'ZENO_SIDECAR_HOST',
} as const;

export type SidecarEnvResult = { ok: true; options: SidecarOptions } | { ok: false; problems: string[] };

export function sidecarOptionsFromEnv(env: Record<string, string | undefined>): SidecarEnvResult {
  const problems: string[] = [];
  const int = (name: string, fallback: number | undefined, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (fallback === undefined) problems.push(`${name} is required`);
      return fallback ?? 0;
    }
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
      return fallback ?? 0;
    }
    return n;
  };
  const servingPort = int(SIDECAR_ENV.servingPort, PLATFORM_DEFAULTS.sidecarServingPort, 1, 65535);
  const adminPort = int(SIDECAR_ENV.adminPort, PLATFORM_DEFAULTS.sidecarAdminPort, 1, 65535);
  const userPort = int(SIDECAR_ENV.userPort, undefined, 1, 65535);
  // Knative's containerConcurrency: 0 (unlimited) to 1000.
  const containerConcurrency = int(SIDECAR_ENV.containerConcurrency, 0, 0, 1000);
  const timeoutSeconds = int(SIDECAR_ENV.timeoutSeconds, 300, 1, 3600);
  const quietSeconds = int(SIDECAR_ENV.drainQuietSeconds, Math.min(PLATFORM_DEFAULTS.sidecarDrainQuietMs / 1000, timeoutSeconds), 0, 3600);
  let readinessProbe: Probe | undefined;
  const rawProbe = env[SIDECAR_ENV.readinessProbe];
  if (rawProbe) {
    try {
      const p = JSON.parse(rawProbe) as unknown;
      if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error('not an object');
      readinessProbe = p as Probe;
    } catch (e) {
      problems.push(`${SIDECAR_ENV.readinessProbe} must be a JSON probe object: ${(e as Error).message}`);
    }
  }
  if (servingPort === userPort || adminPort === userPort || servingPort === adminPort) {
    problems.push(`${SIDECAR_ENV.servingPort} (${servingPort}), ${SIDECAR_ENV.adminPort} (${adminPort}) and ${SIDECAR_ENV.userPort} (${userPort}) must differ`);
  }
  if (problems.length) return { ok: false, problems };
  const options: SidecarOptions = { servingPort, adminPort, userPort, containerConcurrency, timeoutMs: timeoutSeconds * 1000, drainQuietMs: quietSeconds * 1000 };
  if (readinessProbe) options.readinessProbe = readinessProbe;
  if (env[SIDECAR_ENV.host]) options.host = env[SIDECAR_ENV.host]!;
  return { ok: true, options };
}
