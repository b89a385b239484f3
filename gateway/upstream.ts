/**
 * The gateway's own HTTP/1.1 client for the warm path, over pooled
 * keep-alive connections to ready pods: a bodiless GET or HEAD proxied for a
 * client (server.ts), and a request whose whole body is in memory that the
 * platform makes in process (local.ts: event deliveries). Everything else
 * (streamed request bodies, early pods) goes through undici as before.
 *
 * Why not undici for these too: under load a proxied request spent more CPU
 * in undici's layers (Agent → Pool → Client → Request, the llhttp wasm
 * parser calling back into JS for every header field and value, the
 * per-request setImmediate before writing on a reused socket) than in the
 * gateway's own logic; this client writes the request head with one socket
 * write and reads the response with a small parser that only looks at the
 * bytes it must (the head, and the body's framing). It keeps undici's
 * guarantees for the case it serves: response framing by RFC 9112 §6.3,
 * connections reused only after a complete, well-framed response that did
 * not ask to close, unsolicited bytes or a close on an idle connection drop
 * it, idle connections expire before the pod's own keep-alive timeout
 * (its `Keep-Alive: timeout=N` hint), and a connection refused keeps its
 * ECONNREFUSED code (the gateway's retry rule reads it).
 */
import { maxHeaderSize } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../core/clock.js';

/** What a call reports. Names in `headers` are lower-case; values as sent (latin1). */
export interface UpstreamHandler {
  /** The final response head (1xx interim heads are skipped). */
  onHead(status: number, headers: string[]): void;
  /** A piece of the body; return false to stop reading until `resume()`. */
  onData(chunk: Buffer): boolean;
  /**
   * The response is complete. `last` is its final piece of body when that
   * came in the same read as the end (then onData did not get it): a proxy
   * can write it and end its own response in one call.
   */
  onEnd(last?: Buffer): void;
  /**
   * Opt-in: a body's final piece that arrives in the same read as the end
   * goes to onEnd(last) instead of onData. A handler without it gets every
   * piece through onData and onEnd() with nothing.
   */
  readonly lastWithEnd?: boolean;
  /** The call failed (connection, framing, or abort); nothing more follows. */
  onError(err: Error): void;
}

export class UpstreamProtocolError extends Error {
  readonly code = 'ZENO_UPSTREAM_PROTOCOL';
}

const HEX = /^[0-9a-fA-F]{1,12}$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout=(\d+)/i;

