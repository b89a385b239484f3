/**
 * Small type guards for objects that came straight out of YAML or JSON:
 * validators must cope with any shape a user writes before trusting types.
 */
import type { FieldIssue } from '../../core/errors.js';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reports fields of `obj` that are not in `allowed`, as Kubernetes' strict decoding does, so a typo never passes silently.
 * `hint` replaces the message for fields that are real Knative fields Zeno does not support, saying why.
 */
export function unknownFields(obj: Record<string, unknown>, allowed: ReadonlySet<string>, path: string, hint?: Readonly<Record<string, string>>): FieldIssue[] {
  return Object.keys(obj)
    .filter((k) => !allowed.has(k))
    .map((k) => ({ path: path ? `${path}.${k}` : k, message: hint?.[k] ?? `unknown field ${JSON.stringify(k)}` }));
}

/**
 * Reads an optional integer field: undefined when absent, else the number;
 * pushes an issue (and returns undefined) when it is not an integer.
 */
export function optionalInt(obj: Record<string, unknown>, key: string, path: string, issues: FieldIssue[]): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    issues.push({ path: `${path}.${key}`, message: `must be an integer, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v;
}

export function optionalString(obj: Record<string, unknown>, key: string, path: string, issues: FieldIssue[]): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    issues.push({ path: `${path}.${key}`, message: `must be a string, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v;
}

export function optionalBool(obj: Record<string, unknown>, key: string, path: string, issues: FieldIssue[]): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') {
    issues.push({ path: `${path}.${key}`, message: `must be true or false, got ${JSON.stringify(v)}` });
    return undefined;
  }
  return v;
}

/** Knative's apis.ErrOutOfBoundsValue wording. */
export function outOfBounds(value: number, min: number, max: number): string {
  return `expected ${min} <= ${value} <= ${max}`;
}
