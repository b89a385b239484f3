import Database from 'better-sqlite3';
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { realClock, type Clock } from '../../core/clock.js';
import { storageError, ZenoError } from '../../core/errors.js';
import type { ConsumerInfo, ConsumerOptions, EventLog, LeasedEvent, StoredEvent } from './event-log.js';

/**
 * On disk an event is the CloudEvents JSON format (cloudevents/spec
 * `formats/json-format.md`): attributes at the top level, then `data` for a
 * JSON value or `data_base64` for binary data, so the stored body is
 * readable with any CloudEvents tool.
 */
export function encodeEvent(event: StoredEvent): string {
  const { attributes, data } = event;
  if ('data' in attributes || 'data_base64' in attributes) {
    throw new ZenoError('ZENO_ERR_BAD_REQUEST', 'a CloudEvent attribute may not be named data or data_base64');
  }
  const head = JSON.stringify(attributes);
  if (data === undefined) return head;
  // The text JSON.stringify({ ...attributes, data }) gives, without copying the attributes
  // into a new object first (a third of an append's cost on the ingress path).
  const name = data instanceof Uint8Array ? 'data_base64' : 'data';
  const value = data instanceof Uint8Array ? `"${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64')}"` : JSON.stringify(data);
  // A value JSON has no text for (a function, a symbol) is left out, as in an object.
  if (value === undefined) return head;
  return head.length === 2 ? `{"${name}":${value}}` : `${head.slice(0, -1)},"${name}":${value}}`;
}

export function decodeEvent(body: string): StoredEvent {
  const { data, data_base64: b64, ...attributes } = JSON.parse(body) as Record<string, unknown>;
  const event: StoredEvent = { attributes: attributes as StoredEvent['attributes'] };
  if (typeof b64 === 'string') event.data = new Uint8Array(Buffer.from(b64, 'base64'));
  else if (data !== undefined) event.data = data;
  return event;
}

export { storageError } from '../../core/errors.js';