/** A Content-Length value: 1 to 15 decimal digits, else -1. */
function decimal(v: string): number {
  const n = v.length;
  if (n === 0 || n > 15) return -1;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

let lastHint = '';
let lastHintMs: number | undefined;

/** `Keep-Alive: timeout=N` in ms; a pod sends the same value every time, so the last one is remembered. */
function keepAliveHint(value: string): number | undefined {
  if (value !== lastHint) {
    const t = KEEP_ALIVE_TIMEOUT.exec(value);
    lastHintMs = t ? Number(t[1]) * 1000 : undefined;
    lastHint = value;
  }
  return lastHintMs;
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

/** What the parser reports, in order: one head, data, then end (or a thrown UpstreamProtocolError). */
export interface ResponseEvents {
  head(status: number, headers: string[]): void;
  /** `last`: no more body follows this piece (a Content-Length body is complete; end() comes next). */
  data(chunk: Buffer, last: boolean): void;
  end(): void;
}

/**
 * An incremental HTTP/1.1 response parser (RFC 9112) for one response.
 * Pure: bytes in, events out, no I/O. `execute` returns how many bytes of
 * the input belonged to this response (the rest arrived unasked for).
 */
export class ResponseParser {
  private state = State.Head;
  private head: Buffer | undefined;
  private remaining = 0;
  private line = '';
  /** Whether the connection may carry another request after this response. */
  keepAlive = false;
  /** The pod's `Keep-Alive: timeout=N` hint, in ms (undefined when absent). */
  keepAliveHintMs: number | undefined;

  constructor(
    private readonly ev: ResponseEvents,
    /** A response to HEAD: never a body, whatever the head says. */
    private readonly noBody: boolean,
    private readonly maxHeadBytes = maxHeaderSize,
  ) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  execute(buf: Buffer): number {
    let i = 0;
    const n = buf.length;
    while (i < n && this.state !== State.Done) {
      switch (this.state) {
        case State.Head: {
          i = this.readHead(buf, i);
          break;
        }
        case State.Length: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          const chunk = i === 0 && take === n ? buf : buf.subarray(i, i + take);
          i += take;
          this.ev.data(chunk, this.remaining === 0);
          if (this.remaining === 0) this.finish();
          break;
        }
        case State.UntilClose: {
          this.ev.data(i === 0 ? buf : buf.subarray(i), false);
          i = n;
          break;
        }
        case State.ChunkSize: {
          const nl = buf.indexOf(10, i);
          const end = nl < 0 ? n : nl;
          this.line += buf.toString('latin1', i, end);
          if (this.line.length > 1024) throw new UpstreamProtocolError('chunk size line too long');
          i = nl < 0 ? n : nl + 1;
          if (nl < 0) break;
          const l = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
          this.line = '';
          const semi = l.indexOf(';');
          const hex = (semi < 0 ? l : l.slice(0, semi)).trim();
          if (!HEX.test(hex)) throw new UpstreamProtocolError(`bad chunk size ${JSON.stringify(hex.slice(0, 20))}`);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData;
          break;
        }
        case State.ChunkData: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          this.ev.data(buf.subarray(i, i + take), false);
          i += take;
          if (this.remaining === 0) {
            this.state = State.ChunkEnd;
            this.remaining = 2;
          }
          break;
        }
        case State.ChunkEnd: {
          // The CRLF after a chunk's data, possibly split across reads.
          const c = buf[i]!;
          if (this.remaining === 2 && c === 13) this.remaining = 1;
          else if (c === 10) this.state = State.ChunkSize;
          else throw new UpstreamProtocolError('missing CRLF after chunk data');
          i++;
          break;
        }
        case State.Trailers: {
          // Trailer fields are read and dropped (the gateway does not forward trailers).
          const nl = buf.indexOf(10, i);
          const end = nl < 0 ? n : nl;
          this.line += buf.toString('latin1', i, end);
          if (this.line.length > this.maxHeadBytes) throw new UpstreamProtocolError('trailers too large');
          i = nl < 0 ? n : nl + 1;
          if (nl < 0) break;
          const l = this.line;
          this.line = '';
          if (l === '' || l === '\r') this.finish();
          break;
        }
      }
    }
    return i;
  }

  /** The connection ended: completes a body delimited by the close, else the response was cut short. */
  eof(): void {
    if (this.state === State.UntilClose) return this.finish();
    if (this.state !== State.Done) throw new UpstreamProtocolError('the pod closed the connection before the response was complete');
  }

  private finish(): void {
    this.state = State.Done;
    this.ev.end();
  }

  private readHead(buf: Buffer, from: number): number {
    const prev = this.head;
    const data = prev ? Buffer.concat([prev, buf.subarray(from)]) : from === 0 ? buf : buf.subarray(from);
    // Search from just before the new bytes: the terminator may straddle reads.
    const at = data.indexOf(CRLFCRLF, prev ? Math.max(0, prev.length - 3) : 0);
    if (at < 0) {
      if (data.length > this.maxHeadBytes) throw new UpstreamProtocolError('response head too large');
      this.head = Buffer.from(data);
      return buf.length;
    }
    if (at > this.maxHeadBytes) throw new UpstreamProtocolError('response head too large');
    this.head = undefined;
    const used = at + 4 - (prev ? prev.length : 0);
    this.parseHead(data.toString('latin1', 0, at));
    return from + used;
  }

  private parseHead(text: string): void {
    // The status line: "HTTP/1.x SSS[ reason]", checked by hand (a regex per response showed in profiles).
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    const c0 = text.charCodeAt(9);
    const c1 = text.charCodeAt(10);
    const c2 = text.charCodeAt(11);
    const minorChar = text.charCodeAt(7);
    if (
      !text.startsWith('HTTP/1.') || (minorChar !== 48 && minorChar !== 49) || text.charCodeAt(8) !== 32 ||
      !(c0 >= 49 && c0 <= 57 && c1 >= 48 && c1 <= 57 && c2 >= 48 && c2 <= 57) || (eol > 12 && text.charCodeAt(12) !== 32) || eol < 12
    ) {
      throw new UpstreamProtocolError(`bad status line ${JSON.stringify(text.slice(0, Math.min(eol, 40)))}`);
    }
    const minor = minorChar === 49;
    const status = (c0 - 48) * 100 + (c1 - 48) * 10 + (c2 - 48);
    const headers: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let hasTransferEncoding = false;
    let close = !minor;
    this.keepAliveHintMs = undefined;
    let at = eol + 2;
    while (at < text.length) {
      let next = text.indexOf('\r\n', at);
      if (next < 0) next = text.length;
      const colon = text.indexOf(':', at);
      // An obs-fold continuation line (leading space) is refused, as RFC 9112 §5.2 allows.
      if (colon <= at || colon > next) throw new UpstreamProtocolError(`bad header line ${JSON.stringify(text.slice(at, Math.min(next, at + 40)))}`);
      // Names and values are not checked here: res.writeHead checks both (as
      // strictly as llhttp would have) and its throw fails the call with a 502.
      const name = text.slice(at, colon).toLowerCase();
      const value = text.slice(colon + 1, next).trim();
      at = next + 2;
      headers.push(name, value);
      switch (name) {
        case 'content-length': {
          const v = decimal(value);
          if (v < 0) throw new UpstreamProtocolError(`bad content-length ${JSON.stringify(value.slice(0, 20))}`);
          if (contentLength >= 0 && contentLength !== v) throw new UpstreamProtocolError('conflicting content-length headers');
          contentLength = v;
          break;
        }
        case 'transfer-encoding':
          hasTransferEncoding = true;
          // Only the last coding decides whether the body is chunked.
          chunked = value === 'chunked' || /(?:^|,)\s*chunked\s*$/i.test(value);
          break;
        case 'connection':
          if (value === 'keep-alive') {
            if (!minor) close = false;
          } else {
            const v = value.toLowerCase();
            if (/(?:^|,)\s*close\s*(?:,|$)/.test(v)) close = true;
            else if (!minor && /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(v)) close = false;
          }
          break;
        case 'keep-alive':
          this.keepAliveHintMs = keepAliveHint(value);
          break;
      }
    }
    if (status < 200) {
      // 101 would switch protocols, which the gateway never asks for; other 1xx are interim.
      if (status === 101) throw new UpstreamProtocolError('unexpected 101 Switching Protocols');
      return;
    }
    this.ev.head(status, headers);
    // RFC 9112 §6.3: which responses have a body, and how it is delimited.
    if (this.noBody || status === 204 || status === 304) {
      this.keepAlive = !close;
      return this.finish();
    }
    if (hasTransferEncoding) {
      if (contentLength >= 0) close = true;
      if (chunked) {
        this.keepAlive = !close;
        this.state = State.ChunkSize;
        return;
      }
      this.keepAlive = false;
      this.state = State.UntilClose;
      return;
    }
    if (contentLength >= 0) {
      this.keepAlive = !close;
      if (contentLength === 0) return this.finish();
      this.remaining = contentLength;
      this.state = State.Length;
      return;
    }
    this.keepAlive = false;
    this.state = State.UntilClose;
  }
}

