import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { Condition, KObject } from '../core/types.js';
import { resolveKind } from './kinds.js';
import { silentProgress, type ProgressSink } from './progress.js';
import { pollDelayMs, progressLabel, readiness, waitForDeletion, waitForReady, type WaitOutcome, type WaitTarget } from './wait.js';

const svc = resolveKind('ksvc')!;

function obj(ready: Partial<Condition> | undefined, gen = 1, observed: number | undefined = gen): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'hello', namespace: 'default', generation: gen },
    status: {
      url: 'http://hello.default.localhost:8080',
      ...(observed !== undefined ? { observedGeneration: observed } : {}),
      conditions: ready ? [{ type: 'Ready', status: 'Unknown', ...ready }] : [],
    },
  };
}

describe('readiness', () => {
  const cases: { label: string; input: [KObject | undefined, number | undefined]; want: ReturnType<typeof readiness> }[] = [
    { label: 'not there yet', input: [undefined, 1], want: { state: 'waiting', reason: 'NotFound', message: 'not created yet' } },
    { label: 'no Ready condition', input: [obj(undefined), 1], want: { state: 'waiting', reason: 'Unknown', message: 'no Ready condition yet' } },
    { label: 'Ready=Unknown', input: [obj({ reason: 'RevisionMissing', message: 'Configuration "hello" is waiting' }), 1], want: { state: 'waiting', reason: 'RevisionMissing', message: 'Configuration "hello" is waiting' } },
    { label: 'Ready=True', input: [obj({ status: 'True' }), 1], want: { state: 'ready', url: 'http://hello.default.localhost:8080' } },
    { label: 'Ready=False', input: [obj({ status: 'False', reason: 'RevisionFailed', message: 'exit 1' }), 1], want: { state: 'failed', reason: 'RevisionFailed', message: 'exit 1' } },
    { label: 'a multi-line message becomes one line', input: [obj({ status: 'False', reason: 'RevisionFailed', message: 'Container failed with: boom\n  at x\n}\n' }), 1], want: { state: 'failed', reason: 'RevisionFailed', message: 'Container failed with: boom at x }' } },
    { label: 'Ready=True of an older generation does not count', input: [obj({ status: 'True' }, 2, 1), 2], want: { state: 'waiting', reason: 'Reconciling', message: 'generation 2 not observed yet' } },
    { label: 'Ready=False of an older generation does not count', input: [obj({ status: 'False' }, 2, 1), 2], want: { state: 'waiting', reason: 'Reconciling', message: 'generation 2 not observed yet' } },
    { label: 'the generation of the object is used when the apply gave none', input: [obj({ status: 'True' }, 3, 2), undefined], want: { state: 'waiting', reason: 'Reconciling', message: 'generation 3 not observed yet' } },
    { label: 'no observedGeneration at all: trust the condition', input: [obj({ status: 'True' }, 2, undefined), 2], want: { state: 'ready', url: 'http://hello.default.localhost:8080' } },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(readiness(...input)).toEqual(want);
  });
});

/** A getter that returns the scripted objects in turn, the last one forever. */
function script(steps: (KObject | undefined)[]): { get: () => Promise<KObject | undefined>; calls: () => number } {
  let n = 0;
  return {
    get: async () => steps[Math.min(n++, steps.length - 1)],
    calls: () => n,
  };
}

async function settle<T>(clock: FakeClock, p: Promise<T>, maxMs: number): Promise<T> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  for (let t = 0; t < maxMs && !done; t += 250) await clock.advanceAsync(250);
  for (let i = 0; i < 10 && !done; i++) await Promise.resolve();
  return p;
}

/** A progress sink that keeps each change of state and each finish as a line. */
function recorder(lines: string[]): ProgressSink {
  const last = new Map<string, string>();
  return {
    update(key, text) {
      if (last.get(key) === text) return;
      last.set(key, text);
      lines.push(`${key}: ${text}`);
    },
    finish(key, final) {
      lines.push(`${key}: done${final ? `: ${final}` : ''}`);
    },
  };
}

const target: WaitTarget = { kind: svc, namespace: 'default', name: 'hello', generation: 1 };

