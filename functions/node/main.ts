/**
 * The Node function runtime's entry point (nodeRuntimeEntry()):
 *
 *   node main.js HANDLER [ARGS…]     import HANDLER, serve it on $PORT
 *   node main.js --zeno-warm HOST    a generic warm process of the local
 *                                    runtime's pool (runtime-main.ts)
 *
 * It only picks how to load the runtime. `npm run build` bundles
 * runtime-main.ts and what it imports into one CommonJS file,
 * runtime.cjs (web-bundle.ts): loaded with require(), the runtime costs one
 * file read and no ES module loading of its own (each ES module, and each
 * built-in module imported as one, costs the start ~0.5-1 ms here:
 * docs/functions.md, "Cold start"). Without the bundle (built by tsc
 * alone) the same runtime runs as ES modules.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let bundled = true;
try {
  require.resolve('./runtime.cjs');
} catch {
  bundled = false;
}
if (bundled) require('./runtime.cjs');
else await import('./runtime-main.js');
