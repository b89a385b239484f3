/**
 * Loaded as a handler (handler.ts warmHandlerLoader) by a warm process while
 * it idles (runtime-main.ts): the process runs from a CommonJS bundle, so
 * the first ES module it loads is the handler, and that first load would
 * also set up Node's ES module loader for files (~5 ms here); going
 * through loadHandlers also runs the loader's own code (shape check
 * included) once. Both are then paid before the cold start, not in it.
 */
export default (): Response => new Response(null, { status: 204 });
