/**
 * Waiting for Services to become Ready (after apply) or for objects to be
 * gone (after delete), by polling the admin API on an injected Clock.
 */
import { formatDuration } from '../core/duration.js';
import { ZenoError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { KObject } from '../core/types.js';
import type { KindInfo } from './kinds.js';
import { readyCondition } from './output.js';
import type { ProgressSink } from './progress.js';

export interface WaitTarget {
  kind: KindInfo;
  namespace: string;
  name: string;
  /** metadata.generation the apply stored; status of older generations does not count. */
  generation?: number;
}

export type Readiness =
  | { state: 'ready'; url: string | undefined }
  | { state: 'failed'; reason: string; message: string }
  | { state: 'waiting'; reason: string; message: string };

/**
 * Where an object stands. Knative's rule (kn's wait): the Ready condition
 * counts only once the controller has seen this generation, i.e.
 * status.observedGeneration ≥ metadata.generation; before that a Ready=True
 * left from the previous spec would end the wait too early.
 */
export function readiness(obj: KObject | undefined, generation: number | undefined): Readiness {
  if (!obj) return { state: 'waiting', reason: 'NotFound', message: 'not created yet' };
  const st = (obj.status ?? {}) as { observedGeneration?: number; url?: string };
  const want = generation ?? obj.metadata.generation;
  if (want !== undefined && st.observedGeneration !== undefined && st.observedGeneration < want) {
    return { state: 'waiting', reason: 'Reconciling', message: `generation ${want} not observed yet` };
  }
  const ready = readyCondition(obj);
  if (!ready) return { state: 'waiting', reason: 'Unknown', message: 'no Ready condition yet' };
  if (ready.status === 'True') return { state: 'ready', url: st.url };
  const reason = ready.reason ?? 'Unknown';
  // Messages may carry a crashed process's output over several lines; errors are one line.
  const message = (ready.message ?? '').trim().replace(/\s*\n\s*/g, ' ');
  return ready.status === 'False' ? { state: 'failed', reason, message } : { state: 'waiting', reason, message };
}

/**
 * What a waiting target shows: `Ready=Unknown (RevisionMissing)`, the
 * condition as kn and kubectl name it, or why there is no condition to show.
 */
export function progressLabel(obj: KObject | undefined, r: Readiness): string {
  if (r.state === 'ready') return 'Ready';
  const ready = obj ? readyCondition(obj) : undefined;
  if (!ready || r.reason === 'Reconciling') return r.message;
  return `Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ''}`;
}

export function shortRef(t: { kind: KindInfo; name: string }): string {
  return `${t.kind.singular}/${t.name}`;
}

export interface WaitOptions {
  get: (t: WaitTarget) => Promise<KObject | undefined>;
  clock: Clock;
  timeoutMs: number;
  /** Knative's kn polls through a watch; we poll every 25 ms for a second, then every 250 ms. */
  pollMs?: number;
  /** Where the state of each target goes while waiting (cli/progress.ts). */
  progress: ProgressSink;
}

export interface WaitOutcome {
  target: WaitTarget;
  object?: KObject;
  /** Set when the wait failed: Ready=False (ZENO_ERR_REVISION_FAILED) or the timeout (ZENO_ERR_NOT_READY). */
  error?: ZenoError;
}

const DEFAULT_POLL_MS = 250;
/** Most Services are Ready within a second (a cold start is ~60 ms): poll fast at first. */
const FAST_POLL_MS = 25;
const FAST_POLL_FOR_MS = 1_000;

/** Pause before the next poll, `elapsedMs` after the wait began (pure, for tests). */
export function pollDelayMs(elapsedMs: number, pollMs?: number): number {
  if (pollMs !== undefined) return pollMs;
  return elapsedMs < FAST_POLL_FOR_MS ? FAST_POLL_MS : DEFAULT_POLL_MS;
}

function pollDelay(opts: WaitOptions, startedAt: number): number {
  return pollDelayMs(opts.clock.now() - startedAt, opts.pollMs);
}

/** Waits for each target's Ready condition; all targets at once, each with its own outcome. */
export function waitForReady(targets: WaitTarget[], opts: WaitOptions): Promise<WaitOutcome[]> {
  return Promise.all(targets.map((t) => waitOne(t, opts)));
}

async function waitOne(target: WaitTarget, opts: WaitOptions): Promise<WaitOutcome> {
  const startedAt = opts.clock.now();
  const deadline = startedAt + opts.timeoutMs;
  const ref = shortRef(target);
  for (;;) {
    const obj = await opts.get(target);
    const r = readiness(obj, target.generation);
    if (r.state === 'ready') {
      opts.progress.finish(ref, `${target.name}: Ready`);
      return { target, ...(obj ? { object: obj } : {}) };
    }
    const why = `${r.reason}${r.message ? `: ${r.message}` : ''}`;
    if (r.state === 'failed') {
      opts.progress.finish(ref);
      return {
        target,
        ...(obj ? { object: obj } : {}),
        error: new ZenoError('ZENO_ERR_REVISION_FAILED', `${ref} is not ready: ${why} (see "zeno describe ${target.kind.singular} ${target.name}" and "zeno logs ${target.name}")`),
      };
    }
    opts.progress.update(ref, `waiting for ${target.name}: ${progressLabel(obj, r)}`);
    const left = deadline - opts.clock.now();
    if (left <= 0) {
      opts.progress.finish(ref);
      return {
        target,
        ...(obj ? { object: obj } : {}),
        error: new ZenoError('ZENO_ERR_NOT_READY', `${ref} not ready after ${formatDuration(opts.timeoutMs)} (last: ${why}); see why with "zeno describe ${target.kind.singular} ${target.name}", or wait longer with --timeout`),
      };
    }
    await opts.clock.sleep(Math.min(pollDelay(opts, startedAt), left));
  }
}

/** Waits until each target answers 404; the error says which ones are still there. */
export function waitForDeletion(targets: WaitTarget[], opts: WaitOptions): Promise<WaitOutcome[]> {
  return Promise.all(
    targets.map(async (target): Promise<WaitOutcome> => {
      const startedAt = opts.clock.now();
      const deadline = startedAt + opts.timeoutMs;
      const ref = shortRef(target);
      for (;;) {
        const obj = await opts.get(target);
        if (!obj) {
          opts.progress.finish(ref, `${target.name}: deleted`);
          return { target };
        }
        opts.progress.update(ref, `waiting for ${target.name} to be deleted`);
        const left = deadline - opts.clock.now();
        if (left <= 0) {
          opts.progress.finish(ref);
          return { target, object: obj, error: new ZenoError('ZENO_ERR_NOT_READY', `${shortRef(target)} still exists after ${formatDuration(opts.timeoutMs)}; see "zeno describe ${target.kind.singular} ${target.name}", or wait longer with --timeout`) };
        }
        await opts.clock.sleep(Math.min(pollDelay(opts, startedAt), left));
      }
    }),
  );
}
