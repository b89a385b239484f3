import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { waitFor } from '../test/support/wait.js';
import type { TopList } from '../controller/top.js';
import type { CliContext } from './context.js';
import { formatLatency, formatRate, renderTop, runTop, topHeader } from './top.js';

describe('formatLatency and formatRate', () => {
  it.each([
    [null, '-'],
    [0.84, '0.8ms'],
    [9.96, '10.0ms'],
    [12.4, '12ms'],
    [999.4, '999ms'],
    [1500, '1.5s'],
    [61_000, '61.0s'],
  ])('latency %s → %s', (ms, want) => {
    expect(formatLatency(ms)).toBe(want);
  });
  it.each([
    [null, '-'],
    [0, '0.00'],
    [3.456, '3.46'],
    [42.26, '42.3'],
    [1234.4, '1234'],
  ])('rate %s → %s', (rps, want) => {
    expect(formatRate(rps)).toBe(want);
  });
});

const list: TopList = {
  apiVersion: 'zeno.dev/v1',
  kind: 'ServiceStatsList',
  windowSeconds: 10,
  items: [
    { namespace: 'default', name: 'hello', ready: true, readyReplicas: 2, desiredReplicas: 3, rps: 41.5, p50Ms: 3.2, p99Ms: 180, inFlight: 4, queued: 1 },
    { namespace: 'team-a', name: 'idle', ready: true, readyReplicas: 0, desiredReplicas: 0, rps: 0, p50Ms: null, p99Ms: null, inFlight: 0, queued: 0 },
  ],
};

describe('renderTop', () => {
  it('prints kubectl-style columns', () => {
    expect(renderTop(list)).toBe(
      [
        'NAME    READY   REPLICAS   RPS    P50     P99     INFLIGHT   QUEUED',
        'hello   True    2/3        41.5   3.2ms   180ms   4          1',
        'idle    True    0/0        0.00   -       -       0          0',
        '',
      ].join('\n'),
    );
  });

  it('adds NAMESPACE first with -A', () => {
    expect(renderTop(list, { allNamespaces: true }).split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+READY/);
    expect(renderTop(list, { allNamespaces: true }).split('\n')[2]).toMatch(/^team-a\s+idle/);
  });

  it('heads the live view with the time and the window', () => {
    expect(topHeader(list, Date.parse('2026-01-01T12:34:56Z'))).toBe('zeno top · 12:34:56 UTC · RPS and latency over the last 10s · Ctrl-C to quit');
  });
});

describe('runTop', () => {
  function ctx(tty: boolean, signal: Promise<string>) {
    const out: string[] = [];
    const seen: string[] = [];
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const c: CliContext = {
      out: (t) => out.push(String(t)),
      err: () => undefined,
      env: {},
      cwd: '/',
      clock,
      outIsTTY: tty,
      untilSignal: () => signal,
      fetch: async (url) => {
        seen.push(url);
        return new Response(JSON.stringify(list), { status: 200 });
      },
    };
    return { c, out, seen, clock };
  }

  it('prints one table when stdout is not a terminal, asking for the namespace', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/zeno-top-cli-');
    writeFileSync(`${dir}/admin-url`, 'http://127.0.0.1:1\n');
    writeFileSync(`${dir}/token`, 't\n');
    const h = ctx(false, new Promise(() => undefined));
    expect(await runTop(h.c, { 'data-dir': dir, namespace: 'team-a' })).toBe(0);
    expect(h.seen).toEqual(['http://127.0.0.1:1/apis/zeno.dev/v1/top?namespace=team-a']);
    expect(h.out.join('')).toBe(renderTop(list));
  });

  it('redraws every second on a terminal until Ctrl-C', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/zeno-top-cli-');
    writeFileSync(`${dir}/admin-url`, 'http://127.0.0.1:1\n');
    writeFileSync(`${dir}/token`, 't\n');
    let interrupt!: (s: string) => void;
    const h = ctx(true, new Promise((r) => (interrupt = r)));
    const done = runTop(h.c, { 'data-dir': dir, 'all-namespaces': true });
    // The fetch answers on the event loop (after reading the data dir's files on the thread
    // pool): wait, with a real deadline, until each frame is out and its one-second sleep is
    // on the fake clock, then move the clock a second.
    const frame = (n: number) =>
      waitFor(() => h.out.length >= n && h.clock.pending() >= 1, 10_000, { intervalMs: 1, message: `frame ${n} drawn and waiting` });
    for (let i = 1; i <= 3; i++) {
      await frame(i);
      h.clock.advance(1000);
    }
    await frame(4);
    interrupt('SIGINT');
    expect(await done).toBe(0);
    expect(h.seen.length).toBe(4);
    expect(h.seen[0]).toBe('http://127.0.0.1:1/apis/zeno.dev/v1/top');
    expect(h.out[0]).toMatch(/^\x1b\[H\x1b\[2Jzeno top · 00:00:00 UTC/);
    expect(h.out[1]).toMatch(/zeno top · 00:00:01 UTC/);
  });
});
