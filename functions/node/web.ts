/**
 * The web classes of a function process: `Request`, `Response`, `Headers`
 * and `FormData` from the bundle web-bundle.ts builds out of the `undici`
 * package (the implementation behind Node's own globals), compiled with a
 * V8 code cache kept in the runtime's cache dir.
 *
 * Node 20's globals load all of Node's internal undici on first touch
 * (~22 ms of CPU here); this loads the four classes in ~7 ms with the code
 * cache, ~12 ms without (docs/functions.md, "Cold start"). Like Node's, the
 * globals are lazy: nothing is loaded until a handler or the runtime first
 * touches one. Without the bundle (a runtime built without the build step)
 * Node's own classes stay.
 *
 * `fetch` stays Node's: its global is wrapped so that it also accepts a
 * Request of these classes (e.g. `fetch(request)` to pass the incoming
 * request on); the Response it returns is Node's, which the runtime serves
 * as well.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { cacheDir } from './cache-dir.js';

/** The globals this module provides. */
export const WEB_CLASS_NAMES = ['Request', 'Response', 'Headers', 'FormData'] as const;
type Name = (typeof WEB_CLASS_NAMES)[number];

export interface WebClasses {
  Request: typeof Request;
  Response: typeof Response;
  Headers: typeof Headers;
  FormData: typeof FormData;
  /** undici's internal state of one of its Responses (its body's `source` among it). */
  getResponseState(r: Response): { body: { source: unknown; stream: ReadableStream | null } | null } | undefined;
  /** The undici version the bundle was built from. */
  version: string;
}

/** Where the bundle is: next to this module in dist/. */
export function defaultBundlePath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'web-classes.cjs');
}

/**
 * The code cache file for this bundle on this V8: V8 checks only the
 * source's length and its own version and flags, so the bundle's size and
 * mtime are in the name too (a rebuilt bundle gets a fresh cache).
 */
export function codeCachePath(bundle: string, size: number, mtimeMs: number, env: Record<string, string | undefined> = process.env): string {
  return join(cacheDir(env), 'v8', `web-classes-${process.versions.v8}-${process.arch}-${size}-${Math.trunc(mtimeMs)}.bin`);
}

export interface LoadedWebClasses {
  classes: WebClasses;
  /** Whether V8 used the code cache (false: none yet, or it was rejected). */
  fromCache: boolean;
  /** Writes the code cache when it was missing or rejected; later calls do nothing. */
  saveCodeCache(): void;
}

/**
 * Compiles and runs the bundle (throws if it is missing or broken). The
 * code cache is read if present; it is written only when `saveCodeCache()`
 * is called, best after the classes served a request, so that it holds
 * the functions compiled for that too.
 */
export function loadWebClasses(bundle: string = defaultBundlePath(), env: Record<string, string | undefined> = process.env): LoadedWebClasses {
  const source = readFileSync(bundle, 'utf8');
  const st = statSync(bundle);
  const cacheFile = codeCachePath(bundle, st.size, st.mtimeMs, env);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // No cache yet: compiled from source, and saved later.
  }
  // The CommonJS wrapper, as Node's own loader would compile the file.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
  });
  const fromCache = cachedData !== undefined && !script.cachedDataRejected;
  const mod = { exports: {} as WebClasses };
  (script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, createRequire(bundle), mod, bundle, dirname(bundle));
  for (const name of WEB_CLASS_NAMES) if (typeof mod.exports[name] !== 'function') throw new Error(`${bundle} has no ${name} class`);
  let saved = fromCache;
  return {
    classes: mod.exports,
    fromCache,
    saveCodeCache() {
      if (saved) return;
      saved = true;
      try {
        mkdirSync(dirname(cacheFile), { recursive: true });
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData());
        // Atomic: a process starting meanwhile reads the old file or the new one, never half.
        renameSync(tmp, cacheFile);
      } catch {
        // A read-only cache dir only costs the next start the compile.
      }
    },
  };
}

let installed: { loaded: LoadedWebClasses | undefined } | undefined;

