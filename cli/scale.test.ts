import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { waitFor } from '../test/support/wait.js';
import type { KObject } from '../core/types.js';
import type { CliContext } from './context.js';
import { main } from './main.js';
import { replicasSettled, scaledService, scaleRequestOf } from './scale.js';

describe('scaleRequestOf', () => {
  it.each([
    [{ replicas: '3' }, { min: 3, max: 3 }],
    [{ min: '0' }, { min: 0 }],
    [{ max: '10' }, { max: 10 }],
    [{ min: '2', max: '0' }, { min: 2, max: 0 }],
    [{ min: '2', max: '5' }, { min: 2, max: 5 }],
  ])('%j → %j', (values, want) => {
    expect(scaleRequestOf(values)).toEqual(want);
  });
  it.each([
    [{}, '"zeno scale" needs --replicas N, --min N or --max N (see "zeno scale --help")'],
    [{ replicas: '0' }, 'flag --replicas: must be 1 or more; to let it scale to zero, use --min 0'],
    [{ replicas: '2', min: '1' }, 'give --replicas, or --min/--max, not both'],
    [{ min: '3', max: '2' }, '--min 3 is above --max 2'],
    [{ min: 'x' }, 'flag --min: "x" is not a whole number'],
  ])('%j is refused', (values, message) => {
    expect(() => scaleRequestOf(values)).toThrow(message);
  });
});

const stored: KObject = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace: 'default', generation: 1, resourceVersion: '7', uid: 'u', annotations: { 'zeno.dev/base-dir': '/srv' } },
  spec: { template: { metadata: { name: 'hello-v1', annotations: { 'autoscaling.knative.dev/target': '10' } }, spec: { containers: [{ command: ['node', 'a.js'] }] } } },
  status: { observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] },
};

describe('scaledService', () => {
  it('sets the bounds on the template, keeps other annotations, drops status, server fields and the fixed revision name', () => {
    expect(scaledService(stored, { min: 2, max: 4 })).toEqual({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: 'default', annotations: { 'zeno.dev/base-dir': '/srv' } },
      spec: { template: { metadata: { annotations: { 'autoscaling.knative.dev/target': '10', 'autoscaling.knative.dev/min-scale': '2', 'autoscaling.knative.dev/max-scale': '4' } }, spec: { containers: [{ command: ['node', 'a.js'] }] } } },
    });
    // The stored object is left as it was.
    expect((stored.spec as { template: { metadata: { name?: string } } }).template.metadata.name).toBe('hello-v1');
  });

  it.each([
    [0, { min: 1 }, false],
    [1, { min: 1 }, true],
    [5, { max: 3 }, false],
    [3, { min: 3, max: 3 }, true],
    [9, { min: 0, max: 0 }, true],
  ] as const)('%i ready with %j settled: %s', (ready, req, want) => {
    expect(replicasSettled(ready, req)).toBe(want);
  });
});

describe('zeno scale (main)', () => {
  function harness(revisionReplicas: number[], owner?: string) {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-scale-'));
    writeFileSync(join(dir, 'admin-url'), 'http://127.0.0.1:18081\n');
    writeFileSync(join(dir, 'token'), 't\n');
    const out: string[] = [];
    const err: string[] = [];
    const sent: unknown[] = [];
    const clock = new FakeClock();
    let revGets = 0;
    const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
    const svc = owner ? { ...stored, metadata: { ...stored.metadata, labels: { 'zeno.dev/function': owner } } } : stored;
    const ctx: CliContext = {
      out: (c) => out.push(String(c)),
      err: (t) => err.push(t),
      env: { ZENO_DATA_DIR: dir },
      cwd: dir,
      clock,
      untilSignal: () => new Promise(() => undefined),
      fetch: async (url, init) => {
        if (url.endsWith('/apis/zeno.dev/v1/apply')) {
          sent.push(JSON.parse(String(init.body)));
          return json({ results: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'hello', action: 'configured' }], items: [{ ...stored, metadata: { ...stored.metadata, generation: 2 } }] });
        }
        if (url.endsWith('/services/hello')) {
          return json(sent.length ? { ...svc, metadata: { ...svc.metadata, generation: 2 }, status: { observedGeneration: 2, latestReadyRevisionName: 'hello-00002', conditions: [{ type: 'Ready', status: 'True' }] } } : svc);
        }
        if (url.endsWith('/revisions/hello-00002')) {
          const n = revisionReplicas[Math.min(revGets++, revisionReplicas.length - 1)];
          return json({ metadata: { name: 'hello-00002' }, status: { actualReplicas: n } });
        }
        return json({ code: 'ZENO_ERR_RESOURCE_NOT_FOUND', message: 'nope' }, 404);
      },
    };
    return { ctx, clock, sent, out: () => out.join(''), err: () => err.join('') };
  }

  async function run(h: ReturnType<typeof harness>, args: string[]): Promise<number> {
    const done = main(args, h.ctx);
    let code: number | undefined;
    void done.then((c) => (code = c));
    // Fake time moves only while the command sleeps on the clock, so a slow machine (the data
    // dir's files are read on the thread pool) cannot make it skip past the command's waits.
    await waitFor(
      () => {
        if (code === undefined && h.clock.pending() > 0) h.clock.advance(25);
        return code !== undefined;
      },
      10_000,
      { intervalMs: 0, message: 'zeno scale finished' },
    );
    return done;
  }

  it('applies the bounds and waits until the new revision has the replicas, with progress on stderr', async () => {
    const h = harness([1, 1, 2, 3]);
    expect(await run(h, ['scale', 'hello', '--replicas', '3'])).toBe(0);
    expect(h.sent).toHaveLength(1);
    expect((h.sent[0] as { items: KObject[] }).items[0]!.spec).toMatchObject({ template: { metadata: { annotations: { 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '3' } } } });
    expect(h.out()).toBe('service.serving.knative.dev/hello configured (scale 3)\n');
    expect(h.err()).toMatch(/^ +\d+\.\ds waiting for hello: 1 ready replica \(scale 3\)$/m);
    expect(h.err()).toMatch(/^ +\d+\.\ds hello: 3 ready replicas$/m);
  });

  it('does not wait with --no-wait, and refuses a Function service', async () => {
    const h = harness([0]);
    expect(await run(h, ['scale', 'hello', '--min', '0', '--no-wait'])).toBe(0);
    expect(h.err()).toBe('');
    const f = harness([0], 'hello');
    expect(await run(f, ['scale', 'hello', '--max', '2'])).toBe(1);
    expect(f.err()).toBe('error: service "hello" belongs to the Function "hello": set its scale in the Function\'s manifest and "zeno apply" it (a change here would be undone)\n');
    expect(f.sent).toEqual([]);
  });

  it('times out with ZENO_ERR_NOT_READY when the replicas do not come', async () => {
    const h = harness([1]);
    expect(await run(h, ['scale', 'hello', '--min', '2', '--timeout', '2s'])).toBe(1);
    expect(h.err()).toMatch(/error: service\/hello has 1 ready replicas after 2s, not min 2; see why with "zeno describe rev hello-00002", or wait longer with --timeout\n$/);
  });
});
