/**
 * A Channel's address on the gateway port: POST
 * `${gatewayUrl}/channels/NAMESPACE/NAME` (Knative's InMemoryChannel is at
 * `http://NAME-kn-channel.NAMESPACE.svc.cluster.local`). Answers as Knative's
 * channel receiver (pkg/channel/event_receiver.go): 405 for anything but
 * POST, 404 for an unknown channel, 400 for an invalid CloudEvent (binary
 * and structured modes; batched refused), and 202 — here only once the
 * event is durably appended to the channel's stream in the event log
 * (Knative's IMC holds the POST until every subscriber answered and keeps
 * nothing; Zeno acknowledges a durable write, like its broker).
 * `traceparent`/`tracestate` headers become the distributed-tracing
 * extension when the event does not carry it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ZenoError } from '../../core/errors.js';
import { eventFromHttp } from '../cloudevents/http.js';
import { storedFromCloudEvent } from '../dispatcher/encoding.js';
import type { EventLog } from '../log/event-log.js';

export const CHANNEL_PATH_PREFIX = '/channels/';

/** The event-log stream of a channel. */
export function channelStream(namespace: string, name: string): string {
  return `channel/${namespace}/${name}`;
}

/** A channel's URL on the gateway (its status.address.url). */
export function channelUrl(gatewayUrl: string, namespace: string, name: string): string {
  return `${gatewayUrl.replace(/\/+$/, '')}${CHANNEL_PATH_PREFIX}${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

export interface ChannelIngressDeps {
  log: EventLog;
  /** Whether the channel exists (stored). */
  exists(namespace: string, name: string): boolean;
  maxBodyBytes: number;
  sendError(res: ServerResponse, err: ZenoError): void;
  /** Called after an event was appended (metrics, tests). */
  onAccepted?: (namespace: string, name: string) => void;
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function createChannelIngress(d: ChannelIngressDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    let parts: string[];
    try {
      parts = path.slice(CHANNEL_PATH_PREFIX.length).split('/').filter((p) => p !== '').map(decodeURIComponent);
    } catch {
      // A lone or malformed %-escape (`/channels/%`): found by test/bad-input.test.ts, it used to be a 500.
      return d.sendError(res, new ZenoError('ZENO_ERR_BAD_REQUEST', `malformed channel path ${JSON.stringify(path.slice(0, 100))}`));
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return d.sendError(res, new ZenoError('ZENO_ERR_METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on a channel; POST a CloudEvent`));
    }
    if (parts.length !== 2) return d.sendError(res, new ZenoError('ZENO_ERR_BAD_REQUEST', `a channel address is ${CHANNEL_PATH_PREFIX}NAMESPACE/NAME`));
    const [ns, name] = parts as [string, string];
    if (!d.exists(ns, name)) return d.sendError(res, new ZenoError('ZENO_ERR_RESOURCE_NOT_FOUND', `channel ${ns}/${name} not found`));
    const body = await readBody(req, d.maxBodyBytes);
    if (body === undefined) return d.sendError(res, new ZenoError('ZENO_ERR_BODY_TOO_LARGE'));
    const parsed = eventFromHttp(req.headers, body);
    if ('error' in parsed) return d.sendError(res, new ZenoError(parsed.error.code, parsed.error.message));
    const stored = storedFromCloudEvent(parsed.event);
    if (parsed.trace) {
      stored.attributes.traceparent ??= parsed.trace.traceparent;
      if (parsed.trace.tracestate !== undefined) stored.attributes.tracestate ??= parsed.trace.tracestate;
    }
    try {
      await d.log.append(channelStream(ns, name), stored);
    } catch (e) {
      return d.sendError(res, new ZenoError('ZENO_ERR_INTERNAL', `cannot store the event: ${(e as Error).message}`));
    }
    d.onAccepted?.(ns, name);
    res.writeHead(202, { 'content-length': 0 });
    res.end();
  };
}
