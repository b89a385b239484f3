import { describe, expect, it } from 'vitest';
import type { KObject } from '../../core/types.js';
import { isControlledBy, parallelChildren, sequenceChildren } from './resources.js';

const svc = (name: string) => ({ ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name } });
const chRef = (name: string) => ({ ref: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name, namespace: 'ns' } });
const owner = (kind: string, name: string, spec: Record<string, unknown>): KObject => ({ apiVersion: 'flows.knative.dev/v1', kind, metadata: { name, namespace: 'ns', uid: 'u-1' }, spec });
const summary = (objs: KObject[]) => objs.map((o) => ({ name: o.metadata.name, ...(o.kind === 'Subscription' ? { spec: o.spec } : {}) }));

describe('sequenceChildren', () => {
  it("names, wires and owns channels and subscriptions as Knative's sequence reconciler", () => {
    const seq = owner('Sequence', 'seq', { steps: [svc('a'), { ...svc('b'), delivery: { retry: 2 } }], reply: svc('out'), channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' } });
    const c = sequenceChildren(seq);
    expect(c.channels.map((x) => x.metadata.name)).toEqual(['seq-kn-sequence-0', 'seq-kn-sequence-1']);
    expect(c.channels[0]!.spec).toEqual({ channelTemplate: { apiVersion: 'messaging.knative.dev/v1', kind: 'InMemoryChannel' } });
    expect(summary(c.subscriptions)).toEqual([
      { name: 'seq-kn-sequence-0', spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'seq-kn-sequence-0' }, subscriber: svc('a'), reply: chRef('seq-kn-sequence-1') } },
      { name: 'seq-kn-sequence-1', spec: { channel: { apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name: 'seq-kn-sequence-1' }, subscriber: svc('b'), reply: svc('out'), delivery: { retry: 2 } } },
    ]);
    for (const o of [...c.channels, ...c.subscriptions]) expect(isControlledBy(o, seq)).toBe(true);
  });

  it('without spec.reply the last step has no reply (its output is dropped)', () => {
    const c = sequenceChildren(owner('Sequence', 's', { steps: [svc('a')] }));
    expect(c.subscriptions[0]!.spec).not.toHaveProperty('reply');
  });
});

describe('parallelChildren', () => {
  it('ingress and branch channels, filter and branch subscriptions, reply precedence', () => {
    const par = owner('Parallel', 'p', { branches: [{ filter: svc('f'), subscriber: svc('s0') }, { subscriber: svc('s1'), reply: svc('r1'), delivery: { retry: 1 } }], reply: svc('r') });
    const c = parallelChildren(par);
    expect(c.channels.map((x) => x.metadata.name)).toEqual(['p-kn-parallel', 'p-kn-parallel-0', 'p-kn-parallel-1']);
    const ch = (name: string) => ({ apiVersion: 'messaging.knative.dev/v1', kind: 'Channel', name });
    expect(summary(c.subscriptions)).toEqual([
      { name: 'p-kn-parallel-filter-0', spec: { channel: ch('p-kn-parallel'), subscriber: svc('f'), reply: chRef('p-kn-parallel-0') } },
      { name: 'p-kn-parallel-0', spec: { channel: ch('p-kn-parallel-0'), subscriber: svc('s0'), reply: svc('r') } },
      // No filter: no subscriber, every event goes to the branch channel.
      { name: 'p-kn-parallel-filter-1', spec: { channel: ch('p-kn-parallel'), reply: chRef('p-kn-parallel-1') } },
      { name: 'p-kn-parallel-1', spec: { channel: ch('p-kn-parallel-1'), subscriber: svc('s1'), reply: svc('r1'), delivery: { retry: 1 } } },
    ]);
  });

  it('isControlledBy checks kind, name and uid', () => {
    const par = owner('Parallel', 'p', { branches: [{ subscriber: svc('s') }] });
    const child = parallelChildren(par).channels[0]!;
    expect(isControlledBy(child, { ...par, metadata: { ...par.metadata, uid: 'other' } })).toBe(false);
    expect(isControlledBy(child, { ...par, kind: 'Sequence' })).toBe(false);
  });
});
