import type { Condition } from '../core/types.js';

/**
 * Sets a condition, keeping lastTransitionTime when the status did not change
 * (Knative's apis.ConditionSet semantics).
 */
export function setCondition(list: Condition[] | undefined, c: Condition, nowIso: string): Condition[] {
  const out = (list ?? []).filter((x) => x.type !== c.type);
  const prev = list?.find((x) => x.type === c.type);
  const next: Condition = { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime ?? nowIso : nowIso };
  if (next.reason === undefined) delete next.reason;
  if (next.message === undefined) delete next.message;
  out.push(next);
  return out.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
}

export function getCondition(list: Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

export function isTrue(list: Condition[] | undefined, type: string): boolean {
  return getCondition(list, type)?.status === 'True';
}