/**
 * Makes the bundle's classes the process's globals, lazily, and wraps
 * `fetch` (see the module comment). Idempotent. If the bundle cannot be
 * loaded, Node's own classes are put back and the error goes to stderr once.
 */
export function installWebClasses(bundle: string = defaultBundlePath(), env: Record<string, string | undefined> = process.env): void {
  if (installed) return;
  const state: { loaded: LoadedWebClasses | undefined } = { loaded: undefined };
  installed = state;
  const g = globalThis as unknown as Record<string, unknown>;
  const original = new Map<string, PropertyDescriptor | undefined>();
  for (const name of [...WEB_CLASS_NAMES, 'fetch']) original.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
  const setGlobal = (name: string, value: unknown): void => {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  };
  /** Globals still ours to fill in (a handler may have assigned its own meanwhile). */
  const lazy = new Set<string>(WEB_CLASS_NAMES);
  let tried = false;
  const load = (): WebClasses | undefined => {
    if (!tried) {
      tried = true;
      try {
        state.loaded = loadWebClasses(bundle, env);
      } catch (err) {
        // No bundle (built by tsc alone) is a supported setup; a broken one is worth a line in the logs.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          console.error(`zeno node runtime: using Node's own Request/Response (cannot load ${bundle}: ${(err as Error).message})`);
        }
      }
      for (const name of WEB_CLASS_NAMES) {
        if (!lazy.delete(name)) continue;
        if (state.loaded) setGlobal(name, state.loaded.classes[name]);
        else Object.defineProperty(globalThis, name, original.get(name)!);
      }
    }
    return state.loaded?.classes;
  };
  for (const name of WEB_CLASS_NAMES) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get: () => load()?.[name as Name] ?? g[name],
      // Assigning a global replaces it, as with Node's own lazy globals.
      set: (v: unknown) => {
        lazy.delete(name);
        setGlobal(name, v);
      },
    });
  }
  const fetchDesc = original.get('fetch');
  if (!fetchDesc) return;
  // Node's fetch itself is only loaded (Node's internal undici) when first called.
  const nodeFetch = (): typeof fetch => (fetchDesc.get ? fetchDesc.get.call(globalThis) : fetchDesc.value) as typeof fetch;
  const wrapped = function fetch(input: unknown, init?: RequestInit): Promise<Response> {
    const classes = load();
    if (classes && input instanceof classes.Request) return nodeFetch()(input.url, { ...requestInit(input), ...init });
    return nodeFetch()(input as RequestInfo, init);
  };
  setGlobal('fetch', wrapped);
}

/** The RequestInit that makes Node's fetch send what `r` describes (its body stream included). */
export function requestInit(r: Request): RequestInit {
  if (r.bodyUsed) throw new TypeError('fetch: the Request body is already used');
  const init: RequestInit & { duplex?: 'half' } = {
    method: r.method,
    headers: [...r.headers],
    signal: r.signal,
    redirect: r.redirect,
    integrity: r.integrity,
    keepalive: r.keepalive,
    referrerPolicy: r.referrerPolicy,
    credentials: r.credentials,
    cache: r.cache,
  };
  if (r.body) {
    init.body = r.body;
    init.duplex = 'half';
  }
  return init;
}

/**
 * The whole body of a Response of the bundle's class that was built from a
 * string or bytes and not read: what its stream would yield, without the
 * stream. The runtime then writes it at once instead of reading the stream
 * (a reader and two reads: ~1 ms of CPU of an unpooled cold start here).
 * Undefined for anything else (a stream, a Blob, FormData, a used body).
 */
export function wholeBody(r: Response): string | Uint8Array | undefined {
  const classes = installed?.loaded?.classes;
  if (!classes || !(r instanceof classes.Response) || r.bodyUsed) return undefined;
  const body = classes.getResponseState(r)?.body;
  if (!body || body.stream?.locked) return undefined;
  const src = body.source;
  return typeof src === 'string' || src instanceof Uint8Array ? src : undefined;
}

/** The loaded bundle, once a class was touched (for the code cache and tests). */
export function loadedWebClasses(): LoadedWebClasses | undefined {
  return installed?.loaded;
}
