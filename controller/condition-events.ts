/**
 * Events for what a user asks `zeno describe` about: every object's Ready
 * condition changing (Services, Revisions, Brokers, Triggers, sources, …),
 * and the serving moments the reconciler does not see (scaling, cold
 * starts). The decisions are pure; `watchConditionEvents` wires them to the
 * store. Kubernetes controllers emit such events through an EventRecorder;
 * Knative's reconcilers emit e.g. "Created", "InternalError", and the
 * Deployment controller "ScalingReplicaSet" — we keep the reason names short.
 */
import { KINDS } from '../core/kinds.js';
import type { Condition, KObject } from '../core/types.js';
import type { EventRecorder, RecordedEvent } from './events.js';
import type { ResourceKind, ResourceStore, WatchEvent } from './store.js';

export interface ReadyState {
  status: string;
  reason: string | undefined;
}

export interface EventDecision {
  type: RecordedEvent['type'];
  reason: string;
  message: string;
}

export function readyOf(obj: KObject): ReadyState | undefined {
  const conds = (obj.status as { conditions?: Condition[] } | undefined)?.conditions;
  const c = Array.isArray(conds) ? conds.find((x) => x.type === 'Ready') : undefined;
  return c ? { status: c.status, reason: c.reason } : undefined;
}

function oneLine(s: string | undefined): string {
  return (s ?? '').trim().replace(/\s*\n\s*/g, ' ');
}

/**
 * The event for a Ready condition that changed from `prev` to the object's
 * current one, or undefined when nothing worth telling changed:
 * - to True: Normal "Ready";
 * - to False: Warning with the condition's reason (e.g. "RevisionFailed") and message;
 * - to Unknown: Normal with the reason (e.g. "Deploying"), but only when the
 *   reason changed, so a long wait is one event, not one per status write.
 */
export function readyTransition(prev: ReadyState | undefined, obj: KObject): EventDecision | undefined {
  const conds = (obj.status as { conditions?: Condition[] } | undefined)?.conditions;
  const c = Array.isArray(conds) ? conds.find((x) => x.type === 'Ready') : undefined;
  if (!c) return undefined;
  if (prev && prev.status === c.status && (c.status === 'True' || prev.reason === c.reason)) return undefined;
  const kind = obj.kind || 'object';
  if (c.status === 'True') return { type: 'Normal', reason: 'Ready', message: `${kind} is Ready` };
  if (c.status === 'False') {
    return { type: 'Warning', reason: c.reason ?? 'NotReady', message: oneLine(c.message) || `${kind} is not Ready` };
  }
  // A fresh object that starts out Unknown: one event saying what it waits for.
  return { type: 'Normal', reason: c.reason ?? 'NotReady', message: oneLine(c.message) || `waiting for ${kind} to become Ready` };
}

/** The event for the autoscaler changing a revision's desired pods from `from` to `to`. */
export function scaleEvent(from: number | undefined, to: number): EventDecision | undefined {
  const was = from ?? 0;
  if (was === to) return undefined;
  return to > was
    ? { type: 'Normal', reason: 'ScaledUp', message: `desired pods ${was} → ${to}` }
    : { type: 'Normal', reason: 'ScaledDown', message: `desired pods ${was} → ${to}${to === 0 ? ' (scaled to zero)' : ''}` };
}

/**
 * Cold starts come one per waiting request; requests that waited for the
 * same pod finish together. One event per activation: skip another within
 * `withinMs` of the last one of the same revision.
 */
export function coldStartEvent(lastAt: number | undefined, now: number, waitMs: number, withinMs = 2_000): EventDecision | undefined {
  if (lastAt !== undefined && now - lastAt < withinMs) return undefined;
  return { type: 'Normal', reason: 'ColdStart', message: `a request waited ${Math.round(waitMs)} ms for a pod to start` };
}

/**
 * Records Ready transitions of every stored kind with conditions, and forgets
 * an object's events when it is deleted (Service and Revision events are
 * forgotten by the reconciler). Returns the unsubscribe.
 */
export function watchConditionEvents(store: ResourceStore, events: EventRecorder): () => void {
  const seen = new Map<string, ReadyState | undefined>();
  const keyOf = (kind: ResourceKind, o: KObject) => `${kind}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;
  // What is stored at start (after a restart) is the baseline, not news.
  for (const kind of [...KINDS.map((k) => k.plural), 'configurations', 'revisions', 'routes'] as ResourceKind[]) {
    if (kind === 'configmaps') continue;
    for (const o of store.list(kind)) seen.set(keyOf(kind, o), readyOf(o));
  }
  const key = (e: WatchEvent) => keyOf(e.kind, e.object);
  return store.watch((e) => {
    if (e.kind === 'configmaps') return;
    const k = key(e);
    const ns = e.object.metadata.namespace ?? 'default';
    const kind = e.object.kind;
    if (e.type === 'DELETED') {
      seen.delete(k);
      if (kind !== 'Service' && kind !== 'Revision') events.forget(kind, ns, e.object.metadata.name);
      return;
    }
    const decision = readyTransition(seen.get(k), e.object);
    seen.set(k, readyOf(e.object));
    if (decision) events.record(kind, ns, e.object.metadata.name, decision.type, decision.reason, decision.message);
  });
}
