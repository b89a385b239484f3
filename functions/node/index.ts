/**
 * The Node function runtime: runs a handler module (`.js`, `.mjs`, `.ts`)
 * whose default export is a web fetch handler, or an object with `fetch`
 * and/or `cloudevent` methods (docs/functions.md).
 *
 * @example
 * // a container that runs ./hello.ts on the Node runtime
 * { command: ['node', nodeRuntimeEntry()], args: ['/abs/path/hello.ts'] }
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export type { CloudEventHandler, FetchHandler, HandlerObject } from './handler.js';
export { WARM_FLAG, type SpecializeMessage, type WarmMessage } from './protocol.js';

/**
 * The package root: this file is `<root>/functions/node/index.ts` when run
 * from source (vitest) and `<root>/dist/functions/node/index.js` when built.
 */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up2 = resolve(here, '..', '..');
  return basename(up2) === 'dist' ? dirname(up2) : up2;
}

let entry: string | undefined;

/** Absolute path of the runtime's entry point, `<root>/dist/functions/node/main.js` (built by `npm run build`). */
export function nodeRuntimeEntry(): string {
  entry ??= join(packageRoot(), 'dist', 'functions', 'node', 'main.js');
  return entry;
}

let processEntry: string | undefined;

/**
 * The file the local runtime actually runs for a Node-runtime pod or warm
 * process: the runtime's one-file CommonJS bundle, `runtime.cjs` next to
 * main.js (written by `npm run build`, functions/node/bundle.ts), else
 * main.js itself. Same runtime either way; started from the bundle, node
 * skips the ES module loading of main.js (~3 ms of CPU of an unpooled
 * cold start here, docs/functions.md). Pods keep `[node, main.js]` as
 * their command: this is only how the local runtime starts it.
 */
export function nodeRuntimeProcessEntry(): string {
  if (processEntry === undefined) {
    const bundle = join(dirname(nodeRuntimeEntry()), 'runtime.cjs');
    processEntry = existsSync(bundle) ? bundle : nodeRuntimeEntry();
  }
  return processEntry;
}

/**
 * Whether a container command is exactly `[node, nodeRuntimeEntry()]` (the
 * form a Function with `spec.handler` becomes), so the local runtime may
 * hand it a warm, generic process instead of spawning one.
 */
export function isNodeRuntimeCommand(command: readonly string[]): boolean {
  if (command.length !== 2) return false;
  const [exe, script] = command;
  if (exe === undefined || script === undefined) return false;
  const isNode = exe === 'node' || exe === process.execPath || basename(exe) === 'node';
  return isNode && resolve(script) === nodeRuntimeEntry() && !script.endsWith(sep);
}
