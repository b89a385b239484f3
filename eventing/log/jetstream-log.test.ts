import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { realClock } from '../../core/clock.js';
import { waitFor } from '../../test/support/wait.js';
import { runEventLogContract } from './contract.js';
import type { EventLog } from './event-log.js';
import { connectJetStream, decodeToken, encodeToken, jetStreamNames, openJetStreamEventLog, parseAckSubject } from './jetstream-log.js';

/**
 * Runs against the real nats-server (JetStream on) at 127.0.0.1:4222, or
 * ZENO_NATS_URL. Every harness gets its own stream prefix; every stream this
 * run creates is deleted afterwards.
 */
const NATS_URL = process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222';
const RUN = `zt${randomBytes(4).toString('hex')}`;
let admin: { nc: NatsConnection; jsm: JetStreamManager } | undefined;
let unreachable: Error | undefined;
let harnesses = 0;

// Without a server every test that needs one fails with this message (a
// missing server must not look like a pass or a skip).
beforeAll(async () => {
  try {
    admin = await connectJetStream(NATS_URL, { timeoutMs: 3000, name: 'zeno-eventlog-test' });
  } catch (err) {
    unreachable = new Error(
      `These tests need a NATS server with JetStream at ${NATS_URL} (set ZENO_NATS_URL to use another): ` +
        `start one with 'nats-server -js -a 127.0.0.1 -p 4222' (.ci/run does). ${(err as Error).message}`,
    );
  }
});

function requireNats(): { nc: NatsConnection; jsm: JetStreamManager } {
  if (!admin) throw unreachable ?? new Error('NATS connection not set up');
  return admin;
}

afterAll(async () => {
  if (!admin) return;
  for await (const name of admin.jsm.streams.names()) {
    if (name.startsWith(RUN)) await admin.jsm.streams.delete(name);
  }
  await admin.nc.close();
});

function freshPrefix(): string {
  return `${RUN}-${++harnesses}`;
}

runEventLogContract(
  'jetstream',
  async () => {
    requireNats();
    const prefix = freshPrefix();
    return {
      open: (clock) => openJetStreamEventLog({ url: NATS_URL, prefix, clock }),
      dispose: async () => {
        await admin?.jsm.streams.delete(jetStreamNames(prefix).stream).catch(() => undefined);
      },
    };
  },
  { clock: 'wall', leaseMs: 1200, retryMs: 400, settleMs: 150 },
);

