import type { Clock } from '../core/clock.js';

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  involvedObject: { kind: string; namespace: string; name: string };
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
}

/**
 * Kubernetes-style Events kept in memory (a bounded ring per object), for
 * `zeno describe`. Repeats of the same reason and message are folded into
 * one event with a count, as kubectl shows them.
 */
export class EventRecorder {
  private byObject = new Map<string, RecordedEvent[]>();

  constructor(private readonly clock: Clock, private readonly perObject = 50) {}

  record(kind: string, namespace: string, name: string, type: RecordedEvent['type'], reason: string, message: string): void {
    const key = `${kind}/${namespace}/${name}`;
    const list = this.byObject.get(key) ?? [];
    const now = new Date(this.clock.now()).toISOString();
    const last = list[list.length - 1];
    if (last && last.reason === reason && last.message === message && last.type === type) {
      last.count++;
      last.lastTimestamp = now;
    } else {
      list.push({ type, reason, message, involvedObject: { kind, namespace, name }, count: 1, firstTimestamp: now, lastTimestamp: now });
      if (list.length > this.perObject) list.shift();
    }
    this.byObject.set(key, list);
  }

  list(namespace: string, kind?: string, name?: string): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    for (const events of this.byObject.values()) {
      for (const e of events) {
        if (e.involvedObject.namespace !== namespace) continue;
        if (kind && e.involvedObject.kind.toLowerCase() !== kind.toLowerCase()) continue;
        if (name && e.involvedObject.name !== name) continue;
        out.push(e);
      }
    }
    return out.sort((a, b) => (a.lastTimestamp < b.lastTimestamp ? -1 : a.lastTimestamp > b.lastTimestamp ? 1 : 0));
  }

  forget(kind: string, namespace: string, name: string): void {
    this.byObject.delete(`${kind}/${namespace}/${name}`);
  }
}
