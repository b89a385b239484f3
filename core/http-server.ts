/**
 * The HTTP/1.1 limits every Zeno listener applies (gateway and admin API),
 * from PLATFORM_DEFAULTS, and the answers to requests Node refuses before
 * our handlers see them. Nothing here sits on the per-request path.
 */
import type { ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { PLATFORM_DEFAULTS } from './config/platform.js';
import { realClock, type Clock } from './clock.js';
import { ZenoError, errorBody, type ErrorCode } from './errors.js';

export interface HttpLimits {
  /** Request line plus headers, in bytes (Node's maxHeaderSize). */
  maxHeaderBytes: number;
  /** Time to receive the whole request head (Node's headersTimeout). */
  headersTimeoutMs: number;
  /** Time to receive the whole request, body included; 0 = none (Node's requestTimeout). */
  requestTimeoutMs: number;
  /** Idle kept-alive connections close after this long (Node's keepAliveTimeout). */
  keepAliveTimeoutMs: number;
  /** How often Node checks connections against the two timeouts above. */
  connectionsCheckingIntervalMs: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxHeaderBytes: PLATFORM_DEFAULTS.maxHeaderBytes,
  headersTimeoutMs: PLATFORM_DEFAULTS.headersTimeoutMs,
  requestTimeoutMs: 0,
  keepAliveTimeoutMs: PLATFORM_DEFAULTS.keepAliveTimeoutMs,
  connectionsCheckingIntervalMs: PLATFORM_DEFAULTS.connectionsCheckingIntervalMs,
});

/**
 * Options for `http.createServer`. Node wants requestTimeout ≥ headersTimeout
 * when both are set; a check interval longer than the headers timeout would
 * let slow clients live past it, so it is capped there.
 *
 * `requireHostHeader` is off so that a request without Host reaches our
 * handler, which answers 400 with a code instead of Node's empty 400.
 */
export function serverOptions(l: HttpLimits): ServerOptions {
  const requestTimeout = l.requestTimeoutMs > 0 ? Math.max(l.requestTimeoutMs, l.headersTimeoutMs) : 0;
  return {
    maxHeaderSize: l.maxHeaderBytes,
    headersTimeout: l.headersTimeoutMs,
    requestTimeout,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(10, Math.min(l.connectionsCheckingIntervalMs, l.headersTimeoutMs)),
    requireHostHeader: false,
  };
}

/** Status, code and reason phrase for an HTTP parse or timeout error Node reports on a connection. */
export function clientErrorAnswer(err: NodeJS.ErrnoException): { status: number; code: ErrorCode; reason: string; message?: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'ZENO_ERR_HEADERS_TOO_LARGE', reason: 'Request Header Fields Too Large' };
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'ZENO_ERR_CLIENT_TIMEOUT', reason: 'Request Timeout' };
  return { status: 400, code: 'ZENO_ERR_BAD_REQUEST', reason: 'Bad Request', message: `malformed HTTP request: ${err.code ?? err.message}` };
}

/**
 * Answers on a raw socket with Zeno's JSON error body and closes it. end()
 * only half-closes: a client that never reads (nor closes) would hold the
 * socket for ever, so it gets CLIENT_ERROR_LINGER_MS to read the answer and
 * is then destroyed.
 */
export function answerOnSocket(socket: Duplex, clock: Clock, status: number, reason: string, err: ZenoError): void {
  const body = JSON.stringify(errorBody(err));
  const t = clock.setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS);
  socket.once('close', () => clock.clearTimeout(t));
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

/**
 * The `clientError` listener: answers malformed, oversized or too slow
 * requests with Zeno's JSON error body and closes the connection (the
 * request boundary is lost, so the connection cannot be reused: this is
 * what defeats request smuggling through ambiguous framing).
 */
export function clientErrorListener(clock: Clock = realClock): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    // A reset or a half-written response: nothing sensible can be sent.
    if (err.code === 'ECONNRESET' || !socket.writable || (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const a = clientErrorAnswer(err);
    answerOnSocket(socket, clock, a.status, a.reason, new ZenoError(a.code, a.message));
  };
}

/** How long a refused client may take to read its error answer before the socket is destroyed. */
export const CLIENT_ERROR_LINGER_MS = 2_000;

/**
 * Reads an absolute-form request target (`GET http://host/path`, RFC 9112
 * §3.2.2) as the origin-form path and the authority that replaces Host: an
 * origin server must ignore Host then and use the target's authority.
 * Undefined for anything that is neither (e.g. `*`, `host:443`, garbage).
 */
export function absoluteTarget(url: string): { host: string; path: string } | undefined {
  if (!/^https?:\/\//i.test(url)) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (!u.host || u.username || u.password) return undefined;
  // `new URL` resolves dot segments: take the path as sent after the authority.
  const afterScheme = url.slice(url.indexOf('//') + 2);
  const slash = afterScheme.search(/[/?]/);
  const rest = slash < 0 ? '/' : afterScheme.slice(slash);
  return { host: u.host, path: rest.startsWith('/') ? rest : `/${rest}` };
}
