import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
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

/** Where compiled TypeScript handlers are kept: $ZENO_CACHE_DIR, else <tmpdir>/zeno-cache. */
export function cacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.ZENO_CACHE_DIR || join(tmpdir(), 'zeno-cache');
}

/** Bump when the compiled output's shape changes, so old entries are not reused. */
const CACHE_FORMAT = 1;

/**
 * A cache entry names every local file esbuild read for the handler with its
 * content hash; any change in any of them is a miss.
 */
interface CacheManifest {
  format: number;
  inputs: Record<string, string>;
  output: string;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function writeAtomically(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** The cached compiled module for `file`, if every input is unchanged. */
function cachedOutput(dir: string, file: string): string | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, `${sha256(file)}.json`), 'utf8')) as CacheManifest;
    if (m.format !== CACHE_FORMAT) return undefined;
    for (const [input, hash] of Object.entries(m.inputs)) if (sha256(readFileSync(input)) !== hash) return undefined;
    return join(dir, m.output);
  } catch {
    return undefined;
  }
}

/**
 * Compiles a TypeScript handler with esbuild into one ESM file in the cache:
 * its local imports are bundled in; packages stay imports, rewritten to
 * absolute file URLs so they resolve from the handler's folder as they would
 * have from the source. esbuild is imported only here, on a cache miss: it
 * costs about 30 ms to load.
 */
async function compile(dir: string, file: string): Promise<string> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    write: false,
    metafile: true,
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [
      {
        name: 'zeno-packages-by-url',
        setup(build) {
          build.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.pluginData === 'zeno-inner') return undefined;
            if (isBuiltin(args.path)) return { path: args.path, external: true };
            const r = await build.resolve(args.path, {
              kind: args.kind,
              importer: args.importer,
              resolveDir: args.resolveDir,
              pluginData: 'zeno-inner',
            });
            if (r.errors.length > 0) return { errors: r.errors };
            return { path: pathToFileURL(r.path).href, external: true };
          });
        },
      },
    ],
  });
  const code = result.outputFiles[0]?.text ?? '';
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const abs = resolve(input);
    inputs[abs] = sha256(readFileSync(abs));
  }
  // Named by content: a changed handler never reuses a module URL the process already imported.
  const output = `${sha256(code)}.mjs`;
  mkdirSync(dir, { recursive: true });
  writeAtomically(join(dir, output), code);
  const manifest: CacheManifest = { format: CACHE_FORMAT, inputs, output };
  writeAtomically(join(dir, `${sha256(file)}.json`), JSON.stringify(manifest));
  return join(dir, output);
}

/** The module to import for a handler file: itself, or its compiled form for TypeScript. */
export async function moduleFor(file: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  const abs = resolve(file);
  const ext = extname(abs);
  if (ext !== '.ts' && ext !== '.mts' && ext !== '.tsx') return abs;
  const dir = join(cacheDir(env), 'ts');
  return cachedOutput(dir, abs) ?? (await compile(dir, abs));
}

/** Imports the handler module (compiling TypeScript first) and checks its shape. */
export async function loadHandlers(file: string): Promise<Handlers> {
  const mod = await moduleFor(file);
  // Stack traces of compiled TypeScript should name the source lines.
  if (mod !== resolve(file)) process.setSourceMapsEnabled(true);
  return handlersOf((await import(pathToFileURL(mod).href)) as Record<string, unknown>);
}
