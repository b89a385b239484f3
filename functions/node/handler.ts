import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
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

/** Imports the handler module (compiling TypeScript first) and checks its shape. */
export async function loadHandlers(file: string): Promise<Handlers> {
  const mod = await moduleFor(file);
  // Stack traces of compiled TypeScript should name the source lines.
  if (mod !== resolve(file)) process.setSourceMapsEnabled(true);
  return handlersOf((await import(pathToFileURL(mod).href)) as Record<string, unknown>);
}
