/**
 * The embedded FunctionRuntime: pods are local child processes.
 *
 * @example
 * const runtime = createLocalRuntime({ drain: (podId, signal) => dataPlane.drain(podId, signal) });
 * runtime.deploy(template);
 * runtime.scale(template.id, 1);
 */
export { createLocalRuntime, type LocalRuntimeOptions } from './local-runtime.js';
