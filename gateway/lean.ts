/**
 * The gateway's lean server: a fast path in front of Node's http.Server for
 * the warm path's plainest requests (docs/ARCHITECTURE.md, "The lean
 * server"). Node's server builds an IncomingMessage and a ServerResponse
 * (streams, header arrays, a header object parsed twice) per request; on a
 * one-core gateway that is a good part of the CPU per proxied request. Here
 * a connection starts lean: its request heads are read by a strict parser
 * (parseLeanHead) and, when the gateway says the request can go to a ready
 * pod at once, served with a small response writer on the socket itself.
 * Anything else — an unusual head, a body, a pipelined request, a request
 * the gateway would answer itself (404, 503, /healthz, /metrics, a mount),
 * one that must wait for a pod — hands the connection, with the bytes read
 * so far, to Node's http.Server for the rest of its life, before that
 * request is consumed: Node then parses it as if it had read it itself.
 *
 * What stays Node's semantics: keep-alive (HTTP/1.1 by default, HTTP/1.0
 * with `Connection: keep-alive`), `Connection: close`, the response head
 * Node writes (Date, Connection, Keep-Alive, Content-Length or chunked),
 * a HEAD or 204/304 answer without a body, the headers timeout (a client
 * that sends no complete head in time gets Node's 408 through the server's
 * clientError listener) and the keep-alive timeout, checked on the same
 * interval Node uses, and a client that goes away cancelling its request.
 */
import type http from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { HttpLimits } from '../core/http-server.js';

/** A complete, plain request head, parsed. */
export interface LeanHead {
  method: 'GET' | 'HEAD';
  /** The origin-form target (always starts with `/`). */
  url: string;
  httpVersionMinor: 0 | 1;
  /** Lower-case names, values trimmed, as Node's IncomingMessage.headers (no name repeats). */
  headers: Record<string, string>;
  /** Whether the connection stays open after the response (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** Bytes of the head, its final empty line included. */
  length: number;
}

/** parseLeanHead: the head is not complete yet. */
export const NEED_MORE = 0;
/** parseLeanHead: Node's server must read this one. */
export const HAND_OVER = 1;

const REQUEST_LINE = /^(GET|HEAD) (\/[!-~]*) HTTP\/1\.([01])$/;
/** RFC 9110 §5.6.2 token: a field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * What no head the lean path reads may hold: control characters other
 * than HTAB, DEL, and a CR or LF that is not part of a CRLF (Node reads some
 * of these leniently, some not: all are left to it).
 */
const ODD = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n/;
/** Raw field names already checked, with their lower-case form: a few dozen recur. Bounded. */
const NAMES = new Map<string, string>();

/**
 * Reads one request head at the start of `buf` when it is of the plain kind
 * the lean path serves (RFC 9112, strictly): GET or HEAD with an
 * origin-form target, HTTP/1.1 or 1.0, exactly one Host, no repeated field,
 * no obsolete line folding, no Transfer-Encoding, Upgrade or Expect, no
 * Content-Length other than 0, a Connection header naming no upgrade, and
 * the whole head within `maxHeaderBytes`. Everything else is HAND_OVER
 * (never an exception): Node's parser then accepts or refuses it as it
 * always did.
 */
