import { describe, expect, it } from 'vitest';
import { parseLogLine, podExit, podFailure, podRestarts, podState, sliceEndpoints } from './pod-state.js';

describe('sliceEndpoints', () => {
  it.each([
    ['no ports', { endpoints: [{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'p' } }] }, []],
    [
      'ready, unready, terminating, unset (= ready), no pod',
      {
        ports: [{ port: 8080 }],
        endpoints: [
          { addresses: ['10.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'a' } },
          { addresses: ['10.0.0.2'], conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'b' } },
          { addresses: ['10.0.0.3'], conditions: { ready: false, serving: true, terminating: true }, targetRef: { kind: 'Pod', name: 'c' } },
          { addresses: ['fd00::4'], conditions: {}, targetRef: { kind: 'Pod', name: 'd' } },
          { addresses: ['10.0.0.5'], conditions: { ready: true } },
        ],
      },
      [
        { pod: 'a', url: 'http://10.0.0.1:8080', ready: true, terminating: false },
        { pod: 'b', url: 'http://10.0.0.2:8080', ready: false, terminating: false },
        { pod: 'c', url: 'http://10.0.0.3:8080', ready: false, terminating: true },
        { pod: 'd', url: 'http://[fd00::4]:8080', ready: true, terminating: false },
      ],
    ],
  ])('%s', (_l, slice, want) => expect(sliceEndpoints(slice)).toEqual(want));
});

describe('podState', () => {
  const ep = (ready: boolean, terminating = false) => ({ pod: 'p', url: 'http://x:1', ready, terminating });
  it.each([
    ['no endpoint yet', {}, undefined, 'starting'],
    ['ready endpoint', {}, ep(true), 'ready'],
    ['unready endpoint', {}, ep(false), 'starting'],
    ['terminating endpoint', {}, ep(false, true), 'terminating'],
    ['deletionTimestamp wins', { metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } }, ep(true), 'terminating'],
  ])('%s', (_l, pod, endpoint, want) => expect(podState(pod, endpoint)).toBe(want));
});

describe('podFailure', () => {
  const pod = (cs: unknown) => ({ status: { containerStatuses: [cs] } });
  it.each([
    ['running', pod({ state: { running: {} } }), undefined],
    ['creating', pod({ state: { waiting: { reason: 'ContainerCreating' } } }), undefined],
    ['image pull', pod({ state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope"' } } }), { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nope"' }],
    [
      'crash loop with a termination message',
      pod({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 3, reason: 'Error', message: 'boom\n' } } }),
      { reason: 'ExitCode3', message: 'Container failed with: boom' },
    ],
    ['crash loop, reason only', pod({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }), { reason: 'ExitCode137', message: 'Container failed with: OOMKilled' }],
    ['no status', {}, undefined],
  ])('%s', (_l, p, want) => expect(podFailure(p)).toEqual(want));
});

describe('small readers', () => {
  it('sums restarts, reads exits, parses timestamped log lines', () => {
    expect(podRestarts({ status: { containerStatuses: [{ restartCount: 2 }, { restartCount: 1 }] } })).toBe(3);
    expect(podExit({ status: { containerStatuses: [{ state: { terminated: { exitCode: 0 } } }] } })).toEqual({ code: 0, signal: null });
    expect(podExit({})).toEqual({ code: null, signal: null });
    expect(parseLogLine('2026-01-01T00:00:01.123456789Z hello world', 5)).toEqual({ time: Date.UTC(2026, 0, 1, 0, 0, 1, 123), line: 'hello world' });
    expect(parseLogLine('no stamp here', 5)).toEqual({ time: 5, line: 'no stamp here' });
  });
});
