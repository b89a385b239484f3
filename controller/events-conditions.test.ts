import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { KObject } from '../core/types.js';
import { coldStartEvent, readyTransition, scaleEvent, watchConditionEvents, type ReadyState } from './condition-events.js';
import { EventRecorder } from './events.js';
import { openSqliteStore, type ResourceStore } from './store.js';

function broker(ready?: { status: string; reason?: string; message?: string }): KObject {
  return {
    apiVersion: 'eventing.knative.dev/v1',
    kind: 'Broker',
    metadata: { name: 'default', namespace: 'default' },
    ...(ready ? { status: { conditions: [{ type: 'Ready', ...ready }] } } : {}),
  };
}

describe('readyTransition', () => {
  const cases: { label: string; prev: ReadyState | undefined; now: Parameters<typeof broker>[0]; want: ReturnType<typeof readyTransition> }[] = [
    { label: 'no Ready condition', prev: undefined, now: undefined, want: undefined },
    { label: 'new and Unknown', prev: undefined, now: { status: 'Unknown', reason: 'Deploying' }, want: { type: 'Normal', reason: 'Deploying', message: 'waiting for Broker to become Ready' } },
    { label: 'Unknown, same reason', prev: { status: 'Unknown', reason: 'Deploying' }, now: { status: 'Unknown', reason: 'Deploying', message: 'x' }, want: undefined },
    { label: 'Unknown, new reason', prev: { status: 'Unknown', reason: 'Deploying' }, now: { status: 'Unknown', reason: 'Activating', message: 'starting' }, want: { type: 'Normal', reason: 'Activating', message: 'starting' } },
    { label: 'becomes True', prev: { status: 'Unknown', reason: 'Deploying' }, now: { status: 'True' }, want: { type: 'Normal', reason: 'Ready', message: 'Broker is Ready' } },
    { label: 'stays True with another reason', prev: { status: 'True', reason: undefined }, now: { status: 'True', reason: 'X' }, want: undefined },
    {
      label: 'becomes False (message on one line)',
      prev: { status: 'True', reason: undefined },
      now: { status: 'False', reason: 'ExitCode1', message: 'crashed:\n  boom' },
      want: { type: 'Warning', reason: 'ExitCode1', message: 'crashed: boom' },
    },
    { label: 'False, same reason', prev: { status: 'False', reason: 'ExitCode1' }, now: { status: 'False', reason: 'ExitCode1', message: 'again' }, want: undefined },
    { label: 'False without reason or message', prev: undefined, now: { status: 'False' }, want: { type: 'Warning', reason: 'NotReady', message: 'Broker is not Ready' } },
  ];
  it.each(cases)('$label', ({ prev, now, want }) => {
    expect(readyTransition(prev, broker(now))).toEqual(want);
  });
});

describe('scaleEvent and coldStartEvent', () => {
  it.each([
    [undefined, 1, { type: 'Normal', reason: 'ScaledUp', message: 'desired pods 0 → 1' }],
    [1, 3, { type: 'Normal', reason: 'ScaledUp', message: 'desired pods 1 → 3' }],
    [3, 1, { type: 'Normal', reason: 'ScaledDown', message: 'desired pods 3 → 1' }],
    [1, 0, { type: 'Normal', reason: 'ScaledDown', message: 'desired pods 1 → 0 (scaled to zero)' }],
    [2, 2, undefined],
    [undefined, 0, undefined],
  ] as const)('%s → %s', (from, to, want) => {
    expect(scaleEvent(from, to)).toEqual(want);
  });

  it('records one cold start per activation', () => {
    expect(coldStartEvent(undefined, 10_000, 84.6)).toEqual({ type: 'Normal', reason: 'ColdStart', message: 'a request waited 85 ms for a pod to start' });
    expect(coldStartEvent(10_000, 11_999, 90)).toBeUndefined();
    expect(coldStartEvent(10_000, 12_000, 90)?.reason).toBe('ColdStart');
  });
});

describe('watchConditionEvents (real SQLite store)', () => {
  let dir: string;
  let store: ResourceStore;
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records Ready transitions of a Broker, not repeats, and forgets them on delete; stored state at start is the baseline', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-cond-events-'));
    store = openSqliteStore(path.join(dir, 'zeno.db'));
    // Already stored and Ready before the watcher starts (a restart): no event.
    store.put('triggers', { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', metadata: { name: 't1', namespace: 'default' }, spec: { broker: 'default' } });
    store.putStatus('triggers', 'default', 't1', { conditions: [{ type: 'Ready', status: 'True' }] });
    const clock = new FakeClock();
    const events = new EventRecorder(clock);
    const stop = watchConditionEvents(store, events);

    store.putStatus('triggers', 'default', 't1', { conditions: [{ type: 'Ready', status: 'True' }], extra: 1 });
    store.put('brokers', broker());
    store.putStatus('brokers', 'default', 'default', { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Reconciling' }] });
    store.putStatus('brokers', 'default', 'default', { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Reconciling' }], x: 1 });
    clock.advance(1000);
    store.putStatus('brokers', 'default', 'default', { conditions: [{ type: 'Ready', status: 'True' }] });

    expect(events.list('default', 'Trigger', 't1')).toEqual([]);
    expect(events.list('default', 'Broker', 'default').map((e) => [e.type, e.reason])).toEqual([
      ['Normal', 'Reconciling'],
      ['Normal', 'Ready'],
    ]);
    store.delete('brokers', 'default', 'default');
    expect(events.list('default', 'Broker')).toEqual([]);
    stop();
    store.put('brokers', broker());
    store.putStatus('brokers', 'default', 'default', { conditions: [{ type: 'Ready', status: 'False', reason: 'X' }] });
    expect(events.list('default', 'Broker')).toEqual([]);
  });
});
