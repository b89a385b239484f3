/**
 * The admin API client (docs/admin-api.md) and how the CLI finds the
 * platform: `zeno up` writes `admin-url`, `token` and `gateway-url` into the
 * data dir; every other command reads them from there.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CONFIG_FILE_NAMES, PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { ERROR_TABLE, ZenoError, type ErrorCode, type FieldIssue } from '../core/errors.js';
import type { KObject } from '../core/types.js';
import { resourcePath, type KindInfo } from './kinds.js';

export interface PlatformAddress {
  dataDir: string;
  adminUrl: string;
  token: string;
  /** Missing only if the data dir was written by something else than `zeno up`. */
  gatewayUrl: string | undefined;
}

/** --data-dir, else $ZENO_DATA_DIR, else `.zeno` in the current folder; absolute. */
export function resolveDataDir(flag: string | undefined, env: Record<string, string | undefined>, cwd: string): string {
  return resolve(cwd, flag ?? (env.ZENO_DATA_DIR || PLATFORM_DEFAULTS.dataDir));
}

/** What to do when no platform answers: start one, or point the CLI at the one that runs. */
const FIX = 'start it with "zeno up", or point --data-dir (or ZENO_DATA_DIR) at the data dir of the running one';

/** The one-line error for a platform URL that does not answer (`dataDir`: where the URL was read). */
export function unreachable(url: string, dataDir?: string): ZenoError {
  const from = dataDir ? ` (from ${dataDir})` : '';
  return new ZenoError('ZENO_ERR_PLATFORM_UNREACHABLE', `cannot reach Zeno at ${url}${from}: it is not running; ${FIX}`);
}

/** Connect-time failures: nothing listens at the address, so no platform runs there. */
const NOT_LISTENING = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/**
 * The one-line error for a failed call to the platform. Only a failure to
 * connect means it is not running; a connection that broke after the
 * request went out (the platform hung up, was killed, or gave up on a very
 * long request) says so instead of sending the user to start a platform
 * that is running.
 */
