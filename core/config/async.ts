/**
 * Asynchronous calls (`POST /async-function/NAME`): defaults, and the
 * per-function annotations that override them.
 *
 * The retry annotations keep OpenFaaS Pro's names (`com.openfaas.retry.*`,
 * reference peers.md §1 "Async: queue-worker"), so a function annotated for
 * OpenFaaS behaves the same here. OpenFaaS has no per-function in-flight
 * setting (its queue-worker's `max_inflight` is global), so that one is
 * Zeno's: `zeno.dev/async-max-inflight`.
 */
import { formatDuration, parseDuration } from '../duration.js';
import type { FieldIssue } from '../errors.js';

export const ASYNC_DEFAULTS = Object.freeze({
  /**
   * Attempts per call, the first one included (OpenFaaS Pro's
   * `maxRetryAttempts` example value). 1 turns retries off.
   */
  attempts: 10,
  /** Statuses that are retried: OpenFaaS Pro's `httpRetryCodes` default. */
  retryCodes: Object.freeze([408, 429, 500, 502, 503, 504]) as readonly number[],
  /**
   * The first retry waits about this long; each later one doubles it
   * (OpenFaaS Pro: `initialRetryWait` 10s; Zeno starts faster on one machine).
   */
  minWaitMs: 1_000,
  /** No single wait is longer, Retry-After included (OpenFaaS Pro `maxRetryWait`). */
  maxWaitMs: 120_000,
  /**
   * Calls of one function in flight at once, waiting retries included
   * (the function's consumer's maxInFlight). OpenFaaS CE fixes it at 1.
   */
  maxInFlight: 10,
  /**
   * How long a fetched call stays leased to the worker. A call's attempt
   * and its callback must finish within it; a worker that dies leaves the
   * call to be handed out again after it (the SQLite log also releases
   * every lease when the platform restarts). Above the longest revision
   * timeout (600 s) plus the callback's attempts.
   */
  leaseMs: 15 * 60_000,
  /** Attempts to deliver the result to X-Callback-Url before giving up (logged). */
  callbackAttempts: 3,
  /** The wait before the second callback attempt; doubles after that. */
  callbackMinWaitMs: 500,
  /** Per-attempt timeout of a callback POST. */
  callbackTimeoutMs: 30_000,
  /**
   * The worker is woken by appends and by its own retry timers; it also
   * looks every this often, for calls whose retry time it did not schedule
   * (retries left by a previous run of the platform).
   */
  pollMs: 1_000,
});

export const ASYNC_ANNOTATIONS = Object.freeze({
  attempts: 'com.openfaas.retry.attempts',
  codes: 'com.openfaas.retry.codes',
  minWait: 'com.openfaas.retry.min_wait',
  maxWait: 'com.openfaas.retry.max_wait',
  maxInFlight: 'zeno.dev/async-max-inflight',
  lease: 'zeno.dev/async-lease',
});

/** The effective settings of one function's asynchronous calls. */
export interface AsyncSettings {
  attempts: number;
  retryCodes: ReadonlySet<number>;
  minWaitMs: number;
  maxWaitMs: number;
  maxInFlight: number;
  /**
   * How long a fetched call stays leased to a worker (`zeno.dev/async-lease`,
   * default ASYNC_DEFAULTS.leaseMs): when the worker's process dies, another
   * instance on the same NATS (or the restarted platform) runs the call
   * after this. It must cover one attempt and its callback: a call that is
   * still running when its lease runs out is run again elsewhere.
   */
  leaseMs: number;
}

export const DEFAULT_ASYNC_SETTINGS: Readonly<AsyncSettings> = Object.freeze({
  attempts: ASYNC_DEFAULTS.attempts,
  retryCodes: new Set(ASYNC_DEFAULTS.retryCodes),
  minWaitMs: ASYNC_DEFAULTS.minWaitMs,
  maxWaitMs: ASYNC_DEFAULTS.maxWaitMs,
  maxInFlight: ASYNC_DEFAULTS.maxInFlight,
  leaseMs: ASYNC_DEFAULTS.leaseMs,
});

