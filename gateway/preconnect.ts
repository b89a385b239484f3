import { connect as netConnect, type Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { Clock, TimerHandle } from '../core/clock.js';

/**
 * How long an opened connection waits for its first request before it is
 * closed: longer than any handler import, short enough not to hold sockets
 * for pods that never became ready.
 */
export const PRECONNECT_TTL_MS = 30_000;

/** `host:port` with IPv6 brackets dropped, the same for a URL and for undici's connect options. */
function keyOf(hostname: string, port: number | string): string {
  return `${hostname.replace(/^\[(.*)\]$/, '$1')}:${port}`;
}

interface Parked {
  socket: Socket;
  /** Undefined while it waits for a warm process to become a pod (no expiry then). */
  timer: TimerHandle | undefined;
}

/**
 * Connections opened to a pod before it is ready, so the first request does
 * not pay the TCP connect on the cold-start path. A specialized warm process
 * listens on its port while it imports its handler (docs/functions.md); the
 * gateway connects meanwhile and sends nothing until the pod is ready.
 * `connector` is undici's connect hook: it hands out a parked connection for
 * its origin once, else connects as undici would.
 */
export class Preconnector {
  private readonly parked = new Map<string, Parked>();
  private readonly fallback: buildConnector.connector;
  private closed = false;

  constructor(private readonly clock: Clock, private readonly ttlMs = PRECONNECT_TTL_MS) {
    this.fallback = buildConnector({});
  }

  /**
   * Opens one connection to `url` (an http origin), unless one is parked
   * already. With `untilTaken` (a warm process of the pool, which may wait
   * minutes for its cold start) it has no expiry: it goes when taken, or
   * when the process closes it or dies. Opening again without it (the
   * process became a pod) gives a parked connection the usual expiry.
   */
  open(url: string, opts: { untilTaken?: boolean } = {}): void {
    if (this.closed) return;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return;
    }
    if (u.protocol !== 'http:') return;
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(u.port || 80);
    const key = keyOf(host, port);
    const known = this.parked.get(key);
    if (known) {
      if (!known.timer && !opts.untilTaken) known.timer = this.clock.setTimeout(() => this.drop(key, known.socket), this.ttlMs);
      return;
    }
    // As undici's own connector sets them up.
    const socket = netConnect({ host, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 });
    const drop = (): void => this.drop(key, socket);
    socket.on('error', drop);
    socket.once('close', drop);
    // A pod that answers something before being asked is not talking HTTP to us.
    socket.once('data', drop);
    const timer = opts.untilTaken ? undefined : this.clock.setTimeout(drop, this.ttlMs);
    this.parked.set(key, { socket, timer });
  }

  private drop(key: string, socket: Socket): void {
    const p = this.parked.get(key);
    if (p?.socket !== socket) return;
    this.parked.delete(key);
    this.clock.clearTimeout(p.timer);
    socket.destroy();
  }

  /** Parked connections (for tests). */
  size(): number {
    return this.parked.size;
  }

  /**
   * Hands out the connection parked for `host:port`, once (still connecting
   * or connected), for a client that takes it over; undefined when none is.
   */
  take(host: string, port: number | string): Socket | undefined {
    const key = keyOf(host, port);
    const p = this.parked.get(key);
    if (!p) return undefined;
    this.parked.delete(key);
    this.clock.clearTimeout(p.timer);
    const { socket } = p;
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    socket.removeAllListeners('data');
    return socket.destroyed ? undefined : socket;
  }

  /** undici's `connect` option. */
  readonly connector: buildConnector.connector = (opts, callback) => {
    const socket = opts.protocol === 'http:' ? this.take(opts.hostname, opts.port || 80) : undefined;
    if (!socket) return this.fallback(opts, callback);
    if (!socket.connecting) {
      queueMicrotask(() => callback(null, socket));
      return;
    }
    const onConnect = (): void => {
      socket.off('error', onError);
      callback(null, socket);
    };
    const onError = (): void => {
      socket.off('connect', onConnect);
      socket.destroy();
      this.fallback(opts, callback);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
  };

  close(): void {
    this.closed = true;
    for (const p of this.parked.values()) {
      this.clock.clearTimeout(p.timer);
      p.socket.destroy();
    }
    this.parked.clear();
  }
}
