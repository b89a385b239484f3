/**
 * Knative's `delivery` spec (pkg/apis/duck/v1/delivery_types.go) and the
 * per-attempt retry decision. Pure: no clock, no I/O; `nowMs` is passed in.
 * Facts cited from /work/shared/reference/knative-eventing.md §2.
 */
import type { FieldIssue } from '../../core/errors.js';
import { parseIsoDuration } from './iso-duration.js';

export type BackoffPolicy = 'linear' | 'exponential';

/** A Destination (knative.dev/pkg duck/v1 destination.go): `ref`, `uri`, or a ref plus a relative uri. */
export interface DeliveryDestination {
  ref?: { apiVersion?: string; kind: string; name: string; namespace?: string };
  uri?: string;
}

/** `spec.delivery` as written in a Broker, Trigger or Subscription. */
export interface DeliverySpec {
  deadLetterSink?: DeliveryDestination;
  retry?: number;
  backoffPolicy?: string;
  backoffDelay?: string;
  timeout?: string;
}

/** A validated, parsed delivery spec, ready for `nextAttempt`. */
export interface DeliveryPolicy {
  /** Retries after the first try: total attempts = retry + 1 (docs event-delivery.md). */
  retry: number;
  /** Undefined when policy or delay is unset: Knative then retries with zero delay (`NoRetries().Backoff`). */
  backoffPolicy: BackoffPolicy | undefined;
  backoffDelayMs: number | undefined;
  /** Per-attempt timeout; undefined = the dispatcher's own default. */
  timeoutMs: number | undefined;
  deadLetterSink: DeliveryDestination | undefined;
  /** Zeno's cap on any single wait (backoff or Retry-After); see DEFAULT_BACKOFF_MAX_MS. */
  backoffMaxMs: number;
}

/**
 * config-br-defaults cluster default (config/core/configmaps/default-broker.yaml):
 * a Broker without `spec.delivery` gets exactly this.
 */
export const BROKER_DEFAULT_DELIVERY: Readonly<DeliverySpec> = Object.freeze({
  retry: 10,
  backoffPolicy: 'exponential',
  backoffDelay: 'PT0.2S',
});

/**
 * Zeno's cap on a single wait. Knative's exponential backoff is uncapped:
 * 20 retries at PT1S wait about 12 days in total (eventing#9278, which
 * proposes `backoffMax`). A failed event holds one of its trigger's bounded
 * in-flight slots while it waits, so an unbounded wait starves the trigger.
 * 60 s is above the broker default's largest uncapped wait but one
 * (0.2 s × 2^8 = 51.2 s for the 9th retry) and keeps every retry within a
 * minute of the subscriber recovering.
 */
export const DEFAULT_BACKOFF_MAX_MS = 60_000;

/** Validates `delivery` with Knative's rules; `path` is where it sits, e.g. `spec.delivery`. */
export function validateDelivery(spec: DeliverySpec | undefined, path = 'spec.delivery'): FieldIssue[] {
  if (spec === undefined) return [];
  const issues: FieldIssue[] = [];
  if (spec.deadLetterSink !== undefined) issues.push(...validateDestination(spec.deadLetterSink, `${path}.deadLetterSink`));
  if (spec.retry !== undefined && (!Number.isInteger(spec.retry) || spec.retry < 0 || spec.retry > 2_147_483_647)) {
    // int32 >= 0 (delivery_types.go: ErrInvalidValue on retry < 0).
    issues.push({ path: `${path}.retry`, message: `invalid value ${String(spec.retry)}: must be an integer >= 0` });
  }
  if (spec.backoffPolicy !== undefined && spec.backoffPolicy !== 'linear' && spec.backoffPolicy !== 'exponential') {
    issues.push({ path: `${path}.backoffPolicy`, message: `invalid value "${spec.backoffPolicy}": must be linear or exponential` });
  }
  if (spec.backoffDelay !== undefined) {
    const d = parseIsoDuration(spec.backoffDelay);
    if ('error' in d) issues.push({ path: `${path}.backoffDelay`, message: d.error });
    // Knative only checks that it parses; a negative wait has no meaning, so Zeno rejects it.
    else if (d.ms < 0) issues.push({ path: `${path}.backoffDelay`, message: `invalid value "${spec.backoffDelay}": must not be negative` });
  }
  if (spec.timeout !== undefined) {
    const t = parseIsoDuration(spec.timeout);
    if ('error' in t) issues.push({ path: `${path}.timeout`, message: t.error });
    // Knative: the timeout must be > 0 (feature delivery-timeout, enabled by default).
    else if (t.ms <= 0) issues.push({ path: `${path}.timeout`, message: `invalid value "${spec.timeout}": must be greater than zero` });
  }
  return issues;
}

