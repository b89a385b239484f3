/**
 * The delivery engine behind Triggers (and Channel Subscriptions): one pull
 * loop per subscription over the durable EventLog, delivering each event by
 * HTTP with Knative's semantics (/work/shared/reference/knative-eventing.md
 * §1 "Replies", §2 delivery spec and retry table, §6 conformance list).
 *
 * State lives only in the EventLog. The dispatcher holds nothing that a
 * restart would need: an event is acked only after it was delivered,
 * filtered out, dead-lettered or given up on; until then it is leased or
 * waiting for a retry in the log, and a lease that outlives a crashed
 * process hands the event out again (at-least-once).
 *
 * Per subscription:
 * - the loop fetches when the log has news (onAppend), when a retry falls
 *   due (one Clock timer at the earliest nacked retry time), when a slot
 *   frees up, and every lease period (a lease that ran out elsewhere, e.g.
 *   in a JetStream consumer); never by busy polling;
 * - up to maxInFlight deliveries run at once, in no particular order
 *   (Knative guarantees no ordering either, §6 "Ordering"). The log never
 *   lets a consumer hold more than maxInFlight events, leased or waiting
 *   for a retry, so a slow or dead subscriber stops at that many and costs
 *   nothing more; other subscriptions run on their own loops;
 * - attempts are numbered as the log leases them: attempt 1 is the first
 *   delivery, retry N is attempt N + 1, and there are at most
 *   `delivery.retry + 1` attempts. An attempt lost to a crash counts.
 *   nextAttempt() gets the zero-based index `attempt - 1` (Knative's
 *   go-retryablehttp attemptNum), so the waits before retries 1, 2, 3 are
 *   linear 0, d, 2d and exponential d, 2d, 4d (delivery.ts).
 */
