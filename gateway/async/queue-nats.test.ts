/**
 * Two async queues on one NATS JetStream stream, as two `zeno up`
 * instances sharing a NATS server run them: each with its own connection,
 * its own instance id and its own loopback "gateway", so the test sees which
 * instance ran what. Runs against the real nats-server at 127.0.0.1:4222
 * (or ZENO_NATS_URL); every stream it makes is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../core/clock.js';
import { DEFAULT_ASYNC_SETTINGS, type AsyncSettings } from '../../core/config/async.js';
import type { AsyncMetrics, AsyncOutcome } from '../../core/metrics.js';
import type { EventLog } from '../../eventing/log/event-log.js';
import { connectJetStream, jetStreamNames, openJetStreamEventLog } from '../../eventing/log/jetstream-log.js';
import { waitFor } from '../../test/support/wait.js';
import { createAsyncQueue, type AsyncQueue } from './queue.js';

const NATS_URL = process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222';
const RUN = `zq${randomBytes(4).toString('hex')}`;
let prefixes = 0;
const used: string[] = [];

interface Instance {
  name: string;
  log: EventLog;
  queue: AsyncQueue;
  /** Call ids this instance's gateway got, one per attempt. */
  ran: string[];
  outcomes: AsyncOutcome[];
  /** Responses held open (path /hold). */
  held: http.ServerResponse[];
  server: http.Server;
  closed: boolean;
  /** Whether /hold is held (else answered like any path). */
  holding: boolean;
}

const live: Instance[] = [];

