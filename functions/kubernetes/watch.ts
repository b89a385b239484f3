/**
 * A list-then-watch cache that survives a flaky connection, like client-go's
 * reflector: it lists once, watches from the list's resourceVersion, keeps
 * the last resourceVersion it saw (events and BOOKMARKs), resumes a dropped
 * watch from there, and relists only when the server answers 410 Gone
 * (`Expired`: that history is no longer kept).
 */
import type { Clock, TimerHandle } from '../../core/clock.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: any };
  [k: string]: any;
}

export interface WatchSource {
  list(): Promise<{ items: KubeObject[]; resourceVersion: string }>;
  /**
   * Opens a watch from `resourceVersion` (with bookmarks). `onEvent` gets
   * each `{type, object}`; `onDone` is called once when the stream ends or fails.
   */
  watch(resourceVersion: string, onEvent: (type: string, object: any) => void, onDone: (err: unknown) => void): Promise<{ abort(): void }>;
}

export interface ResumableWatchOptions {
  source: WatchSource;
  clock: Clock;
  onUpsert(obj: KubeObject): void;
  onDelete(obj: KubeObject): void;
  /** After the first list (and each relist) has been applied. */
  onSynced?(): void;
  /**
   * Each change the watch streamed (not what a list found), with its type:
   * for consumers that act on changes, like ApiServerSource, which sends
   * nothing for a (re)list as Knative's adapter does (its store's Replace
   * is a no-op).
   */
  onWatchEvent?(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void;
  /** A list failed (e.g. 403 Forbidden): the error, before the retry. */
  onListError?(err: unknown): void;
  log?(line: string): void;
  /** First retry delay after a failure; doubles up to maxBackoffMs. @default 200 */
  backoffMs?: number;
  /** @default 5000 */
  maxBackoffMs?: number;
}

const keyOf = (o: KubeObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** Counters tests read to tell a resume from a relist. */
export interface WatchStats {
  lists: number;
  watches: number;
  expired: number;
  lastResourceVersion: string;
}

export class ResumableWatch {
  private readonly cache = new Map<string, KubeObject>();
  private current: { abort(): void } | undefined;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private failures = 0;
  readonly stats: WatchStats = { lists: 0, watches: 0, expired: 0, lastResourceVersion: '' };

  constructor(private readonly o: ResumableWatchOptions) {}

  start(): void {
    void this.relistAndWatch();
  }

  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.timer);
    this.current?.abort();
    this.current = undefined;
  }

  items(): KubeObject[] {
    return [...this.cache.values()];
  }

  private retryLater(what: () => Promise<void>): void {
    if (this.stopped) return;
    const base = this.o.backoffMs ?? 200;
    const delay = Math.min(this.o.maxBackoffMs ?? 5_000, base * 2 ** Math.min(this.failures, 10));
    this.failures++;
    this.timer = this.o.clock.setTimeout(() => void what(), delay);
  }

  private async relistAndWatch(): Promise<void> {
    if (this.stopped) return;
    let listed: { items: KubeObject[]; resourceVersion: string };
    try {
      listed = await this.o.source.list();
    } catch (e) {
      this.o.onListError?.(e);
      this.o.log?.(`list failed: ${(e as Error).message}; retrying`);
      this.retryLater(() => this.relistAndWatch());
      return;
    }
    if (this.stopped) return;
    this.stats.lists++;
    // Replace the cache: what vanished while we were not watching is deleted.
    const seen = new Set<string>();
    for (const item of listed.items) {
      seen.add(keyOf(item));
      this.cache.set(keyOf(item), item);
      this.o.onUpsert(item);
    }
    for (const [k, old] of [...this.cache]) {
      if (!seen.has(k)) {
        this.cache.delete(k);
        this.o.onDelete(old);
      }
    }
    this.stats.lastResourceVersion = listed.resourceVersion;
    this.o.onSynced?.();
    await this.watch();
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let expired = false;
    let gotEvent = false;
    const onEvent = (type: string, obj: any): void => {
      if (this.stopped) return;
      const rv: string | undefined = obj?.metadata?.resourceVersion;
      switch (type) {
        case 'ADDED':
        case 'MODIFIED':
          this.cache.set(keyOf(obj), obj);
          this.o.onUpsert(obj);
          this.o.onWatchEvent?.(type, obj);
          break;
        case 'DELETED':
          this.cache.delete(keyOf(obj));
          this.o.onDelete(obj);
          this.o.onWatchEvent?.(type, obj);
          break;
        case 'BOOKMARK':
          break;
        case 'ERROR':
          if (obj?.code === 410) expired = true;
          else this.o.log?.(`watch error: ${obj?.message ?? JSON.stringify(obj)}`);
          return;
        default:
          return;
      }
      gotEvent = true;
      if (rv) this.stats.lastResourceVersion = rv;
    };
    let done = false;
    const onDone = (err: unknown): void => {
      if (done) return;
      done = true;
      this.current = undefined;
      if (this.stopped) return;
      const status = (err as { statusCode?: number; code?: number } | null)?.statusCode ?? (err as { code?: number } | null)?.code;
      if (expired || status === 410) {
        // 410 Gone: the history after our resourceVersion is gone; start over from a list.
        this.stats.expired++;
        this.o.log?.(`watch expired at resourceVersion ${this.stats.lastResourceVersion}; relisting`);
        this.failures = 0;
        void this.relistAndWatch();
      } else if (err) {
        this.o.log?.(`watch failed: ${(err as Error).message ?? String(err)}; resuming from ${this.stats.lastResourceVersion}`);
        this.retryLater(() => this.watch());
      } else {
        // A clean end (server timeout, restart): resume at once from the last resourceVersion.
        if (gotEvent) this.failures = 0;
        this.retryLater(() => this.watch());
      }
    };
    try {
      this.stats.watches++;
      const handle = await this.o.source.watch(this.stats.lastResourceVersion, onEvent, onDone);
      if (this.stopped) handle.abort();
      else if (!done) this.current = handle;
    } catch (e) {
      onDone(e);
    }
  }
}