export function parseLeanHead(buf: Buffer, maxHeaderBytes: number): LeanHead | typeof NEED_MORE | typeof HAND_OVER {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (buf.length >= maxHeaderBytes) return HAND_OVER;
    // A bare LF could end a head for a lenient reader: Node's to judge.
    const s = buf.toString('latin1');
    return ODD.test(s.endsWith('\r') ? s.slice(0, -1) : s) ? HAND_OVER : NEED_MORE;
  }
  const length = end + 4;
  if (length > maxHeaderBytes) return HAND_OVER;
  const s = buf.toString('latin1', 0, end);
  if (ODD.test(s)) return HAND_OVER;
  let eol = s.indexOf('\r\n');
  const m = REQUEST_LINE.exec(eol < 0 ? s : s.slice(0, eol));
  if (!m) return HAND_OVER;
  const headers: Record<string, string> = {};
  let host = false;
  let connection: string | undefined;
  while (eol >= 0) {
    const start = eol + 2;
    eol = s.indexOf('\r\n', start);
    const line = eol < 0 ? s.slice(start) : s.slice(start, eol);
    const colon = line.indexOf(':');
    if (colon <= 0) return HAND_OVER;
    const raw = line.slice(0, colon);
    let name = NAMES.get(raw);
    if (name === undefined) {
      if (!TOKEN.test(raw)) return HAND_OVER;
      name = raw.toLowerCase();
      if (NAMES.size >= 1024) NAMES.clear();
      NAMES.set(raw, name);
    }
    if (headers[name] !== undefined) return HAND_OVER;
    const value = trimOws(line, colon + 1);
    switch (name) {
      case 'host': host = true; break;
      case 'transfer-encoding': case 'upgrade': case 'expect': return HAND_OVER;
      case 'content-length': if (value !== '0') return HAND_OVER; break;
      case 'connection': connection = value; break;
    }
    headers[name] = value;
  }
  if (!host) return HAND_OVER;
  const minor = m[3] === '1' ? 1 : 0;
  // As Node's parser (llhttp) decides it: HTTP/1.1 stays open unless a
  // `close` token is sent, HTTP/1.0 only with a `keep-alive` token.
  let keepAlive = minor === 1;
  if (connection !== undefined) {
    const c = connection.toLowerCase();
    if (c === 'keep-alive') keepAlive = true;
    else if (c === 'close') keepAlive = false;
    else {
      let close = false;
      let alive = false;
      for (const t of c.split(',')) {
        const tok = t.trim();
        if (tok === 'upgrade') return HAND_OVER;
        if (tok === 'close') close = true;
        else if (tok === 'keep-alive') alive = true;
      }
      keepAlive = minor === 1 ? !close : alive;
    }
  }
  return { method: m[1] as 'GET' | 'HEAD', url: m[2]!, httpVersionMinor: minor, headers, keepAlive, length };
}

/** A field value without the optional whitespace around it (RFC 9110 §5.5). */
function trimOws(line: string, from: number): string {
  let a = from;
  let b = line.length;
  while (a < b && (line.charCodeAt(a) === 32 || line.charCodeAt(a) === 9)) a++;
  while (b > a && (line.charCodeAt(b - 1) === 32 || line.charCodeAt(b - 1) === 9)) b--;
  return a === from && b === line.length ? line.slice(from) : line.slice(a, b);
}

/** What the gateway's handler reads of a request (the part of IncomingMessage it uses). */
export class LeanRequest {
  readonly readableDidRead = false;
  readonly complete = true;
  readonly method: 'GET' | 'HEAD';
  url: string;
  readonly headers: Record<string, string>;
  readonly httpVersionMinor: 0 | 1;
  constructor(head: LeanHead, readonly socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.headers = head.headers;
    this.httpVersionMinor = head.httpVersionMinor;
  }
}

