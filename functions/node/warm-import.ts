/**
 * Loaded (as a file, the way a handler is: handler.ts warmModuleLoader) by a
 * warm process while it idles (runtime-main.ts): the process runs from a
 * CommonJS bundle, so the first ES module it loads is the handler, and that
 * first load would also set up Node's ES module loader for files (~5 ms
 * here). This empty module takes that cost off the cold start.
 */
export {};
