import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cacheDir } from './cache-dir.js';

// Imported only for TypeScript handlers: node:crypto alone costs ~7 ms of a cold start.

export { cacheDir };

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

/** The compiled module for a TypeScript handler: from the cache, or compiled now. */
export async function compiledModule(file: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  const abs = resolve(file);
  const dir = join(cacheDir(env), 'ts');
  return cachedOutput(dir, abs) ?? (await compile(dir, abs));
}