interface PendingAppend {
  broker: string;
  /** As appended: fetches in this process get this object back instead of a parse of `body`. */
  event: StoredEvent;
  body: string;
  at: number;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** An ack (retryAt undefined) or nack waiting for the next group commit. */
interface PendingSettle {
  consumer: string;
  seq: number;
  retryAt: number | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A fetch waiting for the next group commit: its leases are written with the turn's appends and acks. */
interface PendingFetch {
  consumer: string;
  max: number;
  out: LeasedEvent[];
  resolve: (events: LeasedEvent[]) => void;
  reject: (err: unknown) => void;
}

interface ConsumerRow {
  broker: string;
  ack_floor: number;
  delivered: number;
  max_in_flight: number;
  lease_ms: number;
}

/**
 * A consumer's row plus what this process knows about its deliveries, kept
 * in memory so the hot path does not ask SQLite: one process owns the file
 * (see openSqliteEventLog), so nobody else changes these behind its back.
 */
interface ConsumerState {
  broker: string;
  ackFloor: number;
  delivered: number;
  maxInFlight: number;
  leaseMs: number;
  /** Rows in `deliveries` for this consumer (leased or waiting for a retry). */
  outstanding: number;
  /**
   * No outstanding row is due before this time (ms): a lower bound on
   * max(lease_until, next_at) over them, so a fetch before it need not look
   * for expired leases or due retries. Lowered by leases and nacks, made
   * exact again whenever a fetch does look.
   */
  nextDueAt: number;
}

interface EventRow {
  seq: number;
  body: string;
  appended_at: number;
}

/**
 * Opens (or creates) the embedded event log in `file`. One process owns the
 * file: opening it releases every lease left by a previous owner (it was
 * killed, or it would still hold the file), so unacked events are handed out
 * again at once instead of after their lease runs out.
 */
export function openSqliteEventLog(
  file: string,
  opts: {
    clock?: Clock;
    /** fs.fsync by default; tests pass one they can hold back or fail. */
    fsync?: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
  } = {},
): EventLog {
  const clock = opts.clock ?? realClock;
  const syncFile = opts.fsync ?? fsync;
  const db = new Database(file);
  // WAL lets fetches read while an append commits. Durability: in WAL mode
  // synchronous=NORMAL survives a killed process but can lose the last
  // commits on power loss or an OS crash, and the broker's 202 promises the
  // event is on disk. SQLite's own answer, synchronous=FULL, fsyncs the WAL
  // inside every commit, on the event loop: about 1.6 ms on this machine's
  // disk during which no request is parsed and no event delivered. So every
  // commit runs at NORMAL, and the log fsyncs the WAL itself on libuv's
  // thread pool (fs.fsync on its own descriptor of the WAL file, which
  // flushes every frame written before it); an append resolves — and the
  // broker answers 202 — only once an fsync that started after its commit
  // has finished. WAL frames are a sequence, so what a power loss can take is
  // a tail of commits none of which was acknowledged. Checkpoints at NORMAL
  // sync the WAL before copying it into the database file (sqlite.org/wal.html).
  // Fetches, acks and nacks do not wait for an fsync: the worst a power loss
  // can do to them is a redelivery (at-least-once).
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // AUTOINCREMENT so a sequence number is never reused after compaction
  // deleted the newest rows: consumer cursors are sequence numbers.
  db.exec(`
    CREATE TABLE IF NOT EXISTS events (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      broker TEXT NOT NULL,
      body TEXT NOT NULL,
      appended_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_by_broker ON events (broker, seq);
    CREATE TABLE IF NOT EXISTS consumers (
      name TEXT PRIMARY KEY,
      broker TEXT NOT NULL,
      ack_floor INTEGER NOT NULL,
      delivered INTEGER NOT NULL,
      max_in_flight INTEGER NOT NULL,
      lease_ms INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS deliveries (
      consumer TEXT NOT NULL,
      seq INTEGER NOT NULL,
      attempts INTEGER NOT NULL,
      lease_until INTEGER NOT NULL,
      next_at INTEGER NOT NULL,
      PRIMARY KEY (consumer, seq)
    ) WITHOUT ROWID;
  `);
  // Rows in deliveries are exactly a consumer's outstanding events (leased,
  // or nacked and waiting); ack deletes the row. Everything at or below
  // ack_floor is acked; everything above `delivered` was never handed out.
  db.prepare('UPDATE deliveries SET lease_until = 0 WHERE lease_until > 0').run();

  const qInsert = db.prepare<[string, string, number]>('INSERT INTO events (broker, body, appended_at) VALUES (?, ?, ?)');
  const qLastSeq = db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'events'");
  const qConsumer = db.prepare<[string], ConsumerRow>('SELECT broker, ack_floor, delivered, max_in_flight, lease_ms FROM consumers WHERE name = ?');
  const qAddConsumer = db.prepare<[string, string, number, number, number, number]>(
    'INSERT INTO consumers (name, broker, ack_floor, delivered, max_in_flight, lease_ms) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const qUpdateConsumer = db.prepare<[number, number, string]>('UPDATE consumers SET max_in_flight = ?, lease_ms = ? WHERE name = ?');
  const qDeleteConsumer = db.prepare<[string]>('DELETE FROM consumers WHERE name = ?');
  const qDeleteDeliveries = db.prepare<[string]>('DELETE FROM deliveries WHERE consumer = ?');
  const qDue = db.prepare<[string, number, number, number], EventRow & { attempts: number }>(`
    SELECT d.seq AS seq, d.attempts AS attempts, e.body AS body, e.appended_at AS appended_at
    FROM deliveries d JOIN events e ON e.seq = d.seq
    WHERE d.consumer = ? AND d.lease_until <= ? AND d.next_at <= ?
    ORDER BY d.seq LIMIT ?`);
  const qNextDue = db.prepare<[string], { at: number | null; n: number }>(
    'SELECT MIN(MAX(lease_until, next_at)) AS at, COUNT(*) AS n FROM deliveries WHERE consumer = ?',
  );
  const qRelease = db.prepare<[number, string, number]>('UPDATE deliveries SET attempts = attempts + 1, lease_until = ? WHERE consumer = ? AND seq = ?');
  // Without the body: the events a fetch leases were nearly always appended
  // by this process a moment ago and are in the decoded cache, and every
  // Trigger of a broker fetches them; a body is read only on a miss (qBody).
  const qNew = db.prepare<[string, number, number], { seq: number; appended_at: number }>(
    'SELECT seq, appended_at FROM events WHERE broker = ? AND seq > ? ORDER BY seq LIMIT ?',
  );
  const qBody = db.prepare<[number], { body: string }>('SELECT body FROM events WHERE seq = ?');
  // One statement for a whole fetch's leases: the broker's events in (delivered, last] are exactly those qNew returned.
  const qLeaseRange = db.prepare<[string, number, string, number, number]>(
    'INSERT INTO deliveries (consumer, seq, attempts, lease_until, next_at) SELECT ?, seq, 1, ?, 0 FROM events WHERE broker = ? AND seq > ? AND seq <= ?',
  );
  const qSetDelivered = db.prepare<[number, string]>('UPDATE consumers SET delivered = ? WHERE name = ?');
  const qAck = db.prepare<[string, number]>('DELETE FROM deliveries WHERE consumer = ? AND seq = ?');
  // A consumer's acks of one group commit in one statement (seqs as a JSON array).
  const qAckMany = db.prepare<[string, string]>('DELETE FROM deliveries WHERE consumer = ? AND seq IN (SELECT value FROM json_each(?))');
  const qMinOutstanding = db.prepare<[string], { seq: number | null }>('SELECT MIN(seq) AS seq FROM deliveries WHERE consumer = ?');
  const qSetFloor = db.prepare<[number, string]>('UPDATE consumers SET ack_floor = ? WHERE name = ?');
  const qNack = db.prepare<[number, string, number]>('UPDATE deliveries SET lease_until = 0, next_at = ? WHERE consumer = ? AND seq = ?');
  const qBacklog = db.prepare<[string, number], { n: number }>('SELECT COUNT(*) AS n FROM events WHERE broker = ? AND seq > ?');
  const qBrokers = db.prepare<[], { broker: string }>('SELECT DISTINCT broker FROM events');
  const qFloorOf = db.prepare<[string], { floor: number | null; n: number }>(
    'SELECT MIN(ack_floor) AS floor, COUNT(*) AS n FROM consumers WHERE broker = ?',
  );
  const qCompact = db.prepare<[string, number]>('DELETE FROM events WHERE broker = ? AND seq <= ?');

  // ---- decoded events, shared by the consumers of a broker ----
  // Every Trigger of a broker fetches the same events at about the same
  // time; parsing each body once instead of once per Trigger. An event
  // appended by this process is not parsed at all: the cache is seeded with
  // the object given to append (the contract hands events back exactly as
  // appended, and read-only). Bounded (a slow consumer's old events fall out
  // and are parsed again).
  // Sized for a backlog: when ingress outruns the Triggers (a burst), they
  // fetch events appended seconds ago, and with 1024 entries every one of
  // them missed and was parsed (and encoded for delivery) once per Trigger.
  const DECODED_MAX = 8192;
  const DECODED_MAX_CHARS = 8 * 1024 * 1024;
  const decodedCache = new Map<number, { event: StoredEvent; chars: number }>();
  let decodedChars = 0;
  const remember = (seq: number, event: StoredEvent, chars: number): void => {
    if (chars > DECODED_MAX_CHARS / 8) return;
    decodedCache.set(seq, { event, chars });
    decodedChars += chars;
    while (decodedCache.size > DECODED_MAX || decodedChars > DECODED_MAX_CHARS) {
      const [oldest, v] = decodedCache.entries().next().value as [number, { chars: number }];
      decodedCache.delete(oldest);
      decodedChars -= v.chars;
    }
  };
  const decoded = (seq: number, body: string): StoredEvent => {
    const hit = decodedCache.get(seq);
    if (hit) return hit.event;
    const event = decodeEvent(body);
    remember(seq, event, body.length);
    return event;
  };

  // ---- consumer state, cached ----
  const consumers = new Map<string, ConsumerState>();

  const load = (name: string): ConsumerState | undefined => {
    const cached = consumers.get(name);
    if (cached) return cached;
    const row = qConsumer.get(name);
    if (!row) return undefined;
    const due = qNextDue.get(name)!;
    const state: ConsumerState = {
      broker: row.broker,
      ackFloor: row.ack_floor,
      delivered: row.delivered,
      maxInFlight: row.max_in_flight,
      leaseMs: row.lease_ms,
      outstanding: due.n,
      nextDueAt: due.at ?? Infinity,
    };
    consumers.set(name, state);
    return state;
  };

  const consumerOf = (name: string): ConsumerState => {
    const state = load(name);
    if (!state) throw new ZenoError('ZENO_ERR_INTERNAL', `event log: unknown consumer ${name}`);
    return state;
  };

  /**
   * Runs a write transaction; if it fails (and SQLite rolled it back), the
   * cached consumer state may be ahead of the file, so it is dropped and
   * reloaded from the file on next use.
   */
  const guarded = <A extends unknown[], R>(tx: (...args: A) => R) => (...args: A): R => {
    try {
      return tx(...args);
    } catch (err) {
      consumers.clear();
      throw err;
    }
  };

  // ---- group commit of appends, acks, nacks and fetches ----
  //
  // Every append, ack, nack and fetch made in one turn of the event loop is
  // written in one transaction (setImmediate, not a timer: it runs after the
  // I/O callbacks of this turn, so concurrent ingress requests, deliveries
  // that finished together and every Trigger's fetch share one commit; a
  // fetch used to be a transaction of its own). In the transaction acks and
  // nacks come first, so a fetch sees them, then appends, so a fetch of the
  // same turn can lease them at once, then the fetches. Acks, nacks and
  // fetches resolve once it committed; appends once an fsync covered it
  // (below), and every commit made while one fsync runs shares the next.
  let pending: PendingAppend[] = [];
  let settles: PendingSettle[] = [];
  let fetches: PendingFetch[] = [];
  let flushScheduled = false;
  let closed = false;
  const listeners = new Map<string, Set<(lastSeq: number) => void>>();

  /** Leases up to `max` events of consumer `name` (inside the group transaction); a consumer removed meanwhile gets none. */
  const lease = (name: string, max: number, out: LeasedEvent[]): void => {
    const c = consumers.get(name) ?? load(name);
    if (!c) return;
    const now = clock.now();
    const leaseUntil = now + c.leaseMs;
    if (now >= c.nextDueAt) {
      for (const r of qDue.all(name, now, now, max)) {
        qRelease.run(leaseUntil, name, r.seq);
        out.push({ seq: r.seq, broker: c.broker, event: decoded(r.seq, r.body), attempt: r.attempts + 1, appendedAt: r.appended_at, leaseUntil });
      }
      c.nextDueAt = qNextDue.get(name)!.at ?? Infinity;
    }
    const room = Math.min(max - out.length, c.maxInFlight - c.outstanding);
    if (room <= 0) return;
    const fresh = qNew.all(c.broker, c.delivered, room);
    if (fresh.length === 0) return;
    const last = fresh[fresh.length - 1]!.seq;
    if (qLeaseRange.run(name, leaseUntil, c.broker, c.delivered, last).changes !== fresh.length) {
      throw new ZenoError('ZENO_ERR_INTERNAL', `event log: leasing ${fresh.length} events of ${name} wrote a different number of rows`);
    }
    for (const r of fresh) {
      const hit = decodedCache.get(r.seq);
      const event = hit ? hit.event : decoded(r.seq, qBody.get(r.seq)!.body);
      out.push({ seq: r.seq, broker: c.broker, event, attempt: 1, appendedAt: r.appended_at, leaseUntil });
    }
    qSetDelivered.run(last, name);
    c.delivered = last;
    c.outstanding += fresh.length;
    if (leaseUntil < c.nextDueAt) c.nextDueAt = leaseUntil;
  };

  const writeBatch = guarded(
    db.transaction((appends: PendingAppend[], batch: PendingSettle[], wants: PendingFetch[]): number[] => {
      const touched = new Map<string, ConsumerState>();
      // Acks by consumer, each consumer's in one statement after the nacks.
      // Order does not matter: an acked event stays acked whether a nack of
      // it in the same turn came before (the ack deletes the row) or after
      // (the nack finds no row).
      let acks: Map<string, number[]> | undefined;
      for (const s of batch) {
        const c = consumers.get(s.consumer) ?? load(s.consumer);
        // Removed since the call: its deliveries went with it.
        if (!c) continue;
        if (s.retryAt === undefined) {
          acks ??= new Map();
          const list = acks.get(s.consumer);
          if (list) list.push(s.seq);
          else acks.set(s.consumer, [s.seq]);
          continue;
        }
        if (qNack.run(s.retryAt, s.consumer, s.seq).changes > 0 && s.retryAt < c.nextDueAt) {
          c.nextDueAt = s.retryAt;
        }
      }
      if (acks) {
        for (const [name, seqs] of acks) {
          const n = seqs.length === 1 ? qAck.run(name, seqs[0]!).changes : qAckMany.run(name, JSON.stringify(seqs)).changes;
          if (n === 0) continue;
          const c = consumers.get(name)!;
          c.outstanding -= n;
          touched.set(name, c);
        }
      }
      for (const [name, c] of touched) {
        const min = c.outstanding === 0 ? null : qMinOutstanding.get(name)!.seq;
        const floor = min === null ? c.delivered : min - 1;
        if (floor !== c.ackFloor) {
          qSetFloor.run(floor, name);
          c.ackFloor = floor;
        }
      }
      const seqs = appends.map((p) => Number(qInsert.run(p.broker, p.body, p.at).lastInsertRowid));
      // Fetches in this process get the appended objects, not a parse of their JSON (see decoded()).
      for (let i = 0; i < appends.length; i++) remember(seqs[i]!, appends[i]!.event, appends[i]!.body.length);
      for (const f of wants) {
        f.out = [];
        lease(f.consumer, f.max, f.out);
      }
      return seqs;
    }),
  );

  // ---- fsync of the WAL, off the event loop ----
  const walFile = `${file}-wal`;
  let walFd: number | undefined;
  let syncing = false;
  /** Commits waiting for an fsync that starts after them. */
  let unsynced: ((err: Error | undefined) => void)[] = [];
  let onSynced: (() => void)[] = [];

  const openWal = (): number => {
    if (walFd !== undefined) return walFd;
    const fd = openSync(walFile, 'r');
    // The WAL file's directory entry must survive a power loss too (once).
    const dir = openSync(dirname(walFile), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    walFd = fd;
    return fd;
  };

  const startSync = (): void => {
    syncing = true;
    const batch = unsynced;
    unsynced = [];
    const done = (err: Error | undefined): void => {
      syncing = false;
      for (const d of batch) d(err);
      if (unsynced.length > 0) startSync();
      else {
        const idle = onSynced;
        onSynced = [];
        for (const w of idle) w();
      }
    };
    let fd: number;
    try {
      fd = openWal();
    } catch (err) {
      done(err as Error);
      return;
    }
    syncFile(fd, (err) => done(err ?? undefined));
  };

  /** Calls `done` once everything committed so far is on disk. */
  const whenDurable = (done: (err: Error | undefined) => void): void => {
    unsynced.push(done);
    if (!syncing) startSync();
  };

  const idle = (): Promise<void> =>
    syncing || unsynced.length > 0 ? new Promise<void>((r) => onSynced.push(r)) : Promise.resolve();

  const flush = (): void => {
    flushScheduled = false;
    const appends = pending;
    const batch = settles;
    const wants = fetches;
    pending = [];
    settles = [];
    fetches = [];
    if (appends.length === 0 && batch.length === 0 && wants.length === 0) return;
    let seqs: number[];
    try {
      seqs = writeBatch(appends, batch, wants);
    } catch (err) {
      const e = storageError(err);
      for (const p of appends) p.reject(e);
      for (const s of batch) s.reject(e);
      for (const f of wants) f.reject(e);
      return;
    }
    for (const s of batch) s.resolve();
    for (const f of wants) f.resolve(f.out);
    if (appends.length === 0) return;
    // Committed, so fetches see the events now: the dispatchers may start
    // on them while the fsync runs (a subscriber can get an event whose
    // producer has no 202 yet, which at-least-once allows).
    const last = new Map<string, number>();
    for (let i = 0; i < appends.length; i++) last.set(appends[i]!.broker, seqs[i]!);
    for (const [broker, seq] of last) for (const l of listeners.get(broker) ?? []) l(seq);
    whenDurable((err) => {
      if (err) {
        const e = new ZenoError('ZENO_ERR_INTERNAL', `event log: fsync failed: ${err.message}`, { cause: err });
        for (const p of appends) p.reject(e);
        return;
      }
      for (let i = 0; i < appends.length; i++) appends[i]!.resolve(seqs[i]!);
    });
  };

  const scheduleFlush = (): void => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  };

  /** Commits whatever is queued now, so what follows reads it (appends before a new consumer, acks before compaction). */
  const flushNow = (): void => {
    if (pending.length > 0 || settles.length > 0 || fetches.length > 0) flush();
  };

  const assertOpen = (): void => {
    if (closed) throw new ZenoError('ZENO_ERR_SHUTTING_DOWN', 'event log is closed');
  };

  const settle = (consumer: string, seq: number, retryAt: number | undefined): Promise<void> => {
    try {
      assertOpen();
      consumerOf(consumer);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      settles.push({ consumer, seq, retryAt, resolve, reject });
      scheduleFlush();
    });
  };

  const addTx = guarded(
    db.transaction((broker: string, name: string, o: ConsumerOptions) => {
      const existing = load(name);
      if (existing) {
        if (existing.broker !== broker) {
          throw new ZenoError('ZENO_ERR_INTERNAL', `event log: consumer ${name} belongs to broker ${existing.broker}`);
        }
        qUpdateConsumer.run(o.maxInFlight, o.leaseMs, name);
        existing.maxInFlight = o.maxInFlight;
        existing.leaseMs = o.leaseMs;
        return;
      }
      const start = o.fromStart ? 0 : (qLastSeq.get()?.seq ?? 0);
      qAddConsumer.run(name, broker, start, start, o.maxInFlight, o.leaseMs);
      consumers.set(name, { broker, ackFloor: start, delivered: start, maxInFlight: o.maxInFlight, leaseMs: o.leaseMs, outstanding: 0, nextDueAt: Infinity });
    }),
  );

  const removeTx = guarded(
    db.transaction((name: string) => {
      qDeleteDeliveries.run(name);
      qDeleteConsumer.run(name);
      consumers.delete(name);
    }),
  );

  const compactTx = db.transaction((): number => {
    let removed = 0;
    for (const { broker } of qBrokers.all()) {
      const { floor, n } = qFloorOf.get(broker)!;
      const upTo = n === 0 ? Number.MAX_SAFE_INTEGER : (floor ?? 0);
      if (upTo > 0) removed += qCompact.run(broker, upTo).changes;
    }
    return removed;
  });

  return {
    append(broker, event) {
      assertOpen();
      const body = encodeEvent(event);
      return new Promise<number>((resolve, reject) => {
        pending.push({ broker, event, body, at: clock.now(), resolve, reject });
        scheduleFlush();
      });
    },

    async addConsumer(broker, consumer, o) {
      assertOpen();
      if (!Number.isInteger(o.maxInFlight) || o.maxInFlight < 1) {
        throw new ZenoError('ZENO_ERR_INTERNAL', `event log: maxInFlight must be a positive integer, got ${o.maxInFlight}`);
      }
      // Appends queued before this call count as "before": the consumer
      // starts after them, as it would had they already committed.
      flushNow();
      try {
        addTx(broker, consumer, o);
      } catch (err) {
        throw storageError(err);
      }
    },

    async removeConsumer(consumer) {
      assertOpen();
      flushNow();
      try {
        removeTx(consumer);
      } catch (err) {
        throw storageError(err);
      }
    },

    fetch(consumer, max) {
      try {
        assertOpen();
        consumerOf(consumer);
      } catch (err) {
        return Promise.reject(err);
      }
      if (max <= 0) return Promise.resolve([]);
      return new Promise<LeasedEvent[]>((resolve, reject) => {
        fetches.push({ consumer, max, out: [], resolve, reject });
        scheduleFlush();
      });
    },

    ack(consumer, seq) {
      return settle(consumer, seq, undefined);
    },

    nack(consumer, seq, retryAtMs) {
      return settle(consumer, seq, retryAtMs);
    },

    async info(consumer) {
      assertOpen();
      flushNow();
      const c = load(consumer);
      if (!c) return undefined;
      const info: ConsumerInfo = {
        broker: c.broker,
        ackFloor: c.ackFloor,
        outstanding: c.outstanding,
        backlog: qBacklog.get(c.broker, c.delivered)!.n,
      };
      return info;
    },

    onAppend(broker, listener) {
      let set = listeners.get(broker);
      if (!set) listeners.set(broker, (set = new Set()));
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(broker) === set) listeners.delete(broker);
      };
    },

    async compact() {
      assertOpen();
      flushNow();
      return compactTx();
    },

    async close() {
      if (closed) return;
      flush();
      closed = true;
      listeners.clear();
      consumers.clear();
      decodedCache.clear();
      await idle();
      if (walFd !== undefined) closeSync(walFd);
      db.close();
    },
  };
}
