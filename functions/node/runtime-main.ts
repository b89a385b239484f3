/**
 * The Node function runtime's process, started through main.ts (which
 * loads this module's bundle, runtime.cjs, when built):
 *
 *   node main.js HANDLER [ARGS…]     import HANDLER, serve it on $PORT
 *   node main.js --zeno-warm HOST    a generic warm process of the local
 *                                    runtime's pool: preload, listen on
 *                                    HOST:0, then wait on the IPC channel for
 *                                    the revision to become (protocol.ts)
 *
 * Kept small on purpose: esbuild and the CloudEvents codec are imported only
 * when a handler needs them.
 */
import { Agent, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import { loadHandlers, warmHandlerLoader, type Handlers } from './handler.js';
import { WARM_FLAG, type ReadyMessage, type SpecializeMessage, type WarmMessage } from './protocol.js';
import { preloadCloudEvents, serve } from './serve.js';
import { installWebClasses, loadedWebClasses } from './web.js';

/** Imports the handler, or says why not and exits 1 (2 without one). */
async function load(handlerPath: string | undefined): Promise<Handlers> {
  if (!handlerPath) {
    console.error('usage: node main.js HANDLER (a .js, .mjs or .ts module)');
    process.exit(2);
  }
  try {
    return await loadHandlers(handlerPath);
  } catch (err) {
    console.error(`cannot load handler ${handlerPath}:`, err);
    process.exit(1);
  }
}

function onSigterm(shutdown: () => Promise<void>): void {
  process.once('SIGTERM', () => {
    // Stop accepting, finish what is in flight, exit 0 (Knative's graceful termination).
    void shutdown().then(() => process.exit(0));
  });
}

/**
 * Once the first response has left, writes the web classes' code cache if
 * it was missing (web.ts): it then holds what that request compiled too,
 * and the writing costs the request nothing.
 */
function saveCodeCacheAfterFirstResponse(server: Server): void {
  server.once('request', (_req, res: ServerResponse) => {
    res.once('finish', () => setImmediate(() => loadedWebClasses()?.saveCodeCache()));
  });
}

function exitOnListenError(server: Server, port: number | string): void {
  server.once('error', (err) => {
    console.error(`cannot listen on port ${port}:`, err);
    process.exit(1);
  });
}

async function run(handlerPath: string | undefined): Promise<void> {
  const port = Number(process.env.PORT) || 8080;
  const handlers = await load(handlerPath);
  const { server, shutdown } = serve({ port, handlers });
  exitOnListenError(server, port);
  saveCodeCacheAfterFirstResponse(server);
  server.once('listening', () => {
    // Spawned by the local runtime with an IPC channel: say we are ready (the
    // handler is loaded and the port listens) instead of waiting for the next
    // TCP probe, then close the channel: from now on this is a plain pod.
    if (process.send) process.send({ type: 'zeno-ready' } satisfies ReadyMessage, () => process.disconnect?.());
    // Loading the web Request/Response classes costs ~7-12 ms (web.ts);
    // doing it right after listen() lets the platform mark the pod ready
    // and route the first request meanwhile (the kernel queues the connection).
    void globalThis.Response;
  });
  onSigterm(shutdown);
}

/**
 * A warm process starts with only the base environment, preloads what every
 * function needs, listens on an ephemeral port of `host` (the pod's port to
 * be: no free-port search and no bind at specialization), exercises its own
 * server once, then tells the pool its port and waits.
 *
 * Until it is specialized the server answers 503 to anyone but its own
 * exercise request; once specialized, requests wait for the handler import.
 * Specialization replaces the whole environment with the revision's before
 * the handler is imported, so nothing of another revision (or of the
 * platform) is visible to it.
 */
function warm(host: string): void {
  void globalThis.Request;
  void globalThis.Response;
  void globalThis.Headers;
  // Marks the process's own exercise request; never leaves this process.
  const token = globalThis.crypto.randomUUID();
  const warmHandlers: Handlers = {
    fetch: async (r) => new Response(`warm ${r.method} ${await r.text()}`, { headers: { 'x-warm': '1' } }),
    cloudevent: undefined,
  };
  let setHandlers!: (h: Handlers) => void;
  const handlers = new Promise<Handlers>((resolve) => (setHandlers = resolve));
  let specialized = false;
  const { server, shutdown } = serve({
    port: 0,
    host,
    handlers,
    select: (req) => (req.headers['x-zeno-warm'] === token ? warmHandlers : specialized ? undefined : 'unavailable'),
  });
  exitOnListenError(server, 0);
  // The exercise's first request: the code cache then holds the bridge's code.
  saveCodeCacheAfterFirstResponse(server);

  // One SIGTERM listener for the process's whole life; what it does changes
  // at specialization. Removing it and adding another there would stop and
  // restart the signal watcher on the cold start's path (~0.1 ms, traced).
  let onTerm = (): void => process.exit(0);
  process.once('SIGTERM', () => onTerm());

  process.on('message', (m: SpecializeMessage) => {
    // Anything else (the pool's zeno-exercise) is ignored: receiving it was the point.
    if (specialized || m?.type !== 'zeno-specialize') return;
    specialized = true;
    replaceEnv(m.env);
    process.chdir(m.cwd);
    process.argv = [process.argv[0]!, process.argv[1]!, ...m.args];
    // As a spawned pod: stop accepting, finish what is in flight (held
    // requests wait for the handler), exit 0.
    onTerm = () => void shutdown().then(() => process.exit(0));
    // The channel must not keep the pod alive; it closes once readiness is said.
    process.channel?.unref();
    void load(m.args[0]).then((h) => {
      setHandlers(h);
      // Readiness is said two turns later: the requests that arrived during the
      // import (the cold start's own) are answered first, and their responses
      // leave before the platform gets readiness bookkeeping to do at the
      // moment it relays them. The import is synchronous (handler.ts), so a
      // request that arrived meanwhile is still unread: the next turn's poll
      // reads and answers it (its handler is set now), the turn after says
      // ready. One turn put the readiness message (~0.2 ms) and the
      // platform's bookkeeping before the first response (traced).
      setImmediate(() =>
        setImmediate(() => {
          const ready: ReadyMessage = { type: 'zeno-ready' };
          // From now on the process is an ordinary pod with no line to the platform.
          process.send?.(ready, () => process.disconnect?.());
        }),
      );
    });
  });
  // The pool went away (closed, or the platform died) before we were used.
  process.on('disconnect', () => {
    if (!specialized) process.exit(0);
  });
  server.once('listening', () => {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    void exerciseWebBridge(host, port, token).then(() => {
      if (specialized) return;
      exerciseSpecialization();
      process.send?.({ type: 'zeno-warm', port } satisfies WarmMessage);
      // Idle time is free: have the CloudEvents codec and the TS cache lookup ready too.
      preloadCloudEvents();
      void import('./ts-compile.js').catch(() => {});
      // A file next to this one, which the bundler leaves alone (warm-import.ts says why).
      warmHandlerLoader(new URL('./warm-import.js', import.meta.url));
    });
  });
}

/**
 * Makes `process.env` exactly `env`, changing only what differs: every
 * change is a call into libc, and a pod's environment is mostly the base
 * environment the warm process already has.
 */
function replaceEnv(env: Record<string, string>): void {
  for (const k of Object.keys(process.env)) if (!Object.hasOwn(env, k)) delete process.env[k];
  for (const k of Object.keys(env)) if (process.env[k] !== env[k]) process.env[k] = env[k];
}

/**
 * Runs what specialization runs first (the environment's replacement and a
 * chdir), changing nothing: their first calls are cold code (~0.15 ms of
 * the message's handling, traced) that would otherwise be the cold start's.
 */
function exerciseSpecialization(): void {
  const probe = 'ZENO_WARM_EXERCISE';
  for (let i = 0; i < 3; i++) {
    replaceEnv({ ...(process.env as Record<string, string>), [probe]: String(i) });
    replaceEnv(Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== probe)) as Record<string, string>);
  }
  process.chdir(process.cwd());
}

