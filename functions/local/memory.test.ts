import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait.js';
import type { FunctionRuntime, PodTemplate, RuntimeEvent } from '../runtime.js';
import { createLocalRuntime } from './local-runtime.js';
import { GroupRssSampler, heapLimitMiB, isHeapOutOfMemory, isNodeCommand, nodeOptionsWithHeap, oomFailure, overLimit } from './memory.js';

const MiB = 2 ** 20;

describe('memory limit decisions', () => {
  it.each([
    [['node', 'x.js'], true], [['/usr/bin/node'], true], [['nodejs'], true], [[process.execPath, 'a.js'], true],
    [['python3', 'app.py'], false], [['npm', 'start'], false], [['nodemon'], false], [[], false],
  ])('isNodeCommand(%j) → %s', (cmd, want) => expect(isNodeCommand(cmd as string[])).toBe(want));

  it.each([[128 * MiB, 96], [64 * MiB, 48], [1 * MiB, 16], [1.5 * 2 ** 30, 1152]])('heap cap for %s bytes: %s MiB', (limit, want) => {
    expect(heapLimitMiB(limit)).toBe(want);
  });

  it.each([
    [undefined, '--max-old-space-size=96'],
    ['--enable-source-maps', '--enable-source-maps --max-old-space-size=96'],
    ['--max-old-space-size=500', '--max-old-space-size=500'],
  ])('NODE_OPTIONS %j → %j', (cur, want) => expect(nodeOptionsWithHeap(cur, 128 * MiB)).toBe(want));

  it.each([
    [100, 99, true], [100, 100, false], [100, undefined, false], [100, 0, false],
  ])('rss %s over limit %s: %s', (rss, limit, want) => expect(overLimit(rss, limit)).toBe(want));

  it('recognises V8 running out of heap', () => {
    expect(isHeapOutOfMemory(['<--- Last few GCs --->', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory'])).toBe(true);
    expect(isHeapOutOfMemory(['Error: boom'])).toBe(false);
  });

  it('reports OOMKilled with the numbers', () => {
    expect(oomFailure(64 * MiB, 80 * MiB)).toEqual({ reason: 'OOMKilled', message: expect.stringContaining('80Mi of memory, over its limit of 64Mi') });
    expect(oomFailure(64 * MiB).message).toContain('48Mi');
  });

  it('samples the resident memory of a process group from /proc, its other members included', async () => {
    const { spawn } = await import('node:child_process');
    // A group leader that starts a 64 MiB child in its own group (as a shell running a program would).
    const leader = spawn(process.execPath, ['-e', `require('node:child_process').spawn(process.execPath, ['-e', 'const b = Buffer.alloc(64 * 1024 * 1024, 1); setInterval(() => b[0]++, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000)`], { stdio: 'ignore', detached: true });
    const sampler = new GroupRssSampler(1);
    try {
      await waitFor(() => (sampler.sample(new Set([leader.pid!])).get(leader.pid!) ?? 0) > 64 * MiB, 10_000, { message: 'the child counted in the group' });
      expect(new GroupRssSampler().sample(new Set([2 ** 22 + 12345])).size).toBe(0);
    } finally {
      process.kill(-leader.pid!, 'SIGKILL');
    }
  });
});

// Real processes: the watchdog and V8's heap cap against a real hog.
const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/functions');
let n = 0;
function template(over: Partial<PodTemplate>): PodTemplate {
  const revision = `hog${n++}-00001`;
  return {
    id: `default/${revision}`, namespace: 'default', service: revision, configuration: revision, revision,
    command: ['node', 'memhog.js'], args: [], workingDir: FIXTURES, env: {}, containerPort: 8080, timeoutSeconds: 1,
    ...over,
  };
}

const open: FunctionRuntime[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});

async function runUntilFailed(t: PodTemplate): Promise<RuntimeEvent & { type: 'revision-failed' }> {
  const runtime = createLocalRuntime({ memoryCheckMs: 50, warmPoolSize: 0 });
  open.push(runtime);
  const events: RuntimeEvent[] = [];
  runtime.subscribe((e) => events.push(e));
  runtime.deploy(t);
  runtime.scale(t.id, 1);
  let failed: (RuntimeEvent & { type: 'revision-failed' }) | undefined;
  await waitFor(() => (failed = events.find((e): e is RuntimeEvent & { type: 'revision-failed' } => e.type === 'revision-failed')) !== undefined, 15_000, { message: 'revision-failed' });
  return failed!;
}

describe('memory limits on real processes', () => {
  it('memory outside the heap (Buffers) past the limit: the watchdog kills the group, OOMKilled', async () => {
    const f = await runUntilFailed(template({ memoryLimitBytes: 96 * MiB, env: { HOG_AT_START: 'buffer' } }));
    expect(f.failure.reason).toBe('OOMKilled');
    expect(f.failure.message).toMatch(/over its limit of 96Mi/);
  });

  it('a growing JS heap: V8 stops at the cap from NODE_OPTIONS (or the watchdog first), OOMKilled either way', async () => {
    const f = await runUntilFailed(template({ memoryLimitBytes: 96 * MiB, env: { HOG_AT_START: 'heap' } }));
    expect(f.failure.reason).toBe('OOMKilled');
  });

  it('without a limit nothing is killed', async () => {
    const runtime = createLocalRuntime({ memoryCheckMs: 50, warmPoolSize: 0 });
    open.push(runtime);
    const events: RuntimeEvent[] = [];
    runtime.subscribe((e) => events.push(e));
    const t = template({});
    runtime.deploy(t);
    runtime.scale(t.id, 1);
    await waitFor(() => events.some((e) => e.type === 'pod-ready'), 15_000, { message: 'pod-ready' });
    const url = runtime.readyPods(t.id)[0]!.url;
    expect(await (await fetch(`${url}/env`)).text()).toBe('');
    expect(events.filter((e) => e.type === 'revision-failed')).toEqual([]);
  });
});
