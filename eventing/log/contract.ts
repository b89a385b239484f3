import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it as vitestIt } from 'vitest';
import { FakeClock, realClock, type Clock } from '../../core/clock.js';
import type { EventLog, LeasedEvent, StoredEvent } from './event-log.js';

/**
 * One backing store that can be opened more than once: opening it again
 * after close() is how the suite simulates a platform restart.
 */
export interface EventLogHarness {
  open(clock: Clock): EventLog | Promise<EventLog>;
  dispose(): Promise<void>;
}

/**
 * How time passes for a log, which decides how the suite moves it.
 *
 * - `fake`: leases and retry times follow the Clock given to open(); the
 *   suite passes a FakeClock and advances it (SQLite).
 * - `wall`: leases and retry times run on a server's own clock (JetStream's
 *   AckWait and nak delay), which no test can move. The suite passes the
 *   real clock, uses short leases, checks by polling that nothing comes back
 *   before its time, then waits for the time and `settleMs` more (how late
 *   the server's own timer may fire) before checking that it did.
 *
 * Every case runs in both; only the waiting differs.
 */
export type ContractTiming =
  | { clock: 'fake' }
  | {
      clock: 'wall';
      /** Lease the suite gives its consumers; must leave room for several round trips. */
      leaseMs: number;
      /** Delay of the nack case; well under leaseMs so the two deadlines cannot meet. */
      retryMs: number;
      settleMs: number;
    };

const BROKER = 'default/default';

function ev(id: string, data?: unknown): StoredEvent {
  const e: StoredEvent = { attributes: { specversion: '1.0', id, source: '/contract', type: 'dev.zeno.test' } };
  if (data !== undefined) e.data = data;
  return e;
}

async function appendN(log: EventLog, n: number, broker = BROKER, prefix = 'e'): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) seqs.push(await log.append(broker, ev(`${prefix}${i}`)));
  return seqs;
}

/** Fetches and acks until nothing is ready; returns every event seen, in order. */
async function drain(log: EventLog, consumer: string): Promise<LeasedEvent[]> {
  const seen: LeasedEvent[] = [];
  for (;;) {
    const batch = await log.fetch(consumer, 100);
    if (batch.length === 0) return seen;
    for (const e of batch) {
      seen.push(e);
      await log.ack(consumer, e.seq);
    }
  }
}

const ids = (es: LeasedEvent[]) => es.map((e) => e.event.attributes.id);

/** Exposes the collector without a command-line flag (the test runner's choice). */
function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/**
 * The guarantees every EventLog gives the broker. Each implementation calls
 * this from its own test file with a factory for a fresh backing store.
 */
