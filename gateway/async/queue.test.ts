/**
 * The queue and worker on the real SQLite event log, with a loopback HTTP
 * server standing in for the gateway: durability across a restart of the
 * log (cancellations included), ordering and the in-flight limit.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realClock } from '../../core/clock.js';
import { DEFAULT_ASYNC_SETTINGS, type AsyncSettings } from '../../core/config/async.js';
import type { EventLog } from '../../eventing/log/event-log.js';
import { openSqliteEventLog } from '../../eventing/log/sqlite-log.js';
import { waitFor } from '../../test/support/wait.js';
import { createAsyncQueue, type AsyncQueue } from './queue.js';

let dir: string;
let server: http.Server;
let base: string;
/** Call ids in arrival order (one entry per attempt). */
let arrivals: string[];
let held: http.ServerResponse[];
let holding: boolean;
let maxConcurrent: number;
let concurrent: number;
const open: { log: EventLog; queue: AsyncQueue }[] = [];

const settings = (o: Partial<AsyncSettings> = {}): AsyncSettings => ({ ...DEFAULT_ASYNC_SETTINGS, attempts: 1, maxInFlight: 1, ...o });

/** No polling (60 s): every wake-up under test is an explicit one. */
async function start(s: AsyncSettings, pollMs = 60_000): Promise<{ log: EventLog; queue: AsyncQueue }> {
  const log = openSqliteEventLog(path.join(dir, 'events.db'));
  const queue = createAsyncQueue({ log, clock: realClock, gatewayUrl: () => base, settings: () => s, timing: { pollMs } });
  await queue.start();
  const o = { log, queue };
  open.push(o);
  return o;
}

async function stop(o: { log: EventLog; queue: AsyncQueue }): Promise<void> {
  open.splice(open.indexOf(o), 1);
  await o.queue.close(0);
  await o.log.close();
}

const enqueue = async (q: AsyncQueue, p: string) =>
  (await q.enqueue({ name: 'fn', namespace: 'default', label: 'fn', method: 'POST', path: p, query: '', headers: [], body: new Uint8Array() })).id;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-async-queue-'));
  arrivals = [];
  held = [];
  holding = true;
  maxConcurrent = 0;
  concurrent = 0;
  server = http.createServer((req, res) => {
    const id = String(req.headers['x-call-id']);
    arrivals.push(id);
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    res.on('close', () => concurrent--);
    req.resume();
    if (req.url?.endsWith('/hold') && holding) held.push(res);
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterEach(async () => {
  for (const o of [...open]) await stop(o);
  server.closeAllConnections();
  server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('async queue on the SQLite log', () => {
  it('runs every call, never more than maxInFlight at once, and moves on as soon as a slot frees', async () => {
    const { queue, log } = await start(settings({ maxInFlight: 2 }));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await enqueue(queue, '/hold'));
    await waitFor(() => arrivals.length === 2, 5_000, { message: 'two calls to start' });
    expect(await log.info('async:default/fn')).toMatchObject({ outstanding: 2, backlog: 4 });
    held.shift()!.end('ok');
    await waitFor(() => arrivals.length === 3, 5_000, { message: 'a third call once one finished' });
    holding = false;
    for (const r of held.splice(0)) r.end('ok');
    await waitFor(() => arrivals.length === 6 && queue.size() === 0, 5_000, { message: 'all calls to finish' });
    expect(new Set(arrivals)).toEqual(new Set(ids));
    expect(maxConcurrent).toBe(2);
  });

  it('keeps queued calls and cancellations across a restart; the running call runs again', async () => {
    const first = await start(settings());
    const a = await enqueue(first.queue, '/hold');
    const b = await enqueue(first.queue, '/ok');
    const c = await enqueue(first.queue, '/ok');
    await waitFor(() => arrivals.includes(a), 5_000, { message: 'a to start' });
    expect(await first.queue.cancel(b)).toBe('cancelled');
    expect(await first.queue.cancel(a)).toBe('running');
    expect(await first.queue.cancel('unknown')).toBe('not-found');
    await stop(first); // a is left leased, unsettled: as if the platform died

    const second = await start(settings());
    // Known before the worker reaches it (c waits behind a).
    expect(await second.queue.cancel(c)).toBe('cancelled');
    expect(await second.queue.cancel(b)).toBe('not-found'); // already cancelled
    await waitFor(() => arrivals.filter((x) => x === a).length === 2, 5_000, { message: 'a to run again' });
    holding = false;
    for (const r of held.splice(0)) r.end('ok');
    const d = await enqueue(second.queue, '/ok');
    await waitFor(() => arrivals.includes(d) && second.queue.size() === 0, 5_000, { message: 'd to run' });
    expect(arrivals.filter((x) => x === b || x === c)).toEqual([]);
    expect(await second.queue.cancel(d)).toBe('not-found');

    // The dropped calls are settled: a third start knows of nothing to cancel.
    await stop(second);
    const third = await start(settings());
    for (const id of [a, b, c, d]) expect(await third.queue.cancel(id), id).toBe('not-found');
    expect(third.queue.size()).toBe(0);
  });

  it('acks the cancellation of a settled call in a tidy-up, so compaction can drop it', async () => {
    // A 5 ms poll: the tidy-up (every 100 polls) comes within a second.
    const { queue, log } = await start(settings(), 5);
    const a = await enqueue(queue, '/hold');
    const b = await enqueue(queue, '/ok');
    await waitFor(() => arrivals.includes(a), 5_000, { message: 'a to start' });
    expect(await queue.cancel(b)).toBe('cancelled');
    // b is not settled yet: its cancellation stays.
    expect(await log.info('async-cancel')).toMatchObject({ ackFloor: 0 });
    holding = false;
    for (const r of held.splice(0)) r.end('ok');
    await waitFor(async () => (await log.info('async:default/fn'))?.outstanding === 0 && queue.size() === 0, 5_000, { message: 'a to finish and b to be dropped' });
    await waitFor(async () => ((await log.info('async-cancel'))?.ackFloor ?? 0) > 0, 5_000, { message: 'the tidy-up to ack the cancellation' });
    expect(await log.info('async-cancel')).toMatchObject({ outstanding: 0, backlog: 0 });
    expect(await log.compact()).toBeGreaterThan(0);
    expect(arrivals).not.toContain(b);
  });

  it('retries a failing call with the backoff, then settles it', async () => {
    let fails = 2;
    server.removeAllListeners('request');
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      arrivals.push(String(req.headers['x-call-id']));
      req.resume();
      res.writeHead(fails-- > 0 ? 503 : 200);
      res.end();
    });
    const { queue, log } = await start(settings({ attempts: 5, minWaitMs: 20, maxWaitMs: 40 }));
    const id = await enqueue(queue, '/x');
    await waitFor(() => queue.size() === 0, 5_000, { message: 'the call to settle' });
    expect(arrivals).toEqual([id, id, id]);
    expect(await log.info('async:default/fn')).toMatchObject({ outstanding: 0, backlog: 0 });
  });
});
