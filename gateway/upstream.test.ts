import { createServer as createHttpServer, type RequestListener } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { waitFor } from '../test/support/wait.js';
import { ResponseParser, UpstreamPool, UpstreamProtocolError, type UpstreamHandler } from './upstream.js';

interface Parsed {
  heads: { status: number; headers: string[] }[];
  body: string;
  ended: boolean;
  used: number;
  keepAlive: boolean;
}

/** Feeds `wire` to a parser in pieces of `step` bytes (0: all at once), then EOF when `eof`. */
function parse(wire: string, opts: { step?: number; noBody?: boolean; eof?: boolean } = {}): Parsed {
  const out: Parsed = { heads: [], body: '', ended: false, used: 0, keepAlive: false };
  const p = new ResponseParser({
    head: (status, headers) => out.heads.push({ status, headers }),
    data: (c) => (out.body += c.toString('latin1')),
    end: () => (out.ended = true),
  }, opts.noBody ?? false, 1024);
  const buf = Buffer.from(wire, 'latin1');
  const step = opts.step || buf.length || 1;
  // Each read lands in the same scratch buffer, overwritten by the next (as the pool's shared read buffer is).
  const scratch = Buffer.alloc(step);
  for (let i = 0; i < buf.length && !p.done; i += step) {
    const n = buf.copy(scratch, 0, i, Math.min(buf.length, i + step));
    const used = p.execute(scratch.subarray(0, n));
    out.used = i + used;
  }
  if (opts.eof) p.eof();
  out.keepAlive = p.keepAlive;
  return out;
}

