import type { FieldIssue } from '../errors.js';
import { parseDuration } from '../duration.js';
import { PLATFORM_DEFAULTS } from './platform.js';

/**
 * Knative's per-revision progress deadline (Serving 1.4, knative/serving
 * #12751): set on `spec.template.metadata.annotations`, it overrides
 * config-deployment's `progress-deadline` (600s) for that revision. A pod
 * that is not ready this long after it started fails the revision
 * (ProgressDeadlineExceeded), and requests waiting for it fail with
 * ZENO_ERR_REVISION_FAILED instead of waiting out their timeout.
 */
export const PROGRESS_DEADLINE_ANNOTATION = 'serving.knative.dev/progress-deadline';

/** The annotation's value in ms, or undefined when it is not a positive duration. */
function parseDeadline(text: string): number | undefined {
  const ms = parseDuration(text);
  return ms !== undefined && Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined;
}

/** The progress deadline of a revision with these annotations (the platform default when unset). */
export function progressDeadlineMs(annotations: Record<string, string> | undefined): number {
  const v = annotations?.[PROGRESS_DEADLINE_ANNOTATION];
  return (v !== undefined ? parseDeadline(v) : undefined) ?? PLATFORM_DEFAULTS.progressDeadlineMs;
}

/** Apply-time check: the annotation, when set, is a positive duration such as "30s" or "2m". */
export function validateDeploymentAnnotations(annotations: Record<string, string> | undefined, path: string): FieldIssue[] {
  const v = annotations?.[PROGRESS_DEADLINE_ANNOTATION];
  if (v === undefined || parseDeadline(v) !== undefined) return [];
  return [{ path: `${path}["${PROGRESS_DEADLINE_ANNOTATION}"]`, message: `must be a positive duration such as "30s" or "2m", got ${JSON.stringify(v)}` }];
}
