/**
 * Build step of the Node function runtime (`npm run build` runs it after
 * tsc), writing two CommonJS files beside main.js in dist/functions/node:
 *
 * - `web-classes.cjs`: the WHATWG Request, Response, Headers and FormData
 *   classes of the `undici` package (the implementation Node's own globals
 *   come from), which web.ts loads with a V8 code cache. The first touch of
 *   Node 20's global `Response` loads Node's whole internal undici (fetch,
 *   the HTTP/1 and HTTP/2 clients, TLS, llhttp): ~22 ms of CPU of a ~60 ms
 *   process start, which an unpooled cold start pays.
 * - `runtime.cjs`: runtime-main.ts and the runtime modules it imports, in
 *   one file that main.ts loads with require(): no ES module loading of our
 *   own on the cold-start path.
 *
 * docs/functions.md, "Cold start", has the figures.
 *
 *   node dist/functions/node/bundle.js [OUT_DIR]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';

const require = createRequire(import.meta.url);

/** The bundles' file names, next to main.js. */
export const WEB_BUNDLE_FILE = 'web-classes.cjs';
export const RUNTIME_BUNDLE_FILE = 'runtime.cjs';

/**
 * Built-in modules the classes' files load at start but use only on rare
 * paths: node:crypto for a multipart boundary (FormData bodies), node:zlib
 * for fetch's decompression (not bundled here), node:assert only when an
 * internal assertion fails (undici calls nothing but `assert(value, …)`,
 * a no-op for a truthy value). They are replaced by stubs that load the
 * real module on first use, which saves ~6 ms of every start.
 */
const LAZY_BUILTINS: Record<string, string> = {
  'node:assert': `let real;
module.exports = function assert(...args) {
  if (!args[0]) (real ??= require('node:assert'))(...args);
};`,
  'node:crypto': `let real;
const crypto = () => (real ??= require('node:crypto'));
module.exports = { randomInt: (...args) => crypto().randomInt(...args) };`,
  'node:zlib': `let real;
const zlib = () => (real ??= require('node:zlib'));
module.exports = new Proxy({}, { get: (_, key) => zlib()[key], has: (_, key) => key in zlib() });`,
};

const lazyBuiltins: Plugin = {
  name: 'zeno-lazy-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:(assert|crypto|zlib)$/ }, (args) => {
      // The stubs' own require of the real module stays a plain require.
      if (args.namespace === 'zeno-lazy') return { path: args.path, external: true };
      return { path: args.path, namespace: 'zeno-lazy' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zeno-lazy' }, (args) => ({ contents: LAZY_BUILTINS[args.path], loader: 'js' }));
  },
};

/** Writes the web classes' bundle to `outFile`; returns its size in bytes. */
export async function buildWebBundle(outFile: string): Promise<number> {
  const esbuild = await import('esbuild');
  const undiciDir = dirname(require.resolve('undici/package.json'));
  const version = (JSON.parse(readFileSync(join(undiciDir, 'package.json'), 'utf8')) as { version: string }).version;
  const fetchDir = join(undiciDir, 'lib', 'web', 'fetch');
  // response.js before request.js, as undici's own index loads them:
  // request.js reads the BodyInit converter that response.js defines.
  const entry = [
    `const { Response, getResponseState } = require(${JSON.stringify(join(fetchDir, 'response.js'))});`,
    `const { Request } = require(${JSON.stringify(join(fetchDir, 'request.js'))});`,
    `const { Headers } = require(${JSON.stringify(join(fetchDir, 'headers.js'))});`,
    `const { FormData } = require(${JSON.stringify(join(fetchDir, 'formdata.js'))});`,
    `module.exports = { Request, Response, Headers, FormData, getResponseState, version: ${JSON.stringify(version)} };`,
  ].join('\n');
  const result = await esbuild.build({
    stdin: { contents: entry, resolveDir: undiciDir, sourcefile: 'zeno-web-classes-entry.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    // Whitespace and syntax only; keepNames: \`Request.name\` is 'Request',
    // not what the bundler renamed it to.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    legalComments: 'none',
    banner: { js: `/* Request, Response, Headers and FormData from undici ${version} (MIT License, Copyright (c) Matteo Collina and Undici contributors), bundled by functions/node/web-bundle.ts */` },
    outfile: outFile,
    plugins: [lazyBuiltins],
    logLevel: 'warning',
    metafile: true,
  });
  return Object.values(result.metafile.outputs)[0]?.bytes ?? 0;
}

/**
 * Bundles `runtimeMain` (dist/functions/node/runtime-main.js) with the
 * runtime modules it imports into `outFile`. Packages (esbuild, cloudevents)
 * stay requires, loaded only when a handler needs them, as before; so does
 * the handler's own import(). Returns the size in bytes.
 */
export async function buildRuntimeBundle(runtimeMain: string, outFile: string): Promise<number> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [runtimeMain],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    // The modules locate files next to themselves (web-classes.cjs) through import.meta.url.
    define: { 'import.meta.url': '__zenoModuleUrl' },
    banner: { js: `/* The Zeno Node function runtime (functions/node/runtime-main.ts), bundled by functions/node/bundle.ts */\nconst __zenoModuleUrl = require('node:url').pathToFileURL(__filename).href;` },
    sourcemap: 'linked',
    outfile: outFile,
    logLevel: 'warning',
    metafile: true,
  });
  return Object.values(result.metafile.outputs).find((o) => o.bytes > 0 && !('mappings' in o))?.bytes ?? 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const here = dirname(fileURLToPath(import.meta.url));
  const outDir = process.argv[2] ?? here;
  const web = await buildWebBundle(join(outDir, WEB_BUNDLE_FILE));
  const runtime = await buildRuntimeBundle(join(here, 'runtime-main.js'), join(outDir, RUNTIME_BUNDLE_FILE));
  process.stdout.write(`bundle: ${join(outDir, WEB_BUNDLE_FILE)} (${Math.round(web / 1024)} KiB), ${join(outDir, RUNTIME_BUNDLE_FILE)} (${Math.round(runtime / 1024)} KiB)\n`);
}
