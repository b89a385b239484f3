/**
 * The asynchronous call queue and its worker, on the platform's EventLog
 * (only its interface: the same code runs on the SQLite log and on NATS
 * JetStream).
 *
 * Streams and consumers in the log:
 * - `async:NS/NAME`, one per function, with a consumer of the same name
 *   whose maxInFlight is the function's in-flight limit (waiting retries
 *   count, as JetStream's MaxAckPending counts them). Every instance on one
 *   NATS pulls from that one consumer, so each attempt runs in one place;
 * - `async-registry`: one record per function stream, so every instance
 *   (and a restarted one) knows every stream that may hold calls. Its
 *   consumer of the same name is never read and keeps the records from
 *   compaction;
 * - `async-cancel`: one record per cancelled call. Its consumer of the same
 *   name is tidied now and then: a record is acked (and later compacted)
 *   once the call it cancels is settled, so a cancellation survives a
 *   restart as the call does.
 *
 * Each instance follows the registry and the cancellations through its own
 * consumers `async-registry@ID` and `async-cancel@ID` (ID: the instance id,
 * kept in the data dir), reset to the end of the stream at start, after
 * which the instance reads both streams from the start once.
 *
 * A call is acked only after its last attempt and its callback: a platform
 * killed at any point runs the call again after restart, or on another
 * instance once its lease runs out (at least once).
 */
import { randomUUID } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { ASYNC_DEFAULTS, DEFAULT_ASYNC_SETTINGS, type AsyncSettings } from '../../core/config/async.js';
import { SPAN_KIND, type Tracer } from '../otel.js';
import type { AsyncMetrics } from '../../core/metrics.js';
import type { EventLog, LeasedEvent } from '../../eventing/log/event-log.js';
import {
  callbackHeaders, callToEvent, cancelToEvent, eventToCall, eventToCancel, streamKey,
  type AsyncCall, type CallResult, type CancelRecord,
} from './calls.js';
import { decideCallbackRetry, decideRetry, UNREACHABLE_STATUS } from './retry.js';

export const REGISTRY_STREAM = 'async-registry';
export const CANCEL_STREAM = 'async-cancel';
const SCAN_PREFIX = 'async-scan:';
/** Lease of the records an instance reads from the registry and cancellations (acked at once). */
const FOLLOW_LEASE_MS = 60_000;
/** A cancellation whose call is not settled yet is looked at again after this. */
const TIDY_MS = 60_000;
const MANY = 1_000_000;
/** Workers forget settled calls every this many polls; the cancellations are tidied ten times less often. */
const TIDY_EVERY_POLLS = 10;

export type AsyncTiming = { [K in 'leaseMs' | 'callbackAttempts' | 'callbackMinWaitMs' | 'callbackTimeoutMs' | 'pollMs']: number };

export interface AsyncQueueDeps {
  log: EventLog;
  clock: Clock;
  /** The gateway's own URL: calls go through it, so scale-from-zero and concurrency limits apply. */
  gatewayUrl: () => string;
  /** A function's effective settings (defaults plus its annotations). */
  settings: (namespace: string, name: string) => AsyncSettings;
  logLine?: (line: string) => void;
  random?: () => number;
  timing?: Partial<AsyncTiming>;
  metrics?: AsyncMetrics;
  /**
   * Names this instance's own consumers (letters, digits, '-'); stable
   * across restarts of one instance (zeno up keeps it in the data dir).
   */
  instanceId?: string;
  /** OpenTelemetry spans, one CONSUMER span per attempt (gateway/otel.ts); absent unless configured. */
  tracer?: Tracer;
}

export type CancelOutcome = 'cancelled' | 'not-found' | 'running';

interface CallState {
  stream: string;
  /** 0 until the append that records the call has resolved. */
  seq: number;
  running: boolean;
  /** Set once a cancellation is recorded; the worker drops the call when it next gets it. */
  cancelSeq?: number;
}