let dateSecond = -1;
let dateText = '';
/** The Date field, as Node writes it (one string per second). */
function httpDate(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== dateSecond) {
    dateSecond = sec;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/**
 * The part of ServerResponse the gateway's handler uses, written straight
 * to the socket: the head goes with the first body bytes (or the end) in one
 * write, framed as Node frames it: the function's Content-Length, else the
 * whole body's length when it comes with the end, else chunked (HTTP/1.1)
 * or the connection's close (HTTP/1.0).
 */
export class LeanResponse {
  statusCode = 200;
  headersSent = false;
  writableFinished = false;
  destroyed = false;
  private fields: readonly string[] | Record<string, string | number> | undefined;
  private closeFns: (() => void)[] | undefined;
  private drainFns: (() => void)[] | undefined;
  private closed = false;
  /** The head is on the socket (headersSent is set earlier, by writeHead, as in Node). */
  private wroteHead = false;
  private chunked = false;
  private readonly hasBody: boolean;

  constructor(private readonly conn: LeanConnection, method: string) {
    this.hasBody = method !== 'HEAD';
  }

  on(ev: string, fn: () => void): this {
    if (ev === 'close') (this.closeFns ??= []).push(fn);
    else if (ev === 'drain') {
      // Kept on the response, not the socket: a later response on the connection must not get this one's.
      if (this.drainFns === undefined) this.conn.socket.once('drain', this.onDrain);
      (this.drainFns ??= []).push(fn);
    }
    return this;
  }

  private readonly onDrain = (): void => {
    const fns = this.drainFns;
    this.drainFns = undefined;
    if (fns && !this.closed) for (const fn of fns) fn();
  };

  once(ev: string, fn: () => void): this {
    // 'close' is emitted once.
    return this.on(ev, fn);
  }

  off(ev: string, fn: () => void): this {
    if (ev === 'close' && this.closeFns) {
      const i = this.closeFns.indexOf(fn);
      if (i >= 0) this.closeFns.splice(i, 1);
    } else if (ev === 'drain' && this.drainFns) {
      const i = this.drainFns.indexOf(fn);
      if (i >= 0) this.drainFns.splice(i, 1);
    }
    return this;
  }

  writeHead(status: number, fields?: readonly string[] | Record<string, string | number>): this {
    this.statusCode = status;
    this.fields = fields;
    this.headersSent = true;
    return this;
  }

  /** The head, with its framing: `whole` is the body's length when the end comes with it. */
  private head(whole: number | undefined): string {
    const status = this.statusCode;
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    let length = false;
    let date = false;
    const f = this.fields;
    if (Array.isArray(f)) {
      for (let i = 0; i + 1 < f.length; i += 2) {
        const k = f[i] as string;
        if (k === 'content-length') length = true;
        else if (k === 'date') date = true;
        head += `${k}: ${f[i + 1] as string}\r\n`;
      }
    } else if (f) {
      for (const k in f as Record<string, string | number>) {
        const lk = k.toLowerCase();
        if (lk === 'content-length') length = true;
        else if (lk === 'date') date = true;
        head += `${k}: ${(f as Record<string, string | number>)[k]}\r\n`;
      }
    }
    if (!date) head += `Date: ${httpDate()}\r\n`;
    const conn = this.conn;
    const bodyAllowed = this.hasBody && status !== 204 && status !== 304;
    if (bodyAllowed && !length) {
      if (whole !== undefined) head += `Content-Length: ${whole}\r\n`;
      else if (conn.minor === 1) this.chunked = true;
      else conn.keepAlive = false;
    }
    if (conn.keepAlive && !conn.draining) {
      head += `Connection: keep-alive\r\n${conn.keepAliveField}`;
    } else {
      conn.keepAlive = false;
      head += 'Connection: close\r\n';
    }
    if (this.chunked) head += 'Transfer-Encoding: chunked\r\n';
    this.wroteHead = true;
    return `${head}\r\n`;
  }

  write(chunk: Buffer): boolean {
    const socket = this.conn.socket;
    if (this.closed || this.destroyed || this.writableFinished) return true;
    if (!this.wroteHead) {
      const head = this.head(undefined);
      socket.cork();
      socket.write(head, 'latin1');
      // Node uncorks on the next tick too: head and the first pieces leave in one writev.
      process.nextTick(uncork, socket);
    }
    if (!this.hasBody || chunk.length === 0) return true;
    if (this.chunked) {
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      return socket.write('\r\n', 'latin1');
    }
    return socket.write(chunk);
  }

  end(last?: Buffer | string): this {
    if (this.closed || this.destroyed || this.writableFinished) return this;
    const socket = this.conn.socket;
    const body = typeof last === 'string' ? Buffer.from(last, 'utf8') : last;
    const status = this.statusCode;
    if (!this.wroteHead && body !== undefined && body.length <= SMALL_BODY && this.hasBody && status !== 204 && status !== 304) {
      // A whole small answer (the common case; framed by its length, never chunked): head
      // and body as one latin1 string, byte for byte the same, in one write instead of a
      // writev of two pieces, whose JS side costs more than the copy.
      socket.write(this.head(body.length) + body.toString('latin1'), 'latin1');
    } else {
      socket.cork();
      if (!this.wroteHead) socket.write(this.head(body?.length ?? 0), 'latin1');
      if (this.hasBody && body && body.length > 0) {
        if (this.chunked) {
          socket.write(`${body.length.toString(16)}\r\n`, 'latin1');
          socket.write(body);
          socket.write('\r\n0\r\n\r\n', 'latin1');
        } else socket.write(body);
      } else if (this.chunked) socket.write('0\r\n\r\n', 'latin1');
      socket.uncork();
    }
    this.writableFinished = true;
    this.conn.responded(this);
    // As Node's ServerResponse: 'close' once the response is done.
    process.nextTick(emitClose, this);
    return this;
  }

  destroy(_err?: unknown): void {
    this.destroyed = true;
    this.conn.socket.destroy();
  }

  /** The response is over (ended, or the connection closed). */
  emitClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.writableFinished) this.destroyed = true;
    if (this.drainFns !== undefined) {
      this.drainFns = undefined;
      this.conn.socket.off('drain', this.onDrain);
    }
    const fns = this.closeFns;
    this.closeFns = undefined;
    if (fns) for (const fn of fns) fn();
  }
}