/** How long an idle connection is kept without a hint from the pod (as the gateway's undici Agent). */
const DEFAULT_IDLE_MS = 30_000;
/** Margin below the pod's own keep-alive timeout, so we never write just as it closes (undici's 2 s). */
const HINT_MARGIN_MS = 2_000;
/** Parsed pod origins kept (a cache: cleared when full). */
const MAX_ORIGINS = 1024;
/** How often idle connections past their time are closed. */
const SWEEP_MS = 1_000;

/** One connection to a pod; its listeners are set once and route to the call it carries. */
class Conn {
  call: UpstreamCall | undefined;
  idleSince = 0;
  idleMs = DEFAULT_IDLE_MS;
  dead = false;

  constructor(
    readonly socket: Socket,
    readonly key: string,
    private readonly pool: UpstreamPool,
    /** Reads land in the shared READ_BUFFER (net's `onread`): whatever outlives a read is copied. */
    readonly sharedBuffer: boolean,
  ) {
    if (!sharedBuffer) socket.on('data', (b: Buffer) => this.read(b));
    socket.on('end', () => (this.call ? this.call.closed(undefined) : this.kill()));
    socket.on('error', (e: Error) => (this.call ? this.call.closed(e) : this.kill()));
    socket.on('close', () => {
      this.dead = true;
      this.call?.closed(undefined);
      this.pool.forget(this);
    });
  }

