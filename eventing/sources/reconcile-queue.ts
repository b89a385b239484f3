/**
 * The work queue of the source controllers (sources/controller.ts and
 * sources/apiserver.ts): keys marked dirty by store watch events, process
 * callbacks and watches are reconciled together in one microtask, so a burst
 * of changes in one turn (an apply of many objects, a list that fires every
 * watch) reconciles each key once. "Everything" (a sink kind changed, the
 * controller started or gained leadership) adds every key `allKeys` names.
 *
 * It is Knative's workqueue reduced to one process: no rate limiting or
 * requeue with backoff, because a reconcile here is synchronous and a failed
 * one is retried by the next change that touches the key.
 */
export interface ReconcileQueueDeps {
  /** Every key to look at when everything is dirty: the objects in the store plus what the controller still runs. */
  allKeys(): Iterable<string>;
  reconcile(key: string): void;
  /** A reconcile threw: the other keys still run. */
  onError(key: string, err: Error): void;
  /** After each pass, whether or not any key was dirty (e.g. cross-object checks). */
  afterPass?(): void;
}

export class ReconcileQueue {
  private dirty = new Set<string>();
  private all = false;
  private scheduled = false;
  private stopped = false;

  constructor(private readonly d: ReconcileQueueDeps) {}

  /** Reconciles `key` in the next pass. */
  add(key: string): void {
    this.dirty.add(key);
    this.schedule();
  }

  /** Reconciles every key of `allKeys` in the next pass. */
  addAll(): void {
    this.all = true;
    this.schedule();
  }

  /** Runs a pass (afterPass) even if no key is dirty. */
  poke(): void {
    this.schedule();
  }

  /** No pass runs after this, not even one already scheduled. */
  stop(): void {
    this.stopped = true;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    queueMicrotask(() => this.pass());
  }

  private pass(): void {
    this.scheduled = false;
    if (this.stopped) return;
    // Taken before reconciling: a key marked by a reconcile runs in the next pass, not this one.
    const keys = this.dirty;
    this.dirty = new Set();
    if (this.all) {
      this.all = false;
      for (const k of this.d.allKeys()) keys.add(k);
    }
    for (const k of keys) {
      try {
        this.d.reconcile(k);
      } catch (err) {
        this.d.onError(k, err as Error);
      }
    }
    this.d.afterPass?.();
  }
}
