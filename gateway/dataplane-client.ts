/**
 * A data-plane replica's two links to the control plane (core/dataplane.ts):
 * the feed it routes by (followed for as long as the replica runs,
 * reconnecting with backoff and resyncing from a fresh snapshot) and the
 * stats it reports for the autoscaler, every period and at once when
 * requests wait for a revision with no ready pod.
 */
import { request, type Dispatcher } from 'undici';
import type { Clock, TimerHandle } from '../core/clock.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { FEED_PATH, STATS_PATH, type FeedMessage, type StatsMessage } from '../core/dataplane.js';
import type { RevisionId } from '../core/types.js';
import type { RequestStats } from '../autoscaler/request-stats.js';

/**
 * Wait before reconnect attempt `attempt` (0 = the first after a loss):
 * base × 2^attempt capped at max, the upper half of it jittered by `r` in
 * [0, 1) so that replicas cut off together do not come back in step.
 */
export function reconnectDelayMs(attempt: number, baseMs: number, maxMs: number, r: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * r);
}

/** Splits NDJSON text into complete lines and the unfinished rest. */
export function splitLines(buffered: string): { lines: string[]; rest: string } {
  const parts = buffered.split('\n');
  const rest = parts.pop() ?? '';
  return { lines: parts.filter((l) => l.trim() !== ''), rest };
}

/** The admin token now. */
export type TokenSource = () => string;

export interface FeedClientDeps {
  /** The control plane's admin URL. */
  controlUrl: string;
  /** The admin token, asked for at each connect (it may change: a control plane restarted with a new one). */
  token: TokenSource;
  clock: Clock;
  onMessage: (m: FeedMessage) => void;
  log: (line: string) => void;
  dispatcher?: Dispatcher;
  random?: () => number;
  /** @default PLATFORM_DEFAULTS.dataPlaneFeedSilenceMs */
  silenceMs?: number;
  baseMs?: number;
  maxMs?: number;
}

export interface FeedClient {
  /** Whether the feed is connected now (a snapshot was applied on this connection). */
  connected(): boolean;
  close(): Promise<void>;
}

export function startFeedClient(d: FeedClientDeps): FeedClient {
  const { clock } = d;
  const silenceMs = d.silenceMs ?? PLATFORM_DEFAULTS.dataPlaneFeedSilenceMs;
  const baseMs = d.baseMs ?? PLATFORM_DEFAULTS.dataPlaneReconnectBaseMs;
  const maxMs = d.maxMs ?? PLATFORM_DEFAULTS.dataPlaneReconnectMaxMs;
  const random = d.random ?? Math.random;
  const stop = new AbortController();
  let current: AbortController | undefined;
  let isConnected = false;
  /** This connection got as far as a snapshot. */
  let synced = false;
  /** Logged once per distinct problem, not at every retry. */
  let lastProblem: string | undefined;

  const connectOnce = async (): Promise<void> => {
    const ac = new AbortController();
    current = ac;
    const res = await request(`${d.controlUrl}${FEED_PATH}`, {
      headers: { authorization: `Bearer ${d.token()}`, accept: 'application/x-ndjson' },
      signal: ac.signal,
      headersTimeout: silenceMs,
      bodyTimeout: 0,
      ...(d.dispatcher ? { dispatcher: d.dispatcher } : {}),
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      let why = text.slice(0, 200);
      try {
        const j = JSON.parse(text) as { code?: string; message?: string };
        if (j.code) why = `${j.code}: ${j.message ?? ''}`;
      } catch {
        // not JSON
      }
      throw new Error(`the feed answered ${res.statusCode} (${why})`);
    }
    // A connection that went quiet (a peer gone without a FIN) is given up after silenceMs; heartbeats keep a live one busy.
    let lastData = clock.now();
    const watchdog: TimerHandle = clock.setInterval(() => {
      if (clock.now() - lastData > silenceMs) ac.abort(new Error(`nothing on the feed for ${silenceMs} ms`));
    }, Math.max(1, Math.floor(silenceMs / 3)));
    let rest = '';
    try {
      res.body.setEncoding('utf8');
      for await (const chunk of res.body as AsyncIterable<string>) {
        lastData = clock.now();
        const split = splitLines(rest + chunk);
        rest = split.rest;
        for (const line of split.lines) {
          const m = JSON.parse(line) as FeedMessage;
          if (m.type === 'snapshot') {
            if (lastProblem !== undefined) d.log('dataplane: feed connected again; resynced from a snapshot');
            lastProblem = undefined;
            isConnected = true;
            synced = true;
          }
          d.onMessage(m);
        }
      }
    } finally {
      clock.clearInterval(watchdog);
      isConnected = false;
    }
    throw new Error('the control plane closed the feed');
  };

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!stop.signal.aborted) {
      synced = false;
      try {
        await connectOnce();
      } catch (e) {
        if (stop.signal.aborted) return;
        const why = (e as Error).message;
        if (why !== lastProblem) d.log(`dataplane: feed from ${d.controlUrl}: ${why}; reconnecting`);
        lastProblem = why;
      }
      // A connection that got as far as a snapshot starts the backoff over.
      if (synced) attempt = 0;
      const wait = reconnectDelayMs(attempt++, baseMs, maxMs, random());
      try {
        await clock.sleep(wait, stop.signal);
      } catch {
        return;
      }
    }
  };
  const running = run();

  return {
    connected: () => isConnected,
    async close() {
      stop.abort(new Error('closing'));
      current?.abort(new Error('closing'));
      await running.catch(() => undefined);
    },
  };
}