/** Destination rules (duck/v1 destination.go): ref or uri; with a ref the uri is relative; a bare uri is absolute with a host. */
export function validateDestination(dest: DeliveryDestination, path: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (dest.ref === undefined && dest.uri === undefined) {
    return [{ path, message: 'expected at least one of ref, uri' }];
  }
  if (dest.ref !== undefined) {
    if (!dest.ref.kind) issues.push({ path: `${path}.ref.kind`, message: 'missing field' });
    if (!dest.ref.name) issues.push({ path: `${path}.ref.name`, message: 'missing field' });
  }
  if (dest.uri !== undefined) {
    let absolute: URL | undefined;
    try {
      absolute = new URL(dest.uri);
    } catch {
      absolute = undefined;
    }
    if (dest.ref !== undefined && absolute !== undefined) {
      issues.push({ path: `${path}.uri`, message: 'must be relative when ref is set' });
    } else if (dest.ref === undefined && (absolute === undefined || absolute.host === '')) {
      issues.push({ path: `${path}.uri`, message: `"${dest.uri}" must be an absolute URI with a host` });
    }
  }
  return issues;
}

/**
 * The delivery that applies to a Trigger. Precedence (trigger.go:271): a
 * Trigger's `spec.delivery`, when set, replaces the Broker's entirely, with
 * no field-by-field merge. A Broker without `spec.delivery` was defaulted
 * from config-br-defaults, so that default stands in for it here.
 */
export function effectiveDelivery(
  broker: DeliverySpec | undefined,
  trigger: DeliverySpec | undefined,
  clusterDefault: DeliverySpec = BROKER_DEFAULT_DELIVERY,
): DeliverySpec {
  return trigger ?? broker ?? clusterDefault;
}