describe('waitForReady', () => {
  it('polls until Ready, printing a line per change of reason', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const s = script([
      undefined,
      obj({ reason: 'RevisionMissing', message: 'waiting' }),
      obj({ reason: 'RevisionMissing', message: 'waiting' }),
      obj({ reason: 'Deploying' }),
      obj({ status: 'True' }),
    ]);
    const p = waitForReady([target], { get: s.get, clock, timeoutMs: 10_000, progress: recorder(lines) });
    const [out] = await settle(clock, p, 5_000);
    expect(out!.error).toBeUndefined();
    expect(out!.object?.status).toMatchObject({ url: 'http://hello.default.localhost:8080' });
    expect(s.calls()).toBe(5);
    expect(lines).toEqual([
      'service/hello: waiting for hello: not created yet',
      'service/hello: waiting for hello: Ready=Unknown (RevisionMissing)',
      'service/hello: waiting for hello: Ready=Unknown (Deploying)',
      'service/hello: done: hello: Ready',
    ]);
  });

  it('polls every 25 ms for the first second, then every 250 ms, unless told', () => {
    const cases: [number, number | undefined, number][] = [[0, undefined, 25], [999, undefined, 25], [1000, undefined, 250], [60_000, undefined, 250], [0, 100, 100]];
    for (const [elapsed, given, want] of cases) expect([elapsed, given, pollDelayMs(elapsed, given)]).toEqual([elapsed, given, want]);
  });

  it('stops at Ready=False with ZENO_ERR_REVISION_FAILED, reason and message', async () => {
    const clock = new FakeClock();
    const s = script([obj({ reason: 'Deploying' }), obj({ status: 'False', reason: 'RevisionFailed', message: 'exit code 1' })]);
    const [out] = await settle(clock, waitForReady([target], { get: s.get, clock, timeoutMs: 10_000, progress: silentProgress }), 5_000);
    expect(out!.error).toMatchObject({ code: 'ZENO_ERR_REVISION_FAILED' });
    expect(out!.error!.message).toContain('RevisionFailed: exit code 1');
  });

  it('gives up after the timeout with ZENO_ERR_NOT_READY and the last reason', async () => {
    const clock = new FakeClock();
    const s = script([obj({ reason: 'Deploying', message: 'slow' })]);
    const start = clock.now();
    let outcome: WaitOutcome[] | undefined;
    const p = waitForReady([target], { get: s.get, clock, timeoutMs: 2_000, progress: silentProgress }).then((o) => (outcome = o));
    await clock.advanceAsync(1_750, 250);
    expect(outcome).toBeUndefined();
    await settle(clock, p, 5_000);
    expect(outcome![0]!.error).toMatchObject({ code: 'ZENO_ERR_NOT_READY' });
    expect(outcome![0]!.error!.message).toContain('not ready after 2s (last: Deploying: slow)');
    expect(clock.now() - start).toBeGreaterThanOrEqual(2_000);
    expect(clock.pending()).toBe(0);
  });

  it('waits for several services at once, each with its own outcome', async () => {
    const clock = new FakeClock();
    const a = script([obj({ status: 'True' })]);
    const b = script([obj({ status: 'False', reason: 'RevisionFailed' })]);
    const outs = await settle(
      clock,
      waitForReady([target, { ...target, name: 'other' }], { get: (t) => (t.name === 'hello' ? a.get() : b.get()), clock, timeoutMs: 1_000, progress: silentProgress }),
      2_000,
    );
    expect(outs.map((o) => [o.target.name, o.error?.code])).toEqual([['hello', undefined], ['other', 'ZENO_ERR_REVISION_FAILED']]);
  });

  it('passes errors of the getter through (an unreachable platform)', async () => {
    const clock = new FakeClock();
    const p = waitForReady([target], { get: async () => Promise.reject(new Error('cannot reach')), clock, timeoutMs: 1_000, progress: silentProgress });
    await expect(p).rejects.toThrow('cannot reach');
  });
});

describe('waitForDeletion', () => {
  it('polls until the object is gone, saying once that it waits', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const s = script([obj({ status: 'True' }), obj({ status: 'True' }), undefined]);
    const [out] = await settle(clock, waitForDeletion([target], { get: s.get, clock, timeoutMs: 5_000, progress: recorder(lines) }), 5_000);
    expect(out!.error).toBeUndefined();
    expect(s.calls()).toBe(3);
    expect(lines).toEqual(['service/hello: waiting for hello to be deleted', 'service/hello: done: hello: deleted']);
  });

  it('fails with ZENO_ERR_NOT_READY when it stays', async () => {
    const clock = new FakeClock();
    const s = script([obj({ status: 'True' })]);
    const [out] = await settle(clock, waitForDeletion([target], { get: s.get, clock, timeoutMs: 1_000, progress: silentProgress }), 5_000);
    expect(out!.error).toMatchObject({ code: 'ZENO_ERR_NOT_READY' });
  });
});

describe('progressLabel', () => {
  it.each([
    ['not there', undefined, 'not created yet'],
    ['Ready=Unknown with a reason', obj({ reason: 'RevisionMissing', message: 'long text' }), 'Ready=Unknown (RevisionMissing)'],
    ['Ready=Unknown without a reason', obj({}), 'Ready=Unknown'],
    ['an older generation', obj({ status: 'True' }, 2, 1), 'generation 2 not observed yet'],
    ['no Ready condition', obj(undefined), 'no Ready condition yet'],
    ['Ready', obj({ status: 'True' }), 'Ready'],
  ] as const)('%s', (_label, o, want) => {
    expect(progressLabel(o, readiness(o, undefined))).toBe(want);
  });
});
