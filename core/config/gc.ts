/**
 * Knative's `config-gc` ConfigMap (config/core/configmaps/gc.yaml): when
 * revisions that no route references are deleted. Durations may be
 * "disabled"; max-non-active-revisions may be "disabled" too.
 */
import { parseDuration } from '../duration.js';
import type { FieldIssue } from '../errors.js';

export const GC_CONFIG_NAME = 'config-gc';

export interface GcConfig {
  /** Keep a non-active revision this long after it was created; Infinity = disabled. @default 48h */
  retainSinceCreateTimeMs: number;
  /** Keep a non-active revision this long after it was last routed; Infinity = disabled. @default 15h */
  retainSinceLastActiveTimeMs: number;
  /** Always keep at least this many non-active revisions. @default 20 */
  minNonActiveRevisions: number;
  /** Never keep more than this many non-active revisions; Infinity = disabled. @default 1000 */
  maxNonActiveRevisions: number;
}

export const DEFAULT_GC_CONFIG: Readonly<GcConfig> = Object.freeze({
  retainSinceCreateTimeMs: 48 * 3_600_000,
  retainSinceLastActiveTimeMs: 15 * 3_600_000,
  minNonActiveRevisions: 20,
  maxNonActiveRevisions: 1000,
});

export function parseGcConfigMap(data: Record<string, unknown> | undefined): { config: GcConfig; issues: FieldIssue[] } {
  const config: GcConfig = { ...DEFAULT_GC_CONFIG };
  const issues: FieldIssue[] = [];
  const str = (k: string): string | undefined => (typeof data?.[k] === 'string' ? (data[k] as string).trim() : undefined);
  const duration = (key: string, field: 'retainSinceCreateTimeMs' | 'retainSinceLastActiveTimeMs') => {
    const v = str(key);
    if (v === undefined) return;
    if (v.toLowerCase() === 'disabled') return void (config[field] = Infinity);
    const ms = parseDuration(v);
    if (ms === undefined || ms < 0) issues.push({ path: `data.${key}`, message: `must be a duration like "48h" or "disabled", got ${JSON.stringify(v)}` });
    else config[field] = ms;
  };
  const count = (key: string, field: 'minNonActiveRevisions' | 'maxNonActiveRevisions', allowDisabled: boolean) => {
    const v = str(key);
    if (v === undefined) return;
    if (allowDisabled && v.toLowerCase() === 'disabled') return void (config[field] = Infinity);
    if (!/^\d+$/.test(v)) issues.push({ path: `data.${key}`, message: `must be a whole number ≥ 0${allowDisabled ? ' or "disabled"' : ''}, got ${JSON.stringify(v)}` });
    else config[field] = Number(v);
  };
  duration('retain-since-create-time', 'retainSinceCreateTimeMs');
  duration('retain-since-last-active-time', 'retainSinceLastActiveTimeMs');
  count('min-non-active-revisions', 'minNonActiveRevisions', false);
  count('max-non-active-revisions', 'maxNonActiveRevisions', true);
  if (config.maxNonActiveRevisions < config.minNonActiveRevisions) {
    issues.push({ path: 'data.max-non-active-revisions', message: `must be at least min-non-active-revisions (${config.minNonActiveRevisions})` });
  }
  return { config: issues.length ? { ...DEFAULT_GC_CONFIG } : config, issues };
}

export interface GcCandidate {
  name: string;
  createdMs: number;
  /** When a route last stopped (or still) referenced it; its creation if never routed. */
  lastActiveMs: number;
  /** serving.knative.dev/no-gc: "true". */
  keep: boolean;
}

/**
 * PURE: which non-active revisions to delete now (Knative's
 * pkg/reconciler/gc rules). Newest-active first are kept; beyond
 * min-non-active-revisions a revision goes once it is older than both
 * retention times; beyond max-non-active-revisions it goes regardless.
 */
export function revisionsToCollect(candidates: readonly GcCandidate[], cfg: GcConfig, nowMs: number): string[] {
  const pool = candidates.filter((c) => !c.keep).sort((a, b) => b.lastActiveMs - a.lastActiveMs);
  const out: string[] = [];
  pool.forEach((c, i) => {
    if (i < cfg.minNonActiveRevisions) return;
    const old = nowMs - c.createdMs > cfg.retainSinceCreateTimeMs && nowMs - c.lastActiveMs > cfg.retainSinceLastActiveTimeMs;
    if (old || i >= cfg.maxNonActiveRevisions) out.push(c.name);
  });
  return out;
}
