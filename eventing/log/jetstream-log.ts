import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerInfo as NatsConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { realClock, type Clock } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { ZenoError } from '../../core/errors.js';
import type { ConsumerInfo, ConsumerOptions, EventLog, LeasedEvent } from './event-log.js';
import { decodeEvent, encodeEvent } from './sqlite-log.js';

/**
 * The EventLog on NATS JetStream, for several Zeno processes sharing one
 * NATS server (cluster mode).
 *
 * Layout, for a deployment prefix P (default `zeno`):
 * - one stream `P-events` capturing `P.events.>`; an event of broker B is
 *   published on `P.events.<token(B)>`, so the stream sequence is the
 *   event's seq: it rises across all brokers and is never reused, even after
 *   a purge (JetStream keeps last_seq);
 * - one durable pull consumer per EventLog consumer, named token(consumer),
 *   filtered on its broker's subject, AckPolicy explicit, MaxAckPending =
 *   maxInFlight, AckWait = leaseMs. Every process that opens the log pulls
 *   from the same durable consumer, and the server hands each event to one
 *   puller at a time: that is how several instances share the work;
 * - notices on `P.appended.<token(B)>` (core NATS, not stored) carrying the
 *   last seq appended, so a dispatcher in another process is woken too.
 *
 * Retention is Limits (keep everything) with explicit compaction, not
 * WorkQueue or Interest: WorkQueue allows one consumer per subject (a broker
 * has one per Trigger), and Interest drops an event on publish when no
 * consumer is interested yet and deletes it behind our back once every
 * consumer acked it, so neither a `fromStart` consumer nor compact()'s count
 * would keep the contract. compact() purges each broker's subject up to the
 * lowest ack floor of its consumers (all of it when it has none).
 *
 * Leases and retry times run on the NATS server's clock (AckWait, nak
 * delay), not on the Clock passed in; that one only stamps leaseUntil.
 */

export interface JetStreamLogOptions {
  /** NATS URL, e.g. nats://127.0.0.1:4222. */
  url: string;
  /** Names this deployment's stream and subjects; letters, digits, '-' and '_'. */
  prefix?: string;
  clock?: Clock;
  /**
   * How long a fetch waits on the server when fewer events than asked for
   * are ready (a pull with no_wait still waits when MaxAckPending is reached
   * on nats-server 2.9, so every pull carries this expiry).
   */
  pullWaitMs?: number;
  /** Initial connection timeout. */
  connectTimeoutMs?: number;
}

export const DEFAULT_JETSTREAM_PREFIX = 'zeno';
const DEFAULT_PULL_WAIT_MS = 20;
/** A pull that hears nothing this long after its expiry was dropped by the server (see pullOnce). */
const PULL_SILENCE_MS = 500;
const PULL_TRIES = 5;
const API_TIMEOUT_MS = 10_000;

/**
 * A broker or consumer name as one subject token / JetStream name: letters,
 * digits and '-' stay, every other UTF-8 byte (including '_' itself, so the
 * mapping is reversible) becomes `_XX`. `default/my:broker` → `default_2Fmy_3Abroker`.
 */
