import type { ResourcePlural } from '../core/kinds.js';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { realClock, type Clock } from '../core/clock.js';
import type { KObject } from '../core/types.js';

/** Resources are addressed by their plural resource name, as in REST paths. */
export type ResourceKind = ResourcePlural | 'configurations' | 'revisions' | 'routes';

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  kind: ResourceKind;
  object: KObject;
}

/**
 * The platform's source of truth. Embedded mode keeps it in SQLite; cluster
 * mode will keep it in Kubernetes objects behind the same interface.
 */
export interface ResourceStore {
  get(kind: ResourceKind, namespace: string, name: string): KObject | undefined;
  /**
   * Objects of a kind, in one namespace or all. `namePrefix` keeps only names
   * starting with it, read by an index range (a Service's revisions are
   * `NAME-…`), so a reconcile does not parse every object of the kind.
   */
  list(kind: ResourceKind, namespace?: string, opts?: { namePrefix?: string }): KObject[];
  /**
   * Creates or replaces an object's metadata and spec (status is kept).
   * `generation` rises only when the spec changes; resourceVersion on every write.
   */
  put(kind: ResourceKind, obj: KObject): { object: KObject; action: 'created' | 'configured' | 'unchanged' };
  /** Replaces only the status (no generation bump); a no-op when unchanged. */
  putStatus(kind: ResourceKind, namespace: string, name: string, status: Record<string, unknown>): KObject | undefined;
  delete(kind: ResourceKind, namespace: string, name: string): KObject | undefined;
  /** Runs fn atomically: every write inside it lands, or none does. */
  transaction<T>(fn: () => T): T;
  watch(listener: (e: WatchEvent) => void): () => void;
  close(): void;
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : val,
  );
}

/** What counts as the user's intent: a change here bumps generation. */
function intentOf(obj: KObject): string {
  const { labels, annotations } = obj.metadata;
  return stable({ spec: obj.spec ?? null, data: obj.data ?? null, labels: labels ?? {}, annotations: annotations ?? {} });
}

function specOf(obj: KObject): string {
  return stable({ spec: obj.spec ?? null, data: obj.data ?? null });
}

