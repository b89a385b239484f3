/** `zeno invoke` (a call through the gateway) and `zeno logs`. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseCount, parseHeader, str, strs, bool, UsageError, type ParsedValues } from './args.js';
import { readGatewayUrl, unreachable } from './client.js';
import { hintFor } from './hints.js';
import { connect, dataDirOf, type CliContext } from './context.js';
import { DEFAULT_NAMESPACE } from './kinds.js';

export interface InvokeRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer> | undefined;
}

/**
 * The request `zeno invoke` sends: `/function/NAME.NS/PATH` on the gateway
 * (OpenFaaS-style path routing, DESIGN "Gateway"); POST when there is a
 * body, GET otherwise, unless -X says. Without a Content-Type header, a body
 * that parses as JSON is sent as application/json, other text as
 * text/plain, a file that is neither as application/octet-stream.
 */
export function buildInvokeRequest(input: {
  gatewayUrl: string;
  name: string;
  namespace: string;
  path?: string;
  method?: string;
  headers: string[];
  body?: { bytes: Uint8Array; fromFile: boolean };
  /** Queue the call: POST /async-function/ (only POST is queued, as in OpenFaaS). */
  async?: boolean;
  callbackUrl?: string;
}): InvokeRequest {
  const path = input.path ? (input.path.startsWith('/') ? input.path : `/${input.path}`) : '/';
  const route = input.async ? 'async-function' : 'function';
  const url = `${input.gatewayUrl.replace(/\/+$/, '')}/${route}/${encodeURIComponent(input.name)}.${encodeURIComponent(input.namespace)}${path}`;
  const headers: Record<string, string> = {};
  for (const h of input.headers) {
    const [k, v] = parseHeader(h);
    headers[k.toLowerCase()] = v;
  }
  if (input.callbackUrl !== undefined) {
    if (!input.async) throw new UsageError('--callback needs --async');
    headers['x-callback-url'] = input.callbackUrl;
  }
  if (input.async) {
    if (input.method !== undefined && input.method.toUpperCase() !== 'POST') throw new UsageError('--async sends POST; -X cannot change it');
    input = { ...input, method: 'POST' };
  }
  if (input.body && headers['content-type'] === undefined) headers['content-type'] = guessContentType(input.body.bytes, input.body.fromFile);
  // A copy on a plain ArrayBuffer: what fetch's BodyInit accepts.
  const bytes = input.body ? new Uint8Array(input.body.bytes) : undefined;
  return { url, method: (input.method ?? (input.body ? 'POST' : 'GET')).toUpperCase(), headers, body: bytes };
}

function guessContentType(bytes: Uint8Array, fromFile: boolean): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'application/octet-stream';
  }
  const t = text.trim();
  if ((t.startsWith('{') || t.startsWith('[')) && isJson(t)) return 'application/json';
  return fromFile ? 'application/octet-stream' : 'text/plain; charset=utf-8';
}

function isJson(t: string): boolean {
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/** The one-line reason for a failed call: the platform's `{code, message}` when the body is one. */
export function failureLine(status: number, statusText: string, body: string, target?: { name: string; namespace: string }): { line: string; platformError: boolean } {
  try {
    const j = JSON.parse(body) as { code?: unknown; message?: unknown };
    if (typeof j.code === 'string' && typeof j.message === 'string') {
      const hint = hintFor(j.code, target?.name, target?.namespace);
      return { line: `HTTP ${status}: ${j.code}: ${j.message}${hint ? ` (${hint})` : ''}`, platformError: true };
    }
  } catch {
    // The function's own error body: printed as it is on stdout.
  }
  return { line: `HTTP ${status}${statusText ? ` ${statusText}` : ''}`, platformError: false };
}

export async function runInvoke(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  const data = str(values, 'data');
  let body: { bytes: Uint8Array; fromFile: boolean } | undefined;
  if (data !== undefined) {
    if (data.startsWith('@')) {
      const file = resolve(ctx.cwd, data.slice(1));
      const bytes = await readFile(file).catch(() => {
        throw new UsageError(`--data ${data}: cannot read ${file}`);
      });
      body = { bytes, fromFile: true };
    } else {
      body = { bytes: new TextEncoder().encode(data), fromFile: false };
    }
  }
  const gatewayUrl = await readGatewayUrl(dataDirOf(ctx, values));
  const method = str(values, 'method');
  const path = str(values, 'path');
  const callbackUrl = str(values, 'callback');
  const isAsync = bool(values, 'async');
  const req = buildInvokeRequest({
    async: isAsync,
    ...(callbackUrl !== undefined ? { callbackUrl } : {}),
    gatewayUrl,
    name: args[0]!,
    namespace: str(values, 'namespace') ?? DEFAULT_NAMESPACE,
    headers: strs(values, 'header'),
    ...(path !== undefined ? { path } : {}),
    ...(method !== undefined ? { method } : {}),
    ...(body ? { body } : {}),
  });
  const fetchFn = ctx.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  let res: Response;
  try {
    res = await fetchFn(req.url, { method: req.method, headers: req.headers, redirect: 'manual', ...(req.body ? { body: req.body } : {}) });
  } catch {
    throw unreachable(gatewayUrl, dataDirOf(ctx, values));
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (isAsync && res.status === 202) {
    ctx.out(`${res.headers.get('x-call-id') ?? ''}\n`);
    return 0;
  }
  if (res.status < 400) {
    ctx.out(bytes);
    return 0;
  }
  const { line, platformError } = failureLine(res.status, res.statusText, new TextDecoder().decode(bytes), { name: args[0]!, namespace: str(values, 'namespace') ?? DEFAULT_NAMESPACE });
  if (!platformError) ctx.out(bytes);
  ctx.err(`error: ${line}\n`);
  return 1;
}

export async function runLogs(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  const tailText = str(values, 'tail');
  const tail = tailText === undefined ? undefined : parseCount(tailText, '--tail');
  const { client } = await connect(ctx, values);
  const lines = client.logs(str(values, 'namespace') ?? DEFAULT_NAMESPACE, args[0]!, { follow: bool(values, 'follow'), ...(tail !== undefined ? { tail } : {}) });
  for await (const l of lines) ctx.out(`${formatLogLine(l)}\n`);
  return 0;
}

/** `[pod] line`, as `kubectl logs --prefix` prints it. */
export function formatLogLine(l: { pod?: string; line?: string }): string {
  return l.pod ? `[${l.pod}] ${l.line ?? ''}` : (l.line ?? '');
}