  read(b: Buffer): void {
    if (this.call) this.call.read(b);
    else this.kill(); // bytes nobody asked for: not a connection to reuse
  }

  kill(): void {
    this.dead = true;
    this.socket.destroy();
  }
}

/**
 * Where the pool's own connections read into (net's `onread`), one buffer
 * for all: a read is handled before the next one starts, and the parser
 * copies what it keeps (a partial head) as the call copies body pieces. It
 * spares each read a fresh buffer and a trip through the Readable stream
 * (push, then a 'data' event), a few percent of the gateway's CPU under load.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/**
 * Keep-alive connections per pod origin, and the calls on them. Idle
 * connections are reused last-in first-out (the warmest socket), checked
 * for age when taken, and swept once a second.
 */
export class UpstreamPool {
  private readonly idle = new Map<string, Conn[]>();
  /** Calls not ended yet, by origin (each holds one connection). */
  private readonly active = new Map<string, number>();
  /** Requests waiting for a call to their origin to end (queueIfBusy). */
  private readonly waiting = new Map<string, { max: number; starts: (() => void)[] }>();
  private readonly origins = new Map<string, { host: string; port: number }>();
  private sweeper: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    /** A parked connection to `host:port`, if one was opened ahead (gateway/preconnect.ts). */
    private readonly parked: (host: string, port: number) => Socket | undefined = () => undefined,
  ) {}

  /** Starts a bodiless request; `origin` is `http://host:port`. */
  request(origin: string, method: 'GET' | 'HEAD', head: string, handler: UpstreamHandler): UpstreamCall {
    // The connection first: a throw there (a malformed origin) leaves no call counted in use.
    const got = this.take(origin);
    const call = new UpstreamCall(this, origin, method === 'HEAD', head, handler, null, true);
    call.send(got);
    return call;
  }

  /**
   * Starts a request whose body is all in `body` (`head` must carry its
   * Content-Length). Head and body leave in one write. Unlike a GET, it is
   * never sent twice: a reused connection that closes before any byte of
   * the answer fails the call, since the pod may have read the request and
   * run it (a POST is not idempotent, RFC 9110 §9.2.2); the caller decides
   * (the dispatcher's retry policy, the gateway's never-reached-pod rule).
   * `isHead`: the answer to a HEAD has no body, whatever its head says.
   */
  requestWithBody(origin: string, head: string, body: Buffer, handler: UpstreamHandler, isHead = false): UpstreamCall {
    const got = this.take(origin);
    const call = new UpstreamCall(this, origin, isHead, head, handler, body, false);
    call.send(got);
    return call;
  }

  /** Calls to `origin` not ended yet: the connections to it in use. */
  inUse(origin: string): number {
    return this.active.get(origin) ?? 0;
  }

  /** A call started (counted until callEnded). */
  callStarted(origin: string): void {
    this.active.set(origin, (this.active.get(origin) ?? 0) + 1);
  }

  callEnded(origin: string): void {
    const n = (this.active.get(origin) ?? 0) - 1;
    if (n > 0) this.active.set(origin, n);
    else this.active.delete(origin);
    // In a microtask: the call that ended may still be inside its connection's read.
    if (this.waiting.has(origin)) queueMicrotask(() => this.drain(origin));
  }

  /**
   * For a caller that keeps at most `max` calls to `origin` in use: false
   * when it may start now (it starts the call itself); otherwise `start` is
   * queued (first come, first served) and called once a call to `origin`
   * ends, and true is returned. `start` must start a call, or give up (its
   * request was stopped meanwhile): then the next in line gets the turn.
   */
  queueIfBusy(origin: string, max: number, start: () => void): boolean {
    const q = this.waiting.get(origin);
    if (q === undefined && this.inUse(origin) < max) return false;
    if (q) q.starts.push(start);
    else this.waiting.set(origin, { max, starts: [start] });
    return true;
  }

  /** Takes a queued `start` out of line (its request was stopped); whether it was still waiting. */
  dequeue(origin: string, start: () => void): boolean {
    const q = this.waiting.get(origin);
    const k = q ? q.starts.indexOf(start) : -1;
    if (k < 0) return false;
    q!.starts.splice(k, 1);
    if (q!.starts.length === 0) this.waiting.delete(origin);
    return true;
  }

  /** Queued requests now (for tests). */
  queued(origin: string): number {
    return this.waiting.get(origin)?.starts.length ?? 0;
  }

  private drain(origin: string): void {
    const q = this.waiting.get(origin);
    while (q && q.starts.length > 0 && this.inUse(origin) < q.max) q.starts.shift()!();
    if (q && q.starts.length === 0 && this.waiting.get(origin) === q) this.waiting.delete(origin);
  }

  /** Idle connections now (for tests). */
  idleCount(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** An idle connection to origin still in its time, else a new one. */
  take(origin: string, fresh = false): { conn: Conn; reused: boolean } {
    const list = fresh ? undefined : this.idle.get(origin);
    if (list) {
      const now = this.clock.now();
      while (list.length) {
        const c = list.pop()!;
        if (c.dead) continue;
        if (now - c.idleSince >= c.idleMs) {
          c.kill();
          continue;
        }
        c.socket.ref();
        return { conn: c, reused: true };
      }
    }
    let o = this.origins.get(origin);
    if (!o) {
      // Pods come and go on new ports: the parsed origins must not grow for ever.
      if (this.origins.size >= MAX_ORIGINS) this.origins.clear();
      const u = new URL(origin);
      o = { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 80) };
      this.origins.set(origin, o);
    }
    const parked = this.parked(o.host, o.port);
    if (parked) {
      parked.setNoDelay(true);
      return { conn: new Conn(parked, origin, this, false), reused: false };
    }
    let conn: Conn | undefined;
    const socket = connect({
      host: o.host, port: o.port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000,
      // true keeps reading; the call pauses the socket itself for backpressure.
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          conn!.read((buf as Buffer).subarray(0, n));
          return true;
        },
      },
    });
    conn = new Conn(socket, origin, this, true);
    return { conn, reused: false };
  }

  /** A call ended well on `c`: keep it for the next one, or close it. */
  release(c: Conn, parser: ResponseParser): void {
    c.call = undefined;
    const hint = parser.keepAliveHintMs;
    const idleMs = hint === undefined ? DEFAULT_IDLE_MS : hint - HINT_MARGIN_MS;
    if (this.closed || c.dead || !parser.keepAlive || idleMs <= 0) return c.kill();
    c.idleMs = idleMs;
    c.idleSince = this.clock.now();
    // An idle connection must not keep the process alive.
    c.socket.unref();
    let list = this.idle.get(c.key);
    if (!list) this.idle.set(c.key, (list = []));
    list.push(c);
    this.sweeper ??= this.clock.setInterval(() => this.sweep(), SWEEP_MS);
  }

  forget(c: Conn): void {
    const list = this.idle.get(c.key);
    if (!list) return;
    const k = list.indexOf(c);
    if (k >= 0) list.splice(k, 1);
    if (!list.length) this.idle.delete(c.key);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [key, list] of this.idle) {
      for (const c of list.filter((c) => c.dead || now - c.idleSince >= c.idleMs)) c.kill();
      const live = list.filter((c) => !c.dead);
      if (live.length) this.idle.set(key, live);
      else this.idle.delete(key);
    }
    if (this.idle.size === 0) {
      this.clock.clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const c of list) c.kill();
    this.idle.clear();
    this.clock.clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}

