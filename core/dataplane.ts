/**
 * The wire between the control plane (`zeno up`, role all) and data-plane
 * replicas (`zeno up --role gateway`): both ends import these types, so a
 * replica loads nothing of the control plane (no fastify, no SQLite).
 *
 * - The feed (`GET FEED_PATH`, NDJSON, bearer token): one `snapshot` line on
 *   connect, then one line per change and a `heartbeat` when idle. A change
 *   carries the whole route or revision, so applying a line is idempotent
 *   and a replica that reconnects just applies a fresh snapshot.
 * - Stats (`POST STATS_PATH`, JSON, bearer token): Knative's StatMessage per
 *   revision (averageConcurrency, requestCount) every stats period, plus the
 *   in-flight count; or a poke when requests wait for a revision with no
 *   ready pod.
 */
import type { RevisionId } from './types.js';

export const FEED_PATH = '/apis/zeno.dev/v1/dataplane/watch';
export const STATS_PATH = '/apis/zeno.dev/v1/dataplane/stats';
/** The replicas whose stats count now (reported within dataPlaneStatsStaleMs). */
export const REPLICAS_PATH = '/apis/zeno.dev/v1/dataplane/replicas';

export interface FeedBackend {
  id: string;
  url: string;
}

/** A Route as the gateway routes it (gateway/routes.ts RouteTable.set's arguments). */
export interface FeedRoute {
  namespace: string;
  service: string;
  domain: string;
  targets: { revision: RevisionId; percent: number; tag?: string }[];
  /** Tag → revision, for `TAG-NAME.NS.DOMAIN` hosts. */
  tags: [string, RevisionId][];
}

/** Per revision, what a replica's throttler and gateway need. */
export interface FeedRevision {
  id: RevisionId;
  containerConcurrency: number;
  timeoutMs: number;
  responseStartTimeoutMs: number;
  idleTimeoutMs: number;
  /** Knative's metric labels (core/metrics.ts RevisionLabels). */
  labels: { namespace: string; revision: string; service: string; configuration: string };
  /** Ready pods. */
  backends: FeedBackend[];
  /** Pods that listen and hold requests until their handler loaded (used only while none is ready). */
  early: FeedBackend[];
  /** Set while the revision cannot start: requests with no ready pod fail at once with it. */
  failure?: string;
}

/**
 * One line of the feed. `seq` numbers the changes of this control-plane
 * process (a snapshot carries the latest): a replica reports the last one it
 * applied, so the control plane knows when every replica has seen a pod
 * leave routing (the scale-down drain).
 */
export type FeedMessage =
  | { type: 'snapshot'; seq: number; routes: FeedRoute[]; revisions: FeedRevision[]; gatewayPort: number }
  | { type: 'route'; seq: number; route: FeedRoute }
  | { type: 'route-deleted'; seq: number; namespace: string; service: string }
  | { type: 'revision'; seq: number; revision: FeedRevision }
  | { type: 'revision-deleted'; seq: number; id: RevisionId }
  | { type: 'heartbeat' };

/** What a replica POSTs to STATS_PATH. */
export interface StatsMessage {
  replica: string;
  /** Periodic report: every revision with traffic on the replica in its period. */
  stats?: { revision: RevisionId; averageConcurrency: number; requestCount: number; inFlight: number }[];
  /** Requests wait on the replica for a revision with no ready pod: scale it from zero now. */
  poke?: { revision: RevisionId; inFlight: number };
  /** With `stats`: the `seq` of the last feed line the replica applied when it reported. */
  feedSeq?: number;
  /** With `stats`: pods the replica has requests in flight on (the scale-down drain waits for them). */
  pods?: { id: string; inFlight: number }[];
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isRev = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512 && v.includes('/');

/** Validates a stats body; a string says what is wrong (400). */
export function parseStatsMessage(body: unknown): StatsMessage | string {
  if (typeof body !== 'object' || body === null) return 'the body must be a JSON object';
  const b = body as Record<string, unknown>;
  if (typeof b.replica !== 'string' || !/^[A-Za-z0-9._:-]{1,253}$/.test(b.replica)) return 'replica must be 1-253 letters, digits, ".", "_", ":" or "-"';
  const out: StatsMessage = { replica: b.replica };
  if (b.stats !== undefined) {
    if (!Array.isArray(b.stats) || b.stats.length > 10_000) return 'stats must be an array (at most 10000 entries)';
    out.stats = [];
    for (const [i, s] of (b.stats as unknown[]).entries()) {
      const e = s as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null || !isRev(e.revision) || !isCount(e.averageConcurrency) || !isCount(e.requestCount) || !isCount(e.inFlight)) {
        return `stats[${i}] must be {revision: "NS/NAME", averageConcurrency, requestCount, inFlight} with numbers >= 0`;
      }
      out.stats.push({ revision: e.revision, averageConcurrency: e.averageConcurrency, requestCount: e.requestCount, inFlight: e.inFlight });
    }
  }
  if (b.feedSeq !== undefined) {
    if (!isCount(b.feedSeq)) return 'feedSeq must be a number >= 0';
    out.feedSeq = b.feedSeq;
  }
  if (b.pods !== undefined) {
    if (!Array.isArray(b.pods) || b.pods.length > 100_000) return 'pods must be an array (at most 100000 entries)';
    out.pods = [];
    for (const [i, x] of (b.pods as unknown[]).entries()) {
      const e = x as Record<string, unknown> | null;
      if (typeof e !== 'object' || e === null || typeof e.id !== 'string' || e.id.length === 0 || e.id.length > 512 || !isCount(e.inFlight)) return `pods[${i}] must be {id, inFlight} with inFlight >= 0`;
      out.pods.push({ id: e.id, inFlight: e.inFlight });
    }
  }
  if (b.poke !== undefined) {
    const p = b.poke as Record<string, unknown> | null;
    if (typeof p !== 'object' || p === null || !isRev(p.revision) || !isCount(p.inFlight)) return 'poke must be {revision: "NS/NAME", inFlight} with inFlight >= 0';
    out.poke = { revision: p.revision, inFlight: p.inFlight };
  }
  return out;
}
