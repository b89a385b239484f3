import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CloudEvent, CloudEventV1 } from 'cloudevents';

/** A web-standard fetch handler: the default export of an HTTP function. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/**
 * Receives one CloudEvent (binary or structured HTTP); what it returns is
 * sent back as the reply event in binary mode, nothing means 204.
 * A plain object is made a CloudEvent (it needs at least `type` and `source`).
 */
export type CloudEventHandler = (
  event: CloudEvent<unknown>,
) => CloudEvent<unknown> | Partial<CloudEventV1<unknown>> | void | undefined | Promise<CloudEvent<unknown> | Partial<CloudEventV1<unknown>> | void | undefined>;

/** `export default { fetch, cloudevent }`: either or both. */
export interface HandlerObject {
  fetch?: FetchHandler;
  cloudevent?: CloudEventHandler;
}

/** What the server dispatches to, once the module's shape is checked. */
export interface Handlers {
  fetch: FetchHandler | undefined;
  cloudevent: CloudEventHandler | undefined;
}

/**
 * The handler of a module namespace: a default-exported function is a fetch
 * handler; a default-exported object may carry `fetch` and `cloudevent`.
 * Throws a message that says which shapes are accepted.
 */
export function handlersOf(mod: Record<string, unknown>): Handlers {
  const d = mod.default;
  if (typeof d === 'function') return { fetch: d as FetchHandler, cloudevent: undefined };
  if (d && typeof d === 'object') {
    const o = d as Record<string, unknown>;
    const fetch = typeof o.fetch === 'function' ? (o.fetch.bind(o) as FetchHandler) : undefined;
    const cloudevent = typeof o.cloudevent === 'function' ? (o.cloudevent.bind(o) as CloudEventHandler) : undefined;
    if (fetch || cloudevent) return { fetch, cloudevent };
  }
  throw new Error(
    'the handler module must `export default` a function (request: Request) => Response, ' +
      'or an object with a `fetch(request)` and/or a `cloudevent(event)` method',
  );
}

/** The module to import for a handler file: itself, or its compiled form for TypeScript. */
async function moduleFor(file: string): Promise<string> {
  const abs = resolve(file);
  const ext = extname(abs);
  if (ext !== '.ts' && ext !== '.mts' && ext !== '.tsx') return abs;
  return (await import('./ts-compile.js')).compiledModule(abs);
}

const requireModule = createRequire(import.meta.url);

function isModuleNamespace(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && (x as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'Module';
}

/**
 * The module's namespace, as `import()` gives it. An ES module is loaded
 * with `require()` first (require(esm), on by default since Node 20.19):
 * the same loader and module cache, but synchronous, where `import()` takes
 * several turns of the event loop and thread-pool reads (a one-line
 * handler: ~0.4-0.6 ms against ~0.8-1.1 ms, measured in a warm process).
 * That matters on a pooled cold start, which is mostly this import.
 * `import()` still loads what require() does not give as a namespace: a
 * CommonJS module (then from the cache: it does not run twice), a graph with
 * top-level await (require() refuses it before any of it runs), a missing
 * file (so the error reads as it always has). Any other error is the
 * module's own (it threw, or does not parse) and is thrown as it is: trying
 * import() after a CommonJS module threw would run it again.
 */
async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href;
  if (!existsSync(path)) return (await import(url)) as Record<string, unknown>;
  let ns: unknown;
  try {
    ns = requireModule(path);
  } catch (err) {
    // Both are thrown before any of the module runs, so import() runs it once:
    // top-level await, or a Node older than 20.19 (no require(esm): engines says >= 20).
    const code = (err as { code?: unknown }).code;
    if (code !== 'ERR_REQUIRE_ASYNC_MODULE' && code !== 'ERR_REQUIRE_ESM') throw err;
  }
  return isModuleNamespace(ns) ? ns : ((await import(url)) as Record<string, unknown>);
}

/**
 * Loads a stand-in handler exactly as a handler is loaded (warm-import.ts):
 * the first require() of an ES module sets up the loader's synchronous path,
 * and loadHandlers' own code runs once; a warm process pays both while it
 * idles instead of on the cold start.
 */
export function warmHandlerLoader(standIn: URL): void {
  void loadHandlers(fileURLToPath(standIn)).catch(() => {
    // Only an optimization.
  });
}

/** Imports the handler module (compiling TypeScript first) and checks its shape. */
export async function loadHandlers(file: string): Promise<Handlers> {
  const mod = await moduleFor(file);
  // Stack traces of compiled TypeScript should name the source lines.
  if (mod !== resolve(file)) process.setSourceMapsEnabled(true);
  return handlersOf(await importModule(mod));
}