/** One request on a pooled connection. */
export class UpstreamCall implements ResponseEvents {
  private conn: Conn | undefined;
  private parser: ResponseParser;
  private reused = false;
  /** Whether the pod sent any byte for this call (then it has seen the request). */
  private answered = false;
  private ended = false;
  private paused = false;
  /** The body's final piece, held for onEnd (the parser ends the response right after it). */
  private last: Buffer | undefined;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly origin: string,
    private readonly isHead: boolean,
    private readonly requestHead: string,
    private readonly handler: UpstreamHandler,
    /** The whole request body (its length is in the head), or null. */
    private readonly body: Buffer | null,
    /** Whether the request may go again on a fresh connection when a reused one closed before answering. */
    private readonly resendable: boolean,
  ) {
    this.parser = new ResponseParser(this, isHead);
    pool.callStarted(origin);
  }

  send(got: { conn: Conn; reused: boolean }): void {
    this.conn = got.conn;
    this.reused = got.reused;
    got.conn.call = this;
    // Written at once even while connecting: net buffers it until the socket is up.
    if (this.body === null || this.body.length === 0) {
      got.conn.socket.write(this.requestHead, 'latin1');
      return;
    }
    // One buffer, one write (a write of the head and one of the body cost two
    // trips through the stream, or a writev, per request).
    const headBytes = Buffer.byteLength(this.requestHead, 'latin1');
    const out = Buffer.allocUnsafe(headBytes + this.body.length);
    out.write(this.requestHead, 0, headBytes, 'latin1');
    this.body.copy(out, headBytes);
    got.conn.socket.write(out);
  }

  /** Bytes from the pod. */
  read(b: Buffer): void {
    if (this.ended) return;
    this.answered = true;
    let used: number;
    try {
      used = this.parser.execute(b);
    } catch (e) {
      return this.fail(e as Error);
    }
    if (this.parser.done && used < b.length) this.conn?.kill(); // bytes beyond the response: do not reuse
  }

  /** The connection ended or failed while this call was on it. */
  closed(err: Error | undefined): void {
    if (this.ended) return;
    const conn = this.conn;
    // A reused connection the pod closed before any byte of the answer: the
    // pod's keep-alive timeout crossed our write, and it never read the
    // request. A GET or HEAD goes again on a new connection; a request with
    // a body fails (see requestWithBody): it may have been read after all.
    if (this.resendable && this.reused && !this.answered && conn) {
      conn.call = undefined;
      conn.kill();
      this.parser = new ResponseParser(this, this.isHead);
      return this.send(this.pool.take(this.origin, true));
    }
    if (!err) {
      try {
        this.parser.eof();
        return;
      } catch (e) {
        err = e as Error;
      }
    }
    this.fail(err);
  }

  head(status: number, headers: string[]): void {
    this.handler.onHead(status, headers);
  }

  data(chunk: Buffer, last: boolean): void {
    if (this.ended) return;
    // A piece of the shared read buffer is copied: the client's socket may hold it past this read.
    if (this.conn?.sharedBuffer) chunk = Buffer.from(chunk);
    if (last && this.handler.lastWithEnd) {
      this.last = chunk;
      return;
    }
    if (!this.handler.onData(chunk) && !this.paused) {
      this.paused = true;
      this.conn?.socket.pause();
    }
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.pool.callEnded(this.origin);
    const conn = this.conn!;
    if (this.paused) conn.socket.resume();
    this.pool.release(conn, this.parser);
    const last = this.last;
    this.last = undefined;
    this.handler.onEnd(last);
  }

  /** Stops reading the pod's answer until `resume()` (the caller is slow). */
  pause(): void {
    if (this.paused || this.ended) return;
    this.paused = true;
    this.conn?.socket.pause();
  }

  /** After onData returned false, or pause(): read on. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.conn?.socket.resume();
  }

  /** Stops the call (timeout, client gone): the connection is closed, onError gets `reason`. */
  abort(reason: Error): void {
    this.fail(reason);
  }

  private fail(err: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.pool.callEnded(this.origin);
    const conn = this.conn;
    if (conn) {
      conn.call = undefined;
      conn.kill();
    }
    this.handler.onError(err);
  }
}
