import type { AutoscalerConfig } from '../../core/config/autoscaler.js';
import type { DefaultsConfig } from '../../core/config/defaults.js';
import type { FieldIssue } from '../../core/errors.js';

/** What validation checks against: the platform's current Knative ConfigMaps. */
export interface ValidationContext {
  defaults: DefaultsConfig;
  autoscaler: AutoscalerConfig;
  /**
   * Where functions will run. `local` (the default) runs a container's
   * `command`, so a container without one cannot run; `kubernetes` runs its
   * `image`, so the image is required as in Knative.
   */
  runtime?: RuntimeKind;
}

/** Where functions run: `zeno up --runtime`. */
export type RuntimeKind = 'local' | 'kubernetes';
export const RUNTIME_KINDS: readonly RuntimeKind[] = ['local', 'kubernetes'];

/** Validation for one apiVersion/kind; paths in its issues start at the object root. */
export interface KindValidator {
  apiVersion: string;
  kind: string;
  validate(obj: Record<string, unknown>, ctx: ValidationContext): FieldIssue[];
}