/** Throwaway requests of the warm-up: enough for V8 to have compiled and optimized the bridge's hot code. */
const EXERCISE_REQUESTS = 24;

/**
 * Sends throwaway requests (GET and POST, on new and kept-alive connections) through
 * the very server the pod will use (accept → node:http → Request → handler
 * → Response → node:http) with nothing at stake, so the first real request
 * after specialization does not pay the lazy set-up and cold code of that
 * path: most of a pooled cold start otherwise. Then collects the garbage, so
 * no scavenge lands on the cold-start path.
 */
async function exerciseWebBridge(host: string, port: number, token: string): Promise<void> {
  // Half of them on new connections, half on one kept-alive connection, as
  // the gateway's are: a kept-alive response takes its own paths in
  // node:http, which were otherwise cold at the first real request.
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < EXERCISE_REQUESTS; i++) await exerciseOnce(host, port, token, i % 2 === 0 ? 'POST' : 'GET', i % 4 >= 2 ? keepAlive : undefined);
  keepAlive.destroy();
  try {
    const [v8, vm] = await Promise.all([import('node:v8'), import('node:vm')]);
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
  } catch {
    // Only an optimization.
  }
}

function exerciseOnce(host: string, port: number, token: string, method: 'GET' | 'POST', agent: Agent | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => resolve();
    // Headers like those the gateway sends (gateway/proxy-headers.ts).
    const headers: Record<string, string> = {
      'x-zeno-warm': token,
      'user-agent': 'zeno-warm',
      accept: '*/*',
      'x-forwarded-for': host,
      'x-forwarded-proto': 'http',
      forwarded: `for=${host};proto=http`,
      ...(method === 'POST' ? { 'content-type': 'text/plain' } : {}),
      ...(agent ? {} : { connection: 'close' }),
    };
    const req = httpRequest({ host, port, path: '/warm', method, headers, ...(agent ? { agent } : {}) }, (res) => {
      res.resume();
      res.once('end', done);
      res.once('error', done);
    });
    req.once('error', done);
    req.end(method === 'POST' ? 'warm' : undefined);
  });
}

// Before anything, so the handler and the runtime see the same classes.
installWebClasses();
if (process.argv[2] === WARM_FLAG) warm(process.argv[3] || '127.0.0.1');
else void run(process.argv[2]);
