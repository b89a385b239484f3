/**
 * PingSource's data plane: Knative's mtping adapter (pkg/adapter/mtping
 * runner.go) in-process. On every tick of a source's schedule it sends one
 * CloudEvent to the source's sink:
 * - `type` dev.knative.sources.ping; `source`
 *   /apis/v1/namespaces/NS/pingsources/NAME (ping_lifecycle.go); a new UUID
 *   `id` per tick; `time` when it is sent (sdk-go's client stamps
 *   WithTimeNow); `ceOverrides.extensions` as extensions;
 * - data (makeEvent): `dataBase64` decoded to bytes; `data` as a JSON value
 *   when `contentType` is application/json, else its text; `datacontenttype`
 *   is `contentType` when there is data;
 * - binary content mode (sdk-go's HTTP default), POSTed to the sink;
 * - a random 0–500 ms delay before sending, "so not all pings fire
 *   instantaneously";
 * - up to 5 retries with exponential backoff from 50 ms
 *   (ContextWithRetriesExponentialBackoff(50ms, 5)): sdk-go waits
 *   period × 2^try before try 1..5, i.e. 100, 200, 400, 800, 1600 ms, and
 *   retries on no response or 404, 413, 425, 429, 502, 503, 504 (sdk-go's
 *   HTTP retry table, read from the code). Then the event is logged and
 *   dropped, as Knative does ("Exhausted number of retries. Event is lost").
 *
 * Missed ticks (the platform was stopped or the process slept) are not
 * replayed: like robfig/cron, the next tick is computed from now.
 */
import { randomUUID } from 'node:crypto';
import { CloudEvent } from 'cloudevents';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { eventToHttp, type HttpMessage } from '../cloudevents/http.js';
import { nextFire, type CronSchedule } from './cron.js';