const MAX_ATTEMPTS = 100;
const MAX_IN_FLIGHT = 1_000;
const MAX_WAIT_LIMIT_MS = 3_600_000;
/** A lease shorter than this would run out under an ordinary call. */
const MIN_LEASE_MS = 1_000;
const MAX_LEASE_MS = 24 * 3_600_000;

/**
 * Reads the async annotations: the settings (defaults where an annotation is
 * absent or invalid) and the problems, for apply-time validation. `path`
 * prefixes issue paths, e.g. `metadata.annotations`.
 */
export function resolveAsyncSettings(
  annotations: Record<string, string> | undefined,
  path = 'metadata.annotations',
  defaults: Readonly<AsyncSettings> = DEFAULT_ASYNC_SETTINGS,
): { settings: AsyncSettings; issues: FieldIssue[] } {
  const s: AsyncSettings = { ...defaults };
  const issues: FieldIssue[] = [];
  const a = annotations ?? {};
  const bad = (key: string, message: string) => issues.push({ path: `${path}["${key}"]`, message: `${message}, got ${JSON.stringify(a[key])}` });
  const int = (key: string, lo: number, hi: number): number | undefined => {
    const v = a[key];
    if (v === undefined) return undefined;
    const n = /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!(n >= lo && n <= hi)) {
      bad(key, `must be an integer in [${lo}, ${hi}]`);
      return undefined;
    }
    return n;
  };
  const dur = (key: string): number | undefined => {
    const v = a[key];
    if (v === undefined) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined || ms < 0 || ms > MAX_WAIT_LIMIT_MS) {
      bad(key, `must be a duration such as "500ms" or "10s", at most ${formatDuration(MAX_WAIT_LIMIT_MS)}`);
      return undefined;
    }
    return ms;
  };
  s.attempts = int(ASYNC_ANNOTATIONS.attempts, 1, MAX_ATTEMPTS) ?? s.attempts;
  s.maxInFlight = int(ASYNC_ANNOTATIONS.maxInFlight, 1, MAX_IN_FLIGHT) ?? s.maxInFlight;
  const codes = a[ASYNC_ANNOTATIONS.codes];
  if (codes !== undefined) {
    // OpenFaaS writes the list comma-separated ("429,503"); spaces are accepted too.
    const parts = codes.split(/[\s,]+/).filter((p) => p !== '');
    const nums = parts.map((p) => (/^\d{3}$/.test(p) ? Number(p) : NaN));
    if (nums.some((n) => !(n >= 100 && n <= 599))) bad(ASYNC_ANNOTATIONS.codes, 'must be HTTP status codes (100-599) separated by commas');
    else s.retryCodes = new Set(nums);
  }
  const lease = a[ASYNC_ANNOTATIONS.lease];
  if (lease !== undefined) {
    const ms = parseDuration(lease);
    if (ms === undefined || ms < MIN_LEASE_MS || ms > MAX_LEASE_MS) {
      bad(ASYNC_ANNOTATIONS.lease, `must be a duration from ${formatDuration(MIN_LEASE_MS)} to ${formatDuration(MAX_LEASE_MS)}, such as "30s" or "15m"`);
    } else s.leaseMs = ms;
  }
  s.minWaitMs = dur(ASYNC_ANNOTATIONS.minWait) ?? s.minWaitMs;
  s.maxWaitMs = dur(ASYNC_ANNOTATIONS.maxWait) ?? s.maxWaitMs;
  if (s.maxWaitMs < s.minWaitMs) {
    const key = a[ASYNC_ANNOTATIONS.maxWait] !== undefined ? ASYNC_ANNOTATIONS.maxWait : ASYNC_ANNOTATIONS.minWait;
    bad(key, `${ASYNC_ANNOTATIONS.maxWait} must not be below ${ASYNC_ANNOTATIONS.minWait}`);
    s.maxWaitMs = Math.max(s.minWaitMs, s.maxWaitMs);
  }
  return { settings: s, issues };
}

/** Apply-time check of the async annotations (empty when none is set). */
export function validateAsyncAnnotations(annotations: Record<string, string> | undefined, path: string): FieldIssue[] {
  return resolveAsyncSettings(annotations, path).issues;
}
