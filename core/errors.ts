import { PLATFORM_DEFAULTS } from './config/platform.js';

/**
 * One table of every error Zeno reports to users. Responses carry
 * `{statusCode, code, error, message}` (fastify's shape); tests assert on
 * `code`, never on the message. Codes are never reused once retired.
 * docs/errors.md lists every code (a test keeps the two in step).
 */
export const ERROR_TABLE = {
  // ---- request path (gateway, activator) ----
  ZENO_ERR_FUNCTION_NOT_FOUND: { status: 404, message: 'No function is routed at this host or path' },
  ZENO_ERR_BODY_TOO_LARGE: { status: 413, message: 'Request body is larger than the limit' },
  ZENO_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'Request headers are too large' },
  ZENO_ERR_CLIENT_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  ZENO_ERR_QUEUE_FULL: { status: 503, message: 'Pending request queue full' },
  ZENO_ERR_POD_QUEUE_TIMEOUT: { status: 503, message: 'The request waited for a free slot in the pod until its timeout' },
  ZENO_ERR_REQUEST_TIMEOUT: { status: 504, message: 'Request timeout' },
  ZENO_ERR_UPSTREAM_FAILED: { status: 502, message: 'The function failed to answer the request' },
  ZENO_ERR_REVISION_FAILED: { status: 503, message: 'The revision cannot start' },
  ZENO_ERR_NO_READY_REVISION: { status: 503, message: 'The route has no ready revision yet' },
  ZENO_ERR_SHUTTING_DOWN: { status: 503, message: 'The platform is shutting down' },

  // ---- asynchronous calls (/async-function/) ----
  ZENO_ERR_INVALID_CALLBACK_URL: { status: 400, message: 'X-Callback-Url is not an absolute http or https URL' },
  ZENO_ERR_CALL_NOT_FOUND: { status: 404, message: 'No queued asynchronous call has this id' },
  ZENO_ERR_CALL_RUNNING: { status: 409, message: 'The asynchronous call is running and can no longer be cancelled' },

  // ---- eventing (broker ingress) ----
  ZENO_ERR_INVALID_EVENT: { status: 400, message: 'The request is not a valid CloudEvent' },
  ZENO_ERR_BROKER_NOT_FOUND: { status: 404, message: 'No broker at this path' },
  ZENO_ERR_EVENT_TTL_EXPIRED: { status: 400, message: 'The event passed through brokers too many times (knativebrokerttl reached 0)' },

  // ---- admin API and resources ----
  ZENO_ERR_UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required' },
  ZENO_ERR_INVALID_YAML: { status: 400, message: 'The manifest is not valid YAML' },
  ZENO_ERR_INVALID_RESOURCE: { status: 422, message: 'The resource is invalid' },
  ZENO_ERR_UNKNOWN_KIND: { status: 400, message: 'Unknown apiVersion or kind' },
  ZENO_ERR_RESOURCE_NOT_FOUND: { status: 404, message: 'Resource not found' },
  ZENO_ERR_CONFLICT: { status: 409, message: 'The resource changed meanwhile' },
  ZENO_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  ZENO_ERR_BAD_REQUEST: { status: 400, message: 'Bad request' },

  // ---- platform and CLI ----
  ZENO_ERR_PLATFORM_UNREACHABLE: { status: 503, message: 'Cannot reach the Zeno platform' },
  ZENO_ERR_KUBECONFIG: { status: 400, message: 'No usable kubeconfig' },
  ZENO_ERR_CLUSTER_UNREACHABLE: { status: 503, message: 'Cannot reach the Kubernetes API server' },
  ZENO_ERR_NOT_READY: { status: 504, message: 'Timed out waiting for the resource to become Ready' },
  ZENO_ERR_DATA_DIR: { status: 500, message: 'The data directory cannot be used' },
  ZENO_ERR_NATS_UNAVAILABLE: { status: 503, message: 'Cannot reach NATS JetStream' },
  ZENO_ERR_STORAGE_FULL: { status: 507, message: 'The data dir is full: nothing was stored' },
  ZENO_ERR_STORAGE_UNAVAILABLE: { status: 503, message: 'The data dir cannot be written (read-only or failing): nothing was stored' },
  ZENO_ERR_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** A field-level problem, e.g. in a manifest: `spec.template.spec.timeoutSeconds`. */
export interface FieldIssue {
  /** Dotted path with [i] indices, e.g. `spec.traffic[1].percent`. */
  path: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export class ZenoError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly issues: FieldIssue[] | undefined;
  /** Seconds, for 503s that tell the client when to come back. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message?: string, opts: { issues?: FieldIssue[]; retryAfter?: number; cause?: unknown } = {}) {
    super(message ?? ERROR_TABLE[code].message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ZenoError';
    this.code = code;
    this.statusCode = ERROR_TABLE[code].status;
    this.issues = opts.issues;
    this.retryAfter = opts.retryAfter;
  }
}

export function isZenoError(e: unknown): e is ZenoError {
  return e instanceof ZenoError;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
  409: 'Conflict', 413: 'Payload Too Large', 422: 'Unprocessable Entity', 431: 'Request Header Fields Too Large',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout', 507: 'Insufficient Storage',
};

export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  error: string;
  message: string;
  issues?: FieldIssue[];
}

/** The JSON body every error response carries. */
export function errorBody(err: ZenoError): ErrorBody {
  const body: ErrorBody = {
    statusCode: err.statusCode,
    code: err.code,
    error: STATUS_TEXT[err.statusCode] ?? 'Error',
    message: err.message,
  };
  if (err.issues?.length) body.issues = err.issues;
  return body;
}

/** Formats a field issue as `file:line: path: message` for terminals. */
export function formatIssue(i: FieldIssue): string {
  const where = i.file ? `${i.file}${i.line ? `:${i.line}` : ''}${i.column ? `:${i.column}` : ''}: ` : '';
  return `${where}${i.path ? `${i.path}: ` : ''}${i.message}`;
}

/**
 * What a failed SQLite write tells the client (an append to the event log,
 * an apply to the resource store). A full disk and a data dir that cannot
 * be written (read-only, I/O errors) become coded errors with Retry-After,
 * so the answer is 507 or 503 instead of a bare 500; nothing was stored
 * either way, since the commit failed. Other errors pass as they are.
 */
export function storageError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return err;
  const opts = { retryAfter: PLATFORM_DEFAULTS.storageRetryAfterSeconds, cause: err };
  const why = (err as Error).message;
  if (code === 'SQLITE_FULL') return new ZenoError('ZENO_ERR_STORAGE_FULL', `the data dir is full, nothing was stored: ${why}`, opts);
  if (/^SQLITE_(READONLY|IOERR|CANTOPEN)/.test(code)) {
    return new ZenoError('ZENO_ERR_STORAGE_UNAVAILABLE', `the data dir cannot be written, nothing was stored: ${why} (${code})`, opts);
  }
  return err;
}
