/**
 * The Node function runtime's process.
 *
 *   node main.js HANDLER [ARGS…]   import HANDLER, serve it on $PORT
 *   node main.js --zeno-warm       a generic warm process of the local
 *                                  runtime's pool: preload, then wait on the
 *                                  IPC channel for the revision to become
 *
 * Kept small on purpose: esbuild and the CloudEvents codec are imported only
 * when a handler needs them.
 */
import { request as httpRequest } from 'node:http';
import { loadHandlers } from './handler.js';
import { WARM_FLAG, type SpecializeMessage, type WarmMessage } from './protocol.js';
import { preloadCloudEvents, serve } from './serve.js';

async function run(handlerPath: string | undefined): Promise<void> {
  if (!handlerPath) {
    console.error('usage: node main.js HANDLER (a .js, .mjs or .ts module)');
    process.exit(2);
  }
  const port = Number(process.env.PORT) || 8080;
  let handlers;
  try {
    handlers = await loadHandlers(handlerPath);
  } catch (err) {
    console.error(`cannot load handler ${handlerPath}:`, err);
    process.exit(1);
  }
  const { server, shutdown } = serve({ port, handlers });
  server.once('error', (err) => {
    console.error(`cannot listen on port ${port}:`, err);
    process.exit(1);
  });
  // Loading the web Request/Response classes costs ~40 ms; doing it right
  // after listen() lets the readiness probe and the first request's routing
  // happen meanwhile (the kernel queues the connection).
  server.once('listening', () => void globalThis.Response);
  process.once('SIGTERM', () => {
    // Stop accepting, finish what is in flight, exit 0 (Knative's graceful termination).
    void shutdown().then(() => process.exit(0));
  });
}

/**
 * A warm process starts with only the base environment, preloads what every
 * function needs, says so, and waits. Specialization replaces its whole
 * environment with the revision's before the handler is imported, so
 * nothing of another revision (or of the platform) is visible to it.
 */
function warm(): void {
  void globalThis.Request;
  void globalThis.Response;
  void globalThis.Headers;
  let specialized = false;
  process.on('message', (m: SpecializeMessage) => {
    if (specialized || m?.type !== 'zeno-specialize') return;
    specialized = true;
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, m.env);
    process.chdir(m.cwd);
    process.argv = [process.argv[0]!, process.argv[1]!, ...m.args];
    process.removeAllListeners('SIGTERM');
    // The channel served its purpose; the process now lives as a pod. Not
    // disconnect(): our own 'zeno-warm' send may still be in flight when a
    // pool hands out a process that is still booting, and disconnecting
    // under it throws inside Node. Unref is enough not to keep us alive.
    process.channel?.unref();
    void run(m.args[0]);
  });
  // The pool went away (closed, or the platform died) before we were used.
  process.on('disconnect', () => {
    if (!specialized) process.exit(0);
  });
  process.once('SIGTERM', () => process.exit(0));
  process.send?.({ type: 'zeno-warm' } satisfies WarmMessage);
  // Idle time is free: have the CloudEvents codec and the TS cache lookup ready too.
  setImmediate(() => {
    preloadCloudEvents();
    void import('./ts-compile.js').catch(() => {});
    void exerciseWebBridge();
  });
}

/**
 * Serves one throwaway request through the same bridge (node:http → Request →
 * handler → Response → node:http) with nothing at stake, so the first real
 * request after specialization does not pay the lazy set-up and cold code
 * of that path (web streams, header lists, the HTTP parser): most of a pooled
 * cold start otherwise.
 */
function exerciseWebBridge(): Promise<void> {
  return new Promise((resolve) => {
    const { server, shutdown } = serve({ port: 0, host: '127.0.0.1', handlers: { fetch: async (r) => new Response(`warm ${r.method}`, { headers: { 'x-warm': '1' } }), cloudevent: undefined } });
    const done = () => void shutdown().then(resolve, resolve);
    server.once('error', done);
    server.once('listening', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      const req = httpRequest({ host: '127.0.0.1', port, path: '/warm', method: 'POST', headers: { 'content-type': 'text/plain', connection: 'close' } }, (res) => {
        res.resume();
        res.once('end', done);
      });
      req.once('error', done);
      req.end('warm');
    });
  });
}

if (process.argv[2] === WARM_FLAG) warm();
else void run(process.argv[2]);