describe('jetstream event log', () => {
  it('encodes broker and consumer names into one reversible token', () => {
    const cases: [string, string][] = [
      ['default/default', 'default_2Fdefault'],
      ['ns/my:broker', 'ns_2Fmy_3Abroker'],
      ['under_score', 'under_5Fscore'],
      ['a.b*c>d e', 'a_2Eb_2Ac_3Ed_20e'],
      ['ünï', '_C3_BCn_C3_AF'],
    ];
    for (const [name, token] of cases) {
      expect(encodeToken(name), name).toBe(token);
      expect(decodeToken(token), token).toBe(name);
    }
  });

  it('reads seq, delivery count and time from both forms of a reply subject', () => {
    const ts = 1_795_644_827_297_206_665n;
    expect(parseAckSubject(`$JS.ACK.s.c.3.42.7.${ts}.0`)).toEqual({ seq: 42, attempt: 3, timestampMs: 1_795_644_827_297 });
    expect(parseAckSubject(`$JS.ACK.dom.acchash.s.c.2.9.5.${ts}.1.tok`)).toEqual({ seq: 9, attempt: 2, timestampMs: 1_795_644_827_297 });
  });

  it('rejects a prefix that is not a name', () => {
    expect(() => jetStreamNames('a.b')).toThrow(/prefix/);
    expect(() => jetStreamNames('')).toThrow(/prefix/);
  });

  it('fails with ZENO_ERR_NATS_UNAVAILABLE when nothing listens', async () => {
    await expect(openJetStreamEventLog({ url: 'nats://127.0.0.1:1', prefix: freshPrefix(), connectTimeoutMs: 1000 })).rejects.toMatchObject({
      code: 'ZENO_ERR_NATS_UNAVAILABLE',
    });
  });

  it('keeps up with a worker that fetches while its acks are on their way: no fetch waits for its guard', async () => {
    requireNats();
    const prefix = freshPrefix();
    const log = await openJetStreamEventLog({ url: NATS_URL, prefix });
    try {
      // A worker's pattern: fetch as many as there is room for while acks of
      // earlier ones are still on their way (slots free up during a pull).
      await log.addConsumer('ns/br', 'c', { maxInFlight: 20, leaseMs: 30_000 });
      const N = 300;
      const appends = Array.from({ length: N }, (_, i) => log.append('ns/br', { attributes: { specversion: '1.0', id: `m${i}`, source: '/t', type: 't' } }));
      const seen = new Set<number>();
      const acks: Promise<void>[] = [];
      let slowest = 0;
      const deadline = Date.now() + 20_000;
      while (seen.size < N && Date.now() < deadline) {
        const t0 = Date.now();
        const got = await log.fetch('c', 20);
        slowest = Math.max(slowest, Date.now() - t0);
        for (const e of got) {
          seen.add(e.seq);
          acks.push(realClock.sleep(2).then(() => log.ack('c', e.seq)));
        }
      }
      await Promise.all(acks);
      expect([...seen].sort((a, b) => a - b)).toEqual((await Promise.all(appends)).sort((a, b) => a - b));
      // nats-server 2.9 can leave such a pull open past its expiry; fetch must not wait for its guard (10 s).
      expect(slowest).toBeLessThan(2_000);
    } finally {
      await log.close();
      await admin?.jsm.streams.delete(jetStreamNames(prefix).stream).catch(() => undefined);
    }
  }, 30_000);

  it('lets two instances on one server share a consumer, wakes both on append, and hands a dead one’s leases over', async () => {
    requireNats();
    const prefix = freshPrefix();
    const logs: EventLog[] = [];
    try {
      const a = await openJetStreamEventLog({ url: NATS_URL, prefix });
      const b = await openJetStreamEventLog({ url: NATS_URL, prefix });
      logs.push(a, b);
      const opts = { maxInFlight: 100, leaseMs: 1000 };
      await a.addConsumer('ns/br', 'ns/trigger', opts);
      await b.addConsumer('ns/br', 'ns/trigger', opts);
      const heardByB: number[] = [];
      b.onAppend('ns/br', (seq) => heardByB.push(seq));
      const seqs: number[] = [];
      for (let i = 0; i < 10; i++) seqs.push(await a.append('ns/br', { attributes: { specversion: '1.0', id: `x${i}`, source: '/t', type: 't' } }));
      // B learns of A's appends through the server.
      await waitFor(() => heardByB.includes(seqs[9]!), 5000, { message: 'B heard of the appends' });

      const fromA = await a.fetch('ns/trigger', 6);
      const fromB = await b.fetch('ns/trigger', 100);
      expect(fromA.map((e) => e.seq)).toEqual(seqs.slice(0, 6));
      expect(fromB.map((e) => e.seq)).toEqual(seqs.slice(6));
      for (const e of fromB) await b.ack('ns/trigger', e.seq);
      expect(await b.fetch('ns/trigger', 100)).toEqual([]);

      // A dies without acking: B gets its six once the leases run out.
      await a.close();
      const started = realClock.now();
      let taken: number[] = [];
      await waitFor(
        async () => {
          const got = await b.fetch('ns/trigger', 100);
          taken = taken.concat(got.map((e) => e.seq));
          for (const e of got) {
            expect(e.attempt).toBe(2);
            await b.ack('ns/trigger', e.seq);
          }
          return taken.length >= 6;
        },
        5000,
        { message: "B took over A's leases" },
      );
      expect(taken.sort((x, y) => x - y)).toEqual(seqs.slice(0, 6));
      expect(realClock.now() - started).toBeLessThan(5000);
      expect(await b.info('ns/trigger')).toMatchObject({ broker: 'ns/br', ackFloor: seqs[9], outstanding: 0, backlog: 0 });
    } finally {
      for (const l of logs) await l.close();
      await admin?.jsm.streams.delete(jetStreamNames(prefix).stream).catch(() => undefined);
    }
  });
});