export const PING_EVENT_TYPE = 'dev.knative.sources.ping';
/** The adapter's retry budget (runner.go: "Simple retry configuration to be less than 1mn"). */
export const PING_RETRIES = 5;
export const PING_RETRY_PERIOD_MS = 50;
/** Upper bound of the random delay before each send (runner.go: rand.Intn(500) ms). */
export const PING_JITTER_MS = 500;
/** setTimeout's largest delay; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** PingSource's CloudEvent `source` attribute (PingSourceSource in ping_lifecycle.go). */
export function pingSourceAttribute(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/pingsources/${name}`;
}

export interface PingSpec {
  contentType?: string;
  data?: string;
  dataBase64?: string;
  ceOverrides?: { extensions?: Record<string, string> };
}

/** The event of one tick (makeEvent + cronTick). Pure: id and time are passed in. */
export function pingEvent(namespace: string, name: string, spec: PingSpec, id: string, timeIso: string): CloudEvent<unknown> {
  const attrs: Record<string, unknown> = {
    specversion: '1.0',
    id,
    type: PING_EVENT_TYPE,
    source: pingSourceAttribute(namespace, name),
    time: timeIso,
  };
  for (const [k, v] of Object.entries(spec.ceOverrides?.extensions ?? {})) attrs[k] = v;
  let data: unknown;
  if (spec.dataBase64) data = Buffer.from(spec.dataBase64, 'base64');
  else if (spec.data) data = spec.contentType === 'application/json' ? (JSON.parse(spec.data) as unknown) : spec.data;
  if (data !== undefined) {
    attrs.data = data;
    if (spec.contentType) attrs.datacontenttype = spec.contentType;
  }
  return new CloudEvent(attrs, false);
}

/** sdk-go's HTTP retry table: no response, or one of these statuses. */
const RETRYABLE_STATUS = new Set([404, 413, 425, 429, 502, 503, 504]);

export function pingRetryable(status: number | undefined): boolean {
  return status === undefined || RETRYABLE_STATUS.has(status);
}

/** Wait before retry `n` (1-based): 50 ms × 2^n. */
export function pingRetryDelayMs(n: number): number {
  return PING_RETRY_PERIOD_MS * 2 ** n;
}

/** Sends one HTTP message; resolves with the status, or undefined when there was no response. */
export type HttpSender = (url: string, msg: HttpMessage, signal: AbortSignal) => Promise<number | undefined>;

/** POST over fetch (undici); the response body is read and dropped. */
export const postMessage: HttpSender = async (url, msg, signal) => {
  try {
    const res = await fetch(url, { method: 'POST', headers: msg.headers, body: new Uint8Array(msg.body), signal });
    await res.arrayBuffer().catch(() => undefined);
    return res.status;
  } catch {
    return undefined;
  }
};

export interface PingJob {
  namespace: string;
  name: string;
  schedule: CronSchedule;
  spec: PingSpec;
  /** The sink URL now (resolved by the controller), or undefined when it does not resolve. */
  sink(): string | undefined;
}

export interface PingOutcome {
  key: string;
  id: string;
  url: string | undefined;
  status: number | undefined;
  attempts: number;
  delivered: boolean;
}

export interface PingSchedulerOptions {
  clock: Clock;
  send?: HttpSender;
  /** [0, 1); the jitter is random() × PING_JITTER_MS. @default Math.random */
  random?: () => number;
  log?: (line: string) => void;
  /** Called after each tick's delivery finished (delivered or dropped). */
  onOutcome?: (o: PingOutcome) => void;
}

interface Entry {
  job: PingJob;
  timer: TimerHandle | undefined;
  nextAt: number | undefined;
}

/** Runs every PingSource's schedule on the injected clock. */
export class PingScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly send: HttpSender;
  private readonly random: () => number;
  private closed = false;

  constructor(private readonly o: PingSchedulerOptions) {
    this.send = o.send ?? postMessage;
    this.random = o.random ?? Math.random;
  }

  /** Adds or replaces a source's job; the next tick is computed from now. */
  upsert(key: string, job: PingJob): void {
    if (this.closed) return;
    const prev = this.entries.get(key);
    if (prev) this.o.clock.clearTimeout(prev.timer);
    const entry: Entry = { job, timer: undefined, nextAt: undefined };
    this.entries.set(key, entry);
    this.arm(key, entry, this.o.clock.now());
  }

  remove(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.o.clock.clearTimeout(e.timer);
    this.entries.delete(key);
  }

  /** When the source fires next (ms since epoch), for status and tests. */
  nextFireAt(key: string): number | undefined {
    return this.entries.get(key)?.nextAt;
  }

  /** Stops every schedule and abandons sends in flight (their retries stop). */
  async close(): Promise<void> {
    this.closed = true;
    for (const key of [...this.entries.keys()]) this.remove(key);
    this.abort.abort(new Error('platform closing'));
    await Promise.allSettled([...this.inFlight]);
  }

  private arm(key: string, entry: Entry, from: number): void {
    const at = nextFire(entry.job.schedule, from);
    entry.nextAt = at;
    if (at === undefined) return;
    this.wait(key, entry, at);
  }

  private wait(key: string, entry: Entry, at: number): void {
    const delay = Math.max(0, at - this.o.clock.now());
    entry.timer = this.o.clock.setTimeout(() => {
      if (this.entries.get(key) !== entry) return;
      if (this.o.clock.now() < at) return this.wait(key, entry, at); // a long wait taken in steps
      this.arm(key, entry, Math.max(at, this.o.clock.now()));
      this.track(this.fire(key, entry.job));
    }, Math.min(delay, MAX_TIMER_MS));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async fire(key: string, job: PingJob): Promise<void> {
    const { clock } = this.o;
    const signal = this.abort.signal;
    const id = randomUUID();
    try {
      await clock.sleep(Math.floor(this.random() * PING_JITTER_MS), signal);
    } catch {
      return;
    }
    const url = job.sink();
    let status: number | undefined;
    let attempts = 0;
    if (url !== undefined) {
      const event = pingEvent(job.namespace, job.name, job.spec, id, new Date(clock.now()).toISOString());
      const msg = eventToHttp(event, 'binary');
      for (;;) {
        attempts++;
        status = await this.send(url, msg, signal);
        if (signal.aborted || (status !== undefined && status >= 200 && status < 300) || !pingRetryable(status) || attempts > PING_RETRIES) break;
        try {
          await clock.sleep(pingRetryDelayMs(attempts), signal);
        } catch {
          break;
        }
      }
    }
    const delivered = status !== undefined && status >= 200 && status < 300;
    if (!delivered && !signal.aborted) {
      this.o.log?.(`zeno: pingsource ${key}: event ${id} dropped: ${url === undefined ? 'the sink does not resolve' : `${url} answered ${status ?? 'nothing'} after ${attempts} attempt(s)`}`);
    }
    this.o.onOutcome?.({ key, id, url, status, attempts, delivered });
  }
}
