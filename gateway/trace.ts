/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) at the gateway:
 * a valid `traceparent` from the client goes to the function unchanged; a
 * missing or invalid one is replaced by a new one, so every request the
 * gateway forwards carries a trace id. The gateway records no span of its
 * own, so it does not change the parent id (the spec allows a participant
 * that does not trace to forward the header as it is).
 *
 * Ids come from a pooled buffer of crypto-random bytes, refilled 4 KiB at a
 * time, so a request costs one hex encoding, not a call into the kernel.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/** `n` random bytes as lowercase hex. */
export function randomHex(n: number): string {
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const s = pool.toString('hex', poolOffset, poolOffset + n);
  poolOffset += n;
  return s;
}

const HEX = /^[0-9a-f]+$/;
const ZERO_TRACE = '00000000000000000000000000000000';
const ZERO_PARENT = '0000000000000000';

/**
 * The trace id of a valid traceparent, else undefined. Per the spec's
 * parsing rules: `version-traceid-parentid-flags`, lowercase hex; version
 * ff is invalid; version 00 is exactly 55 characters; a later version may
 * carry more fields after a '-'; all-zero trace or parent ids are invalid.
 */
export function traceIdOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header.length < 55) return undefined;
  if (header[2] !== '-' || header[35] !== '-' || header[52] !== '-') return undefined;
  const version = header.slice(0, 2);
  if (version === 'ff' || (version === '00' && header.length !== 55)) return undefined;
  if (header.length > 55 && header[55] !== '-') return undefined;
  const traceId = header.slice(3, 35);
  const parentId = header.slice(36, 52);
  if (!HEX.test(version) || !HEX.test(traceId) || !HEX.test(parentId) || !HEX.test(header.slice(53, 55))) return undefined;
  if (traceId === ZERO_TRACE || parentId === ZERO_PARENT) return undefined;
  return traceId;
}

/** A fresh version-00 traceparent, sampled flag set. */
export function newTraceparent(): { header: string; traceId: string } {
  // One hex encoding for both ids: this runs for nearly every proxied request.
  const ids = randomHex(24);
  const traceId = ids.slice(0, 32);
  return { header: `00-${traceId}-${ids.slice(32)}-01`, traceId };
}