/**
 * Ends the connection and frees it once the answer is flushed, as Node's
 * server does after a last response (destroySoon): the server's sockets
 * allow half-open connections, so end() alone would wait for the client's
 * own end for ever.
 */
function closeSoon(socket: Socket): void {
  socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

/** Bodies up to this size leave in one string with their head (LeanResponse.end). */
const SMALL_BODY = 4096;

function uncork(socket: Socket): void {
  socket.uncork();
}

function emitClose(res: LeanResponse): void {
  res.emitClose();
}

/** What the lean server asks of the gateway. */
export interface LeanHost<R> {
  /**
   * Whether this request goes lean, and what was decided for it (its route,
   * revision and pod slot); undefined = hand the connection over.
   */
  route(req: LeanRequest): R | undefined;
  /** Serves a request `route` accepted. */
  serve(req: LeanRequest, res: LeanResponse, routed: R): void;
}

const kHeadersTimeout = 1;
const kIdleTimeout = 2;

/** One connection while it is lean. */
export class LeanConnection {
  /** Bytes of a head not complete yet, or read while a response was in flight. */
  private buf: Buffer | undefined;
  private busy: LeanResponse | undefined;
  /** When the current timeout passes (clock ms), and which one; 0 = none. */
  deadline = 0;
  deadlineKind = 0;
  keepAlive = true;
  minor: 0 | 1 = 1;
  /** The server is stopping: the current response is the connection's last. */
  draining = false;
  private done = false;
  readonly keepAliveField: string;

  constructor(readonly socket: Socket, private readonly server: LeanServer<unknown>) {
    this.keepAliveField = server.keepAliveField;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** No request in flight and no partial head: a stop may close it at once. */
  get idle(): boolean {
    return this.busy === undefined && this.buf === undefined;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.busy) {
      // A pipelined request: kept for Node, which gets the connection once this response is out.
      this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
      this.socket.pause();
      return;
    }
    const buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    const server = this.server;
    const head = parseLeanHead(buf, server.limits.maxHeaderBytes);
    if (head === NEED_MORE) {
      this.buf = buf;
      if (this.deadlineKind !== kHeadersTimeout) this.arm(kHeadersTimeout, server.limits.headersTimeoutMs);
      return;
    }
    // Anything after the head (a pipelined request) is Node's too.
    if (head === HAND_OVER || head.length !== buf.length) return this.handOver(buf);
    this.buf = undefined;
    const req = new LeanRequest(head, this.socket);
    let routed: unknown;
    try {
      routed = server.host.route(req);
    } catch {
      // Never a crash in a socket's 'data' listener: Node's path meets the same failure inside its handler and answers it.
      routed = undefined;
    }
    if (routed === undefined) return this.handOver(buf);
    this.keepAlive = head.keepAlive;
    this.minor = head.httpVersionMinor;
    this.deadline = 0;
    this.deadlineKind = 0;
    const res = new LeanResponse(this, head.method);
    this.busy = res;
    server.served++;
    server.host.serve(req, res, routed as never);
  };

  private readonly onEnd = (): void => {
    // As Node's server (httpAllowHalfOpen off): a client that stops sending gives up its request.
    if (this.busy) this.socket.destroy();
    else this.socket.end();
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.detach();
    const res = this.busy;
    this.busy = undefined;
    res?.emitClose();
  };

  private arm(kind: number, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = this.server.clock.now() + ms;
  }

  /** The response went out whole. */
  responded(res: LeanResponse): void {
    if (this.busy !== res) return;
    this.busy = undefined;
    if (!this.keepAlive || this.draining) {
      this.detach();
      closeSoon(this.socket);
      return;
    }
    this.arm(kIdleTimeout, this.server.limits.keepAliveTimeoutMs);
    const rest = this.buf;
    if (rest) {
      this.buf = undefined;
      this.handOver(rest);
    }
  }

  /** Called on the server's interval: the headers or keep-alive timeout passed. */
  expire(now: number): void {
    if (this.deadline === 0 || now < this.deadline) return;
    const kind = this.deadlineKind;
    this.detach();
    if (kind === kHeadersTimeout) {
      // The server's clientError listener answers as for Node's own timeout (408).
      const err = Object.assign(new Error('request headers timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
      this.server.http.emit('clientError', err, this.socket);
    } else {
      this.socket.destroy();
    }
  }

  /** Stop: an idle connection closes now, a busy one after its response. */
  stop(): void {
    if (this.idle) {
      this.detach();
      this.socket.destroy();
    } else {
      this.draining = true;
    }
  }

  /** Leaves lean mode; the 'error' listener stays unless Node's server takes the socket (it adds its own). */
  private detach(toNode = false): void {
    if (this.done) return;
    this.done = true;
    this.deadline = 0;
    const s = this.socket;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    if (toNode) s.off('error', this.onError);
    s.off('close', this.onClose);
    this.server.forget(this);
  }

  /**
   * Gives the connection, with `buf` (unconsumed bytes), to Node's server
   * for the rest of its life: the documented way of injecting a socket into
   * an http.Server ('connection'), with the bytes put back in the socket's
   * read queue, which Node's parser reads first (lean.test.ts checks it).
   */
  private handOver(buf: Buffer | undefined): void {
    this.buf = undefined;
    this.detach(true);
    const s = this.socket;
    s.pause();
    if (buf && buf.length > 0) s.unshift(buf);
    this.server.toNode(s);
    s.resume();
  }
}

/** The lean connections of one gateway, their timeouts and their stop. */
export class LeanServer<R> {
  readonly keepAliveField: string;
  /** Requests served lean, and connections handed to Node's server (for tests and A/B runs). */
  served = 0;
  handedOver = 0;
  private readonly conns = new Set<LeanConnection>();
  private timer: TimerHandle | undefined;
  private stopping = false;

  constructor(
    readonly http: http.Server,
    readonly host: LeanHost<R>,
    readonly clock: Clock,
    readonly limits: HttpLimits,
    /** Node's own 'connection' listener of `http`. */
    private readonly nodeConnection: (socket: Socket) => void,
  ) {
    this.keepAliveField = `Keep-Alive: timeout=${Math.floor(limits.keepAliveTimeoutMs / 1000)}\r\n`;
  }

  /** The listening server's 'connection' listener. */
  readonly accept = (socket: Socket): void => {
    if (this.stopping) return this.toNode(socket);
    // As Node's server: no Nagle delay on responses.
    socket.setNoDelay(true);
    const c = new LeanConnection(socket, this as LeanServer<unknown>);
    this.conns.add(c);
    c.deadlineKind = kHeadersTimeout;
    c.deadline = this.clock.now() + this.limits.headersTimeoutMs;
    // Node checks its connections' timeouts on an interval, not with a timer per request.
    this.timer ??= this.clock.setInterval(() => this.check(), Math.max(10, Math.min(this.limits.connectionsCheckingIntervalMs, this.limits.headersTimeoutMs)));
  };

  toNode(socket: Socket): void {
    this.handedOver++;
    this.nodeConnection.call(this.http, socket);
  }

  forget(c: LeanConnection): void {
    this.conns.delete(c);
    if (this.conns.size === 0 && this.timer !== undefined) {
      this.clock.clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private check(): void {
    const now = this.clock.now();
    for (const c of [...this.conns]) c.expire(now);
  }

  /** Lean connections open now. */
  get size(): number {
    return this.conns.size;
  }

  /** Graceful stop: new connections go to Node (which refuses them while closing), idle ones close. */
  stop(): void {
    this.stopping = true;
    for (const c of [...this.conns]) c.stop();
  }

  /** Closes every lean connection still open. */
  closeAll(): void {
    for (const c of [...this.conns]) {
      this.forget(c);
      c.socket.destroy();
    }
  }
}
