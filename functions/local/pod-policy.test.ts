import { describe, expect, it } from 'vitest';
import { exitFailure, nextCrashCount, pickVictims, restartDelayMs, startFailure } from './pod-policy.js';

describe('restartDelayMs', () => {
  const cfg = { baseMs: 100, maxMs: 30_000 };
  it.each([
    { label: 'first restart waits the base', input: 1, want: 100 },
    { label: 'doubles', input: 2, want: 200 },
    { label: 'doubles again', input: 3, want: 400 },
    { label: '9th: 100·2^8', input: 9, want: 25_600 },
    { label: 'capped at max', input: 10, want: 30_000 },
    { label: 'stays capped, no overflow', input: 5000, want: 30_000 },
    { label: 'attempt 0 treated as the first', input: 0, want: 100 },
  ])('$label', ({ input, want }) => {
    expect(restartDelayMs(input, cfg)).toBe(want);
  });
});

describe('nextCrashCount', () => {
  it.each([
    { label: 'quick crash counts up', input: { prev: 3, ran: 500 }, want: 4 },
    { label: 'first crash', input: { prev: 0, ran: 10 }, want: 1 },
    { label: 'ran long enough: backoff resets', input: { prev: 7, ran: 60_000 }, want: 1 },
  ])('$label', ({ input, want }) => {
    expect(nextCrashCount(input.prev, input.ran, 60_000)).toBe(want);
  });
});

describe('exitFailure', () => {
  it.each([
    {
      label: 'exit code with stderr',
      input: { code: 1, signal: null, tail: ['starting', 'Error: boom'] },
      want: { reason: 'ExitCode1', message: 'Container failed with: starting\nError: boom' },
    },
    {
      label: 'SIGKILL is 128+9 like a container runtime',
      input: { code: null, signal: 'SIGKILL', tail: [] },
      want: { reason: 'ExitCode137', message: 'Container failed with killed by SIGKILL and wrote nothing to stderr' },
    },
    {
      label: 'clean exit still fails a server',
      input: { code: 0, signal: null, tail: [] },
      want: { reason: 'ExitCode0', message: 'Container failed with exit code 0 and wrote nothing to stderr' },
    },
    {
      label: 'only the last 5 stderr lines',
      input: { code: 2, signal: null, tail: ['1', '2', '3', '4', '5', '6', '7'] },
      want: { reason: 'ExitCode2', message: 'Container failed with: 3\n4\n5\n6\n7' },
    },
  ])('$label', ({ input, want }) => {
    expect(exitFailure(input.code, input.signal, input.tail)).toEqual(want);
  });
});

describe('startFailure', () => {
  it.each([
    { label: 'ENOENT', input: 'ENOENT', want: 'CommandNotFound' },
    { label: 'EACCES', input: 'EACCES', want: 'CommandNotExecutable' },
    { label: 'anything else', input: 'EMFILE', want: 'StartError' },
  ])('$label', ({ input, want }) => {
    const err = Object.assign(new Error(`spawn x ${input}`), { code: input });
    expect(startFailure(err, 'x').reason).toBe(want);
  });
});

describe('pickVictims', () => {
  const pods = [
    { id: 'old-ready', ready: true, seq: 1 },
    { id: 'mid-starting', ready: false, seq: 2 },
    { id: 'new-ready', ready: true, seq: 3 },
    { id: 'newest-starting', ready: false, seq: 4 },
  ];
  it.each([
    { label: 'nothing to remove', input: 0, want: [] },
    { label: 'not-ready first, newest of them first', input: 1, want: ['newest-starting'] },
    { label: 'all not-ready before any ready', input: 2, want: ['newest-starting', 'mid-starting'] },
    { label: 'then the newest ready', input: 3, want: ['newest-starting', 'mid-starting', 'new-ready'] },
    { label: 'more than there are', input: 9, want: ['newest-starting', 'mid-starting', 'new-ready', 'old-ready'] },
  ])('$label', ({ input, want }) => {
    expect(pickVictims(pods, input)).toEqual(want);
  });
});
