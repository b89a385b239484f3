/**
 * The data-plane feed and stats endpoints on a real admin API (loopback,
 * bearer token), with the replica's client from gateway/dataplane-client.ts
 * on the other end. Time that the client waits in (backoff) runs on a
 * FakeClock; the HTTP is real.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatsAggregator } from '../autoscaler/stats-aggregator.js';
import { RequestStats } from '../autoscaler/request-stats.js';
import { FakeClock } from '../core/clock.js';
import { FEED_PATH, STATS_PATH, parseStatsMessage, type FeedMessage } from '../core/dataplane.js';
import { reconnectDelayMs, splitLines, startFeedClient, startStatsReporter, type FeedClient } from '../gateway/dataplane-client.js';
import { inertRuntime } from '../test/support/inert-runtime.js';
import { waitFor } from '../test/support/wait.js';
import { createAdminApi } from './admin-api.js';
import { DataPlaneFeed, registerDataPlaneEndpoints } from './dataplane-feed.js';
import { EventRecorder } from './events.js';
import { configFromConfigMaps } from './platform-config.js';
import { openSqliteStore, type ResourceStore } from './store.js';

const TOKEN = 'test-token-0123456789';
const REV = 'default/hello-00001';
const LABELS = { namespace: 'default', revision: 'hello-00001', service: 'hello', configuration: 'hello' };
const SETTINGS = { containerConcurrency: 1, timeoutMs: 300_000, responseStartTimeoutMs: 0, idleTimeoutMs: 0, labels: LABELS };

describe('reconnectDelayMs', () => {
  it.each<[number, number, number]>([
    // attempt, r, want (base 100, max 5000): half the ceiling fixed, half jittered.
    [0, 0, 50],
    [0, 0.999, 100],
    [1, 0, 100],
    [3, 0.5, 600],
    [6, 0, 2500],
    [6, 0.999, 4998],
    [50, 0.5, 3750],
    [-1, 0, 50],
  ])('attempt %i with r=%f waits %i ms', (attempt, r, want) => {
    expect(reconnectDelayMs(attempt, 100, 5000, r)).toBe(want);
  });
});

describe('splitLines', () => {
  it.each<[string, string[], string]>([
    ['', [], ''],
    ['{"a":1}\n', ['{"a":1}'], ''],
    ['{"a":1}\n{"b"', ['{"a":1}'], '{"b"'],
    ['\n\n{"a":1}\n\n', ['{"a":1}'], ''],
    ['no newline yet', [], 'no newline yet'],
  ])('%j', (text, lines, rest) => expect(splitLines(text)).toEqual({ lines, rest }));
});

describe('parseStatsMessage', () => {
  it.each<[unknown, string]>([
    [null, 'JSON object'],
    [{ replica: '' }, 'replica must be'],
    [{ replica: 'a b' }, 'replica must be'],
    [{ replica: 'r', stats: {} }, 'stats must be an array'],
    [{ replica: 'r', stats: [{ revision: 'nons', averageConcurrency: 1, requestCount: 1, inFlight: 0 }] }, 'stats[0]'],
    [{ replica: 'r', stats: [{ revision: 'a/b', averageConcurrency: -1, requestCount: 1, inFlight: 0 }] }, 'stats[0]'],
    [{ replica: 'r', stats: [{ revision: 'a/b', averageConcurrency: 1, requestCount: Infinity, inFlight: 0 }] }, 'stats[0]'],
    [{ replica: 'r', poke: { revision: 'a/b' } }, 'poke must be'],
    [{ replica: 'r', feedSeq: -1 }, 'feedSeq must be'],
    [{ replica: 'r', pods: [{ id: '', inFlight: 1 }] }, 'pods[0]'],
    [{ replica: 'r', pods: [{ id: 'p', inFlight: 'x' }] }, 'pods[0]'],
  ])('refuses %j', (body, why) => {
    const got = parseStatsMessage(body);
    expect(typeof got).toBe('string');
    expect(got).toContain(why);
  });

  it('keeps exactly the known fields', () => {
    expect(parseStatsMessage({ replica: 'gw-1', stats: [{ revision: 'a/b', averageConcurrency: 1.5, requestCount: 3, inFlight: 2, extra: 1 }], poke: { revision: 'a/b', inFlight: 2 }, feedSeq: 7, pods: [{ id: 'p1', inFlight: 2, x: 1 }], other: true })).toEqual({
      replica: 'gw-1',
      feedSeq: 7,
      pods: [{ id: 'p1', inFlight: 2 }],
      stats: [{ revision: 'a/b', averageConcurrency: 1.5, requestCount: 3, inFlight: 2 }],
      poke: { revision: 'a/b', inFlight: 2 },
    });
  });
});

describe('the data-plane feed and stats endpoints', () => {
  let dir: string;
  let store: ResourceStore;
  let clock: FakeClock;
  let app: FastifyInstance;
  let url: string;
  let feed: DataPlaneFeed;
  let stats: StatsAggregator;
  let endpoints: ReturnType<typeof registerDataPlaneEndpoints>;
  const pokes: string[] = [];
  const clients: FeedClient[] = [];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-dataplane-'));
    store = openSqliteStore(path.join(dir, 'zeno.db'));
    clock = new FakeClock();
    app = createAdminApi({
      store,
      events: new EventRecorder(clock),
      runtime: inertRuntime(),
      token: TOKEN,
      config: () => configFromConfigMaps(store.list('configmaps')),
      info: () => ({ version: 'test' }),
      maxBodyBytes: 64 * 1024,
    });
    feed = new DataPlaneFeed(() => 18080);
    stats = new StatsAggregator({ staleAfterMs: 3000 });
    pokes.length = 0;
    endpoints = registerDataPlaneEndpoints(app, { feed, stats, clock, poke: (rev) => pokes.push(rev), log: () => undefined });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    endpoints.close();
    await app.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function follow(token = TOKEN, log: string[] = []): { messages: FeedMessage[]; client: FeedClient; log: string[] } {
    const messages: FeedMessage[] = [];
    const client = startFeedClient({ controlUrl: url, token: () => token, clock, onMessage: (m) => messages.push(m), log: (l) => log.push(l), random: () => 0 });
    clients.push(client);
    return { messages, client, log };
  }

  it('refuses the feed and the stats without the token', async () => {
    expect((await fetch(`${url}${FEED_PATH}`)).status).toBe(401);
    const r = await fetch(`${url}${STATS_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replica: 'r', stats: [] }) });
    expect(r.status).toBe(401);
    expect(stats.live(clock.now())).toEqual([]);
    // The client says why (the code, not the token) and keeps trying.
    const f = follow('wrong-token-0123456789');
    await waitFor(() => f.log.length > 0, 5000, { message: 'a log line about the refusal' });
    expect(f.log[0]).toContain('401');
    expect(f.log[0]).toContain('ZENO_ERR_UNAUTHORIZED');
    expect(f.log.join('\n')).not.toContain('wrong-token');
    expect(f.client.connected()).toBe(false);
  });

  it('sends a snapshot on connect, then each change as it happens, once', async () => {
    feed.upsertRevision(REV, SETTINGS);
    feed.setPods(REV, [{ id: 'p1', url: 'http://127.0.0.1:9001' }], [], undefined);
    feed.setRoute({ namespace: 'default', service: 'hello', domain: 'localhost', targets: [{ revision: REV, percent: 100 }], tags: [] });
    const f = follow();
    await waitFor(() => f.client.connected(), 5000, { message: 'the feed connected' });
    expect(f.messages).toEqual([{
      type: 'snapshot',
      seq: 3,
      gatewayPort: 18080,
      routes: [{ namespace: 'default', service: 'hello', domain: 'localhost', targets: [{ revision: REV, percent: 100 }], tags: [] }],
      revisions: [{ id: REV, ...SETTINGS, backends: [{ id: 'p1', url: 'http://127.0.0.1:9001' }], early: [] }],
    }]);
    feed.setPods(REV, [{ id: 'p1', url: 'http://127.0.0.1:9001' }, { id: 'p2', url: 'http://127.0.0.1:9002' }], [], undefined);
    // The same pods again (pod events repeat): nothing sent.
    feed.setPods(REV, [{ id: 'p1', url: 'http://127.0.0.1:9001' }, { id: 'p2', url: 'http://127.0.0.1:9002' }], [], undefined);
    feed.setPods(REV, [], [], 'CrashLoop: exit 1');
    feed.deleteRoute('default', 'hello');
    feed.removeRevision(REV);
    await waitFor(() => f.messages.length === 5, 5000, { message: 'four changes' });
    expect(f.messages.slice(1).map((m) => m.type)).toEqual(['revision', 'revision', 'route-deleted', 'revision-deleted']);
    // Numbered after the snapshot's, one per change sent.
    expect(f.messages.slice(1).map((m) => (m as { seq: number }).seq)).toEqual([4, 5, 6, 7]);
    expect((f.messages[1] as Extract<FeedMessage, { type: 'revision' }>).revision.backends.map((b) => b.id)).toEqual(['p1', 'p2']);
    expect((f.messages[2] as Extract<FeedMessage, { type: 'revision' }>).revision).toMatchObject({ backends: [], failure: 'CrashLoop: exit 1' });
    // Heartbeats keep an idle feed talking.
    clock.advance(5000);
    await waitFor(() => f.messages.at(-1)?.type === 'heartbeat', 5000, { message: 'a heartbeat' });
  });

  it('reconnects after the control plane cut the feed, with backoff on the clock, and resyncs from a new snapshot', async () => {
    feed.upsertRevision(REV, SETTINGS);
    const f = follow();
    await waitFor(() => f.client.connected(), 5000, { message: 'the feed connected' });
    // The connection is cut (a proxy restarted, a network blip): the endpoint stays.
    app.server.closeAllConnections();
    await waitFor(() => !f.client.connected(), 5000, { message: 'the client saw the feed end' });
    // Changed while the replica was cut off: only a snapshot can tell it.
    feed.removeRevision(REV);
    await new Promise((r) => setTimeout(r, 50));
    expect(f.messages.filter((m) => m.type === 'snapshot')).toHaveLength(1);
    // The first retry waits 50 ms (base 100, r = 0) on the fake clock.
    clock.advance(50);
    await waitFor(() => f.messages.filter((m) => m.type === 'snapshot').length === 2, 5000, { message: 'a second snapshot' });
    expect(f.messages.at(-1)).toMatchObject({ type: 'snapshot', revisions: [] });
    expect(f.log.some((l) => l.includes('reconnecting'))).toBe(true);
  });

  it('a stopping control plane ends the feeds and hands out no new snapshot (503 ZENO_ERR_SHUTTING_DOWN)', async () => {
    const f = follow();
    await waitFor(() => f.client.connected(), 5000, { message: 'the feed connected' });
    endpoints.close();
    await waitFor(() => !f.client.connected(), 5000, { message: 'the feed ended' });
    const refused = await fetch(`${url}${FEED_PATH}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(refused.status).toBe(503);
    expect((await refused.json()).code).toBe('ZENO_ERR_SHUTTING_DOWN');
    // The client keeps trying (a restarted control plane will answer), without a second snapshot from this one.
    clock.advance(100);
    await waitFor(() => f.log.some((l) => l.includes('503')), 5000, { message: 'the refusal logged' });
    expect(f.messages.filter((m) => m.type === 'snapshot')).toHaveLength(1);
  });

  it('gives up a feed that went silent (no heartbeat for silenceMs) and reconnects', async () => {
    const messages: FeedMessage[] = [];
    const client = startFeedClient({ controlUrl: url, token: () => TOKEN, clock, onMessage: (m) => messages.push(m), log: () => undefined, random: () => 0, silenceMs: 3000 });
    clients.push(client);
    await waitFor(() => client.connected(), 5000, { message: 'connected' });
    // The control plane's heartbeat runs every 5 s; this client gives up after 3 s of silence (its check runs every second).
    clock.advance(4000);
    await waitFor(() => !client.connected(), 5000, { message: 'the silent feed given up' });
    clock.advance(50);
    await waitFor(() => messages.filter((m) => m.type === 'snapshot').length === 2, 5000, { message: 'reconnected' });
  });

  it('takes periodic reports and pokes from a replica for the autoscaler', async () => {
    const rs = new RequestStats(clock.now());
    rs.begin(clock.now());
    rs.begin(clock.now());
    const reporter = startStatsReporter({ controlUrl: url, token: () => TOKEN, clock, replica: 'gw-a', revisions: () => [[REV, rs]], log: () => undefined });
    try {
      reporter.poke(REV, 2);
      await waitFor(() => pokes.length === 1, 5000, { message: 'the poke' });
      expect(pokes).toEqual([REV]);
      expect(stats.inFlight(REV, clock.now())).toBe(2);
      clock.advance(1000);
      await waitFor(() => stats.live(clock.now()).includes('gw-a') && stats.take(clock.now()).get(REV)?.averageConcurrency === 2, 5000, { message: 'the report' });
      const r = await fetch(`${url}/apis/zeno.dev/v1/dataplane/replicas`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await r.json()).toEqual({ items: [{ name: 'gw-a' }] });
      const bad = await fetch(`${url}${STATS_PATH}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ replica: 'gw-a', stats: 'x' }) });
      expect(bad.status).toBe(400);
      expect((await bad.json()).code).toBe('ZENO_ERR_BAD_REQUEST');
    } finally {
      await reporter.close();
    }
  });
});