/** `clock` stamps creationTimestamp (tests drive it; GC reads it). */
export function openSqliteStore(file: string, opts: { clock?: Clock } = {}): ResourceStore {
  const clock = opts.clock ?? realClock;
  const db = new Database(file);
  // WAL keeps readers off the writer's back; synchronous=NORMAL is durable
  // across process crashes (only an OS crash can lose the last commit).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS resources (
      kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
      body TEXT NOT NULL, PRIMARY KEY (kind, namespace, name)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT OR IGNORE INTO meta (key, value) VALUES ('resourceVersion', 0);
  `);
  const qGet = db.prepare<[string, string, string], { body: string }>('SELECT body FROM resources WHERE kind = ? AND namespace = ? AND name = ?');
  const qListNs = db.prepare<[string, string], { body: string }>('SELECT body FROM resources WHERE kind = ? AND namespace = ? ORDER BY name');
  const qListPrefix = db.prepare<[string, string, string, string], { body: string }>('SELECT body FROM resources WHERE kind = ? AND namespace = ? AND name >= ? AND name < ? ORDER BY name');
  const qListAll = db.prepare<[string], { body: string }>('SELECT body FROM resources WHERE kind = ? ORDER BY namespace, name');
  const qUpsert = db.prepare('INSERT INTO resources (kind, namespace, name, body) VALUES (?, ?, ?, ?) ON CONFLICT(kind, namespace, name) DO UPDATE SET body = excluded.body');
  const qDelete = db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?');
  const qBump = db.prepare<[], { value: number }>("UPDATE meta SET value = value + 1 WHERE key = 'resourceVersion' RETURNING value");

  // In-memory cache: reads are on the reconcile path, and SQLite stays the
  // durable copy. Every write goes to both inside the same call.
  const cache = new Map<string, KObject>();
  const keyOf = (kind: string, ns: string, name: string) => `${kind}\u0000${ns}\u0000${name}`;
  const listeners = new Set<(e: WatchEvent) => void>();
  let pending: WatchEvent[] | undefined;

  const emit = (e: WatchEvent) => {
    if (pending) pending.push(e);
    else for (const l of listeners) l(e);
  };

  const read = (kind: ResourceKind, ns: string, name: string): KObject | undefined => {
    const k = keyOf(kind, ns, name);
    const hit = cache.get(k);
    if (hit) return hit;
    const row = qGet.get(kind, ns, name);
    if (!row) return undefined;
    const obj = JSON.parse(row.body) as KObject;
    cache.set(k, obj);
    return obj;
  };

  const write = (kind: ResourceKind, obj: KObject) => {
    obj.metadata.resourceVersion = String(qBump.get()!.value);
    const ns = obj.metadata.namespace ?? '';
    qUpsert.run(kind, ns, obj.metadata.name, JSON.stringify(obj));
    cache.set(keyOf(kind, ns, obj.metadata.name), obj);
  };

  const clone = <T>(v: T): T => structuredClone(v);

  const store: ResourceStore = {
    get(kind, namespace, name) {
      const o = read(kind, namespace, name);
      return o && clone(o);
    },
    list(kind, namespace, opts) {
      const prefix = opts?.namePrefix;
      // U+10FFFF sorts after every character that can follow the prefix (BINARY collation on UTF-8).
      const rows = namespace === undefined
        ? qListAll.all(kind).filter((r) => prefix === undefined || (JSON.parse(r.body) as KObject).metadata.name.startsWith(prefix))
        : prefix !== undefined ? qListPrefix.all(kind, namespace, prefix, `${prefix}\u{10FFFF}`) : qListNs.all(kind, namespace);
      return rows.map((r) => JSON.parse(r.body) as KObject);
    },
    put(kind, input) {
      const ns = input.metadata.namespace ?? '';
      const prev = read(kind, ns, input.metadata.name);
      if (prev && intentOf(prev) === intentOf(input)) return { object: clone(prev), action: 'unchanged' };
      const now = new Date(clock.now()).toISOString();
      const obj: KObject = clone(input);
      obj.metadata = {
        ...obj.metadata,
        namespace: ns,
        uid: prev?.metadata.uid ?? randomUUID(),
        creationTimestamp: prev?.metadata.creationTimestamp ?? now,
        generation: prev ? (prev.metadata.generation ?? 1) + (specOf(prev) === specOf(input) ? 0 : 1) : 1,
      };
      delete obj.status;
      if (prev?.status) obj.status = prev.status;
      write(kind, obj);
      emit({ type: prev ? 'MODIFIED' : 'ADDED', kind, object: clone(obj) });
      return { object: clone(obj), action: prev ? 'configured' : 'created' };
    },
    putStatus(kind, namespace, name, status) {
      const prev = read(kind, namespace, name);
      if (!prev) return undefined;
      if (stable(prev.status ?? null) === stable(status)) return clone(prev);
      // A fresh metadata object: write() sets resourceVersion on it, and the
      // cached prev must stay intact for a transaction rollback to restore.
      const obj = { ...prev, metadata: { ...prev.metadata }, status: clone(status) };
      write(kind, obj);
      emit({ type: 'MODIFIED', kind, object: clone(obj) });
      return clone(obj);
    },
    delete(kind, namespace, name) {
      const prev = read(kind, namespace, name);
      if (!prev) return undefined;
      qDelete.run(kind, namespace, name);
      cache.delete(keyOf(kind, namespace, name));
      emit({ type: 'DELETED', kind, object: clone(prev) });
      return clone(prev);
    },
    transaction(fn) {
      if (pending) return fn();
      pending = [];
      const before = new Map(cache);
      try {
        const out = db.transaction(fn)();
        const events = pending;
        pending = undefined;
        for (const e of events) for (const l of listeners) l(e);
        return out;
      } catch (err) {
        // The SQLite transaction rolled back; put the cache back too.
        cache.clear();
        for (const [k, v] of before) cache.set(k, v);
        pending = undefined;
        throw err;
      }
    },
    watch(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      listeners.clear();
      db.close();
    },
  };
  return store;
}