export interface AsyncQueue {
  /** Loads the registry and cancellations, then starts a worker per known stream. */
  start(): Promise<void>;
  /** Records a call durably; resolves once it is in the log. */
  enqueue(call: Omit<AsyncCall, 'id' | 'acceptedAt'> & { id?: string }): Promise<AsyncCall>;
  /** Cancels a call that has not started (or waits for a retry). */
  cancel(callId: string, fn?: { name: string; namespace: string }): Promise<CancelOutcome>;
  /** Calls queued or running, for tests and metrics. */
  size(): number;
  /** Stops fetching; waits up to graceMs for running attempts, then leaves the rest leased (they run again after restart). */
  close(graceMs?: number): Promise<void>;
}

export function newCallId(): string {
  return randomUUID();
}

export function createAsyncQueue(deps: AsyncQueueDeps): AsyncQueue {
  const { log, clock } = deps;
  const random = deps.random ?? Math.random;
  const say = deps.logLine ?? (() => undefined);
  const metrics = deps.metrics;
  const t: AsyncTiming = { ...ASYNC_DEFAULTS, ...deps.timing };
  const agent: Dispatcher = new Agent({ keepAliveTimeout: 10_000, headersTimeout: 0, bodyTimeout: 0 });

  const instanceId = deps.instanceId ?? 'local';
  const registryFollower = `${REGISTRY_STREAM}@${instanceId}`;
  const cancelFollower = `${CANCEL_STREAM}@${instanceId}`;
  /** The lease of a function's calls: the test timing's, else the function's setting. */
  const leaseOf = (s: AsyncSettings): number => deps.timing?.leaseMs ?? s.leaseMs;

  const calls = new Map<string, CallState>();
  /** Cancellations of calls not known to be settled, by call id. */
  const cancels = new Map<string, { record: CancelRecord; seq: number }>();
  const workers = new Map<string, StreamWorker>();
  const known = new Set<string>();
  let closed = false;
  /** close() began: nothing new starts; running calls may finish. */
  let stopping = false;
  let started = false;
  /** Settles when start() has loaded the registry and cancellations. */
  let ready: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();
  const aborts = new Set<AbortController>();

  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  /** Makes sure the stream's consumer exists (before any append) and that the registry names it. */
  const ensureStream = (namespace: string, name: string): Promise<StreamWorker> => {
    const stream = streamKey(namespace, name);
    const w = workers.get(stream);
    if (w) return Promise.resolve(w);
    // Concurrent first calls of a function share one setup (one consumer update, one registry record).
    let p = settingUp.get(stream);
    if (!p) {
      p = setUpStream(stream, namespace, name).finally(() => settingUp.delete(stream));
      settingUp.set(stream, p);
    }
    return p;
  };
  const settingUp = new Map<string, Promise<StreamWorker>>();
  const setUpStream = async (stream: string, namespace: string, name: string): Promise<StreamWorker> => {
    let w: StreamWorker | undefined;
    const settings = deps.settings(namespace, name);
    await log.addConsumer(stream, stream, { maxInFlight: settings.maxInFlight, leaseMs: leaseOf(settings) });
    if (!known.has(stream)) {
      await log.append(REGISTRY_STREAM, { attributes: { specversion: '1.0', id: randomUUID(), source: '/async-function/', type: 'dev.zeno.async.stream', stream, fnname: name, fnnamespace: namespace } });
      known.add(stream);
    }
    w = workers.get(stream);
    if (!w) {
      w = new StreamWorker(stream, namespace, name, settings.maxInFlight, leaseOf(settings));
      workers.set(stream, w);
      if (started) w.startTimers();
    }
    return w;
  };

  /** The call was dropped: its cancellation record is acked by the next tidy-up (tidyCancels). */
  const ackCancel = async (callId: string): Promise<void> => {
    cancels.delete(callId);
  };

  class StreamWorker {
    private fetching = false;
    private again = false;
    /** Attempts (and their callbacks) running now. */
    private running = 0;
    private poll: TimerHandle | undefined;
    private retryTimers = new Map<number, TimerHandle>();
    private unsubscribe: (() => void) | undefined;
    /** Calls this worker nacked, until when it may see them again (a later attempt of one of these is no redelivery). */
    private nacked = new Map<number, number>();
    /** Seqs of the calls running here (a lease that ran out under one must not start it twice). */
    private runningSeqs = new Set<number>();
    private polls = 0;

    constructor(
      readonly stream: string,
      readonly namespace: string,
      readonly name: string,
      private maxInFlight: number,
      private leaseMs: number,
    ) {}

    startTimers(): void {
      this.unsubscribe = log.onAppend(this.stream, () => this.wake());
      this.poll = clock.setInterval(() => {
        this.wake();
        // Now and then: forget calls settled elsewhere (another instance ran them).
        if (++this.polls % TIDY_EVERY_POLLS === 0) void this.forgetSettled();
      }, t.pollMs);
      this.wake();
    }

    stop(): void {
      this.unsubscribe?.();
      clock.clearInterval(this.poll);
      for (const h of this.retryTimers.values()) clock.clearTimeout(h);
      this.retryTimers.clear();
    }

    /** Fetches whatever is due, at most one fetch at a time. */
    wake(): void {
      if (stopping) return;
      if (this.fetching) {
        this.again = true;
        return;
      }
      this.fetching = true;
      void this.fetchLoop().finally(() => {
        this.fetching = false;
        // A wake-up that came after the loop's last fetch is not lost.
        if (this.again) this.wake();
      });
    }

    /** Drops what this instance remembers of calls at or below the consumer's ack floor. */
    async forgetSettled(): Promise<void> {
      try {
        const floor = (await log.info(this.stream))?.ackFloor ?? 0;
        for (const [id, st] of calls) if (st.stream === this.stream && st.seq > 0 && st.seq <= floor && !st.running) calls.delete(id);
        for (const [id, c] of cancels) if (c.record.stream === this.stream && c.record.seq <= floor) cancels.delete(id);
      } catch (err) {
        if (!closed) say(`async: reading ${this.stream} failed: ${(err as Error).message}`);
      }
    }

    wakeAt(seq: number, atMs: number): void {
      clock.clearTimeout(this.retryTimers.get(seq));
      this.retryTimers.set(seq, clock.setTimeout(() => {
        this.retryTimers.delete(seq);
        // Timers run on a monotonic clock and can fire a little before the
        // wall-clock time the log compares with: then the call is not due yet.
        if (clock.now() < atMs) this.wakeAt(seq, atMs);
        else this.wake();
      }, Math.max(0, atMs - clock.now())));
    }

    private async fetchLoop(): Promise<void> {
      try {
        do {
          this.again = false;
          const settings = deps.settings(this.namespace, this.name);
          if (settings.maxInFlight !== this.maxInFlight || leaseOf(settings) !== this.leaseMs) {
            this.maxInFlight = settings.maxInFlight;
            this.leaseMs = leaseOf(settings);
            await log.addConsumer(this.stream, this.stream, { maxInFlight: settings.maxInFlight, leaseMs: this.leaseMs });
          }
          if (stopping) return;
          const batch = await log.fetch(this.stream, settings.maxInFlight);
          // Fetched while stopping: left leased, handed out again after restart.
          if (stopping) return;
          for (const le of batch) {
            // Our own attempt is still running (its lease ran out under it): it settles the call.
            if (this.runningSeqs.has(le.seq)) continue;
            if (!this.nacked.delete(le.seq) && le.attempt > 1) {
              // Not a retry we scheduled: an earlier holder's lease ran out (a
              // crashed or stalled instance), which may have run it already.
              metrics?.outcome({ namespace: this.namespace, service: this.name, outcome: 'redelivered' });
              say(`async: call #${le.seq} of ${this.stream} handed out again (attempt ${le.attempt}) after another holder's lease ran out`);
            }
            this.running++;
            this.runningSeqs.add(le.seq);
            track(this.run(le).finally(() => {
              this.running--;
              this.runningSeqs.delete(le.seq);
            }));
          }
          if (batch.length > 0) this.again = true;
        } while (this.again && !closed);
        if (metrics) {
          const info = await log.info(this.stream);
          if (info) metrics.queueDepth({ namespace: this.namespace, service: this.name, depth: Math.max(0, info.backlog + info.outstanding - this.running) });
        }
      } catch (err) {
        this.again = false; // the poll tries again; no hot loop on a failing log
        if (!closed) say(`async: fetching ${this.stream} failed: ${(err as Error).message}`);
      }
    }

    private async run(le: LeasedEvent): Promise<void> {
      let call: AsyncCall;
      try {
        call = eventToCall(le.event);
      } catch (err) {
        say(`async: dropping unreadable call #${le.seq} of ${this.stream}: ${(err as Error).message}`);
        await log.ack(this.stream, le.seq);
        return;
      }
      let st = calls.get(call.id);
      if (!st) calls.set(call.id, (st = { stream: this.stream, seq: le.seq, running: false }));
      st.seq = le.seq;
      if (st.cancelSeq !== undefined || cancels.has(call.id)) {
        await log.ack(this.stream, le.seq);
        calls.delete(call.id);
        await ackCancel(call.id);
        say(`async: call ${call.id} to ${call.label} cancelled`);
        this.wake(); // a slot is free
        return;
      }
      st.running = true;
      const settings = deps.settings(this.namespace, this.name);
      const result = await invoke(call);
      if (closed) return; // left leased: it runs again after restart
      const decision = decideRetry(settings, le.attempt, result.status, header(result.headers, 'retry-after'), clock.now(), random);
      const labels = { namespace: this.namespace, service: this.name };
      if (decision.retry) {
        metrics?.outcome({ ...labels, outcome: 'retried' });
        st.running = false;
        const at = clock.now() + decision.delayMs;
        const now = clock.now();
        for (const [seq, until] of this.nacked) if (until < now) this.nacked.delete(seq);
        this.nacked.set(le.seq, at + this.leaseMs);
        await log.nack(this.stream, le.seq, at);
        if (!stopping) this.wakeAt(le.seq, at);
        say(`async: call ${call.id} to ${call.label}: attempt ${le.attempt} got ${result.status}; retrying in ${decision.delayMs} ms`);
        return;
      }
      const ok = result.status >= 200 && result.status < 300;
      metrics?.outcome({ ...labels, outcome: ok ? 'succeeded' : 'failed', latencyMs: Math.max(0, clock.now() - call.acceptedAt) });
      if (!ok && le.attempt > 1) say(`async: call ${call.id} to ${call.label}: giving up after ${le.attempt} attempts (last status ${result.status})`);
      if (call.callbackUrl !== undefined) await deliverCallback(call, result);
      if (closed) return;
      await log.ack(this.stream, le.seq);
      calls.delete(call.id);
      this.wake(); // a slot is free
    }
  }

  /** One attempt: the recorded request, again, through the gateway. */
  const invoke = async (call: AsyncCall): Promise<CallResult> => {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of call.headers) {
      const prev = headers[k];
      headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    headers['x-call-id'] = call.id;
    // With OpenTelemetry export: this attempt is a span under the caller's traceparent, and the gateway's span under it.
    const span = deps.tracer?.start(`async ${call.label}`, SPAN_KIND.consumer, typeof headers.traceparent === 'string' ? headers.traceparent : undefined, { 'zeno.call_id': call.id });
    if (span) headers.traceparent = span.traceparent();
    const result = await invokeOnce(call, headers);
    if (span) {
      span.set('http.response.status_code', result.status);
      span.end(result.status >= 200 && result.status < 300 ? undefined : `HTTP ${result.status}`);
    }
    return result;
  };

  const invokeOnce = async (call: AsyncCall, headers: Record<string, string | string[]>): Promise<CallResult> => {
    const url = `${deps.gatewayUrl()}/function/${call.name}.${call.namespace}${call.path}${call.query}`;
    const ac = new AbortController();
    aborts.add(ac);
    const started = clock.now();
    try {
      const res = await request(url, {
        method: call.method as Dispatcher.HttpMethod,
        headers,
        body: call.body.length > 0 ? Buffer.from(call.body.buffer, call.body.byteOffset, call.body.byteLength) : null,
        dispatcher: agent,
        signal: ac.signal,
      });
      const body = new Uint8Array(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers as Record<string, string | string[]>, body, durationMs: clock.now() - started };
    } catch (err) {
      if (!closed) say(`async: call ${call.id} to ${call.label} could not reach the gateway: ${(err as Error).message}`);
      return { status: UNREACHABLE_STATUS, headers: {}, body: new Uint8Array(0), durationMs: clock.now() - started };
    } finally {
      aborts.delete(ac);
    }
  };

  /** POSTs the result to X-Callback-Url; retries a few times, then gives up and logs (the call is settled either way). */
  const deliverCallback = async (call: AsyncCall, result: CallResult): Promise<void> => {
    const url = call.callbackUrl!;
    const headers = callbackHeaders(call, result);
    for (let attempt = 1; ; attempt++) {
      let status: number | undefined;
      let why = '';
      const ac = new AbortController();
      aborts.add(ac);
      const timer = clock.setTimeout(() => ac.abort(new Error(`no answer within ${t.callbackTimeoutMs} ms`)), t.callbackTimeoutMs);
      try {
        const res = await request(url, { method: 'POST', headers, body: Buffer.from(result.body), dispatcher: agent, signal: ac.signal });
        status = res.statusCode;
        await res.body.dump();
      } catch (err) {
        why = (err as Error).message;
      } finally {
        clock.clearTimeout(timer);
        aborts.delete(ac);
      }
      if (closed) return;
      if (status !== undefined && status >= 200 && status < 300) return;
      const next = decideCallbackRetry(t.callbackAttempts, t.callbackMinWaitMs, attempt, status);
      const what = status === undefined ? why : `status ${status}`;
      if (!next.retry) {
        metrics?.outcome({ namespace: call.namespace, service: call.name, outcome: 'callback_failed' });
        say(`async: call ${call.id} to ${call.label}: callback to ${url} failed (${what}) after ${attempt} attempt(s); giving up`);
        return;
      }
      await clock.sleep(next.delayMs);
      if (closed) return;
    }
  };

  /** Every record of a stream, read once from the start by a throwaway consumer of this instance. */
  const readAll = (stream: string, each: (le: LeasedEvent) => void | Promise<void>): Promise<void> => {
    // One reader per stream at a time: they share the consumer name (so a
    // crashed reader's consumer is replaced by the next, never left behind).
    const prev = reading.get(stream) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => readAllNow(stream, each));
    reading.set(stream, next);
    void next.catch(() => undefined).finally(() => {
      if (reading.get(stream) === next) reading.delete(stream);
    });
    return next;
  };
  const reading = new Map<string, Promise<void>>();
  const readAllNow = async (stream: string, each: (le: LeasedEvent) => void | Promise<void>): Promise<void> => {
    const name = `${SCAN_PREFIX}${stream}@${instanceId}`;
    await log.removeConsumer(name);
    await log.addConsumer(stream, name, { maxInFlight: MANY, leaseMs: FOLLOW_LEASE_MS, fromStart: true });
    try {
      for (;;) {
        const batch = await log.fetch(name, 500);
        if (batch.length === 0) return;
        for (const le of batch) await each(le);
      }
    } finally {
      await log.removeConsumer(name);
    }
  };

  /**
   * After a restart: learns the ids of the calls still in a stream, so that
   * DELETE knows them before the worker gets to them. Calls at or below the
   * stream consumer's ack floor are settled and skipped.
   */
  const scan = async (stream: string): Promise<void> => {
    const floor = (await log.info(stream))?.ackFloor ?? 0;
    await readAll(stream, (le) => {
      const id = le.event.attributes.id;
      if (le.seq > floor && typeof id === 'string' && !calls.has(id)) calls.set(id, { stream, seq: le.seq, running: false });
    });
  };

  /**
   * Finds a call this instance has not seen (another instance on the same
   * NATS accepted it) by reading its function's queue, or every known
   * queue: found above the consumer's ack floor, it is taken as queued.
   * (A call another instance already settled out of order, or is running,
   * looks queued too: docs/async.md.)
   */
  const lookUp = async (callId: string, fn: { name: string; namespace: string } | undefined): Promise<CallState | undefined> => {
    const streams = fn ? [streamKey(fn.namespace, fn.name)].filter((x) => known.has(x)) : [...known];
    for (const stream of streams) {
      const floor = (await log.info(stream))?.ackFloor ?? 0;
      let found: number | undefined;
      await readAll(stream, (le) => {
        if (le.seq > floor && le.event.attributes.id === callId) found = le.seq;
      });
      if (found !== undefined) {
        const st: CallState = calls.get(callId) ?? { stream, seq: found, running: false };
        calls.set(callId, st);
        return st;
      }
    }
    return undefined;
  };

  /** A registry record: makes sure this instance works the stream it names. */
  const learnStream = async (le: LeasedEvent, scanIt: boolean): Promise<void> => {
    const { stream, fnname, fnnamespace } = le.event.attributes;
    if (typeof stream !== 'string' || typeof fnname !== 'string' || typeof fnnamespace !== 'string' || known.has(stream)) return;
    known.add(stream);
    await ensureStream(fnnamespace, fnname);
    if (scanIt) await scan(stream);
  };

  /** A cancellation record: the worker that gets the call drops it. Settled calls are skipped. */
  const learnCancel = async (le: LeasedEvent): Promise<void> => {
    const rec = eventToCancel(le.event);
    if (!rec || cancels.has(rec.callId)) return;
    const floor = (await log.info(rec.stream))?.ackFloor ?? 0;
    if (rec.seq <= floor) return;
    cancels.set(rec.callId, { record: rec, seq: le.seq });
    const st = calls.get(rec.callId);
    if (st) st.cancelSeq = le.seq;
  };

  /** Reads what is new on one of this instance's follower consumers, one reader at a time. */
  const follower = (stream: string, consumer: string, learn: (le: LeasedEvent) => Promise<void>): (() => void) => {
    let busy = false;
    let again = false;
    const step = async (): Promise<void> => {
      do {
        again = false;
        for (;;) {
          const batch = await log.fetch(consumer, 500);
          if (batch.length === 0) break;
          for (const le of batch) {
            await learn(le);
            await log.ack(consumer, le.seq);
          }
        }
      } while (again && !stopping);
    };
    return () => {
      if (stopping) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      void step()
        .catch((err: unknown) => {
          if (!closed) say(`async: reading ${stream} failed: ${(err as Error).message}`);
        })
        .finally(() => (busy = false));
    };
  };
  const followRegistry = follower(REGISTRY_STREAM, registryFollower, (le) => learnStream(le, false));
  const followCancels = follower(CANCEL_STREAM, cancelFollower, learnCancel);
  const unfollow: (() => void)[] = [];
  let followPoll: TimerHandle | undefined;
  let tidyPolls = 0;

  /**
   * Acks the cancellations whose call is settled, so that compaction can
   * drop them; the rest come back after TIDY_MS. The `async-cancel`
   * consumer is shared: each record is looked at by one instance at a time.
   */
  const tidyCancels = async (): Promise<void> => {
    const floors = new Map<string, number>();
    for (;;) {
      const batch = await log.fetch(CANCEL_STREAM, 500);
      if (batch.length === 0) return;
      for (const le of batch) {
        const rec = eventToCancel(le.event);
        let floor = rec ? floors.get(rec.stream) : 0;
        if (rec && floor === undefined) floors.set(rec.stream, (floor = (await log.info(rec.stream))?.ackFloor ?? 0));
        if (!rec || rec.seq <= floor!) await log.ack(CANCEL_STREAM, le.seq);
        else await log.nack(CANCEL_STREAM, le.seq, clock.now() + TIDY_MS);
      }
    }
  };

  const load = async (): Promise<void> => {
    // The shared consumers that keep the records (never read / tidied).
    await log.addConsumer(REGISTRY_STREAM, REGISTRY_STREAM, { maxInFlight: MANY, leaseMs: TIDY_MS, fromStart: true });
    await log.addConsumer(CANCEL_STREAM, CANCEL_STREAM, { maxInFlight: MANY, leaseMs: TIDY_MS, fromStart: true });
    // This instance's followers start at the end; what came before is read once below.
    for (const [stream, name] of [[REGISTRY_STREAM, registryFollower], [CANCEL_STREAM, cancelFollower]] as const) {
      await log.removeConsumer(name);
      await log.addConsumer(stream, name, { maxInFlight: MANY, leaseMs: FOLLOW_LEASE_MS });
    }
    await readAll(REGISTRY_STREAM, (le) => learnStream(le, true));
    await readAll(CANCEL_STREAM, learnCancel);
    started = true;
    for (const w of workers.values()) w.startTimers();
    unfollow.push(log.onAppend(REGISTRY_STREAM, followRegistry), log.onAppend(CANCEL_STREAM, followCancels));
    followPoll = clock.setInterval(() => {
      followRegistry();
      followCancels();
      if (++tidyPolls % (TIDY_EVERY_POLLS * 10) === 0) {
        void tidyCancels().catch((err: unknown) => {
          if (!closed) say(`async: tidying ${CANCEL_STREAM} failed: ${(err as Error).message}`);
        });
      }
    }, t.pollMs);
    followRegistry();
    followCancels();
  };

  return {
    start() {
      ready ??= load();
      return ready;
    },

    async enqueue(input) {
      await ready;
      const w = await ensureStream(input.namespace, input.name);
      const call: AsyncCall = { ...input, id: input.id ?? newCallId(), acceptedAt: clock.now() };
      const st: CallState = { stream: w.stream, seq: 0, running: false };
      calls.set(call.id, st);
      try {
        const seq = await log.append(w.stream, callToEvent(call));
        if (st.seq === 0) st.seq = seq;
        metrics?.outcome({ namespace: call.namespace, service: call.name, outcome: 'accepted' });
      } catch (err) {
        calls.delete(call.id);
        throw err;
      }
      return call;
    },

    async cancel(callId, fn) {
      await ready;
      let st = calls.get(callId);
      // Accepted by another instance on the same NATS: look for it in the queue(s).
      if (!st && !cancels.has(callId)) st = await lookUp(callId, fn);
      if (!st || st.seq === 0) return 'not-found';
      if (cancels.has(callId)) return 'not-found';
      if (fn && streamKey(fn.namespace, fn.name) !== st.stream) return 'not-found';
      if (st.running) return 'running';
      if (st.cancelSeq !== undefined) return 'not-found';
      const record: CancelRecord = { callId, stream: st.stream, seq: st.seq };
      const seq = await log.append(CANCEL_STREAM, cancelToEvent(record));
      cancels.set(callId, { record, seq });
      st.cancelSeq = seq;
      // A call waiting for its retry is dropped now rather than at its retry time.
      const w = workers.get(st.stream);
      if (w) {
        await log.nack(st.stream, st.seq, clock.now());
        w.wake();
      }
      return 'cancelled';
    },

    size() {
      return calls.size;
    },

    async close(graceMs = 10_000) {
      stopping = true;
      for (const w of workers.values()) w.stop();
      for (const u of unfollow) u();
      clock.clearInterval(followPoll);
      if (inFlight.size > 0) {
        let timer: TimerHandle | undefined;
        await Promise.race([
          Promise.allSettled([...inFlight]),
          new Promise<void>((r) => (timer = clock.setTimeout(r, graceMs))),
        ]);
        clock.clearTimeout(timer);
      }
      closed = true;
      for (const ac of aborts) ac.abort(new Error('the platform is shutting down'));
      await Promise.allSettled([...inFlight]);
      await agent.close().catch(() => undefined);
    },
  };
}

function header(h: Record<string, string | string[]>, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}