describe('ResponseParser', () => {
  const ok: { name: string; wire: string; noBody?: boolean; eof?: boolean; status: number; headers: string[]; body: string; keepAlive: boolean; used?: number }[] = [
    {
      name: 'a Content-Length body, names lower-cased, values trimmed',
      wire: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A:  b \r\n\r\nhello',
      status: 200, headers: ['content-length', '5', 'x-a', 'b'], body: 'hello', keepAlive: true,
    },
    {
      name: 'a chunked body with an extension and trailers',
      wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n world, hi\r\n0\r\nT: v\r\n\r\n',
      status: 200, headers: ['transfer-encoding', 'chunked'], body: 'hello world, hi', keepAlive: true,
    },
    {
      name: 'Connection: close forbids reuse',
      wire: 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok',
      status: 200, headers: ['connection', 'close', 'content-length', '2'], body: 'ok', keepAlive: false,
    },
    {
      name: 'no length: the body runs to the close',
      wire: 'HTTP/1.0 200 OK\r\n\r\nuntil close', eof: true,
      status: 200, headers: [], body: 'until close', keepAlive: false,
    },
    {
      name: 'a non-chunked Transfer-Encoding runs to the close too',
      wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabcdef', eof: true,
      status: 200, headers: ['transfer-encoding', 'gzip', 'content-length', '3'], body: 'abcdef', keepAlive: false,
    },
    {
      name: 'HTTP/1.0 keep-alive is honoured',
      wire: 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx',
      status: 200, headers: ['connection', 'keep-alive', 'content-length', '1'], body: 'x', keepAlive: true,
    },
    {
      name: 'a HEAD answer has no body whatever its length says',
      wire: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', noBody: true,
      status: 200, headers: ['content-length', '5'], body: '', keepAlive: true,
    },
    { name: '204 has no body', wire: 'HTTP/1.1 204 No Content\r\n\r\n', status: 204, headers: [], body: '', keepAlive: true },
    { name: '304 has no body', wire: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n', status: 304, headers: ['etag', '"x"'], body: '', keepAlive: true },
    {
      name: 'interim 1xx heads are skipped',
      wire: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
      status: 200, headers: ['content-length', '2'], body: 'ok', keepAlive: true,
    },
    {
      name: 'bytes after the response are not taken',
      wire: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n',
      status: 200, headers: ['content-length', '2'], body: 'ok', keepAlive: true, used: 40,
    },
    {
      name: 'Keep-Alive timeout hint and a status line without a reason',
      wire: 'HTTP/1.1 201\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n',
      status: 201, headers: ['keep-alive', 'timeout=5', 'content-length', '0'], body: '', keepAlive: true,
    },
  ];
  for (const c of ok) {
    for (const step of [0, 1, 3]) {
      it(`${c.name} (${step ? `${step}-byte reads` : 'one read'})`, () => {
        const r = parse(c.wire, { step, noBody: c.noBody, eof: c.eof });
        expect(r.heads).toEqual([{ status: c.status, headers: c.headers }]);
        expect(r.body).toBe(c.body);
        expect(r.ended).toBe(true);
        expect(r.keepAlive).toBe(c.keepAlive);
        expect(r.used).toBe(c.used ?? Buffer.byteLength(c.wire, 'latin1'));
      });
    }
  }

  it('reads the Keep-Alive hint in ms', () => {
    const p = new ResponseParser({ head() {}, data() {}, end() {} }, false);
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n'));
    expect(p.keepAliveHintMs).toBe(5000);
  });

  const bad: { name: string; wire: string; eof?: boolean }[] = [
    { name: 'a status line that is not HTTP/1.x', wire: 'HTTP/2 200 OK\r\n\r\n' },
    { name: 'garbage', wire: 'hello there\r\n\r\n' },
    { name: 'a two-digit status', wire: 'HTTP/1.1 20 OK\r\n\r\n' },
    { name: 'a four-digit status', wire: 'HTTP/1.1 2000 OK\r\n\r\n' },
    { name: 'a status with no space before it', wire: 'HTTP/1.1200 OK\r\n\r\n' },
    { name: 'a header line without a colon', wire: 'HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n' },
    { name: 'an empty header name', wire: 'HTTP/1.1 200 OK\r\n: v\r\n\r\n' },
    { name: 'conflicting Content-Length', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello' },
    { name: 'a Content-Length that is not a number', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n' },
    { name: 'an obs-fold line', wire: 'HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\nContent-Length: 0\r\n\r\n' },
    { name: 'a bad chunk size', wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' },
    { name: 'chunk data without its CRLF', wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX' },
    { name: '101 Switching Protocols', wire: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n' },
    { name: 'a head over the limit', wire: `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n` },
    { name: 'a body cut short by the close', wire: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel', eof: true },
    { name: 'a chunked body cut short by the close', wire: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', eof: true },
  ];
  for (const c of bad) {
    for (const step of [0, 1]) {
      it(`refuses ${c.name} (${step ? 'byte by byte' : 'one read'})`, () => {
        expect(() => parse(c.wire, { step, eof: c.eof })).toThrow(UpstreamProtocolError);
      });
    }
  }
});

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A raw loopback server: `onRequest` gets each request head's socket and how many it saw on that connection. */
async function rawServer(onRequest: (s: Socket, nth: number) => void): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = '';
    let nth = 0;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let at: number;
      while ((at = buf.indexOf('\r\n\r\n')) >= 0) {
        buf = buf.slice(at + 4);
        onRequest(s, ++nth);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  closers.push(() => new Promise((r) => {
    for (const s of sockets) s.destroy();
    server.close(r);
  }));
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, connections: () => connections };
}

interface Result {
  status: number;
  headers: string[];
  body: string;
}

/** One request through the pool, as a promise. */
function get(pool: UpstreamPool, url: string, path = '/', handler: Partial<UpstreamHandler> = {}): Promise<Result> & { abort(e: Error): void } {
  let abort: (e: Error) => void = () => undefined;
  const p = new Promise<Result>((resolve, reject) => {
    const r: Result = { status: 0, headers: [], body: '' };
    const call = pool.request(url, 'GET', `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`, {
      onHead: (status, headers) => {
        r.status = status;
        r.headers = headers;
      },
      onData: (c) => {
        r.body += c.toString();
        return handler.onData?.(c) ?? true;
      },
      onEnd: () => resolve(r),
      onError: reject,
    });
    abort = (e) => call.abort(e);
  });
  return Object.assign(p, { abort: (e: Error) => abort(e) });
}

/** One POST with a body through the pool (requestWithBody), as a promise. */
function post(pool: UpstreamPool, url: string, body: string, path = '/'): Promise<Result> {
  return new Promise<Result>((resolve, reject) => {
    const r: Result = { status: 0, headers: [], body: '' };
    const b = Buffer.from(body);
    pool.requestWithBody(url, `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: ${b.length}\r\n\r\n`, b, {
      onHead: (status, headers) => {
        r.status = status;
        r.headers = headers;
      },
      onData: (c) => {
        r.body += c.toString();
        return true;
      },
      onEnd: () => resolve(r),
      onError: reject,
    });
  });
}

const answer = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

function newPool(clock = new FakeClock()): UpstreamPool {
  const pool = new UpstreamPool(clock);
  closers.push(async () => pool.close());
  return pool;
}

/** A real node:http server on loopback, closed after the test: its URL and how many connections it accepted. */
async function nodeServer(handler: RequestListener): Promise<{ url: string; connections: () => number }> {
  const server = createHttpServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => {
    server.closeAllConnections();
    server.close(r);
  }));
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, connections: () => connections };
}

describe('UpstreamPool', () => {
  it('carries sequential requests on one connection, against a real node:http server', async () => {
    const { url, connections } = await nodeServer((req, res) => res.end(`hi ${req.url}`));
    const pool = newPool();
    for (let i = 0; i < 3; i++) expect((await get(pool, url, `/${i}`)).body).toBe(`hi /${i}`);
    expect(connections()).toBe(1);
    expect(pool.idleCount()).toBe(1);
  });

  it("lets an idle connection go before the pod's Keep-Alive timeout", async () => {
    const srv = await rawServer((s) => s.write(answer('ok', 'Keep-Alive: timeout=5\r\n')));
    const clock = new FakeClock();
    const pool = newPool(clock);
    await get(pool, srv.url);
    clock.advance(2_500);
    await get(pool, srv.url);
    expect(srv.connections()).toBe(1);
    // 5 s hint less the 2 s margin: past 3 s idle the connection is not used again.
    clock.advance(3_000);
    await get(pool, srv.url);
    expect(srv.connections()).toBe(2);
  });

  it('does not reuse a connection after Connection: close or a close-delimited body', async () => {
    const srv = await rawServer((s, nth) => {
      if (nth > 1) return;
      s.end('HTTP/1.1 200 OK\r\n\r\nto the end');
    });
    const pool = newPool();
    expect((await get(pool, srv.url)).body).toBe('to the end');
    expect(pool.idleCount()).toBe(0);
  });

  it('sends a GET again on a new connection when a reused one closes before any answer', async () => {
    // The second request on a connection meets the pod's keep-alive close.
    const srv = await rawServer((s, nth) => (nth === 1 ? s.write(answer('one')) : s.destroy()));
    const pool = newPool();
    expect((await get(pool, srv.url)).body).toBe('one');
    expect((await get(pool, srv.url)).body).toBe('one');
    expect(srv.connections()).toBe(2);
  });

  it('POSTs bodies on one keep-alive connection to a real node:http server', async () => {
    const { url, connections } = await nodeServer((req, res) => {
      let got = '';
      req.on('data', (c: Buffer) => (got += c.toString()));
      req.on('end', () => res.writeHead(201, { 'x-len': req.headers['content-length'] }).end(`${req.method} ${req.url} ${got}`));
    });
    const pool = newPool();
    for (let i = 0; i < 3; i++) {
      const r = await post(pool, url, `{"n":${i}}`, `/e${i}`);
      expect(r).toMatchObject({ status: 201, body: `POST /e${i} {"n":${i}}` });
      expect(r.headers.slice(r.headers.indexOf('x-len'), r.headers.indexOf('x-len') + 2)).toEqual(['x-len', '7']);
    }
    expect(connections()).toBe(1);
  });

  it('counts the calls in use per origin until each ends, fails or is aborted', async () => {
    const srv = await rawServer((s, nth) => (nth === 1 ? s.write(answer('ok')) : nth === 2 ? s.destroy() : undefined));
    const pool = newPool();
    await post(pool, srv.url, 'a');
    expect(pool.inUse(srv.url)).toBe(0);
    const p = post(pool, srv.url, 'b');
    expect(pool.inUse(srv.url)).toBe(1);
    await expect(p).rejects.toThrow();
    expect(pool.inUse(srv.url)).toBe(0);
    const hung = get(pool, srv.url);
    expect(pool.inUse(srv.url)).toBe(1);
    hung.abort(new Error('gone'));
    await expect(hung).rejects.toThrow('gone');
    expect(pool.inUse(srv.url)).toBe(0);
  });

  it('counts no call in use when the origin cannot be connected to at all', () => {
    const pool = newPool();
    const h = { onHead: () => undefined, onData: () => true, onEnd: () => undefined, onError: () => undefined };
    expect(() => pool.requestWithBody('not a url', 'POST / HTTP/1.1\r\n\r\n', Buffer.from('x'), h)).toThrow();
    expect(pool.inUse('not a url')).toBe(0);
  });

  it('queues a start past max calls in use, first come first served, and drops one taken out of line', async () => {
    const srv = await rawServer((s) => s.write(answer('ok')));
    const pool = newPool();
    const order: string[] = [];
    const a = post(pool, srv.url, 'a');
    const startB = () => {
      order.push('b');
      void post(pool, srv.url, 'b');
    };
    const startC = () => order.push('c');
    const startD = () => order.push('d');
    expect(pool.queueIfBusy(srv.url, 1, startB)).toBe(true);
    expect(pool.queueIfBusy(srv.url, 1, startC)).toBe(true);
    expect(pool.queueIfBusy(srv.url, 1, startD)).toBe(true);
    expect(pool.dequeue(srv.url, startC)).toBe(true);
    expect(pool.dequeue(srv.url, startC)).toBe(false);
    await a;
    // a ended: b's turn; b's call holds the one slot, so d still waits.
    await waitFor(() => order.length === 1, 5_000, { message: 'b to start' });
    expect(pool.queued(srv.url)).toBe(1);
    await waitFor(() => order.length === 2, 5_000, { message: 'd to start once b ended' });
    expect(order).toEqual(['b', 'd']);
    expect(pool.queued(srv.url)).toBe(0);
    // Nothing in use and nobody waiting: no queue.
    expect(pool.queueIfBusy(srv.url, 1, startD)).toBe(false);
  });

  it('never sends a request with a body twice: a reused connection that closes before any answer fails the call', async () => {
    // The pod may have read the POST before it closed: sending it again could run it twice.
    let heads = 0;
    const srv = await rawServer((s, nth) => {
      heads++;
      if (nth === 1) s.write(answer('one'));
      else s.destroy();
    });
    const pool = newPool();
    expect((await post(pool, srv.url, 'a')).body).toBe('one');
    await expect(post(pool, srv.url, 'b')).rejects.toThrow(/closed the connection/);
    expect(heads).toBe(2);
    expect(srv.connections()).toBe(1);
    expect(pool.idleCount()).toBe(0);
  });

  it('fails, without a retry, when a new connection closes before any answer', async () => {
    const srv = await rawServer((s) => s.destroy());
    const pool = newPool();
    await expect(get(pool, srv.url)).rejects.toThrow(/closed the connection/);
    expect(srv.connections()).toBe(1);
  });

  it('drops an idle connection that sends bytes nobody asked for', async () => {
    const srv = await rawServer((s, nth) => {
      s.write(answer(`r${nth}`));
      if (nth === 1) setImmediate(() => s.write('HTTP/1.1 200 OK\r\n'));
    });
    const pool = newPool();
    await get(pool, srv.url);
    await waitFor(() => pool.idleCount() === 0, 5_000, { message: 'the connection to be dropped' });
    expect((await get(pool, srv.url)).body).toBe('r1');
    expect(srv.connections()).toBe(2);
  });

  it('keeps the ECONNREFUSED code of a refused connection', async () => {
    const srv = await rawServer(() => undefined);
    await Promise.all(closers.splice(0).map((c) => c()));
    const pool = newPool();
    await expect(get(pool, srv.url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('an abort fails the call with its reason and closes the connection', async () => {
    const srv = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const pool = newPool();
    let sawData: () => void = () => undefined;
    const gotData = new Promise<void>((r) => (sawData = r));
    const call = get(pool, srv.url, '/', { onData: () => (sawData(), true) });
    await gotData;
    call.abort(new Error('client gone'));
    await expect(call).rejects.toThrow('client gone');
    expect(pool.idleCount()).toBe(0);
  });

  it('keeps concurrent bodies apart though reads share one buffer', async () => {
    // 300 KiB each, in many reads, two connections interleaving: a piece kept past its read must be a copy.
    const body = (c: string) => c.repeat(300 * 1024);
    let connections = 0;
    const srv = await rawServer((s) => {
      const b = body(connections++ % 2 ? 'a' : 'b');
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\n\r\n`);
      for (let i = 0; i < b.length; i += 16 * 1024) s.write(b.slice(i, i + 16 * 1024));
    });
    const pool = newPool();
    const pieces: Buffer[][] = [[], []];
    const rs = await Promise.all([0, 1].map((k) => get(pool, srv.url, '/', { onData: (c) => (pieces[k]!.push(c), true) })));
    for (const [k, r] of rs.entries()) {
      const joined = Buffer.concat(pieces[k]!).toString();
      expect(joined.length).toBe(300 * 1024);
      expect(joined).toBe(joined[0]!.repeat(300 * 1024));
      expect(r.body).toBe(joined);
    }
    expect(new Set(rs.map((r) => r.body[0])).size).toBe(2);
  });

  /** One GET with lastWithEnd on a new pool: what reached onHead, onData and onEnd, in order. */
  async function lastWithEndCall(url: string, afterData: () => void = () => undefined): Promise<string[]> {
    const pool = newPool();
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      pool.request(url, 'GET', 'GET / HTTP/1.1\r\nhost: x\r\n\r\n', {
        lastWithEnd: true,
        onHead: () => seen.push('head'),
        onData: (c) => {
          seen.push(`data ${c.toString()}`);
          afterData();
          return true;
        },
        onEnd: (last) => {
          seen.push(`end ${last?.toString()}`);
          resolve();
        },
        onError: reject,
      });
    });
    return seen;
  }

  it('with lastWithEnd, a Content-Length body read whole comes with onEnd, not onData', async () => {
    const srv = await rawServer((s) => s.write(answer('hello')));
    expect(await lastWithEndCall(srv.url)).toEqual(['head', 'end hello']);
  });

  it('with lastWithEnd, a body in two reads: the first piece to onData, the last with onEnd', async () => {
    // The rest is sent only once the first piece has arrived, so the two never share a read.
    let rest: () => void = () => undefined;
    const srv = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel');
      rest = () => s.write('lo');
    });
    expect(await lastWithEndCall(srv.url, () => rest())).toEqual(['head', 'data hel', 'end lo']);
  });

  it('a chunked body streams through in pieces', async () => {
    const srv = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
      setImmediate(() => s.write('2\r\nde\r\n0\r\n\r\n'));
    });
    const pool = newPool();
    const r = await get(pool, srv.url);
    expect(r.body).toBe('abcde');
    expect(pool.idleCount()).toBe(1);
  });
});
