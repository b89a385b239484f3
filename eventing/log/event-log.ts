/**
 * The durable event log behind every Broker: ingress appends, one consumer
 * per Trigger pulls. Embedded mode keeps it in SQLite (sqlite-log.ts);
 * cluster mode will put NATS JetStream behind the same contract (contract.ts
 * is the suite both must pass).
 *
 * The API is pull-based on purpose, shaped like a JetStream pull consumer:
 * fetch() leases events, ack() settles them, nack() schedules a retry, and a
 * lease that runs out (a dead or stuck dispatcher) makes the event
 * deliverable again. That gives at-least-once delivery and redelivery after a
 * crash without any in-memory queue that could grow with a backlog.
 */

/** A JSON-safe CloudEvent attribute value (CloudEvents 1.0 types all map to these). */
export type AttributeValue = string | number | boolean;

/**
 * A CloudEvent as the log keeps it. `attributes` holds the context attributes
 * and extensions (`id`, `source`, `type`, …), never `data`/`data_base64`.
 * `data` is a JSON value, or a Uint8Array for binary data; it comes back
 * from the log exactly as appended (the broker must not modify data).
 */
export interface StoredEvent {
  attributes: Record<string, AttributeValue>;
  data?: unknown;
}

export interface ConsumerOptions {
  /**
   * The most events this consumer may have outstanding: leased, or nacked
   * and waiting for their retry time (JetStream's MaxAckPending). A slow or
   * dead subscriber stops at this many; other consumers are unaffected.
   */
  maxInFlight: number;
  /** How long a fetched event stays leased before it is handed out again. */
  leaseMs: number;
  /** Start at the oldest retained event instead of the end of the log. */
  fromStart?: boolean;
}

export interface LeasedEvent {
  seq: number;
  broker: string;
  /** Read-only: the consumers of a broker may be handed the same object. */
  event: StoredEvent;
  /** 1 on the first delivery; counts every lease, including ones lost to a crash. */
  attempt: number;
  /** When the event was appended (ms since epoch, by the log's clock). */
  appendedAt: number;
  /** The lease runs out at this time; ack or nack before it. */
  leaseUntil: number;
}

export interface ConsumerInfo {
  broker: string;
  /** Every event of the broker with seq <= ackFloor is acked by this consumer. */
  ackFloor: number;
  /** Events leased or waiting for a retry (never more than maxInFlight). */
  outstanding: number;
  /** Events of the broker not yet handed to this consumer. */
  backlog: number;
}

export interface EventLog {
  /**
   * Appends an event; resolves with its sequence number once it is durable
   * (the broker answers 202 only after this). Sequence numbers rise and are
   * never reused, even after compaction.
   */
  append(broker: string, event: StoredEvent): Promise<number>;
  /**
   * Creates a consumer of `broker` (one per Trigger), or updates an existing
   * one's maxInFlight and leaseMs while keeping its position. A new consumer
   * sees only events appended after this call unless `fromStart`.
   */
  addConsumer(broker: string, consumer: string, opts: ConsumerOptions): Promise<void>;
  /** Forgets a consumer and its delivery state (the Trigger was deleted). */
  removeConsumer(consumer: string): Promise<void>;
  /**
   * Leases up to `max` events, oldest first: retries that are due and
   * expired leases, then new events, never taking the consumer above
   * maxInFlight outstanding. Resolves with [] when nothing is ready.
   */
  fetch(consumer: string, max: number): Promise<LeasedEvent[]>;
  /** Settles an event for this consumer; a no-op if it was already acked. */
  ack(consumer: string, seq: number): Promise<void>;
  /**
   * Releases the lease and makes the event deliverable again at
   * `retryAtMs` (still outstanding until then). A no-op if already acked.
   */
  nack(consumer: string, seq: number, retryAtMs: number): Promise<void>;
  /** Position and counts of a consumer; undefined if it does not exist. */
  info(consumer: string): Promise<ConsumerInfo | undefined>;
  /**
   * Calls `listener` after events are appended to `broker` (so a dispatcher
   * can fetch without polling). Returns the unsubscribe function.
   */
  onAppend(broker: string, listener: (lastSeq: number) => void): () => void;
  /**
   * Deletes the events every consumer of their broker has acked; the events
   * of a broker with no consumers are deleted too (nobody can receive them,
   * Knative drops events no Trigger matches). Resolves with how many went.
   */
  compact(): Promise<number>;
  /** Waits for pending appends to become durable, then releases the store. */
  close(): Promise<void>;
}