/** Parses a spec that `validateDelivery` accepted. Throws on an invalid one (a programming error). */
export function toPolicy(spec: DeliverySpec, backoffMaxMs = DEFAULT_BACKOFF_MAX_MS): DeliveryPolicy {
  const issues = validateDelivery(spec);
  if (issues.length > 0) throw new Error(`invalid delivery spec: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  const ms = (text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const r = parseIsoDuration(text);
    return 'ms' in r ? r.ms : undefined;
  };
  const policy = spec.backoffPolicy as BackoffPolicy | undefined;
  const delay = ms(spec.backoffDelay);
  // Knative uses the backoff only when both policy and delay are set (reference §2).
  const both = policy !== undefined && delay !== undefined;
  return {
    retry: spec.retry ?? 0,
    backoffPolicy: both ? policy : undefined,
    backoffDelayMs: both ? delay : undefined,
    timeoutMs: ms(spec.timeout),
    deadLetterSink: spec.deadLetterSink,
    backoffMaxMs,
  };
}

/**
 * Knative's retryable-response table (`SelectiveRetry`, the data-plane spec
 * table; reference §2): no response (transport error, timeout) → retry;
 * 5xx, 404, 408, 409, 429 → retry; 1xx, 3xx and the other 4xx → no retry.
 * Codes outside the spec table (e.g. 600+) SHOULD be retried.
 */
export function isRetryable(status: number | undefined): boolean {
  if (status === undefined) return true;
  if (status >= 200 && status < 300) return false; // success, nothing to retry
  if (status >= 500 && status < 600) return true;
  if (status === 404 || status === 408 || status === 409 || status === 429) return true;
  if (status >= 100 && status < 500) return false;
  return true;
}

/** Only 2xx is success (`isFailure`: < 200 or >= 300). */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

export interface AttemptResponse {
  status: number;
  /** The raw Retry-After header, if any. */
  retryAfter?: string;
}

export interface NextAttempt {
  retry: boolean;
  delayMs: number;
}

/**
 * Decides what follows a finished attempt.
 *
 * Attempt numbering, matching Knative's runtime: `attempt` is the zero-based
 * index of the attempt that just failed: 0 is the first try, 1 the first
 * retry, and so on. It is go-retryablehttp's `attemptNum`, which is 0 when
 * the first retry is scheduled (client.go:672-754). Knative's retries.go
 * computes `delay*attemptNum` (linear) and `delay*2^attemptNum`
 * (exponential), so the waits before retries 1, 2, 3, … are
 *   linear:      0, d, 2d, …   (the first linear retry is immediate, as in Knative)
 *   exponential: d, 2d, 4d, …
 * The documented formula (`backoffDelay × n`, delivery_types.go) reads n as
 * this same index. A retry happens while `attempt < policy.retry`, so there
 * are at most retry + 1 attempts.
 *
 * `response` undefined means no response (connection error or timeout).
 *
 * Zeno beyond Knative: every wait is capped at `policy.backoffMaxMs`
 * (see DEFAULT_BACKOFF_MAX_MS), and a Retry-After on 429 or 503 is always
 * honoured (Knative only does so with the experimental `retryAfterMax`).
 * As in Knative, Retry-After never shortens the backoff:
 * wait = max(backoff, min(retryAfter, cap)).
 */
export function nextAttempt(policy: DeliveryPolicy, attempt: number, response: AttemptResponse | undefined, nowMs: number): NextAttempt {
  if (response !== undefined && isSuccess(response.status)) return { retry: false, delayMs: 0 };
  if (!isRetryable(response?.status) || attempt >= policy.retry) return { retry: false, delayMs: 0 };
  let delay = Math.min(backoffMs(policy, attempt), policy.backoffMaxMs);
  if (response !== undefined && (response.status === 429 || response.status === 503) && response.retryAfter !== undefined) {
    const after = parseRetryAfter(response.retryAfter, nowMs);
    if (after !== undefined) delay = Math.max(delay, Math.min(after, policy.backoffMaxMs));
  }
  return { retry: true, delayMs: delay };
}

/** The uncapped Knative backoff for the zero-based failed attempt `attempt`. */
export function backoffMs(policy: DeliveryPolicy, attempt: number): number {
  const d = policy.backoffDelayMs;
  if (policy.backoffPolicy === undefined || d === undefined) return 0;
  return policy.backoffPolicy === 'linear' ? d * attempt : d * 2 ** attempt;
}

/**
 * Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date. Returns ms
 * from `nowMs`; a date in the past gives 0; anything unparseable gives
 * undefined (ignored, the backoff applies).
 */
export function parseRetryAfter(value: string, nowMs: number): number | undefined {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-date: IMF-fixdate (and the obsolete forms Date.parse also reads); must name a weekday or month, not be a bare number.
  if (!/[A-Za-z]/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The limit Knative puts on `knativeerrordata` (attributes.KnativeErrorDataExtensionMaxLength). */
export const KNATIVE_ERROR_DATA_MAX = 1024;

export interface DeadLetterExtensions {
  knativeerrordest: string;
  knativeerrorcode: number;
  /** Absent when the response body was empty, as in Knative (it only adds the extension for non-empty data). */
  knativeerrordata?: string;
}

/**
 * Extensions added to an event sent to the dead-letter sink
 * (event_dispatcher.go:566-595): the failed URL, the last HTTP status, and
 * the body base64-encoded, with the *encoded* text cut to 1024 characters
 * (Knative encodes, then truncates `encodedBuf[:1024]`). `status` is 0 when
 * there was no response; Knative records a transport error as 500 with the
 * body "dispatch error: …", which callers can pass in the same way.
 */
export function deadLetterExtensions(destUrl: string, status: number, responseBody: Uint8Array | string | undefined): DeadLetterExtensions {
  const ext: DeadLetterExtensions = { knativeerrordest: destUrl, knativeerrorcode: status };
  const body = typeof responseBody === 'string' ? Buffer.from(responseBody, 'utf8') : responseBody;
  if (body !== undefined && body.length > 0) {
    ext.knativeerrordata = Buffer.from(body).toString('base64').slice(0, KNATIVE_ERROR_DATA_MAX);
  }
  return ext;
}
