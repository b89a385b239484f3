/**
 * Imported (as a file, by URL) by a warm process while it idles
 * (runtime-main.ts): the process runs from a CommonJS bundle, so the first
 * ES module it imports is the handler, and that first import would also
 * set up Node's ES module loader for files (~5 ms here). This empty module
 * takes that cost off the cold start.
 */
export {};