export interface StatsReporterDeps {
  controlUrl: string;
  token: TokenSource;
  clock: Clock;
  /** This replica's name in its reports. */
  replica: string;
  /** Every revision's RequestStats on this replica. */
  revisions: () => Iterable<[RevisionId, RequestStats]>;
  /** What else goes with each periodic report: the feed position and the pods with requests in flight (for the drain). */
  extra?: () => Pick<StatsMessage, 'feedSeq' | 'pods'>;
  log: (line: string) => void;
  dispatcher?: Dispatcher;
  /** @default PLATFORM_DEFAULTS.statsPeriodMs */
  periodMs?: number;
}

export interface StatsReporter {
  /** Requests wait here for a revision with no ready pod: tell the autoscaler now. */
  poke(rev: RevisionId, inFlight: number): void;
  close(): Promise<void>;
}

/**
 * Reports every period (an empty report too: it is the replica's sign of
 * life, and a replica that stops is dropped by the autoscaler). While a
 * report is still on its way the next period is not closed, so a slow
 * control plane sees a longer period, never a lost one.
 */
export function startStatsReporter(d: StatsReporterDeps): StatsReporter {
  const { clock } = d;
  const periodMs = d.periodMs ?? PLATFORM_DEFAULTS.statsPeriodMs;
  let sending: Promise<void> | undefined;
  const poking = new Set<RevisionId>();
  let failing: string | undefined;
  let closed = false;

  const post = async (body: StatsMessage): Promise<void> => {
    try {
      const res = await request(`${d.controlUrl}${STATS_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${d.token()}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        headersTimeout: PLATFORM_DEFAULTS.dataPlaneStatsTimeoutMs,
        bodyTimeout: PLATFORM_DEFAULTS.dataPlaneStatsTimeoutMs,
        ...(d.dispatcher ? { dispatcher: d.dispatcher } : {}),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`answered ${res.statusCode}: ${text.slice(0, 200)}`);
      if (failing !== undefined) d.log('dataplane: stats reach the control plane again');
      failing = undefined;
    } catch (e) {
      const why = (e as Error).message;
      if (!closed && why !== failing) d.log(`dataplane: cannot report stats to ${d.controlUrl}: ${why}`);
      failing = why;
    }
  };

  const report = (): void => {
    if (sending || closed) return;
    const now = clock.now();
    const stats: NonNullable<StatsMessage['stats']> = [];
    for (const [revision, s] of d.revisions()) {
      const inFlight = s.inFlight();
      const r = s.report(now);
      if (r.averageConcurrency > 0 || r.requestCount > 0 || inFlight > 0) stats.push({ revision, averageConcurrency: r.averageConcurrency, requestCount: r.requestCount, inFlight });
    }
    sending = post({ replica: d.replica, stats, ...d.extra?.() }).finally(() => (sending = undefined));
  };
  const timer = clock.setInterval(report, periodMs);

  return {
    poke(rev, inFlight) {
      // One poke per revision on its way at a time: the autoscaler acts on the first.
      if (closed || poking.has(rev)) return;
      poking.add(rev);
      void post({ replica: d.replica, poke: { revision: rev, inFlight } }).finally(() => poking.delete(rev));
    },
    async close() {
      closed = true;
      clock.clearInterval(timer);
      await sending;
    },
  };
}
