/**
 * `/async-function/` on the gateway port (OpenFaaS's route, peers.md §1):
 * POST records the call and answers 202 with X-Call-Id once it is durable;
 * DELETE cancels a call that has not started.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../../core/clock.js';
import { ZenoError } from '../../core/errors.js';
import type { RouteTable } from '../routes.js';
import { refuseBody, sendError, tooLargeError, type MountHandler } from '../server.js';
import { isCallId, parseAsyncPath, parseCallbackUrl, parseCancelPath, recordedHeaders } from './calls.js';
import { newCallId, type AsyncQueue } from './queue.js';

export interface AsyncIngressDeps {
  queue: AsyncQueue;
  routes: RouteTable;
  clock: Clock;
  maxBodyBytes: number;
}

export const ASYNC_ALLOW = 'POST, DELETE';

/** Reads the whole body, or stops at `max` bytes (undefined: over the limit, the rest unread). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const onData = (c: Buffer) => {
      seen += c.length;
      if (seen > max) {
        cleanup();
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

export function asyncIngress(deps: AsyncIngressDeps): MountHandler {
  const { queue, routes, clock, maxBodyBytes } = deps;
  const refuse = (req: IncomingMessage, res: ServerResponse, err: ZenoError) => refuseBody(req, res, clock, maxBodyBytes, err);

  const cancel = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const p = parseCancelPath(url);
    if (!p || !isCallId(p.callId)) return refuse(req, res, new ZenoError('ZENO_ERR_CALL_NOT_FOUND', `no queued call at ${url}`));
    const outcome = await queue.cancel(p.callId, p.fn);
    if (outcome === 'not-found') return refuse(req, res, new ZenoError('ZENO_ERR_CALL_NOT_FOUND', `no queued call has id ${p.callId} (unknown, finished or already cancelled)`));
    if (outcome === 'running') return refuse(req, res, new ZenoError('ZENO_ERR_CALL_RUNNING', `call ${p.callId} is running; it can no longer be cancelled`));
    const body = JSON.stringify({ callId: p.callId, status: 'cancelled' });
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-call-id': p.callId });
    res.end(body);
  };

  return async (req, res) => {
    if (req.method === 'DELETE') return cancel(req, res);
    if (req.method !== 'POST') {
      res.setHeader('allow', ASYNC_ALLOW);
      return refuse(req, res, new ZenoError('ZENO_ERR_METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on /async-function/: use POST to queue a call, DELETE to cancel one`));
    }
    const url = req.url ?? '/';
    const target = parseAsyncPath(url);
    // The same 404 as the synchronous /function/ path.
    if (!target || !routes.lookupName(target.namespace, target.name)) {
      return refuse(req, res, new ZenoError('ZENO_ERR_FUNCTION_NOT_FOUND', `function ${target ? `${target.name}.${target.namespace}` : url} not found`));
    }
    const callbackUrl = parseCallbackUrl(req.headers['x-callback-url']);
    if (callbackUrl instanceof ZenoError) return refuse(req, res, callbackUrl);
    const cl = req.headers['content-length'];
    if (cl !== undefined && Number(cl) > maxBodyBytes) return refuse(req, res, tooLargeError(maxBodyBytes, cl));
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) return refuse(req, res, tooLargeError(maxBodyBytes));

    const id = newCallId();
    let call;
    try {
      call = await queue.enqueue({
        id,
        name: target.name,
        namespace: target.namespace,
        label: target.label,
        method: 'POST',
        path: target.path,
        query: target.query,
        headers: recordedHeaders(req.headers, id),
        body,
        ...(callbackUrl !== undefined ? { callbackUrl } : {}),
      });
    } catch (err) {
      const e = err instanceof ZenoError ? err : new ZenoError('ZENO_ERR_INTERNAL', `the call could not be recorded: ${(err as Error).message}`);
      return sendError(res, e);
    }
    const json = JSON.stringify({ callId: call.id });
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json), 'x-call-id': call.id });
    res.end(json);
  };
}
