/**
 * What follows a finished attempt of an asynchronous call: retry after how
 * long, or stop. Pure: time and randomness come in as arguments.
 */
import type { AsyncSettings } from '../../core/config/async.js';
import { backoffMs, parseRetryAfter, type DeliveryPolicy } from '../../eventing/delivery/delivery.js';

/** The status a call gets when the gateway could not be reached at all (OpenFaaS's queue-worker reports 503). */
export const UNREACHABLE_STATUS = 503;

export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * `attempt` is the 1-based number of the attempt that just finished with
 * `status`. A status in the retry codes is retried while attempt <
 * attempts. The wait is exponential from minWait (minWait × 2^(attempt-1),
 * the Knative backoff of delivery.ts), capped at maxWait, with equal jitter:
 * half of it fixed, half uniformly random (`random()` in [0, 1)), so
 * callers that failed together do not come back together.
 *
 * `Retry-After` (seconds or an HTTP date) on a 429 or 503 is honoured as
 * delivery.ts does: it can lengthen the wait, never shorten it, and it is
 * capped at maxWait too.
 */
export function decideRetry(
  settings: Pick<AsyncSettings, 'attempts' | 'retryCodes' | 'minWaitMs' | 'maxWaitMs'>,
  attempt: number,
  status: number,
  retryAfter: string | undefined,
  nowMs: number,
  random: () => number,
): RetryDecision {
  if (!settings.retryCodes.has(status) || attempt >= settings.attempts) return { retry: false };
  const base = cappedBackoff(settings.minWaitMs, settings.maxWaitMs, attempt - 1);
  let delay = Math.round(base / 2 + (random() * base) / 2);
  if (retryAfter !== undefined && (status === 429 || status === 503)) {
    const after = parseRetryAfter(retryAfter, nowMs);
    if (after !== undefined) delay = Math.max(delay, Math.min(after, settings.maxWaitMs));
  }
  return { retry: true, delayMs: delay };
}

/** Exponential backoff from delivery.ts (delay × 2^index), capped. */
export function cappedBackoff(minMs: number, maxMs: number, index: number): number {
  const policy: DeliveryPolicy = {
    retry: Number.MAX_SAFE_INTEGER,
    backoffPolicy: 'exponential',
    backoffDelayMs: minMs,
    timeoutMs: undefined,
    deadLetterSink: undefined,
    backoffMaxMs: maxMs,
  };
  return Math.min(backoffMs(policy, index), maxMs);
}

/**
 * Callback delivery: a transport error or a 408, 429 or 5xx from the
 * callback receiver is retried, up to `attempts` in all, waiting
 * minWait × 2^(attempt-1) between them (no jitter: one receiver, few tries).
 * Any other status (2xx, 3xx, other 4xx) is final.
 */
export function decideCallbackRetry(attempts: number, minWaitMs: number, attempt: number, status: number | undefined): RetryDecision {
  const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
  if (!retryable || attempt >= attempts) return { retry: false };
  return { retry: true, delayMs: cappedBackoff(minWaitMs, Number.MAX_SAFE_INTEGER, attempt - 1) };
}