export function encodeToken(name: string): string {
  if (name.length === 0) throw new ZenoError('ZENO_ERR_INTERNAL', 'event log: empty name');
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    if (token[i] === '_') {
      bytes.push(parseInt(token.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(token.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Stream and subject names of a deployment prefix. */
export function jetStreamNames(prefix: string): { stream: string; events: string; appended: string } {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(prefix)) {
    throw new ZenoError('ZENO_ERR_BAD_REQUEST', `NATS prefix must be 1-64 letters, digits, '-' or '_', got ${JSON.stringify(prefix)}`);
  }
  return { stream: `${prefix}-events`, events: `${prefix}.events`, appended: `${prefix}.appended` };
}

/**
 * What a delivered message's reply subject says about it:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`,
 * or the longer form with domain and account hash in front.
 */
export function parseAckSubject(reply: string): { seq: number; attempt: number; timestampMs: number } {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK' || t.length < 9) {
    throw new ZenoError('ZENO_ERR_INTERNAL', `event log: unexpected JetStream reply subject ${reply}`);
  }
  const o = t.length === 9 ? 2 : 4;
  return { seq: Number(t[o + 3]), attempt: Number(t[o + 2]), timestampMs: Number(BigInt(t[o + 5]!) / 1_000_000n) };
}

interface ConsumerMeta {
  broker: string;
  leaseMs: number;
}

interface Lease {
  reply: string;
  leaseUntil: number;
}

const isNotFound = (err: unknown): boolean =>
  err instanceof JetStreamApiError &&
  (err.code === JetStreamApiCodes.ConsumerNotFound || err.code === JetStreamApiCodes.StreamNotFound || err.status === 404);

/** Connects to NATS with JetStream, or fails with ZENO_ERR_NATS_UNAVAILABLE. */
export async function connectJetStream(
  url: string,
  opts: { timeoutMs?: number; name?: string } = {},
): Promise<{ nc: NatsConnection; jsm: JetStreamManager; js: JetStreamClient }> {
  let nc: NatsConnection;
  try {
    // noEcho: this process tells its own listeners directly, and must not
    // hear its append notices a second time from the server.
    nc = await connect({
      servers: url,
      name: opts.name ?? 'zeno-event-log',
      noEcho: true,
      timeout: opts.timeoutMs ?? 3000,
      maxReconnectAttempts: -1,
    });
  } catch (err) {
    throw new ZenoError('ZENO_ERR_NATS_UNAVAILABLE', `cannot connect to NATS at ${url}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS });
    return { nc, jsm, js: jetstream(nc, { timeout: API_TIMEOUT_MS }) };
  } catch (err) {
    await nc.close().catch(() => undefined);
    throw new ZenoError('ZENO_ERR_NATS_UNAVAILABLE', `NATS at ${url} has no JetStream (start nats-server with -js): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Opens the deployment's stream on a NATS server, creating it if needed. */
export async function openJetStreamEventLog(opts: JetStreamLogOptions): Promise<EventLog> {
  const clock = opts.clock ?? realClock;
  const names = jetStreamNames(opts.prefix ?? DEFAULT_JETSTREAM_PREFIX);
  const pullWaitMs = opts.pullWaitMs ?? DEFAULT_PULL_WAIT_MS;
  const { nc, jsm, js } = await connectJetStream(opts.url, { timeoutMs: opts.connectTimeoutMs });

  try {
    await jsm.streams.info(names.stream);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add({
        name: names.stream,
        subjects: [`${names.events}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_msgs: -1,
        max_bytes: -1,
        max_age: 0,
        num_replicas: 1,
      });
    } catch (addErr) {
      // Another process created it between our info and add.
      await jsm.streams.info(names.stream).catch(() => {
        throw addErr;
      });
    }
  }

  // While the link to NATS is down an append fails at once with
  // ZENO_ERR_NATS_UNAVAILABLE (503 + Retry-After) instead of being buffered
  // by the client and waiting out the publish timeout, so a producer is
  // never told 202 for an event that is not in the stream, and knows to
  // retry. A publish that fails for any reason reports the same code.
  let linkDown = false;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') linkDown = true;
      else if (s.type === 'reconnect') linkDown = false;
    }
  })().catch(() => undefined);
  const unavailable = (why: string, cause?: unknown): ZenoError =>
    new ZenoError('ZENO_ERR_NATS_UNAVAILABLE', `NATS at ${opts.url}: ${why}; nothing was stored`, {
      retryAfter: PLATFORM_DEFAULTS.storageRetryAfterSeconds,
      ...(cause !== undefined ? { cause } : {}),
    });

  const subjectOf = (broker: string) => `${names.events}.${encodeToken(broker)}`;
  const brokerOfSubject = (subject: string) => decodeToken(subject.slice(names.events.length + 1));

  let closed = false;
  const assertOpen = (): void => {
    if (closed) throw new ZenoError('ZENO_ERR_SHUTTING_DOWN', 'event log is closed');
  };

  const metas = new Map<string, ConsumerMeta>();
  /** Reply subjects of the deliveries this instance handed out, per consumer. */
  const leases = new Map<string, Map<number, Lease>>();

  const metaFromInfo = (ci: NatsConsumerInfo): ConsumerMeta => ({
    broker: brokerOfSubject(ci.config.filter_subject ?? ''),
    leaseMs: Math.round((ci.config.ack_wait ?? 30e9) / 1e6),
  });

  const consumerInfo = async (consumer: string): Promise<NatsConsumerInfo | undefined> => {
    try {
      return await jsm.consumers.info(names.stream, encodeToken(consumer));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  const metaOf = async (consumer: string): Promise<ConsumerMeta> => {
    let m = metas.get(consumer);
    if (m) return m;
    const ci = await consumerInfo(consumer);
    if (!ci) throw new ZenoError('ZENO_ERR_INTERNAL', `event log: unknown consumer ${consumer}`);
    metas.set(consumer, (m = metaFromInfo(ci)));
    return m;
  };

  /**
   * The highest seq at or below which this consumer has acked every event
   * of its broker. nats-server reports ack_floor 0 for a consumer that
   * started at the end of the stream and has acked nothing yet; with
   * nothing outstanding, everything it was handed (delivered.stream_seq,
   * its start point) is settled.
   */
  const floorOf = (ci: NatsConsumerInfo): number =>
    ci.num_ack_pending === 0 ? Math.max(ci.delivered.stream_seq, ci.ack_floor.stream_seq) : ci.ack_floor.stream_seq;

  // ---- append notices ----
  const listeners = new Map<string, Set<(lastSeq: number) => void>>();
  const remoteSubs = new Map<string, Subscription>();
  const noticeDue = new Map<string, number>();
  let noticeScheduled = false;

  const tell = (broker: string, seq: number): void => {
    for (const l of [...(listeners.get(broker) ?? [])]) l(seq);
  };
  const sendNotices = (): void => {
    noticeScheduled = false;
    if (closed) return;
    for (const [broker, seq] of noticeDue) nc.publish(`${names.appended}.${encodeToken(broker)}`, String(seq));
    noticeDue.clear();
  };

  // ---- leases held by this instance ----
  const leasesOf = (consumer: string): Map<number, Lease> => {
    let m = leases.get(consumer);
    if (!m) leases.set(consumer, (m = new Map()));
    return m;
  };
  /** Forgets deliveries whose lease ran out long ago (redelivered elsewhere, or abandoned). */
  const prune = (consumer: string, leaseMs: number): void => {
    const m = leases.get(consumer);
    if (!m) return;
    const horizon = clock.now() - leaseMs;
    for (const [seq, l] of m) if (l.leaseUntil < horizon) m.delete(seq);
  };

  /**
   * Deliveries that came for a pull after fetch() had stopped waiting for
   * it (see pullOnce), per consumer: leased to this instance all the same,
   * so the next fetch hands them out first.
   */
  const leftovers = new Map<string, { msg: Msg; sentAt: number }[]>();

  /**
   * One pull request: up to `max` messages, ended by the server's 404/408
   * status. Resolves with what came and when the request was sent (the
   * server starts each lease when it delivers, after that), or with
   * 'unanswered' when the server sent nothing at all.
   *
   * nats-server 2.9 does not always end a pull: under load, right after a
   * burst of publishes, we saw a request get neither a message nor its 408
   * while the consumer had thousands of events ready and no request waiting
   * (consumer info: num_waiting 0, delivered unchanged); and a request that
   * got some messages and then reached MaxAckPending stays open past its
   * expiry. Waiting for the guard below turned either into a 10 s stall
   * (the first one returning a false "nothing is ready"). So fetch stops
   * waiting PULL_SILENCE_MS after the request's expiry: with what came, or,
   * if nothing did, as 'unanswered' and the caller sends a new request.
   * The inbox stays open until the guard; whatever still comes is kept in
   * `leftovers` for the next fetch (never left leased to nobody).
   */
  const pullOnce = async (consumer: string, max: number): Promise<{ msgs: Msg[]; sentAt: number } | 'unanswered'> => {
    const inbox = createInbox();
    const got: Msg[] = [];
    let heard = false;
    let abandoned = false;
    let wake: (() => void) | undefined;
    let failure: ZenoError | undefined;
    let done = false;
    let sentAt = 0;
    const finish = (): void => {
      done = true;
      wake?.();
    };
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (err) return;
        const code = m.headers?.code ?? 0;
        if (abandoned) {
          if (code === 0 && m.reply) {
            let list = leftovers.get(consumer);
            if (!list) leftovers.set(consumer, (list = []));
            list.push({ msg: m, sentAt });
          } else sub.unsubscribe(); // the request ended after all
          return;
        }
        if (done) return;
        heard = true;
        if (code === 0 && m.reply) {
          got.push(m);
          if (got.length >= max) finish();
          return;
        }
        if (!(code === 404 || code === 408 || (code === 409 && /MaxAckPending|Max Ack Pending/i.test(m.headers?.description ?? '')))) {
          failure =
            code === 503
              ? new ZenoError('ZENO_ERR_INTERNAL', `event log: unknown consumer ${consumer}`)
              : new ZenoError('ZENO_ERR_INTERNAL', `event log: JetStream pull failed: ${code} ${m.headers?.description ?? ''}`);
        }
        finish();
      },
    });
    // A stuck server must not hang the caller; the request itself expires
    // on the server after pullWaitMs, so nothing is left waiting there.
    const guard = setTimeout(() => {
      sub.unsubscribe();
      finish();
    }, pullWaitMs + API_TIMEOUT_MS);
    const silence = setTimeout(() => {
      if (!done) {
        abandoned = true;
        wake?.();
      }
    }, pullWaitMs + PULL_SILENCE_MS);
    sentAt = clock.now();
    nc.publish(
      `$JS.API.CONSUMER.MSG.NEXT.${names.stream}.${encodeToken(consumer)}`,
      JSON.stringify({ batch: max, no_wait: true, expires: pullWaitMs * 1_000_000 }),
      { reply: inbox },
    );
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (done || abandoned) resolve();
    });
    clearTimeout(silence);
    if (abandoned) {
      // The guard unsubscribes later; until then late deliveries become leftovers.
      return heard ? { msgs: got, sentAt } : 'unanswered';
    }
    clearTimeout(guard);
    sub.unsubscribe();
    if (failure) throw failure;
    return { msgs: got, sentAt };
  };

  const pull = async (consumer: string, max: number): Promise<{ msgs: Msg[]; sentAt: number }> => {
    for (let tries = 1; ; tries++) {
      const r = await pullOnce(consumer, max);
      if (r !== 'unanswered') return r;
      if (tries >= PULL_TRIES || closed) {
        throw new ZenoError('ZENO_ERR_INTERNAL', `event log: JetStream did not answer ${tries} pull requests for ${consumer}`);
      }
    }
  };

  const settle = async (reply: string, body: string): Promise<void> => {
    // A reply subject makes the server confirm it processed the ack, so an
    // info() or compact() right after sees it.
    await nc.request(reply, body, { timeout: API_TIMEOUT_MS });
  };

  /**
   * The seq of the first event on `subject` at or after `from`. The
   * client's getMessage() does not type next_by_subj (nats-server 2.9 has
   * it), so this asks the JetStream API directly.
   */
  const nextSeqOf = async (subject: string, from: number): Promise<number | undefined> => {
    const res = await nc.request(`$JS.API.STREAM.MSG.GET.${names.stream}`, JSON.stringify({ seq: from, next_by_subj: subject }), {
      timeout: API_TIMEOUT_MS,
    });
    const body = res.json<{ message?: { seq: number }; error?: { code: number; description?: string } }>();
    if (body.message) return body.message.seq;
    if (body.error?.code === 404) return undefined;
    throw new ZenoError('ZENO_ERR_INTERNAL', `event log: JetStream message lookup failed: ${body.error?.description ?? 'no answer'}`);
  };

  return {
    async append(broker, event) {
      assertOpen();
      if (linkDown) throw unavailable('disconnected, reconnecting');
      const body = encodeEvent(event);
      let ack;
      try {
        ack = await js.publish(subjectOf(broker), body);
      } catch (err) {
        throw unavailable(`publish failed: ${(err as Error).message}`, err);
      }
      tell(broker, ack.seq);
      noticeDue.set(broker, Math.max(noticeDue.get(broker) ?? 0, ack.seq));
      if (!noticeScheduled) {
        noticeScheduled = true;
        setImmediate(sendNotices);
      }
      return ack.seq;
    },

    async addConsumer(broker, consumer, o) {
      assertOpen();
      if (!Number.isInteger(o.maxInFlight) || o.maxInFlight < 1) {
        throw new ZenoError('ZENO_ERR_INTERNAL', `event log: maxInFlight must be a positive integer, got ${o.maxInFlight}`);
      }
      const durable = encodeToken(consumer);
      const ackWait = Math.round(o.leaseMs) * 1_000_000;
      const update = async (ci: NatsConsumerInfo): Promise<void> => {
        const meta = metaFromInfo(ci);
        if (meta.broker !== broker) {
          throw new ZenoError('ZENO_ERR_INTERNAL', `event log: consumer ${consumer} belongs to broker ${meta.broker}`);
        }
        if (ci.config.max_ack_pending !== o.maxInFlight || ci.config.ack_wait !== ackWait) {
          await jsm.consumers.update(names.stream, durable, { max_ack_pending: o.maxInFlight, ack_wait: ackWait });
        }
      };
      const existing = await consumerInfo(consumer);
      if (existing) {
        await update(existing);
      } else {
        try {
          await jsm.consumers.add(names.stream, {
            durable_name: durable,
            filter_subject: subjectOf(broker),
            ack_policy: AckPolicy.Explicit,
            deliver_policy: o.fromStart ? DeliverPolicy.All : DeliverPolicy.New,
            replay_policy: ReplayPolicy.Instant,
            max_ack_pending: o.maxInFlight,
            ack_wait: ackWait,
            // Unlimited: the dispatcher decides when to give up (retry policy).
            max_deliver: -1,
          });
        } catch (err) {
          // Another process created it meanwhile: keep its position.
          const raced = await consumerInfo(consumer);
          if (!raced) throw err;
          await update(raced);
        }
      }
      metas.set(consumer, { broker, leaseMs: o.leaseMs });
    },

    async removeConsumer(consumer) {
      assertOpen();
      metas.delete(consumer);
      leases.delete(consumer);
      leftovers.delete(consumer);
      try {
        await jsm.consumers.delete(names.stream, encodeToken(consumer));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },

    async fetch(consumer, max) {
      assertOpen();
      if (max <= 0) return [];
      const meta = await metaOf(consumer);
      prune(consumer, meta.leaseMs);
      // Stamped when the pull that delivered was sent: the server starts
      // AckWait when it delivers, later than this, so leaseUntil never
      // overstates the lease.
      const late = leftovers.get(consumer);
      // One whose lease ran out meanwhile is the server's to hand out again.
      if (late) leftovers.set(consumer, late.filter((l) => l.sentAt + meta.leaseMs > clock.now()));
      const kept = leftovers.get(consumer);
      let taken: { msg: Msg; sentAt: number }[];
      if (kept && kept.length > 0) {
        taken = kept.splice(0, max);
      } else {
        const { msgs, sentAt } = await pull(consumer, max);
        taken = msgs.map((msg) => ({ msg, sentAt }));
      }
      const mine = leasesOf(consumer);
      return taken.map(({ msg: m, sentAt }): LeasedEvent => {
        const leaseUntil = sentAt + meta.leaseMs;
        const d = parseAckSubject(m.reply!);
        mine.set(d.seq, { reply: m.reply!, leaseUntil });
        return { seq: d.seq, broker: meta.broker, event: decodeEvent(m.string()), attempt: d.attempt, appendedAt: d.timestampMs, leaseUntil };
      });
    },

    async ack(consumer, seq) {
      assertOpen();
      await metaOf(consumer);
      // Only a delivery this instance handed out can be acked: JetStream
      // acks through the delivery's reply subject. A lease lost with a
      // crashed process is redelivered (at-least-once), never lost.
      const lease = leases.get(consumer)?.get(seq);
      if (!lease) return;
      await settle(lease.reply, '+ACK');
      leases.get(consumer)?.delete(seq);
    },

    async nack(consumer, seq, retryAtMs) {
      assertOpen();
      await metaOf(consumer);
      const lease = leases.get(consumer)?.get(seq);
      if (!lease) return;
      const delayMs = Math.max(0, Math.round(retryAtMs - clock.now()));
      // The event stays in the consumer's ack-pending set (counting towards
      // MaxAckPending) until the server redelivers it after the delay.
      await settle(lease.reply, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: delayMs * 1_000_000 })}` : '-NAK');
      lease.leaseUntil = retryAtMs;
    },

    async info(consumer) {
      assertOpen();
      const ci = await consumerInfo(consumer);
      if (!ci) return undefined;
      const info: ConsumerInfo = {
        broker: metaFromInfo(ci).broker,
        ackFloor: floorOf(ci),
        outstanding: ci.num_ack_pending,
        backlog: ci.num_pending,
      };
      return info;
    },

    onAppend(broker, listener) {
      let set = listeners.get(broker);
      if (!set) listeners.set(broker, (set = new Set()));
      set.add(listener);
      if (!remoteSubs.has(broker) && !closed) {
        const sub = nc.subscribe(`${names.appended}.${encodeToken(broker)}`, {
          callback: (err, msg) => {
            if (err) return;
            const seq = Number(msg.string());
            if (Number.isFinite(seq)) tell(broker, seq);
          },
        });
        remoteSubs.set(broker, sub);
      }
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(broker) === set) {
          listeners.delete(broker);
          remoteSubs.get(broker)?.unsubscribe();
          remoteSubs.delete(broker);
        }
      };
    },

    async compact() {
      assertOpen();
      const si = await jsm.streams.info(names.stream, { subjects_filter: `${names.events}.>` });
      const subjects = Object.keys(si.state.subjects ?? {});
      if (subjects.length === 0) return 0;
      const floors = new Map<string, number>();
      for await (const ci of jsm.consumers.list(names.stream)) {
        const subject = ci.config.filter_subject;
        if (!subject) continue;
        floors.set(subject, Math.min(floors.get(subject) ?? Number.MAX_SAFE_INTEGER, floorOf(ci)));
      }
      let removed = 0;
      // nats-server 2.9 resets the ack state of the consumers on a subject
      // when that subject is purged with a filter (their unacked events were
      // lost in our tests), so a filtered purge is used only for brokers
      // nobody consumes; the rest goes by an unfiltered purge below the
      // lowest floor, then by deleting single messages up to each floor.
      const watched: [string, number][] = [];
      for (const subject of subjects) {
        const floor = floors.get(subject);
        if (floor === undefined) removed += (await jsm.streams.purge(names.stream, { filter: subject })).purged;
        else watched.push([subject, floor]);
      }
      if (watched.length === 0) return removed;
      const lowest = Math.min(...watched.map(([, f]) => f));
      // Purges every event with seq < lowest + 1.
      if (lowest > 0) removed += (await jsm.streams.purge(names.stream, { seq: lowest + 1 })).purged;
      for (const [subject, floor] of watched) {
        for (let from = lowest + 1; from <= floor; ) {
          const seq = await nextSeqOf(subject, from);
          if (seq === undefined || seq > floor) break;
          if (await jsm.streams.deleteMessage(names.stream, seq, false)) removed++;
          from = seq + 1;
        }
      }
      return removed;
    },

    async close() {
      if (closed) return;
      sendNotices();
      closed = true;
      listeners.clear();
      remoteSubs.clear();
      await nc.drain().catch(() => nc.close());
    },
  };
}