export function runEventLogContract(
  name: string,
  makeHarness: () => Promise<EventLogHarness>,
  timing: ContractTiming = { clock: 'fake' },
): void {
  describe(`EventLog contract: ${name}`, () => {
    let harness: EventLogHarness;
    let fake: FakeClock | undefined;
    let clock: Clock;
    let log: EventLog;
    const open = async () => (log = await harness.open(clock));
    const LEASE_MS = timing.clock === 'fake' ? 10_000 : timing.leaseMs;
    const RETRY_MS = timing.clock === 'fake' ? 500 : timing.retryMs;
    const POLL_MS = 25;
    // Wall-clock cases wait out real leases (and the memory case appends 32 MiB over the network).
    const it = (title: string, fn: () => Promise<void>) => vitestIt(title, fn, timing.clock === 'wall' ? 60_000 : undefined);

    /**
     * Checks that `consumer` has nothing ready up to (not including) `at`.
     * Fake time: jumps to at - 1 and fetches. Wall time: fetches every
     * POLL_MS until settleMs before `at`.
     */
    const expectNothingUntil = async (consumer: string, at: number): Promise<void> => {
      if (fake) {
        if (at - 1 > fake.now()) fake.advance(at - 1 - fake.now());
        expect(await log.fetch(consumer, 100)).toEqual([]);
        return;
      }
      if (timing.clock !== 'wall') return;
      // A fetch still running at `at` may rightly get the event, and would
      // take it from the check that follows: polling stops settleMs early.
      const until = at - timing.settleMs;
      expect(clock.now(), 'the machine was too slow to check before the deadline').toBeLessThan(until);
      while (clock.now() < until) {
        const got = await log.fetch(consumer, 100);
        expect(got, `fetch handed out events ${at - clock.now()} ms before their time`).toEqual([]);
        await realClock.sleep(POLL_MS);
      }
    };
    /** Lets the log's time reach `at` (and, on a wall clock, the server's timers fire). */
    const reach = async (at: number): Promise<void> => {
      if (fake) {
        if (at > fake.now()) fake.advance(at - fake.now());
        return;
      }
      if (timing.clock === 'wall') await realClock.sleep(Math.max(0, at - clock.now()) + timing.settleMs);
    };
    const latest = (es: LeasedEvent[]) => Math.max(...es.map((e) => e.leaseUntil));
    /**
     * Fetches what `reach` made due. On a wall clock the server's own timer
     * can fire late on a loaded machine (CI runs every suite on 2 cores), so
     * it looks again every POLL_MS, for up to ten settleMs, until `want`
     * events came; what "not before" means is checked by expectNothingUntil.
     */
    const fetchDue = async (consumer: string, max: number, want: number): Promise<LeasedEvent[]> => {
      const got = await log.fetch(consumer, max);
      if (timing.clock !== 'wall') return got;
      const until = clock.now() + 10 * timing.settleMs;
      while (got.length < want && clock.now() < until) {
        await realClock.sleep(POLL_MS);
        got.push(...(await log.fetch(consumer, max - got.length)));
      }
      return got;
    };

    let ready = false;
    beforeEach(async () => {
      ready = false;
      harness = await makeHarness();
      fake = timing.clock === 'fake' ? new FakeClock() : undefined;
      clock = fake ?? realClock;
      await open();
      ready = true;
    });
    afterEach(async () => {
      if (!ready) return;
      await log.close();
      await harness.dispose();
    });

    it('returns rising sequence numbers and gives every event back unchanged', async () => {
      const cases: { label: string; event: StoredEvent }[] = [
        { label: 'no data', event: ev('a') },
        { label: 'JSON object', event: ev('b', { n: 1, nested: { s: 'x' }, list: [true, null] }) },
        { label: 'string', event: ev('c', 'plain text') },
        { label: 'binary', event: ev('d', new Uint8Array([0, 255, 1, 128, 10])) },
        { label: 'extensions', event: { attributes: { ...ev('e').attributes, knativebrokerttl: 255, traceparent: '00-ab-cd-01', flag: true } } },
      ];
      await log.addConsumer(BROKER, 't1', { maxInFlight: 100, leaseMs: LEASE_MS });
      const seqs: number[] = [];
      for (const c of cases) seqs.push(await log.append(BROKER, c.event));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
      const got = await drain(log, 't1');
      expect(got.map((g) => g.seq)).toEqual(seqs);
      cases.forEach((c, i) => expect(got[i]!.event, c.label).toEqual(c.event));
    });

    it('delivers every event to every consumer of its broker, and only of its broker', async () => {
      await log.addConsumer(BROKER, 'a', { maxInFlight: 7, leaseMs: LEASE_MS });
      await log.addConsumer(BROKER, 'b', { maxInFlight: 100, leaseMs: LEASE_MS });
      await log.addConsumer('default/other', 'c', { maxInFlight: 100, leaseMs: LEASE_MS });
      const seqs = await appendN(log, 50);
      expect((await drain(log, 'a')).map((e) => e.seq)).toEqual(seqs);
      expect((await drain(log, 'b')).map((e) => e.seq)).toEqual(seqs);
      expect(await drain(log, 'c')).toEqual([]);
    });

    it('hands an unacked event out again once its lease runs out, and not before', async () => {
      await log.addConsumer(BROKER, 't', { maxInFlight: 10, leaseMs: LEASE_MS });
      const seqs = await appendN(log, 3);
      const before = clock.now();
      const first = await log.fetch('t', 10);
      expect(first.map((e) => [e.seq, e.attempt])).toEqual(seqs.map((s) => [s, 1]));
      for (const e of first) {
        expect(e.leaseUntil).toBeGreaterThanOrEqual(before + LEASE_MS);
        expect(e.leaseUntil).toBeLessThanOrEqual(clock.now() + LEASE_MS);
      }
      await log.ack('t', seqs[1]!);
      await expectNothingUntil('t', Math.min(...first.map((e) => e.leaseUntil)));
      await reach(latest(first));
      const again = await fetchDue('t', 10, 2);
      expect(again.map((e) => [e.seq, e.attempt])).toEqual([[seqs[0], 2], [seqs[2], 2]]);
      expect(ids(again)).toEqual(['e0', 'e2']);
      for (const e of again) await log.ack('t', e.seq);
      await reach(clock.now() + LEASE_MS * 3);
      expect(await log.fetch('t', 10)).toEqual([]);
    });

    it('redelivers a nacked event at its retry time, and it stays outstanding meanwhile', async () => {
      await log.addConsumer(BROKER, 't', { maxInFlight: 2, leaseMs: LEASE_MS });
      const seqs = await appendN(log, 3);
      const [a, b] = await log.fetch('t', 10);
      const retryAt = clock.now() + RETRY_MS;
      await log.nack('t', a!.seq, retryAt);
      await log.ack('t', b!.seq);
      // a still counts towards maxInFlight=2: only one new event fits.
      expect((await log.fetch('t', 10)).map((e) => e.seq)).toEqual([seqs[2]]);
      await expectNothingUntil('t', retryAt);
      await reach(retryAt);
      const retry = await fetchDue('t', 10, 1);
      expect(retry.map((e) => [e.seq, e.attempt])).toEqual([[seqs[0], 2]]);
      expect(retry[0]!.event).toEqual(ev('e0'));
    });

    it('delivers unacked events again after the log is reopened (a killed platform)', async () => {
      await log.addConsumer(BROKER, 't', { maxInFlight: 100, leaseMs: LEASE_MS });
      const seqs = await appendN(log, 6);
      const leased = await log.fetch('t', 4);
      expect(leased).toHaveLength(4);
      await log.ack('t', seqs[0]!);
      await log.ack('t', seqs[2]!);
      await log.close();
      await open();
      await reach(latest(leased));
      const after = await drain(log, 't');
      // 1 and 3 were leased but not acked; 4 and 5 were never fetched.
      expect(after.map((e) => [e.seq, e.attempt])).toEqual([[seqs[1], 2], [seqs[3], 2], [seqs[4], 1], [seqs[5], 1]]);
      const next = await log.append(BROKER, ev('later'));
      expect(next).toBeGreaterThan(seqs[5]!);
      expect(ids(await drain(log, 't'))).toEqual(['later']);
    });

    it('never leases more than maxInFlight to a slow consumer, and does not hold up another', async () => {
      await log.addConsumer(BROKER, 'slow', { maxInFlight: 3, leaseMs: LEASE_MS });
      await log.addConsumer(BROKER, 'fast', { maxInFlight: 50, leaseMs: LEASE_MS });
      const seqs = await appendN(log, 20);
      const slow = await log.fetch('slow', 100);
      expect(slow.map((e) => e.seq)).toEqual(seqs.slice(0, 3));
      expect(await log.fetch('slow', 100)).toEqual([]);
      expect((await drain(log, 'fast')).map((e) => e.seq)).toEqual(seqs);
      expect(await log.info('slow')).toMatchObject({ outstanding: 3, backlog: 17 });
      await log.ack('slow', seqs[1]!);
      const fourth = await log.fetch('slow', 100);
      expect(fourth.map((e) => e.seq)).toEqual([seqs[3]]);
      // Expired leases come back without exceeding the bound either.
      await reach(latest([...slow, ...fourth]));
      const again = await fetchDue('slow', 100, 3);
      expect(again.map((e) => e.seq)).toEqual([seqs[0], seqs[2], seqs[3]]);
      expect(await log.info('slow')).toMatchObject({ outstanding: 3 });
    });

    it('starts a new consumer at the end of the log, or at the start when asked', async () => {
      await appendN(log, 5, BROKER, 'old');
      await log.addConsumer(BROKER, 'late', { maxInFlight: 10, leaseMs: LEASE_MS });
      await log.addConsumer(BROKER, 'replay', { maxInFlight: 10, leaseMs: LEASE_MS, fromStart: true });
      await appendN(log, 2, BROKER, 'new');
      expect(ids(await drain(log, 'late'))).toEqual(['new0', 'new1']);
      expect(ids(await drain(log, 'replay'))).toEqual(['old0', 'old1', 'old2', 'old3', 'old4', 'new0', 'new1']);
      // Adding an existing consumer again keeps its position.
      await log.addConsumer(BROKER, 'late', { maxInFlight: 5, leaseMs: LEASE_MS, fromStart: true });
      expect(await drain(log, 'late')).toEqual([]);
    });

    it('compacts only events every consumer has acked, never an unacked one', async () => {
      await log.addConsumer(BROKER, 'a', { maxInFlight: 100, leaseMs: LEASE_MS });
      await log.addConsumer(BROKER, 'b', { maxInFlight: 100, leaseMs: LEASE_MS });
      const seqs = await appendN(log, 10);
      await drain(log, 'a');
      const leasedB = await log.fetch('b', 100);
      expect(leasedB).toHaveLength(10);
      for (const i of [0, 1, 3, 4]) await log.ack('b', seqs[i]!);
      expect(await log.compact()).toBe(2);
      // What is left, as a consumer replaying from the start sees it.
      await log.addConsumer(BROKER, 'audit', { maxInFlight: 100, leaseMs: LEASE_MS, fromStart: true });
      expect(ids(await drain(log, 'audit'))).toEqual(['e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
      // b's unacked event survived compaction and comes back intact.
      await reach(latest(leasedB));
      const back = await fetchDue('b', 1, 1);
      expect(back.map((e) => [e.seq, e.attempt])).toEqual([[seqs[2], 2]]);
      expect(back[0]!.event).toEqual(ev('e2'));
      // Once b is done and the replaying consumer removed, everything can go.
      await log.ack('b', seqs[2]!);
      expect(ids(await drain(log, 'b'))).toEqual(['e5', 'e6', 'e7', 'e8', 'e9']);
      await log.removeConsumer('audit');
      expect(await log.compact()).toBe(8);
      expect(await log.compact()).toBe(0);
    });

    it('compacts each broker by its own consumers: a slow one holds back only its broker', async () => {
      await log.addConsumer(BROKER, 'quick', { maxInFlight: 100, leaseMs: LEASE_MS });
      await log.addConsumer('default/slow', 'slow', { maxInFlight: 100, leaseMs: LEASE_MS });
      for (let i = 0; i < 4; i++) {
        await log.append(BROKER, ev(`q${i}`));
        await log.append('default/slow', ev(`s${i}`));
      }
      expect(ids(await drain(log, 'quick'))).toEqual(['q0', 'q1', 'q2', 'q3']);
      const slow = await log.fetch('slow', 100);
      expect(ids(slow)).toEqual(['s0', 's1', 's2', 's3']);
      await log.ack('slow', slow[0]!.seq);
      expect(await log.compact()).toBe(5);
      await log.addConsumer(BROKER, 'auditQ', { maxInFlight: 100, leaseMs: LEASE_MS, fromStart: true });
      await log.addConsumer('default/slow', 'auditS', { maxInFlight: 100, leaseMs: LEASE_MS, fromStart: true });
      expect(await drain(log, 'auditQ')).toEqual([]);
      expect(ids(await drain(log, 'auditS'))).toEqual(['s1', 's2', 's3']);
      // The slow consumer's leases are intact.
      for (const e of slow.slice(1)) await log.ack('slow', e.seq);
      expect(await log.info('slow')).toMatchObject({ outstanding: 0, ackFloor: slow[3]!.seq });
      expect(await log.compact()).toBe(3);
    });

    it('compacts the events of a broker nobody consumes, and a removed consumer holds nothing back', async () => {
      await log.addConsumer(BROKER, 'gone', { maxInFlight: 10, leaseMs: LEASE_MS });
      await appendN(log, 4);
      await appendN(log, 3, 'default/unwatched');
      await log.fetch('gone', 10);
      expect(await log.compact()).toBe(3);
      await log.removeConsumer('gone');
      expect(await log.info('gone')).toBeUndefined();
      expect(await log.compact()).toBe(4);
    });

    it('tells listeners about appends to their broker', async () => {
      const heard: number[] = [];
      const stop = log.onAppend(BROKER, (seq) => heard.push(seq));
      const other: number[] = [];
      log.onAppend('default/other', (seq) => other.push(seq));
      const [s1, s2] = await Promise.all([log.append(BROKER, ev('x')), log.append(BROKER, ev('y'))]);
      expect(heard.length).toBeGreaterThan(0);
      expect(heard[heard.length - 1]).toBe(Math.max(s1!, s2!));
      stop();
      await log.append(BROKER, ev('z'));
      expect(heard[heard.length - 1]).toBe(Math.max(s1!, s2!));
      expect(other).toEqual([]);
    });

    it('does not hold a backlog in memory: fetch pages from the store', async () => {
      await log.addConsumer(BROKER, 'stuck', { maxInFlight: 10, leaseMs: LEASE_MS });
      const payload = 'x'.repeat(4096);
      collect();
      const before = process.memoryUsage().heapUsed;
      // 8000 × 4 KiB ≈ 32 MiB of events behind a consumer that never acks.
      for (let batch = 0; batch < 80; batch++) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(BROKER, ev(`m${batch}-${i}`, { payload, i }))));
      }
      for (let round = 0; round < 5; round++) {
        const got = await fetchDue('stuck', 1000, 1);
        expect(got.length).toBeLessThanOrEqual(10);
        expect(got.length).toBeGreaterThan(0);
        await reach(latest(got));
      }
      collect();
      const grown = process.memoryUsage().heapUsed - before;
      expect(grown).toBeLessThan(12 * 1024 * 1024);
      expect(await log.info('stuck')).toMatchObject({ outstanding: 10, backlog: 7990 });
    });
  });
}
