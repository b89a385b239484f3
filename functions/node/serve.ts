import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { Handlers } from './handler.js';
import { wholeBody } from './web.js';

/** The CloudEvents codec costs about 50 ms to import: only CloudEvent functions pay it, once. */
let ceModule: Promise<typeof import('./cloudevent.js')> | undefined;
function cloudEvents(): Promise<typeof import('./cloudevent.js')> {
  ceModule ??= import('./cloudevent.js');
  return ceModule;
}

/** Starts loading the CloudEvents codec now (a warm process has time to spare). */
export function preloadCloudEvents(): void {
  void cloudEvents().catch(() => {});
}

/** A request carries a CloudEvent in binary (`ce-specversion`) or structured (`application/cloudevents…`) mode. */
export function isCloudEventRequest(headers: IncomingMessage['headers']): boolean {
  if (headers['ce-specversion'] !== undefined) return true;
  return (headers['content-type'] ?? '').toLowerCase().startsWith('application/cloudevents');
}

function toRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const host = req.headers.host ?? 'localhost';
  const url = `http://${host}${req.url ?? '/'}`;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  const method = req.method ?? 'GET';
  if (method === 'GET' || method === 'HEAD') return new Request(url, { method, headers, signal });
  // The body streams into the handler as it arrives; undici needs duplex 'half' for a stream body.
  const body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
  return new Request(url, { method, headers, signal, body, duplex: 'half' } as RequestInit);
}

/**
 * A Response of the process's classes (web.ts), or of another WHATWG
 * implementation with the same brand, e.g. one Node's own fetch returned.
 */
function isResponse(x: unknown): x is Response {
  return x instanceof Response || Object.prototype.toString.call(x) === '[object Response]';
}

function writeHead(res: ServerResponse, response: Response, length: number | undefined): void {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== 'set-cookie') headers[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  if (length !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(length);
  res.writeHead(response.status, response.statusText || undefined, headers);
}

/**
 * Sends a web Response. A body built from a string or bytes is written as
 * it is (web.ts wholeBody); a body that arrives in one chunk goes out with
 * its head in one write and a Content-Length; a longer stream is piped with
 * backpressure.
 */
async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  const whole = wholeBody(response);
  if (whole !== undefined) {
    // UTF-8, as the body's stream would have encoded it.
    const bytes = typeof whole === 'string' ? Buffer.from(whole, 'utf8') : whole;
    writeHead(res, response, bytes.byteLength);
    res.end(bytes);
    return;
  }
  if (!response.body) {
    writeHead(res, response, 0);
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.once('close', () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  });
  const first = await reader.read();
  if (first.done) {
    writeHead(res, response, 0);
    res.end();
    return;
  }
  const second = await reader.read();
  if (second.done) {
    writeHead(res, response, first.value.byteLength);
    res.end(first.value);
    return;
  }
  writeHead(res, response, undefined);
  res.write(first.value);
  let chunk: ReadableStreamReadResult<Uint8Array> = second;
  while (!chunk.done) {
    if (!res.write(chunk.value)) {
      await new Promise<void>((resolve) => {
        const go = (): void => {
          res.off('drain', go);
          res.off('close', go);
          resolve();
        };
        res.on('drain', go);
        res.on('close', go);
      });
      if (res.destroyed) return;
    }
    chunk = await reader.read();
  }
  res.end();
}

function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const error = status === 400 ? 'Bad Request' : status === 503 ? 'Service Unavailable' : 'Internal Server Error';
  const body = JSON.stringify({ statusCode: status, error, message });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handleFetch(fetch: (r: Request) => Response | Promise<Response>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ac = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) ac.abort();
  });
  const response = await fetch(toRequest(req, ac.signal));
  if (!isResponse(response)) throw new TypeError(`the handler returned ${typeof response}, not a Response`);
  await sendResponse(res, response);
}

function dispatch(handlers: Handlers, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const useCe = handlers.cloudevent !== undefined && (handlers.fetch === undefined || isCloudEventRequest(req.headers));
  return useCe
    ? cloudEvents().then((ce) => ce.handleCloudEvent(handlers.cloudevent!, req, res))
    : handleFetch(handlers.fetch!, req, res);
}

export interface ServeOptions {
  port: number;
  host?: string;
  /**
   * What requests go to. A promise (a warm process that listens before it
   * knows its handler): requests wait until it resolves.
   */
  handlers: Handlers | Promise<Handlers>;
  /**
   * Sees each request first: other handlers for this one request, or
   * `'unavailable'` to answer 503 and close the connection; undefined lets
   * `handlers` serve it.
   */
  select?: (req: IncomingMessage) => Handlers | 'unavailable' | undefined;
  /** Where errors of the handler go (the pod's stderr). @default console.error */
  logError?: (message: string, err: unknown) => void;
}

/**
 * Serves a handler over node:http. A handler that throws answers 500 and the
 * error goes to stderr; the process stays up. SIGTERM is handled by
 * `shutdown()`.
 */
export function serve(opts: ServeOptions): { server: Server; shutdown(): Promise<void> } {
  let handlers = opts.handlers instanceof Promise ? undefined : opts.handlers;
  const pending = opts.handlers instanceof Promise ? opts.handlers : undefined;
  void pending?.then((h) => (handlers = h), () => {});
  const logError = opts.logError ?? ((message: string, err: unknown) => console.error(message, err));
  let inFlight = 0;
  let stopping = false;
  let idle: (() => void) | undefined;

  const server = createServer((req, res) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
      if (stopping) {
        // No keep-alive after SIGTERM: the next request goes to another pod.
        server.closeIdleConnections();
        if (inFlight === 0) idle?.();
      }
    });
    if (stopping) res.setHeader('connection', 'close');
    const chosen = opts.select?.(req);
    if (chosen === 'unavailable') {
      res.setHeader('connection', 'close');
      fail(res, 503, 'this runtime process serves no function yet');
      return;
    }
    const use = chosen ?? handlers;
    const work = use ? dispatch(use, req, res) : pending!.then((h) => dispatch(h, req, res));
    work.catch((err: unknown) => {
      logError(`handler error on ${req.method} ${req.url}:`, err);
      fail(res, 500, err instanceof Error ? err.message : String(err));
    });
  });
  server.listen(opts.port, opts.host);

  return {
    server,
    /** Stops accepting, lets in-flight requests finish, then resolves. */
    shutdown() {
      stopping = true;
      return new Promise<void>((resolve) => {
        let left = 2;
        const done = (): void => {
          if (--left === 0) resolve();
        };
        idle = () => {
          idle = undefined;
          server.closeAllConnections();
          done();
        };
        server.close(() => done());
        server.closeIdleConnections();
        if (inFlight === 0) idle();
      });
    },
  };
}
