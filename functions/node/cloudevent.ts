import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloudEvent, HTTP } from 'cloudevents';
import type { CloudEventHandler } from './handler.js';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array): void {
  res.writeHead(status, { ...headers, 'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength) });
  res.end(body);
}

function badRequest(res: ServerResponse, message: string): void {
  reply(res, 400, { 'content-type': 'application/json; charset=utf-8' }, JSON.stringify({ statusCode: 400, error: 'Bad Request', message }));
}

/**
 * One CloudEvent delivery: decode it with the cloudevents codec (binary or
 * structured mode), call the handler, answer with its reply event in binary
 * mode (200), or 204 when it returned nothing. Knative's broker sends the
 * reply event on to the broker.
 */
export async function handleCloudEvent(handler: CloudEventHandler, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  let event: CloudEvent<unknown>;
  try {
    const decoded = HTTP.toEvent({ headers: req.headers as Record<string, string>, body: body.toString('utf8') });
    if (Array.isArray(decoded)) {
      badRequest(res, 'batched CloudEvents are not supported: send one event per request');
      return;
    }
    event = decoded as CloudEvent<unknown>;
    // toEvent skips validation; a delivery without the required attributes is the sender's fault.
    event.validate();
  } catch (err) {
    badRequest(res, `not a valid CloudEvent: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const out = await handler(event);
  if (out === undefined || out === null) {
    res.writeHead(204);
    res.end();
    return;
  }
  const replyEvent = out instanceof CloudEvent ? out : new CloudEvent(out as ConstructorParameters<typeof CloudEvent>[0]);
  const msg = HTTP.binary(replyEvent);
  const data = msg.body;
  const payload = data === undefined || data === null ? '' : typeof data === 'string' || data instanceof Uint8Array ? data : String(data);
  reply(res, 200, msg.headers as Record<string, string>, payload);
}