async function instance(name: string, prefix: string, s: AsyncSettings): Promise<Instance> {
  const ran: string[] = [];
  const held: http.ServerResponse[] = [];
  // eslint-disable-next-line prefer-const
  let inst: Instance;
  const server = http.createServer((req, res) => {
    ran.push(String(req.headers['x-call-id']));
    req.resume();
    if (req.url?.endsWith('/hold') && inst.holding) held.push(res);
    else setTimeout(() => res.end('ok'), 20);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const log = await openJetStreamEventLog({ url: NATS_URL, prefix });
  const outcomes: AsyncOutcome[] = [];
  const metrics: AsyncMetrics = { queueDepth: () => undefined, outcome: (a) => void outcomes.push(a.outcome) };
  const queue = createAsyncQueue({ log, clock: realClock, gatewayUrl: () => base, settings: () => s, timing: { pollMs: 200 }, metrics, instanceId: name, logLine: (l) => process.env.ZDEBUG && console.log(name, l) });
  await queue.start();
  inst = { name, log, queue, ran, outcomes, held, server, closed: false, holding: true };
  live.push(inst);
  return inst;
}

/** As if the process died: no more fetching, running calls abandoned unacked, connection gone. */
async function crash(i: Instance): Promise<void> {
  i.closed = true;
  await i.queue.close(0);
  await i.log.close();
  for (const r of i.held.splice(0)) r.destroy();
  i.server.closeAllConnections();
  i.server.close();
}

afterEach(async () => {
  for (const i of live.splice(0)) if (!i.closed) await crash(i);
});

afterAll(async () => {
  const { nc, jsm } = await connectJetStream(NATS_URL);
  for (const p of used) await jsm.streams.delete(jetStreamNames(p).stream).catch(() => undefined);
  await nc.close();
});

function freshPrefix(): string {
  const p = `${RUN}-${++prefixes}`;
  used.push(p);
  return p;
}

const settings = (o: Partial<AsyncSettings> = {}): AsyncSettings => ({ ...DEFAULT_ASYNC_SETTINGS, attempts: 1, ...o });
const enqueue = async (q: AsyncQueue, p: string) =>
  (await q.enqueue({ name: 'fn', namespace: 'default', label: 'fn', method: 'POST', path: p, query: '', headers: [], body: new Uint8Array() })).id;
const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;

describe('async queue: two instances on one NATS', () => {
  it('shares the calls of a function first called after both started: each call runs once', async () => {
    const prefix = freshPrefix();
    const s = settings({ maxInFlight: 2 });
    const a = await instance('a', prefix, s);
    const b = await instance('b', prefix, s);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await enqueue(a.queue, '/ok'));
    await waitFor(() => ids.every((id) => a.ran.includes(id) || b.ran.includes(id)) && a.queue.size() === 0, 15_000, { message: 'every call to run' });
    for (const id of ids) expect(count(a.ran, id) + count(b.ran, id), id).toBe(1);
    // b learnt the stream from the registry and took its share.
    expect(b.ran.length).toBeGreaterThan(0);
    expect([...a.outcomes, ...b.outcomes].filter((o) => o === 'redelivered')).toEqual([]);
  }, 20_000);

  it('finishes the calls of an instance that died mid-call once their lease runs out, and counts the possible duplicates', async () => {
    const prefix = freshPrefix();
    const s = settings({ maxInFlight: 4, leaseMs: 1_500 });
    const a = await instance('a', prefix, s);
    // a takes the first calls before b exists; b starts later and learns of the stream at start.
    const hold = [await enqueue(a.queue, '/hold'), await enqueue(a.queue, '/hold')];
    await waitFor(() => a.held.length === 2, 5_000, { message: 'a to start both calls' });
    const b = await instance('b', prefix, s);
    b.holding = false;
    const rest: string[] = [];
    for (let i = 0; i < 6; i++) rest.push(await enqueue(a.queue, '/ok'));
    await crash(a);
    const started = Date.now();
    const all = [...hold, ...rest];
    await waitFor(
      async () => hold.every((id) => b.ran.includes(id)) && all.every((id) => a.ran.includes(id) || b.ran.includes(id)) && (await b.log.info('async:default/fn'))?.outstanding === 0,
      10_000,
      { message: "b to run a's calls" },
    );
    for (const id of all.filter((x) => !a.ran.includes(x))) expect(count(b.ran, id), id).toBe(1);
    for (const id of all) expect(count(b.ran, id), id).toBeLessThanOrEqual(1);
    // Every call a started and did not settle ran again on b, and each such
    // duplicate is counted (the held two at least); so is a call a had
    // leased but not yet sent (a possible duplicate): never more than a's
    // in-flight limit.
    const twice = all.filter((id) => a.ran.includes(id) && b.ran.includes(id));
    expect(twice.length).toBeGreaterThanOrEqual(2);
    const redelivered = b.outcomes.filter((o) => o === 'redelivered').length;
    expect(redelivered).toBeGreaterThanOrEqual(twice.length);
    expect(redelivered).toBeLessThanOrEqual(s.maxInFlight);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await b.log.info('async:default/fn')).toMatchObject({ outstanding: 0, backlog: 0 });
  }, 20_000);

  it('drops a call cancelled on the instance that accepted it when the other one gets to it', async () => {
    const prefix = freshPrefix();
    const s = settings({ maxInFlight: 1 });
    const a = await instance('a', prefix, s);
    const b = await instance('b', prefix, s);
    const first = await enqueue(a.queue, '/hold');
    await waitFor(() => a.held.length + b.held.length === 1, 5_000, { message: 'the first call to start' });
    const doomed = await enqueue(a.queue, '/ok');
    expect(await a.queue.cancel(doomed)).toBe('cancelled');
    // Both instances' cancellation followers have read it.
    await waitFor(async () => (await a.log.info('async-cancel@b'))?.backlog === 0 && (await a.log.info('async-cancel@b'))?.outstanding === 0, 5_000, { message: 'b to read the cancellation' });
    for (const r of [...a.held.splice(0), ...b.held.splice(0)]) r.end('ok');
    const after = await enqueue(b.queue, '/ok');
    await waitFor(() => a.ran.includes(after) || b.ran.includes(after), 5_000, { message: 'the next call to run' });
    expect(count(a.ran, first) + count(b.ran, first)).toBe(1);
    expect([...a.ran, ...b.ran]).not.toContain(doomed);
  }, 20_000);

  it('cancels a call on the instance that did not accept it (found in the queue), and says not-found for unknown ids', async () => {
    const prefix = freshPrefix();
    const s = settings({ maxInFlight: 1 });
    const a = await instance('a', prefix, s);
    const b = await instance('b', prefix, s);
    const first = await enqueue(a.queue, '/hold');
    await waitFor(() => a.held.length + b.held.length === 1, 5_000, { message: 'the first call to start' });
    const doomed = await enqueue(a.queue, '/ok');
    // b knows the queue (registry) but not the call.
    await waitFor(async () => (await b.log.info('async-registry@b'))?.backlog === 0, 5_000, { message: 'b to know the queue' });
    expect(await b.queue.cancel('no-such-call')).toBe('not-found');
    expect(await b.queue.cancel(doomed, { name: 'other', namespace: 'default' })).toBe('not-found');
    expect(await b.queue.cancel(doomed)).toBe('cancelled');
    expect(await b.queue.cancel(doomed)).toBe('not-found'); // already cancelled
    await waitFor(async () => (await a.log.info('async-cancel@a'))?.backlog === 0 && (await a.log.info('async-cancel@a'))?.outstanding === 0, 5_000, { message: 'a to read the cancellation' });
    for (const r of [...a.held.splice(0), ...b.held.splice(0)]) r.end('ok');
    const after = await enqueue(a.queue, '/ok');
    await waitFor(() => a.ran.includes(after) || b.ran.includes(after), 5_000, { message: 'the next call to run' });
    expect(count(a.ran, first) + count(b.ran, first)).toBe(1);
    expect([...a.ran, ...b.ran]).not.toContain(doomed);
  }, 20_000);
});