import { Agent, type Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { ZenoError } from '../../core/errors.js';
import {
  deadLetterExtensions,
  nextAttempt,
  toPolicy,
  validateDelivery,
  type DeadLetterExtensions,
  type DeliveryPolicy,
  type DeliverySpec,
} from '../delivery/delivery.js';
import type { CompiledFilter } from '../filter/filters.js';
import type { EventLog, LeasedEvent, StoredEvent } from '../log/event-log.js';
import { SPAN_KIND, type Tracer } from '../../gateway/otel.js';
import { classifyResponse, encodeForDelivery, NOT_A_CLOUDEVENT_STATUS, type AttemptOutcome, type OutgoingRequest } from './encoding.js';

export interface SubscriptionSpec {
  /** The EventLog consumer name, e.g. `trigger:default/my-trigger`. */
  id: string;
  /** The EventLog stream (broker or channel) key, e.g. `default/default`. Fixed for the life of the subscription. */
  stream: string;
  /** Absent = every event (Channel Subscriptions have none). Only 'fail' drops an event; 'nofilter' passes. */
  filter?: CompiledFilter;
  /** The resolved subscriber URL; undefined = not resolvable yet: events are held in the log, not dropped. */
  subscriber: () => string | undefined;
  /** Extra request headers, e.g. a Host header when delivering through the gateway. */
  subscriberHeaders?: Record<string, string>;
  /**
   * Attributes removed before the event goes to the subscriber. The broker
   * passes `knativebrokerttl`: Knative's broker filter strips the TTL
   * before calling the subscriber and puts it back on the reply (§1).
   * The dead-letter sink gets the event as stored.
   */
  omitAttributes?: readonly string[];
  /**
   * Where a reply goes (a Broker: append it to the broker; a Subscription:
   * post it to spec.reply). `original` is the event as stored, so a broker
   * can carry its TTL over. Absent = replies are dropped (Knative: no reply
   * destination). A rejection fails the delivery, and the original is
   * redelivered (rekt data-plane conformance, §6).
   */
  reply?: (reply: StoredEvent, original: StoredEvent) => Promise<void>;
  /** Already merged: trigger over broker over config-br-defaults (effectiveDelivery). */
  delivery: DeliverySpec;
  /** The resolved dead-letter sink URL; absent or undefined = none. */
  deadLetter?: () => string | undefined;
  deadLetterHeaders?: Record<string, string>;
  /** Events outstanding at once, leased or waiting for a retry (the log's maxInFlight). */
  maxInFlight: number;
  /**
   * How long a fetched event stays leased. The dispatcher raises it to at
   * least two attempt timeouts plus LEASE_SLACK_MS (one delivery and one
   * dead-letter post), so a lease never runs out under a live attempt.
   */
  leaseMs: number;
}

export type OutcomeKind = 'delivered' | 'filtered' | 'retry' | 'deadlettered' | 'failed' | 'held';

export interface DeliveryOutcome {
  kind: OutcomeKind;
  seq: number;
  /** The log's attempt number (1 = first delivery). */
  attempt: number;
  /** The HTTP status behind the outcome; undefined = no response. */
  status?: number;
  /** For 'retry': when the event is due again (ms since epoch, dispatcher clock). */
  retryAt?: number;
  /** For 'delivered': a reply was published. */
  replied?: boolean;
  /** For 'retry', 'deadlettered' and 'failed': why the attempt failed. */
  reason?: string;
  /** 'retry' and 'failed' of a dead-letter post (not of the subscriber). */
  deadLetter?: boolean;
}

export interface SubscriptionStats {
  delivered: number;
  replied: number;
  filtered: number;
  /** Retries scheduled (subscriber and dead-letter posts). */
  retried: number;
  deadLettered: number;
  /** Given up with no dead-letter sink, or the dead-letter sink failed too. */
  failed: number;
  /** Deliveries running now. */
  inFlight: number;
  /** The subscriber is not resolvable; new events wait in the log. */
  held: boolean;
}

/**
 * The HTTP client, as much of undici's dispatch API as a delivery uses: an
 * Agent, or gateway/local.ts's client that serves requests to the gateway's
 * own functions in process.
 */
export interface DeliveryClient {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
}

export interface DispatcherDeps {
  log: EventLog;
  clock: Clock;
  /** HTTP client; a private undici Agent when absent. */
  agent?: DeliveryClient;
  /** close() closes `agent` too (a private Agent is always closed). */
  closeAgent?: boolean;
  onOutcome?: (id: string, outcome: DeliveryOutcome) => void;
  /**
   * This dispatcher got an event again that it had not released itself (no
   * nack of its own): an earlier holder's lease ran out, in a process that
   * crashed or stalled, or in one that nacked it for a retry (another
   * instance on the same NATS). The earlier attempt may have reached the
   * subscriber, so each call is a possible duplicate delivery.
   */
  onRedelivery?: (id: string, ev: { seq: number; attempt: number }) => void;
  /** Operator-facing lines (dropped events, log errors). */
  logLine?: (line: string) => void;
  /** Largest subscriber response read (a reply); default PLATFORM_DEFAULTS.maxBodyBytes. */
  maxResponseBytes?: number;
  /**
   * OpenTelemetry spans (gateway/otel.ts): one CLIENT span per delivery
   * attempt under the event's traceparent attribute. Headers are not
   * changed: the event's trace context reaches the subscriber as it is.
   */
  tracer?: Tracer;
}

export interface EventDispatcher {
  /** Starts a subscription, or changes a running one in place (its log position is kept). */
  upsert(spec: SubscriptionSpec): Promise<void>;
  /** Stops a subscription and deletes its consumer and delivery state from the log. */
  remove(id: string): Promise<void>;
  /** Stops every loop (aborting deliveries in flight; the log keeps them for the next start). The log stays open. */
  close(): Promise<void>;
  /** Counters since this process started; undefined for an unknown id. */
  stats(id: string): SubscriptionStats | undefined;
}

/** Headroom on top of two attempt timeouts in the lease (acks, a reply append, scheduling). */
export const LEASE_SLACK_MS = 5_000;

/** The body of a response without one (most: 202), shared. */
const NO_BODY = Buffer.alloc(0);

/** Events asked of the log per fetch (below maxInFlight when that is smaller). */
const FETCH_BATCH = 256;

/** One delivery running: its HTTP call, for abort(), and its promise, for stop(). */
class Running {
  /** The abort of the call in flight (each POST registers its own); one at a time. */
  current: ((reason: Error) => void) | undefined;
  done: Promise<void> | undefined;

  abort(reason: Error): void {
    this.current?.(reason);
  }
}

interface Sub {
  spec: SubscriptionSpec;
  /** What encoding an event for this subscriber depends on besides the event (omitted attributes, extra headers). */
  encodingKey: string;
  policy: DeliveryPolicy;
  timeoutMs: number;
  leaseMs: number;
  /** Deliveries running, by seq; an entry leaves just before its event is nacked. */
  running: Map<number, Running>;
  /** Every delivery not finished yet, for stop() to wait on. */
  workers: Set<Promise<void>>;
  /** Nacked events and when they are due again: drives the one retry timer. */
  retryAt: Map<number, number>;
  /**
   * Events this dispatcher nacked, with a time after which the entry is
   * forgotten (retry time plus a lease: by then another instance took it).
   * Tells a retry it scheduled from a redelivery it did not (onRedelivery).
   */
  nacked: Map<number, number>;
  retryTimer: TimerHandle | undefined;
  retryTimerAt: number;
  sweepTimer: TimerHandle | undefined;
  holdTimer: TimerHandle | undefined;
  /**
   * Events whose subscriber attempts are over and whose dead-letter post
   * failed and waits for its retry, with the extensions to send. Bounded by
   * maxInFlight (only outstanding events). Lost on restart: such an event
   * then gets one more subscriber attempt, which fails (or succeeds) and
   * yields fresh extensions.
   */
  deadLetters: Map<number, { ext: DeadLetterExtensions; attempt: number }>;
  unsubscribe: () => void;
  pumping: boolean;
  again: boolean;
  wakeScheduled: boolean;
  stopped: boolean;
  held: boolean;
  stats: Omit<SubscriptionStats, 'inFlight' | 'held'>;
}

type HttpResult = { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer } | { error: Error };

function checkSpec(spec: SubscriptionSpec): { policy: DeliveryPolicy; timeoutMs: number; leaseMs: number } {
  const issues = validateDelivery(spec.delivery, 'delivery');
  if (!spec.id) issues.push({ path: 'id', message: 'missing field' });
  if (!spec.stream) issues.push({ path: 'stream', message: 'missing field' });
  if (!Number.isInteger(spec.maxInFlight) || spec.maxInFlight < 1) issues.push({ path: 'maxInFlight', message: 'must be a positive integer' });
  if (!(spec.leaseMs > 0)) issues.push({ path: 'leaseMs', message: 'must be greater than zero' });
  if (issues.length > 0) {
    throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', `subscription ${spec.id}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, { issues });
  }
  const policy = toPolicy(spec.delivery);
  const timeoutMs = policy.timeoutMs ?? PLATFORM_DEFAULTS.eventDeliveryTimeoutMs;
  return { policy, timeoutMs, leaseMs: Math.max(spec.leaseMs, 2 * timeoutMs + LEASE_SLACK_MS) };
}

function encodingKeyOf(spec: SubscriptionSpec): string {
  return JSON.stringify([spec.omitAttributes ?? [], spec.subscriberHeaders ?? {}]);
}

/**
 * One delivery POST on undici's dispatch API: the handler, its timeout and
 * its abort in one object (the hot path of every delivery; closures for
 * each part were a good share of the dispatcher's garbage per event).
 */
class PostCall implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private early: Error | undefined;
  private settled = false;
  private status = 0;
  private headers: Record<string, string | string[] | undefined> = {};
  private chunks: Buffer[] | undefined;
  private size = 0;
  private readonly timer: TimerHandle;
  /** Cuts the call (subscription stopped); a bound method, so it can be registered as it is. */
  readonly abort = (e: Error): void => {
    if (this.settled) return;
    if (this.controller) this.controller.abort(e);
    else this.early = e;
    this.finish({ error: e });
  };

  constructor(
    private readonly clock: Clock,
    private readonly maxResponseBytes: number,
    private readonly resolve: (r: HttpResult) => void,
    timeoutMs: number,
  ) {
    this.timer = clock.setTimeout(() => this.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  }

  finish(r: HttpResult): void {
    if (this.settled) return;
    this.settled = true;
    this.clock.clearTimeout(this.timer);
    this.resolve(r);
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.early) c.abort(this.early);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, h: Record<string, string | string[] | undefined>): void {
    this.status = statusCode;
    this.headers = h;
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxResponseBytes) {
      c.abort(new Error(`response body over ${this.maxResponseBytes} bytes`));
      return;
    }
    (this.chunks ??= []).push(chunk);
  }

  onResponseEnd(): void {
    const chunks = this.chunks;
    this.finish({ status: this.status, headers: this.headers, body: chunks === undefined ? NO_BODY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.finish({ error: err });
  }
}

function without(event: StoredEvent, names: readonly string[] | undefined): StoredEvent {
  if (!names || names.length === 0 || !names.some((n) => n in event.attributes)) return event;
  const attributes = { ...event.attributes };
  for (const n of names) delete attributes[n];
  return event.data === undefined ? { attributes } : { attributes, data: event.data };
}

export function createDispatcher(deps: DispatcherDeps): EventDispatcher {
  const { log, clock } = deps;
  const ownAgent = deps.agent === undefined || deps.closeAgent === true;
  const agent: DeliveryClient = deps.agent ?? new Agent({ keepAliveTimeout: 30_000 });
  const maxResponseBytes = deps.maxResponseBytes ?? PLATFORM_DEFAULTS.maxBodyBytes;
  const subs = new Map<string, Sub>();
  /** upsert/remove of one id run one after another. */
  const ops = new Map<string, Promise<void>>();
  let closed = false;

  const say = (line: string): void => deps.logLine?.(`dispatcher: ${line}`);
  const emit = (id: string, o: DeliveryOutcome): void => {
    try {
      deps.onOutcome?.(id, o);
    } catch (e) {
      say(`onOutcome threw: ${(e as Error).message}`);
    }
  };

  const serial = (id: string, fn: () => Promise<void>): Promise<void> => {
    const prev = ops.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    ops.set(id, tail);
    void tail.then(() => {
      if (ops.get(id) === tail) ops.delete(id);
    });
    return next;
  };

  // ---- encoding, shared ----
  // The Triggers of a broker get the same event object from the log and
  // (without their own headers) the same request: encode it once.
  const encodings = new WeakMap<StoredEvent, { key: string; req: OutgoingRequest }>();
  function encoded(sub: Sub, event: StoredEvent): OutgoingRequest {
    const hit = encodings.get(event);
    if (hit && hit.key === sub.encodingKey) return hit.req;
    const req = encodeForDelivery(without(event, sub.spec.omitAttributes), sub.spec.subscriberHeaders);
    encodings.set(event, { key: sub.encodingKey, req });
    return req;
  }

  // ---- HTTP ----

  /** Subscriber URLs parsed once (a few per subscription), not once per delivery. */
  const targets = new Map<string, { origin: string; path: string } | undefined>();
  function targetOf(url: string): { origin: string; path: string } | undefined {
    if (targets.has(url)) return targets.get(url);
    let t: { origin: string; path: string } | undefined;
    try {
      const u = new URL(url);
      t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    } catch {
      t = undefined;
    }
    // Bounded: URLs change only when subscribers or sinks move.
    if (targets.size >= 1024) targets.clear();
    targets.set(url, t);
    return t;
  }

  /**
   * One POST on undici's dispatch API, cut at `timeoutMs` by the injected
   * clock (so tests drive timeouts with FakeClock) or by `abortRun`.
   */
  function post(url: string, req: OutgoingRequest, timeoutMs: number, entry: Running): Promise<HttpResult> {
    return new Promise<HttpResult>((resolve) => {
      const target = targetOf(url);
      if (target === undefined) {
        resolve({ error: new Error(`invalid URL ${url}`) });
        return;
      }
      const call = new PostCall(clock, maxResponseBytes, resolve, timeoutMs);
      entry.current = call.abort;
      try {
        agent.dispatch({ origin: target.origin, path: target.path, method: 'POST', headers: req.headers, body: req.body }, call);
      } catch (e) {
        call.finish({ error: e as Error });
      }
    });
  }

  function outcomeOf(r: HttpResult, original: StoredEvent): AttemptOutcome {
    if ('error' in r) {
      // Knative records a failed dispatch as 500 with "dispatch error: …"
      // as the body; the retry table sees "no response" (retry).
      const reason = `dispatch error: ${r.error.message}`;
      return { ok: false, status: undefined, body: Buffer.from(reason, 'utf8'), reason };
    }
    return classifyResponse(r.status, r.headers, r.body, original);
  }

  // ---- the loop ----

  function wake(sub: Sub): void {
    if (sub.stopped || sub.wakeScheduled) return;
    sub.wakeScheduled = true;
    // setImmediate, not a timer: it only coalesces wake-ups that happen in
    // one turn of the event loop (appends, finished deliveries) into one fetch.
    setImmediate(() => {
      sub.wakeScheduled = false;
      void pump(sub);
    });
  }

  function armRetryTimer(sub: Sub): void {
    let min = Infinity;
    for (const at of sub.retryAt.values()) if (at < min) min = at;
    if (sub.retryTimer !== undefined && sub.retryTimerAt === min) return;
    clock.clearTimeout(sub.retryTimer);
    sub.retryTimer = undefined;
    if (min === Infinity || sub.stopped) return;
    sub.retryTimerAt = min;
    sub.retryTimer = clock.setTimeout(() => {
      sub.retryTimer = undefined;
      const now = clock.now();
      // Due retries leave the map whether or not the next fetch has room for
      // them: a freed slot wakes the loop, and the log serves due retries first.
      for (const [seq, at] of sub.retryAt) if (at <= now) sub.retryAt.delete(seq);
      armRetryTimer(sub);
      wake(sub);
    }, Math.max(0, min - clock.now()));
  }

  function hold(sub: Sub): void {
    sub.held = true;
    if (sub.holdTimer !== undefined || sub.stopped) return;
    sub.holdTimer = clock.setTimeout(() => {
      sub.holdTimer = undefined;
      wake(sub);
    }, PLATFORM_DEFAULTS.eventHoldRecheckMs);
  }

  async function pump(sub: Sub): Promise<void> {
    if (sub.pumping) {
      sub.again = true;
      return;
    }
    sub.pumping = true;
    try {
      do {
        sub.again = false;
        while (!sub.stopped) {
          if (sub.spec.subscriber() === undefined) {
            hold(sub);
            break;
          }
          sub.held = false;
          const room = sub.spec.maxInFlight - sub.running.size;
          if (room <= 0) break;
          const want = Math.min(room, FETCH_BATCH);
          const batch = await log.fetch(sub.spec.id, want);
          if (sub.stopped) break; // leased but not started: the lease brings them back later
          for (const ev of batch) start(sub, ev);
          if (batch.length < want) break;
        }
      } while (sub.again && !sub.stopped);
    } catch (e) {
      // The log failed (closed underneath us, disk error): the next wake-up
      // or lease sweep tries again.
      if (!sub.stopped && !closed) say(`${sub.spec.id}: fetch failed: ${(e as Error).message}`);
    } finally {
      sub.pumping = false;
    }
  }

  function start(sub: Sub, ev: LeasedEvent): void {
    sub.retryAt.delete(ev.seq);
    // Our own delivery of this event is still running (its lease ran out
    // under it): let that one settle it rather than deliver it twice at once.
    if (sub.running.has(ev.seq)) return;
    if (!sub.nacked.delete(ev.seq) && ev.attempt > 1) {
      try {
        deps.onRedelivery?.(sub.spec.id, { seq: ev.seq, attempt: ev.attempt });
      } catch (e) {
        say(`onRedelivery threw: ${(e as Error).message}`);
      }
    }
    const entry = new Running();
    sub.running.set(ev.seq, entry);
    const done = run(sub, ev, entry);
    entry.done = done;
    sub.workers.add(done);
  }

  /** A delivery and what follows it, in one async function (not a .catch and a .finally per delivery). */
  async function run(sub: Sub, ev: LeasedEvent, entry: Running): Promise<void> {
    try {
      await deliver(sub, ev, entry);
    } catch (e) {
      if (!sub.stopped) say(`${sub.spec.id}: event ${ev.seq}: ${(e as Error).message}`);
    } finally {
      if (sub.running.get(ev.seq) === entry) sub.running.delete(ev.seq);
      // Set by start() before this runs: deliver() always yields first.
      sub.workers.delete(entry.done!);
      wake(sub);
    }
  }

  async function ack(sub: Sub, seq: number): Promise<void> {
    sub.deadLetters.delete(seq);
    await log.ack(sub.spec.id, seq);
  }

  /**
   * Nacks an event. Its entry leaves `running` first: once nacked, a fetch
   * may hand it out again at once (a zero backoff), and that delivery must
   * not be mistaken for this one.
   */
  async function nack(sub: Sub, entry: Running, seq: number, at: number): Promise<void> {
    if (sub.running.get(seq) === entry) sub.running.delete(seq);
    const now = clock.now();
    for (const [s, until] of sub.nacked) if (until < now) sub.nacked.delete(s);
    sub.nacked.set(seq, Math.max(at, now) + sub.leaseMs);
    await log.nack(sub.spec.id, seq, at);
  }

  async function retryLater(sub: Sub, entry: Running, seq: number, at: number): Promise<void> {
    await nack(sub, entry, seq, at);
    sub.stats.retried++;
    sub.retryAt.set(seq, at);
    armRetryTimer(sub);
  }

  async function deliver(sub: Sub, ev: LeasedEvent, entry: Running): Promise<void> {
    const { spec, policy, timeoutMs } = sub;
    const id = spec.id;
    const pending = sub.deadLetters.get(ev.seq);
    if (pending !== undefined) return deadLetter(sub, ev, entry, pending.ext, pending.attempt);

    if (spec.filter !== undefined && spec.filter.match(ev.event.attributes) === 'fail') {
      await ack(sub, ev.seq);
      sub.stats.filtered++;
      emit(id, { kind: 'filtered', seq: ev.seq, attempt: ev.attempt });
      return;
    }

    const url = spec.subscriber();
    if (url === undefined) {
      // Fetched just before the subscriber went away: back into the log, due
      // at once; the loop does not fetch again until it resolves.
      await nack(sub, entry, ev.seq, clock.now());
      hold(sub);
      emit(id, { kind: 'held', seq: ev.seq, attempt: ev.attempt });
      return;
    }

    const tp = ev.event.attributes.traceparent;
    // A low-cardinality name (OTel's rule); which subscription is an attribute.
    const span = deps.tracer?.start('deliver', SPAN_KIND.client, typeof tp === 'string' ? tp : undefined, {
      'zeno.subscription': id,
      'cloudevents.event_id': String(ev.event.attributes.id),
      'cloudevents.event_type': String(ev.event.attributes.type),
      'url.full': url,
      'zeno.attempt': ev.attempt,
    });
    const response = await post(url, encoded(sub, ev.event), timeoutMs, entry);
    if (span) {
      if ('status' in response) span.set('http.response.status_code', response.status);
      span.end('error' in response ? response.error.message : response.status >= 300 ? `HTTP ${response.status}` : undefined);
    }
    if (sub.stopped) return;
    let outcome = outcomeOf(response, ev.event);
    let replied = false;
    if (outcome.ok && outcome.reply !== undefined && spec.reply !== undefined) {
      try {
        await spec.reply(outcome.reply, ev.event);
        replied = true;
      } catch (e) {
        // "If storing the reply fails, the original delivery fails and is
        // retried" (data-plane spec, §1). Knative's filter answers 502 then.
        const reason = `reply could not be published: ${(e as Error).message}`;
        outcome = { ok: false, status: NOT_A_CLOUDEVENT_STATUS, body: Buffer.from(reason, 'utf8'), reason };
      }
    }
    if (sub.stopped) return;
    if (outcome.ok) {
      await ack(sub, ev.seq);
      sub.stats.delivered++;
      if (replied) sub.stats.replied++;
      emit(id, { kind: 'delivered', seq: ev.seq, attempt: ev.attempt, ...('status' in response ? { status: response.status } : {}), replied });
      return;
    }

    const now = clock.now();
    const next = nextAttempt(policy, ev.attempt - 1, outcome.status === undefined ? undefined : { status: outcome.status, ...(outcome.retryAfter === undefined ? {} : { retryAfter: outcome.retryAfter }) }, now);
    if (next.retry) {
      const at = now + next.delayMs;
      await retryLater(sub, entry, ev.seq, at);
      emit(id, { kind: 'retry', seq: ev.seq, attempt: ev.attempt, ...(outcome.status === undefined ? {} : { status: outcome.status }), retryAt: at, reason: outcome.reason });
      return;
    }
    // Retries exhausted, or a response the table does not retry: the
    // original event, as stored, goes to the dead-letter sink with
    // knativeerrordest/code/data (§2 "Dead letter"). No response counts as
    // 500, as Knative records it.
    const ext = deadLetterExtensions(url, outcome.status ?? 500, outcome.body);
    if (spec.deadLetter === undefined) {
      await ack(sub, ev.seq);
      sub.stats.failed++;
      say(`${id}: event ${String(ev.event.attributes.id)} (seq ${ev.seq}) dropped after attempt ${ev.attempt}: ${outcome.reason}; no dead-letter sink`);
      emit(id, { kind: 'failed', seq: ev.seq, attempt: ev.attempt, ...(outcome.status === undefined ? {} : { status: outcome.status }), reason: outcome.reason });
      return;
    }
    return deadLetter(sub, ev, entry, ext, 0);
  }

  /**
   * Posts the event to the dead-letter sink. Knative sends to the DLS with
   * the same retry config (§2), so a failed post is retried with the same
   * backoff, counted from 0 in `dlsAttempt`; when those retries run out
   * too, the event is dropped (logged).
   */
  async function deadLetter(sub: Sub, ev: LeasedEvent, entry: Running, ext: DeadLetterExtensions, dlsAttempt: number): Promise<void> {
    const { spec, policy, timeoutMs } = sub;
    const id = spec.id;
    if (spec.deadLetter === undefined) {
      // The sink was taken out of the delivery spec while this event waited for a retry of it.
      await ack(sub, ev.seq);
      sub.stats.failed++;
      say(`${id}: event ${String(ev.event.attributes.id)} (seq ${ev.seq}) dropped: no dead-letter sink any more`);
      emit(id, { kind: 'failed', seq: ev.seq, attempt: ev.attempt, reason: 'no dead-letter sink', deadLetter: true });
      return;
    }
    const url = spec.deadLetter();
    let outcome: AttemptOutcome;
    let status: number | undefined;
    if (url === undefined) {
      outcome = { ok: false, status: undefined, body: Buffer.alloc(0), reason: 'dead-letter sink not resolvable' };
    } else {
      const event: StoredEvent = { attributes: { ...ev.event.attributes, ...ext } };
      if (ev.event.data !== undefined) event.data = ev.event.data;
      const r = await post(url, encodeForDelivery(event, spec.deadLetterHeaders), timeoutMs, entry);
      if (sub.stopped) return;
      if ('error' in r) outcome = outcomeOf(r, event);
      else {
        status = r.status;
        outcome = r.status >= 200 && r.status < 300 ? { ok: true } : outcomeOf(r, event);
      }
    }
    if (outcome.ok) {
      await ack(sub, ev.seq);
      sub.stats.deadLettered++;
      emit(id, { kind: 'deadlettered', seq: ev.seq, attempt: ev.attempt, status: ext.knativeerrorcode, reason: `dead-lettered to ${url}` });
      return;
    }
    const now = clock.now();
    const next = nextAttempt(policy, dlsAttempt, outcome.status === undefined ? undefined : { status: outcome.status, ...(outcome.retryAfter === undefined ? {} : { retryAfter: outcome.retryAfter }) }, now);
    if (next.retry) {
      sub.deadLetters.set(ev.seq, { ext, attempt: dlsAttempt + 1 });
      const at = now + next.delayMs;
      await retryLater(sub, entry, ev.seq, at);
      emit(id, { kind: 'retry', seq: ev.seq, attempt: ev.attempt, ...(status === undefined ? {} : { status }), retryAt: at, reason: outcome.reason, deadLetter: true });
      return;
    }
    await ack(sub, ev.seq);
    sub.stats.failed++;
    say(`${id}: event ${String(ev.event.attributes.id)} (seq ${ev.seq}) dropped: the dead-letter sink failed too (${outcome.reason})`);
    emit(id, { kind: 'failed', seq: ev.seq, attempt: ev.attempt, ...(status === undefined ? {} : { status }), reason: outcome.reason, deadLetter: true });
  }

  async function stop(sub: Sub): Promise<void> {
    sub.stopped = true;
    sub.unsubscribe();
    clock.clearTimeout(sub.retryTimer);
    clock.clearTimeout(sub.holdTimer);
    clock.clearInterval(sub.sweepTimer);
    const reason = new Error('subscription stopped');
    for (const r of sub.running.values()) r.abort(reason);
    await Promise.all([...sub.workers]);
  }

  return {
    upsert(spec) {
      return serial(spec.id, async () => {
        if (closed) throw new ZenoError('ZENO_ERR_SHUTTING_DOWN', 'dispatcher is closed');
        const { policy, timeoutMs, leaseMs } = checkSpec(spec);
        const existing = subs.get(spec.id);
        if (existing && existing.spec.stream !== spec.stream) {
          throw new ZenoError('ZENO_ERR_INVALID_RESOURCE', `subscription ${spec.id} reads ${existing.spec.stream}; remove it before subscribing it to ${spec.stream}`);
        }
        await log.addConsumer(spec.stream, spec.id, { maxInFlight: spec.maxInFlight, leaseMs });
        if (existing) {
          existing.spec = spec;
          existing.encodingKey = encodingKeyOf(spec);
          existing.policy = policy;
          existing.timeoutMs = timeoutMs;
          if (existing.leaseMs !== leaseMs) {
            existing.leaseMs = leaseMs;
            clock.clearInterval(existing.sweepTimer);
            existing.sweepTimer = clock.setInterval(() => wake(existing), leaseMs);
          }
          wake(existing);
          return;
        }
        const sub: Sub = {
          spec,
          encodingKey: encodingKeyOf(spec),
          policy,
          timeoutMs,
          leaseMs,
          running: new Map(),
          workers: new Set(),
          retryAt: new Map(),
          nacked: new Map(),
          retryTimer: undefined,
          retryTimerAt: 0,
          sweepTimer: undefined,
          holdTimer: undefined,
          deadLetters: new Map(),
          unsubscribe: () => undefined,
          pumping: false,
          again: false,
          wakeScheduled: false,
          stopped: false,
          held: false,
          stats: { delivered: 0, replied: 0, filtered: 0, retried: 0, deadLettered: 0, failed: 0 },
        };
        sub.unsubscribe = log.onAppend(spec.stream, () => wake(sub));
        sub.sweepTimer = clock.setInterval(() => wake(sub), leaseMs);
        subs.set(spec.id, sub);
        wake(sub);
      });
    },

    remove(id) {
      return serial(id, async () => {
        const sub = subs.get(id);
        if (sub) {
          subs.delete(id);
          await stop(sub);
        }
        // Also for an id this process never started: a consumer left from
        // before a restart whose Trigger is gone.
        if (!closed) await log.removeConsumer(id);
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      const all = [...subs.values()];
      subs.clear();
      await Promise.all(all.map(stop));
      if (ownAgent) await agent.close();
    },

    stats(id) {
      const sub = subs.get(id);
      if (!sub) return undefined;
      return { ...sub.stats, inFlight: sub.running.size, held: sub.held };
    },
  };
}
