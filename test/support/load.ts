import http from 'node:http';

/** One finished request of a load run. */
export interface Outcome {
  /** Client-side start and end, ms since the epoch. */
  startedAt: number;
  endedAt: number;
  /** HTTP status, or 0 when the connection failed without an answer. */
  status: number;
  /** The `code` of a JSON error body, when there was one. */
  code: string | undefined;
  /** The Retry-After header, when the answer had one. */
  retryAfter?: string;
  /** The transport error when status is 0. */
  error?: string;
}

export interface LoadOptions {
  url: string;
  host?: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Parallel request loops. */
  concurrency: number;
  /** Stops starting new requests when this returns true (checked before each request). */
  until: () => boolean;
  /** Per-request path, overriding the URL's (e.g. to number requests). */
  path?: (i: number) => string;
  agent?: http.Agent;
  /** Receives each outcome as it ends (to watch progress); runLoad also returns them. */
  into?: Outcome[];
}

function codeOf(body: string): string | undefined {
  if (!body.startsWith('{')) return undefined;
  try {
    const c = (JSON.parse(body) as { code?: unknown }).code;
    return typeof c === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

/** One request on `agent`, resolving with its outcome (never rejects). */
export function request(opts: Omit<LoadOptions, 'concurrency' | 'until' | 'path'> & { path?: string }): Promise<Outcome> {
  const u = new URL(opts.url);
  const startedAt = Date.now();
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.host) headers.host = opts.host;
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(
      { hostname: u.hostname, port: u.port, path: opts.path ?? u.pathname + u.search, method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'), headers, agent: opts.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const o: Outcome = { startedAt, endedAt: Date.now(), status: res.statusCode ?? 0, code: codeOf(Buffer.concat(chunks).toString()) };
          const ra = res.headers['retry-after'];
          if (typeof ra === 'string') o.retryAfter = ra;
          resolve(o);
        });
        res.on('error', (e) => resolve({ startedAt, endedAt: Date.now(), status: 0, code: undefined, error: e.message }));
      },
    );
    req.on('error', (e) => resolve({ startedAt, endedAt: Date.now(), status: 0, code: undefined, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/**
 * Closed-loop load: `concurrency` loops, each sending its next request when
 * the previous one ended, until `until()` says stop. Returns every outcome.
 */
export async function runLoad(opts: LoadOptions): Promise<Outcome[]> {
  const out: Outcome[] = opts.into ?? [];
  let n = 0;
  const agent = opts.agent ?? new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const loop = async (): Promise<void> => {
    while (!opts.until()) {
      const i = n++;
      const { path, into: _into, ...rest } = opts;
      out.push(await request({ ...rest, agent, ...(path ? { path: path(i) } : {}) }));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  if (!opts.agent) agent.destroy();
  return out;
}

/** `status:code` counts, for failure messages. */
export function summarize(outcomes: Outcome[]): Record<string, number> {
  const s: Record<string, number> = {};
  for (const o of outcomes) {
    const k = `${o.status}${o.code ? `:${o.code}` : ''}${o.error ? `:${o.error}` : ''}`;
    s[k] = (s[k] ?? 0) + 1;
  }
  return s;
}
