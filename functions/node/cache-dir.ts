import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the Node runtime keeps what it derives from files (compiled
 * TypeScript handlers, V8 code caches): $ZENO_CACHE_DIR, else
 * <tmpdir>/zeno-cache. Kept in a module of its own, free of costly
 * imports: every runtime process loads it.
 */
export function cacheDir(env: Record<string, string | undefined> = process.env): string {
  return env.ZENO_CACHE_DIR || join(tmpdir(), 'zeno-cache');
}