export function connectionError(url: string, dataDir: string | undefined, err: unknown): ZenoError {
  const e = err as { code?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const code = typeof e?.cause?.code === 'string' ? e.cause.code : typeof e?.code === 'string' ? e.code : undefined;
  if (code === undefined || NOT_LISTENING.has(code)) return unreachable(url, dataDir);
  const from = dataDir ? ` (from ${dataDir})` : '';
  return new ZenoError(
    'ZENO_ERR_PLATFORM_UNREACHABLE',
    `Zeno at ${url}${from} closed the connection before answering (${code}); it may have stopped, or the request took too long: see its log, and apply a very large file in parts`,
  );
}

/** The one-line error for a data dir that no `zeno up` wrote its address into. */
export function noPlatform(dataDir: string, file: string): ZenoError {
  return new ZenoError('ZENO_ERR_PLATFORM_UNREACHABLE', `no running Zeno found in ${dataDir} (no ${file} file there): ${FIX}`);
}

/** The data dir has an admin URL but no token: not written by a `zeno up` that finished starting. */
function missingToken(dataDir: string): ZenoError {
  return new ZenoError(
    'ZENO_ERR_PLATFORM_UNREACHABLE',
    `the admin token file ${join(dataDir, CONFIG_FILE_NAMES.token)} is missing or empty ("zeno up" writes it once started); restart "zeno up" with --data-dir ${dataDir}, or point --data-dir at the data dir of the running one`,
  );
}

/** Reads the files `zeno up` wrote; a missing admin URL or token means no platform there. */
export async function readPlatformAddress(dataDir: string): Promise<PlatformAddress> {
  const read = async (name: string): Promise<string | undefined> => {
    try {
      return (await readFile(join(dataDir, name), 'utf8')).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  const [adminUrl, token, gatewayUrl] = await Promise.all([read(CONFIG_FILE_NAMES.adminUrl), read(CONFIG_FILE_NAMES.token), read(CONFIG_FILE_NAMES.gatewayUrl)]);
  if (!adminUrl) throw noPlatform(dataDir, CONFIG_FILE_NAMES.adminUrl);
  if (!token) throw missingToken(dataDir);
  return { dataDir, adminUrl: adminUrl.replace(/\/+$/, ''), token, gatewayUrl: gatewayUrl?.replace(/\/+$/, '') };
}

/** The gateway URL `zeno up` wrote; invoking a function needs nothing else. */
export async function readGatewayUrl(dataDir: string): Promise<string> {
  const url = (await readFile(join(dataDir, CONFIG_FILE_NAMES.gatewayUrl), 'utf8').catch(() => '')).trim();
  if (!url) throw noPlatform(dataDir, CONFIG_FILE_NAMES.gatewayUrl);
  return url.replace(/\/+$/, '');
}

export interface ApplyResult {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  action: 'created' | 'configured' | 'unchanged';
}

export interface ApplyResponse {
  results: ApplyResult[];
  items: KObject[];
}

export interface DeleteResult {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
  action: 'deleted' | 'not found';
}

export interface EventItem {
  type?: string;
  reason?: string;
  message?: string;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  /** Repeats folded into this event (kubectl shows `(x3 over 1m)`). */
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

export interface LogLine {
  time?: string;
  pod?: string;
  stream?: string;
  line?: string;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Requests that are not streams give up after this long: a hung platform must not hang the CLI. */
const REQUEST_TIMEOUT_MS = 60_000;

export class AdminClient {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly fetchFn: FetchLike;
  private readonly dataDir: string | undefined;
  private readonly timeoutMs: number;

  constructor(opts: { baseUrl: string; token: string; fetch?: FetchLike; dataDir?: string; timeoutMs?: number }) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.fetchFn = opts.fetch ?? ((url, init) => fetch(url, init));
    this.dataDir = opts.dataDir;
    this.timeoutMs = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** One JSON request; errors become ZenoErrors carrying the server's code. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, AbortSignal.timeout(this.timeoutMs));
    const text = await res.text();
    if (!res.ok) throw this.errorFrom(res.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The object, or undefined when the platform answers 404. */
  async getObject(kind: KindInfo, namespace: string, name: string): Promise<KObject | undefined> {
    try {
      return await this.request<KObject>('GET', resourcePath(kind, namespace, name));
    } catch (e) {
      if (e instanceof ZenoError && e.statusCode === 404) return undefined;
      throw e;
    }
  }

  /** Objects of one kind in a namespace, or in all of them when namespace is undefined. */
  async list(kind: KindInfo, namespace: string | undefined): Promise<KObject[]> {
    const list = await this.request<{ items?: KObject[] }>('GET', resourcePath(kind, namespace));
    return list.items ?? [];
  }

  apply(items: KObject[], dryRun = false): Promise<ApplyResponse> {
    return this.request<ApplyResponse>('POST', '/apis/zeno.dev/v1/apply', dryRun ? { items, dryRun } : { items });
  }

  async deleteItems(items: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }[]): Promise<DeleteResult[]> {
    const res = await this.request<{ results?: DeleteResult[] }>('POST', '/apis/zeno.dev/v1/delete', { items });
    return res.results ?? [];
  }

  async events(namespace: string, kind: string, name: string): Promise<EventItem[]> {
    const q = new URLSearchParams({ involvedObject: `${kind}/${name}` });
    const res = await this.request<{ items?: EventItem[] }>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events?${q}`);
    return res.items ?? [];
  }

  /** Log lines as they arrive (NDJSON); with follow, until the signal aborts or the platform closes the stream. */
  async *logs(namespace: string, name: string, opts: { tail?: number; follow?: boolean; signal?: AbortSignal }): AsyncGenerator<LogLine> {
    const q = new URLSearchParams();
    if (opts.tail !== undefined) q.set('tail', String(opts.tail));
    if (opts.follow) q.set('follow', 'true');
    const qs = q.size ? `?${q}` : '';
    const path = `/apis/serving.knative.dev/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}/logs${qs}`;
    const res = await this.send('GET', path, undefined, opts.signal);
    if (!res.ok) throw this.errorFrom(res.status, await res.text());
    if (!res.body) return;
    yield* parseNdjson(res.body);
  }

  private async send(method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await this.fetchFn(this.baseUrl + path, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if ((e as Error).name === 'AbortError' && signal?.aborted && signal.reason?.name !== 'TimeoutError') throw e;
      throw connectionError(this.baseUrl, this.dataDir, e);
    }
  }

  private errorFrom(status: number, text: string): ZenoError {
    let body: { code?: string; message?: string; issues?: FieldIssue[] } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // Not our JSON (a proxy in between?): keep the status.
    }
    if (status === 401) {
      const where = this.dataDir ? join(this.dataDir, CONFIG_FILE_NAMES.token) : 'the token file';
      return new ZenoError('ZENO_ERR_UNAUTHORIZED', `the platform at ${this.baseUrl} rejected the token in ${where}: that file is from another "zeno up" (a stale data dir?); point --data-dir at the data dir of the platform at ${this.baseUrl}, or restart "zeno up"${this.dataDir ? ` with --data-dir ${this.dataDir}` : ''}`);
    }
    const code = body.code && body.code in ERROR_TABLE ? (body.code as ErrorCode) : codeForStatus(status);
    const message = body.message || text.trim().split('\n')[0] || `HTTP ${status}`;
    return new ZenoError(code, message, body.issues?.length ? { issues: body.issues } : {});
  }
}

// For answers without one of our codes (a proxy in between, an old platform).
const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'ZENO_ERR_BAD_REQUEST',
  401: 'ZENO_ERR_UNAUTHORIZED',
  404: 'ZENO_ERR_RESOURCE_NOT_FOUND',
  405: 'ZENO_ERR_METHOD_NOT_ALLOWED',
  409: 'ZENO_ERR_CONFLICT',
  422: 'ZENO_ERR_INVALID_RESOURCE',
};

function codeForStatus(status: number): ErrorCode {
  return CODE_FOR_STATUS[status] ?? 'ZENO_ERR_INTERNAL';
}

/** Splits a byte stream into JSON lines; a line that is not JSON is passed on as text. */
export async function* parseNdjson(body: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncGenerator<LogLine> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const parsed = parseLogLine(line);
      if (parsed) yield parsed;
    }
  }
  const parsed = parseLogLine(buf + decoder.decode());
  if (parsed) yield parsed;
}

function parseLogLine(text: string): LogLine | undefined {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as LogLine;
  } catch {
    return { line: text };
  }
}
