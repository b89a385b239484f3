/** `zeno events send`: one CloudEvent to a Broker's ingress. */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ZenoError } from '../core/errors.js';
import { str, strs, UsageError, type ParsedValues } from './args.js';
import { readGatewayUrl, unreachable } from './client.js';
import { dataDirOf, type CliContext } from './context.js';
import { DEFAULT_NAMESPACE } from './kinds.js';

/** CloudEvents attribute names: [a-z0-9] (spec.md "Attribute Naming Convention"). */
const NAME_RE = /^[a-z0-9]+$/;
const RESERVED = new Set(['specversion', 'id', 'source', 'type', 'datacontenttype', 'data', 'data_base64']);

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer>;
  id: string;
}

/**
 * The request `zeno events send` makes: binary content mode (attributes in
 * `ce-*` headers, data as the body). Data that parses as JSON goes as
 * `application/json`, other text as `text/plain`, a file that is neither
 * as `application/octet-stream`, unless --content-type says otherwise.
 */
export function buildSendRequest(input: {
  gatewayUrl: string;
  broker: string;
  namespace: string;
  type: string;
  source: string;
  id?: string;
  subject?: string;
  contentType?: string;
  data?: { bytes: Uint8Array; fromFile: boolean };
  extensions: string[];
}): SendRequest {
  const id = input.id ?? randomUUID();
  if (!input.type) throw new UsageError('--type must not be empty');
  if (!input.source) throw new UsageError('--source must not be empty');
  if (!id) throw new UsageError('--id must not be empty');
  const headers: Record<string, string> = {
    'ce-specversion': '1.0',
    'ce-id': id,
    'ce-type': input.type,
    'ce-source': input.source,
  };
  if (input.subject !== undefined) headers['ce-subject'] = input.subject;
  for (const ext of input.extensions) {
    const eq = ext.indexOf('=');
    const name = eq < 0 ? ext : ext.slice(0, eq);
    if (eq < 0 || !NAME_RE.test(name)) throw new UsageError(`--extension "${ext}": write it as name=value, the name in lower-case letters and digits`);
    if (RESERVED.has(name) || name === 'subject') throw new UsageError(`--extension "${ext}": ${name} is a context attribute; use its own flag`);
    headers[`ce-${name}`] = ext.slice(eq + 1);
  }
  const bytes = input.data ? new Uint8Array(input.data.bytes) : new Uint8Array(0);
  if (input.contentType !== undefined) headers['content-type'] = input.contentType;
  else if (input.data) headers['content-type'] = guessType(input.data.bytes, input.data.fromFile);
  const url = `${input.gatewayUrl.replace(/\/+$/, '')}/brokers/${encodeURIComponent(input.namespace)}/${encodeURIComponent(input.broker)}`;
  return { url, headers, body: bytes, id };
}

function guessType(bytes: Uint8Array, fromFile: boolean): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'application/octet-stream';
  }
  try {
    JSON.parse(text);
    return 'application/json';
  } catch {
    return fromFile ? 'application/octet-stream' : 'text/plain; charset=utf-8';
  }
}

export async function runEvents(ctx: CliContext, values: ParsedValues, args: string[]): Promise<number> {
  if (args[0] !== 'send') throw new UsageError(`unknown events command "${args[0] ?? ''}"; use "zeno events send" (see "zeno events --help")`);
  const broker = str(values, 'broker');
  const type = str(values, 'type');
  const source = str(values, 'source');
  if (!broker) throw new UsageError('zeno events send needs --broker NAME');
  if (!type) throw new UsageError('zeno events send needs --type TYPE');
  if (!source) throw new UsageError('zeno events send needs --source SOURCE');
  const inline = str(values, 'data');
  const file = str(values, 'data-file');
  if (inline !== undefined && file !== undefined) throw new UsageError('use --data or --data-file, not both');
  let data: { bytes: Uint8Array; fromFile: boolean } | undefined;
  if (inline !== undefined) data = { bytes: new TextEncoder().encode(inline), fromFile: false };
  if (file !== undefined) {
    const p = resolve(ctx.cwd, file);
    const bytes = await readFile(p).catch(() => {
      throw new UsageError(`--data-file ${file}: cannot read ${p}`);
    });
    data = { bytes, fromFile: true };
  }
  const namespace = str(values, 'namespace') ?? DEFAULT_NAMESPACE;
  const id = str(values, 'id');
  const subject = str(values, 'subject');
  const contentType = str(values, 'content-type');
  const gatewayUrl = await readGatewayUrl(dataDirOf(ctx, values));
  const req = buildSendRequest({
    gatewayUrl, broker, namespace, type, source, extensions: strs(values, 'extension'),
    ...(id !== undefined ? { id } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
    ...(data ? { data } : {}),
  });
  const fetchFn = ctx.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  let res: Response;
  try {
    res = await fetchFn(req.url, { method: 'POST', headers: req.headers, body: req.body });
  } catch {
    throw unreachable(gatewayUrl, dataDirOf(ctx, values));
  }
  const text = await res.text();
  if (res.status === 202 || (res.status >= 200 && res.status < 300)) {
    ctx.out(`${req.id}\n`);
    return 0;
  }
  let code: string | undefined;
  let message = text;
  try {
    const j = JSON.parse(text) as { code?: string; message?: string };
    code = j.code;
    message = j.message ?? text;
  } catch {
    // not one of ours
  }
  if (code === 'ZENO_ERR_BROKER_NOT_FOUND') {
    throw new ZenoError('ZENO_ERR_BROKER_NOT_FOUND', `broker "${broker}" not found in namespace "${namespace}" (list them with "zeno get brokers -A")`);
  }
  if (code === 'ZENO_ERR_INVALID_EVENT' || code === 'ZENO_ERR_BODY_TOO_LARGE' || code === 'ZENO_ERR_EVENT_TTL_EXPIRED') throw new ZenoError(code, message);
  ctx.err(`error: HTTP ${res.status}${code ? `: ${code}` : ''}: ${message}\n`);
  return 1;
}
