import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RevisionThrottler } from '../activator/throttler.js';
import { realClock } from '../core/clock.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../core/http-server.js';
import { waitFor } from '../test/support/wait.js';
import { HAND_OVER, NEED_MORE, parseLeanHead, type LeanHead } from './lean.js';
import { RouteTable } from './routes.js';
import { createGateway, type Gateway, type RevisionHandle } from './server.js';

const MAX = 16 * 1024;
const parse = (s: string, max = MAX) => parseLeanHead(Buffer.from(s, 'latin1'), max);

describe('parseLeanHead', () => {
  const accepted: { name: string; head: string; want: Partial<LeanHead> }[] = [
    { name: 'a plain GET', head: 'GET /x?y=1 HTTP/1.1\r\nHost: a.example.com\r\n\r\n', want: { method: 'GET', url: '/x?y=1', httpVersionMinor: 1, keepAlive: true, headers: { host: 'a.example.com' } } },
    { name: 'HEAD', head: 'HEAD / HTTP/1.1\r\nhost: a\r\n\r\n', want: { method: 'HEAD', keepAlive: true } },
    { name: 'names lower-cased, values trimmed', head: 'GET / HTTP/1.1\r\nHOST:a \r\nX-Thing: \t v w \t\r\n\r\n', want: { headers: { host: 'a', 'x-thing': 'v w' } } },
    { name: 'an empty value', head: 'GET / HTTP/1.1\r\nHost: a\r\nX-E:\r\n\r\n', want: { headers: { host: 'a', 'x-e': '' } } },
    { name: 'Connection: close', head: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', want: { keepAlive: false } },
    { name: 'close among other tokens', head: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: x-a, Close\r\n\r\n', want: { keepAlive: false } },
    { name: 'HTTP/1.0 closes by default', head: 'GET / HTTP/1.0\r\nHost: a\r\n\r\n', want: { httpVersionMinor: 0, keepAlive: false } },
    { name: 'HTTP/1.0 keep-alive', head: 'GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n', want: { httpVersionMinor: 0, keepAlive: true } },
    { name: 'Content-Length: 0', head: 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n', want: { headers: { host: 'a', 'content-length': '0' } } },
    { name: 'obs-text in a value', head: 'GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n', want: { headers: { host: 'a', x: 'caf\xe9' } } },
  ];
  for (const c of accepted) {
    it(`reads ${c.name}`, () => {
      const h = parse(c.head);
      expect(typeof h).toBe('object');
      expect(h).toMatchObject({ ...c.want, length: Buffer.byteLength(c.head, 'latin1') });
    });
  }

  const handedOver: { name: string; head: string; max?: number }[] = [
    { name: 'POST', head: 'POST / HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'a lower-case method', head: 'get / HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'OPTIONS *', head: 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'an absolute-form target', head: 'GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'HTTP/2.0', head: 'GET / HTTP/2.0\r\nHost: a\r\n\r\n' },
    { name: 'HTTP/1.2', head: 'GET / HTTP/1.2\r\nHost: a\r\n\r\n' },
    { name: 'an HTTP/0.9 line', head: 'GET /\r\n\r\n' },
    { name: 'two spaces in the request line', head: 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'a space in the target', head: 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'a control character in the target', head: 'GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'a non-ASCII target', head: 'GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n' },
    { name: 'no Host', head: 'GET / HTTP/1.1\r\n\r\n' },
    { name: 'no Host on HTTP/1.0', head: 'GET / HTTP/1.0\r\n\r\n' },
    { name: 'two Hosts', head: 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' },
    { name: 'a repeated field', head: 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nx: 2\r\n\r\n' },
    { name: 'Transfer-Encoding', head: 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' },
    { name: 'a body length', head: 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n' },
    { name: 'a signed zero length', head: 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: +0\r\n\r\n' },
    { name: 'Upgrade', head: 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n' },
    { name: 'Connection: upgrade alone', head: 'GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\n\r\n' },
    { name: 'Expect', head: 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n' },
    { name: 'obsolete line folding', head: 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n' },
    { name: 'a space before the colon', head: 'GET / HTTP/1.1\r\nHost : a\r\n\r\n' },
    { name: 'a line without a colon', head: 'GET / HTTP/1.1\r\nHost: a\r\nnonsense\r\n\r\n' },
    { name: 'an empty name', head: 'GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n' },
    { name: 'a bad name', head: 'GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n' },
    { name: 'NUL in a value', head: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n' },
    { name: 'DEL in a value', head: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n' },
    { name: 'a bare CR in a value', head: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n' },
    { name: 'a bare LF ending a line', head: 'GET / HTTP/1.1\nHost: a\r\n\r\n' },
    { name: 'bare LF line ends only (incomplete for a strict reader)', head: 'GET / HTTP/1.1\nHost: a\n\n' },
    { name: 'a head over the limit', head: `GET / HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(200)}\r\n\r\n`, max: 100 },
    { name: 'an incomplete head already at the limit', head: `GET / HTTP/1.1\r\nHost: a\r\nX: ${'y'.repeat(200)}`, max: 100 },
  ];
  for (const c of handedOver) {
    it(`hands over ${c.name}`, () => {
      expect(parse(c.head, c.max)).toBe(HAND_OVER);
    });
  }

  it('waits for the rest of an incomplete head', () => {
    for (const s of ['', 'G', 'GET / HTTP/1.1\r', 'GET / HTTP/1.1\r\nHost: a\r\n', 'GET / HTTP/1.1\r\nHost: a\r\n\r']) expect(parse(s)).toBe(NEED_MORE);
  });

  it('reports the head length, so that bytes after it (a pipelined request) are seen', () => {
    const one = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n';
    const h = parse(one + one) as LeanHead;
    expect(h.length).toBe(one.length);
  });

  it('never throws on any bytes: mutations of a good head and random bytes', () => {
    const good = Buffer.from('GET /p?q=1 HTTP/1.1\r\nHost: a.example.com\r\nConnection: keep-alive\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n', 'latin1');
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(good);
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      const r = parseLeanHead(b.subarray(0, Math.floor(rnd() * (b.length + 1))), MAX);
      if (typeof r === 'object') {
        // Whatever is accepted is of the plain kind.
        expect(['GET', 'HEAD']).toContain(r.method);
        expect(r.url.startsWith('/')).toBe(true);
        expect(r.headers.host).toBeDefined();
      }
      const junk = Buffer.alloc(Math.floor(rnd() * 64));
      for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rnd() * 256);
      expect(() => parseLeanHead(junk, MAX)).not.toThrow();
    }
  });
});

/** A raw HTTP/1.1 client on one connection, reading responses by their framing. */
class RawConn {
  readonly sock: net.Socket;
  private buf = Buffer.alloc(0);
  closed = false;
  constructor(port: number) {
    this.sock = net.connect({ host: '127.0.0.1', port });
    this.sock.on('data', (c: Buffer) => (this.buf = Buffer.concat([this.buf, c])));
    this.sock.on('close', () => (this.closed = true));
    this.sock.on('error', () => undefined);
  }

  send(s: string): void {
    this.sock.write(s, 'latin1');
  }

  /** The next whole response (`head` true for a response to HEAD: no body). */
  async response(opts: { head?: boolean } = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    let out: { status: number; headers: Record<string, string>; body: string } | undefined;
    await waitFor(() => {
      const text = this.buf.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const lines = text.slice(0, end).split('\r\n');
      const status = Number(lines[0]!.split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      let rest = text.slice(end + 4);
      let body = '';
      if (opts.head || status === 204 || status === 304) {
        // nothing
      } else if (headers['content-length'] !== undefined) {
        const n = Number(headers['content-length']);
        if (rest.length < n) return false;
        body = rest.slice(0, n);
        rest = rest.slice(n);
      } else if (headers['transfer-encoding'] === 'chunked') {
        for (;;) {
          const e = rest.indexOf('\r\n');
          if (e < 0) return false;
          const n = parseInt(rest.slice(0, e), 16);
          if (rest.length < e + 2 + n + 2) return false;
          body += rest.slice(e + 2, e + 2 + n);
          rest = rest.slice(e + 2 + n + 2);
          if (n === 0) break;
        }
      } else {
        if (!this.closed) return false;
        body = rest;
        rest = '';
      }
      this.buf = Buffer.from(rest, 'latin1');
      out = { status, headers, body };
      return true;
    }, 5_000, { message: 'a response' });
    return out!;
  }

  close(): void {
    this.sock.destroy();
  }
}

describe('the lean server, end to end on loopback', () => {
  let gw: Gateway | undefined;
  let pod: http.Server | undefined;
  const conns: RawConn[] = [];
  afterEach(async () => {
    for (const c of conns.splice(0)) c.close();
    await gw?.close(0);
    gw = undefined;
    pod?.closeAllConnections();
    await new Promise<void>((r) => (pod ? pod.close(() => r()) : r()));
    pod = undefined;
  });

  /** Requests the pod saw, and the held ones (/hold) it has not answered. */
  let seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let held: http.ServerResponse[] = [];
  let podClosed = 0;
  let ended = 0;
  let bigBlocked = false;
  let revisionThrows = false;
  let gwSockets: net.Socket[] = [];
  let gwBuffered = 0;

  async function start(opts: { lean?: boolean; http?: Partial<HttpLimits> } = {}): Promise<{ port: number; throttler: RevisionThrottler }> {
    seen = [];
    held = [];
    podClosed = 0;
    ended = 0;
    bigBlocked = false;
    revisionThrows = false;
    gwSockets = [];
    gwBuffered = 0;
    pod = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('latin1')));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/hold') {
          held.push(res);
          res.on('close', () => podClosed++);
          return;
        }
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/plain', connection: 'x-hop', 'x-hop': 'secret' });
          res.write('one,');
          setImmediate(() => res.end('two'));
          return;
        }
        if (req.url === '/big') {
          // 16 MiB in 64 KiB pieces, written as fast as the gateway takes them (chunked).
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          let i = 0;
          const more = (): void => {
            while (i < 256) {
              // What the gateway holds unsent for its client: bounded when it honours backpressure.
              for (const g of gwSockets) gwBuffered = Math.max(gwBuffered, g.writableLength);
              const piece = Buffer.alloc(65536, i % 251);
              i++;
              if (!res.write(piece)) {
                bigBlocked = true;
                res.once('drain', more);
                return;
              }
            }
            res.end();
          };
          more();
          return;
        }
        if (req.url === '/bytes') {
          const all = Buffer.alloc(256);
          for (let i = 0; i < 256; i++) all[i] = i;
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 256 });
          res.end(all);
          return;
        }
        if (req.url === '/empty') {
          res.writeHead(204);
          res.end();
          return;
        }
        const text = `${req.method} ${req.url} ${body}`;
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text), 'set-cookie': ['a=1', 'b=2'] });
        res.end(req.method === 'HEAD' ? undefined : text);
      });
    });
    await new Promise<void>((r) => pod!.listen(0, '127.0.0.1', () => r()));
    const podUrl = `http://127.0.0.1:${(pod.address() as { port: number }).port}`;
    const routes = new RouteTable();
    routes.set({ namespace: 'default', service: 'fn', targets: [{ revision: 'default/fn-00001', percent: 100 }] }, 'example.com', new Map());
    const throttler = new RevisionThrottler({ clock: realClock, containerConcurrency: 0, queueDepth: 10, retryAfterSeconds: 1, onQueued: () => undefined });
    throttler.updateBackends([{ id: 'p1', url: podUrl }]);
    const handle: RevisionHandle = { throttler, stats: { begin: () => undefined, end: () => void ended++ }, timeoutMs: 10_000 };
    gw = createGateway({
      clock: realClock, routes, maxBodyBytes: 1024,
      revision: (id) => {
        if (revisionThrows) throw new Error('revision lookup failed');
        return id === 'default/fn-00001' ? handle : undefined;
      },
      http: { ...DEFAULT_HTTP_LIMITS, ...opts.http }, leanServer: opts.lean ?? true,
    });
    gw.server.on('connection', (s: net.Socket) => gwSockets.push(s));
    gw.mount('/platform/', (_req, res) => void res.end('mounted'));
    const port = await gw.listen(0, '127.0.0.1');
    return { port, throttler };
  }

  const connect = (port: number): RawConn => {
    const c = new RawConn(port);
    conns.push(c);
    return c;
  };
  const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: fn.default.example.com\r\n${extra}\r\n`;

  it('serves a keep-alive sequence lean, then hands the connection over for an odd request, answered correctly, and keeps serving', async () => {
    const { port } = await start();
    const c = connect(port);
    for (let i = 0; i < 3; i++) {
      c.send(GET(`/a${i}`, 'X-Forwarded-For: 9.9.9.9\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n'));
      const r = await c.response();
      expect(r.status).toBe(200);
      expect(r.body).toBe(`GET /a${i} `);
      expect(r.headers.connection).toBe('keep-alive');
      expect(r.headers.date).toBeDefined();
    }
    expect(gw!.leanStats()).toMatchObject({ served: 3, handedOver: 0 });
    // The function saw what Node's path sends: hop-by-hop fields gone, forwarding fields added.
    const h = seen[0]!.headers;
    expect(h['x-forwarded-for']).toBe('9.9.9.9, 127.0.0.1');
    expect(h.forwarded).toBe('for=127.0.0.1;proto=http;host=fn.default.example.com');
    expect(h.connection).not.toBe('keep-alive');
    expect(h['keep-alive']).toBeUndefined();
    expect(h.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    // A body: Node's server takes over on the same connection.
    c.send('POST /b HTTP/1.1\r\nHost: fn.default.example.com\r\nContent-Length: 5\r\n\r\nhello');
    expect((await c.response()).body).toBe('POST /b hello');
    c.send(GET('/c'));
    expect((await c.response()).body).toBe('GET /c ');
    expect(gw!.leanStats()).toMatchObject({ served: 3, handedOver: 1, open: 0 });
    expect(c.closed).toBe(false);
  });

  it('hands over a request the gateway answers itself (404, a mount, /healthz) before reading it', async () => {
    const { port } = await start();
    const c = connect(port);
    c.send(GET('/x'));
    expect((await c.response()).status).toBe(200);
    c.send('GET /nothing HTTP/1.1\r\nHost: other.example.org\r\n\r\n');
    const r = await c.response();
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_FUNCTION_NOT_FOUND');
    c.send('GET /platform/x HTTP/1.1\r\nHost: gw\r\n\r\n');
    expect((await c.response()).body).toBe('mounted');
    const d = connect(port);
    d.send('GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n');
    expect((await d.response()).body).toBe('ok');
    expect(gw!.leanStats()).toMatchObject({ served: 1, handedOver: 2 });
  });

  it('answers pipelined requests in order (handed over)', async () => {
    const { port } = await start();
    const c = connect(port);
    c.send(GET('/p1') + GET('/p2') + GET('/p3'));
    expect((await c.response()).body).toBe('GET /p1 ');
    expect((await c.response()).body).toBe('GET /p2 ');
    expect((await c.response()).body).toBe('GET /p3 ');
    // A request pipelined behind one served lean waits for that response, then goes to Node's server.
    const d = connect(port);
    d.send(GET('/hold'));
    await waitFor(() => held.length === 1, 5_000);
    d.send(GET('/after'));
    held[0]!.end('held');
    expect((await d.response()).body).toBe('held');
    expect((await d.response()).body).toBe('GET /after ');
    expect(gw!.leanStats()).toMatchObject({ served: 1, handedOver: 2 });
  });

  it('answers HEAD without a body, keeping the function\'s length, and the connection stays usable', async () => {
    const { port } = await start();
    const c = connect(port);
    c.send(`HEAD /h HTTP/1.1\r\nHost: fn.default.example.com\r\n\r\n`);
    const r = await c.response({ head: true });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String('HEAD /h '.length));
    c.send(GET('/next'));
    expect((await c.response()).body).toBe('GET /next ');
    expect(gw!.leanStats()).toMatchObject({ served: 2, handedOver: 0 });
  });

  it('frames a streamed answer as chunked and drops the function\'s hop-by-hop fields; 204 has no body', async () => {
    const { port } = await start();
    const c = connect(port);
    c.send(GET('/stream'));
    const r = await c.response();
    expect(r.body).toBe('one,two');
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers['x-hop']).toBeUndefined();
    c.send(GET('/empty'));
    expect((await c.response()).status).toBe(204);
    c.send(GET('/z'));
    expect((await c.response()).body).toBe('GET /z ');
    // And node:http agrees with the framing.
    const body = await new Promise<string>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/stream', headers: { host: 'fn.default.example.com' } }, (res) => {
        let b = '';
        res.on('data', (x: Buffer) => (b += x.toString()));
        res.on('end', () => resolve(b));
      }).on('error', reject);
    });
    expect(body).toBe('one,two');
  });

  it('relays a small answer byte for byte (head and body leave in one write)', async () => {
    const { port } = await start();
    const got = await new Promise<Buffer>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/bytes', headers: { host: 'fn.default.example.com' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (x: Buffer) => parts.push(x));
        res.on('end', () => resolve(Buffer.concat(parts)));
      }).on('error', reject);
    });
    expect(got.length).toBe(256);
    for (let i = 0; i < 256; i++) expect(got[i]).toBe(i);
    expect(gw!.leanStats()).toMatchObject({ served: 1 });
  });

  it('relays a large answer to a slow reader with backpressure, then serves the next request', async () => {
    const { port } = await start();
    const c = connect(port);
    c.sock.pause();
    c.send(GET('/big'));
    // The client reads nothing: the gateway's socket fills, and the pod is held back.
    await waitFor(() => bigBlocked, 5_000, { message: 'backpressure to reach the pod' });
    c.sock.resume();
    const r = await c.response();
    expect(r.body.length).toBe(256 * 65536);
    for (let i = 0; i < 256; i++) expect(r.body.charCodeAt(i * 65536)).toBe(i % 251);
    expect(gwBuffered).toBeLessThan(2 * 1024 * 1024);
    c.send(GET('/after-big'));
    expect((await c.response()).body).toBe('GET /after-big ');
    expect(gw!.leanStats()).toMatchObject({ served: 2, handedOver: 0 });
  });

  it('closes after Connection: close, and after an HTTP/1.0 request without keep-alive', async () => {
    const { port } = await start();
    const c = connect(port);
    c.send(GET('/c', 'Connection: close\r\n'));
    const r = await c.response();
    expect(r.body).toBe('GET /c ');
    expect(r.headers.connection).toBe('close');
    await waitFor(() => c.closed, 5_000, { message: 'the gateway to close' });
    // A client that keeps its side open is not waited for: the gateway frees the socket.
    const half = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    half.on('data', () => undefined);
    half.on('error', () => undefined);
    half.write(GET('/half', 'Connection: close\r\n'));
    await waitFor(() => gwSockets.length === 2 && gwSockets[1]!.destroyed, 3_000, { message: 'the gateway to free a half-open connection' });
    half.destroy();
    const d = connect(port);
    d.send('GET /d HTTP/1.0\r\nHost: fn.default.example.com\r\n\r\n');
    expect((await d.response()).body).toBe('GET /d ');
    await waitFor(() => d.closed, 5_000, { message: 'the gateway to close the 1.0 connection' });
    const e = connect(port);
    e.send('GET /e HTTP/1.0\r\nHost: fn.default.example.com\r\nConnection: keep-alive\r\n\r\n');
    const re = await e.response();
    expect(re.headers.connection).toBe('keep-alive');
    e.send('GET /f HTTP/1.0\r\nHost: fn.default.example.com\r\nConnection: keep-alive\r\n\r\n');
    expect((await e.response()).body).toBe('GET /f ');
    expect(gw!.leanStats()).toMatchObject({ served: 5, handedOver: 0 });
  });

  it('a client that goes away mid-request cancels the call to the pod and frees its slot', async () => {
    const { port, throttler } = await start();
    const c = connect(port);
    c.send(GET('/hold'));
    await waitFor(() => held.length === 1 && throttler.inFlight() === 1, 5_000);
    c.close();
    await waitFor(() => podClosed === 1 && throttler.inFlight() === 0 && ended === 1, 5_000, { message: 'the pod call to be cancelled' });
    expect(gw!.leanStats()).toMatchObject({ served: 1, open: 0 });
  });

  it('cuts a slowloris head after the headers timeout (408) and closes an idle kept-alive connection', async () => {
    const { port } = await start({ http: { headersTimeoutMs: 300, keepAliveTimeoutMs: 400, connectionsCheckingIntervalMs: 50 } });
    const c = connect(port);
    c.send('GET / HTTP/1.1\r\nHost: fn.default.exa');
    const r = await c.response();
    expect(r.status).toBe(408);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_CLIENT_TIMEOUT');
    await waitFor(() => c.closed, 5_000);
    const d = connect(port);
    d.send(GET('/k'));
    expect((await d.response()).status).toBe(200);
    await waitFor(() => d.closed, 5_000, { message: 'the idle connection to close' });
  });

  it('answers a huge head 431 through Node\'s server', async () => {
    const { port } = await start({ http: { maxHeaderBytes: 2048 } });
    const c = connect(port);
    c.send(GET('/big', `X-Big: ${'b'.repeat(4000)}\r\n`));
    const r = await c.response();
    expect(r.status).toBe(431);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_HEADERS_TOO_LARGE');
    expect(gw!.leanStats()).toMatchObject({ served: 0, handedOver: 1 });
  });

  it('on close: an idle lean connection closes at once, a busy one gets its answer with Connection: close', async () => {
    const { port } = await start();
    const idle = connect(port);
    idle.send(GET('/i'));
    await idle.response();
    const busy = connect(port);
    busy.send(GET('/hold'));
    await waitFor(() => held.length === 1, 5_000);
    const closing = gw!.close(5_000);
    await waitFor(() => idle.closed, 5_000, { message: 'the idle connection to close' });
    held[0]!.end('last');
    const r = await busy.response();
    expect(r.body).toBe('last');
    expect(r.headers.connection).toBe('close');
    await closing;
    await waitFor(() => busy.closed, 5_000);
    gw = undefined;
  });

  it('a failure while routing is no crash: the request goes to Node\'s path, which answers 500 as before', async () => {
    const { port } = await start();
    revisionThrows = true;
    const c = connect(port);
    c.send(GET('/t'));
    const r = await c.response();
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body).code).toBe('ZENO_ERR_INTERNAL');
    revisionThrows = false;
    c.send(GET('/u'));
    expect((await c.response()).body).toBe('GET /u ');
    expect(gw!.leanStats()).toMatchObject({ served: 0, handedOver: 1 });
  });

  it('with the lean server off, Node\'s server answers everything', async () => {
    const { port } = await start({ lean: false });
    const c = connect(port);
    c.send(GET('/o'));
    expect((await c.response()).body).toBe('GET /o ');
    expect(gw!.leanStats()).toBeUndefined();
  });
});
