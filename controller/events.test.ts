import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { EventRecorder } from './events.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(T0 + ms).toISOString();

describe('EventRecorder', () => {
  it('folds a repeat of the last event into one with a count and keeps firstTimestamp', () => {
    const clock = new FakeClock(T0);
    const ev = new EventRecorder(clock);
    ev.record('Revision', 'default', 'hello-00001', 'Warning', 'PodExited', 'pod p1 exited (code 1)');
    clock.advance(1000);
    ev.record('Revision', 'default', 'hello-00001', 'Warning', 'PodExited', 'pod p1 exited (code 1)');
    clock.advance(1000);
    ev.record('Revision', 'default', 'hello-00001', 'Warning', 'PodExited', 'pod p1 exited (code 1)');
    expect(ev.list('default')).toEqual([{
      type: 'Warning',
      reason: 'PodExited',
      message: 'pod p1 exited (code 1)',
      involvedObject: { kind: 'Revision', namespace: 'default', name: 'hello-00001' },
      count: 3,
      firstTimestamp: iso(0),
      lastTimestamp: iso(2000),
    }]);
  });

  const notFolded: { label: string; second: ['Normal' | 'Warning', string, string] }[] = [
    { label: 'another reason', second: ['Warning', 'ProbeFailed', 'm'] },
    { label: 'another message', second: ['Warning', 'PodExited', 'other'] },
    { label: 'another type', second: ['Normal', 'PodExited', 'm'] },
  ];
  it.each(notFolded)('does not fold an event with $label', ({ second }) => {
    const ev = new EventRecorder(new FakeClock(T0));
    ev.record('Revision', 'default', 'r', 'Warning', 'PodExited', 'm');
    ev.record('Revision', 'default', 'r', ...second);
    expect(ev.list('default').map((e) => e.count)).toEqual([1, 1]);
  });

  it('folds only into the most recent event (A B A is three events)', () => {
    const ev = new EventRecorder(new FakeClock(T0));
    ev.record('Service', 'default', 's', 'Normal', 'A', 'a');
    ev.record('Service', 'default', 's', 'Normal', 'B', 'b');
    ev.record('Service', 'default', 's', 'Normal', 'A', 'a');
    expect(ev.list('default').map((e) => `${e.reason}${e.count}`)).toEqual(['A1', 'B1', 'A1']);
  });

  it('keeps at most perObject events per object, dropping the oldest', () => {
    const clock = new FakeClock(T0);
    const ev = new EventRecorder(clock, 3);
    for (let i = 0; i < 5; i++) {
      ev.record('Service', 'default', 's', 'Normal', `R${i}`, 'm');
      clock.advance(1);
    }
    ev.record('Service', 'default', 'other', 'Normal', 'X', 'm');
    expect(ev.list('default', 'Service', 's').map((e) => e.reason)).toEqual(['R2', 'R3', 'R4']);
    // The bound is per object: the other object's event is still there.
    expect(ev.list('default', 'Service', 'other')).toHaveLength(1);
  });

  it('lists by namespace, kind (any case) and name, oldest lastTimestamp first', () => {
    const clock = new FakeClock(T0);
    const ev = new EventRecorder(clock);
    ev.record('Service', 'default', 'a', 'Normal', 'S1', 'm');
    clock.advance(10);
    ev.record('Revision', 'default', 'a-00001', 'Normal', 'R1', 'm');
    clock.advance(10);
    ev.record('Service', 'other', 'a', 'Normal', 'O1', 'm');
    clock.advance(10);
    ev.record('Service', 'default', 'b', 'Normal', 'S2', 'm');
    clock.advance(10);
    // A repeat moves the folded event's lastTimestamp, and so its place in the list.
    ev.record('Service', 'default', 'a', 'Normal', 'S1', 'm');

    const cases: { label: string; args: [string, string?, string?]; want: string[] }[] = [
      { label: 'namespace only', args: ['default'], want: ['R1', 'S2', 'S1'] },
      { label: 'other namespace', args: ['other'], want: ['O1'] },
      { label: 'kind', args: ['default', 'Service'], want: ['S2', 'S1'] },
      { label: 'kind in lower case', args: ['default', 'revision'], want: ['R1'] },
      { label: 'kind and name', args: ['default', 'Service', 'b'], want: ['S2'] },
      { label: 'name without match', args: ['default', 'Service', 'zzz'], want: [] },
      { label: 'unknown namespace', args: ['nope'], want: [] },
    ];
    for (const c of cases) expect(ev.list(...c.args).map((e) => e.reason), c.label).toEqual(c.want);
  });

  it('forget drops one object\'s events only', () => {
    const ev = new EventRecorder(new FakeClock(T0));
    ev.record('Service', 'default', 'a', 'Normal', 'A', 'm');
    ev.record('Revision', 'default', 'a', 'Normal', 'RA', 'm');
    ev.record('Service', 'default', 'b', 'Normal', 'B', 'm');
    ev.forget('Service', 'default', 'a');
    expect(ev.list('default').map((e) => e.reason).sort()).toEqual(['B', 'RA']);
    // Recording again after forget starts a fresh event.
    ev.record('Service', 'default', 'a', 'Normal', 'A', 'm');
    expect(ev.list('default', 'Service', 'a')[0]?.count).toBe(1);
  });
});
