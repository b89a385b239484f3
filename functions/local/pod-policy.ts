import { constants as osConstants } from 'node:os';
import type { RevisionFailure } from '../runtime.js';

/**
 * Pure decisions of the local runtime: crash-restart backoff, how an exit is
 * reported in Knative's condition vocabulary, and which pods go first on a
 * scale-down. The runtime only gathers the inputs and applies the answers.
 */

export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before the `attempt`-th restart in a row (1-based): base doubling up
 * to the cap, like kubelet's CrashLoopBackOff (10 s doubling to 5 min there;
 * PLATFORM_DEFAULTS starts at 100 ms because a local process restarts in ms).
 * E.g. base 100, max 30 000: 100, 200, 400, … 25 600, 30 000, 30 000.
 */
export function restartDelayMs(attempt: number, cfg: BackoffConfig): number {
  if (attempt <= 1) return Math.min(cfg.baseMs, cfg.maxMs);
  // 2^(attempt-1) overflows to Infinity long before it matters; min() caps it.
  return Math.min(cfg.maxMs, cfg.baseMs * 2 ** (attempt - 1));
}

/**
 * Consecutive crashes after this one. A process that ran at least `resetMs`
 * before it died starts the count again, as kubelet forgets the backoff of a
 * container that ran for a while.
 */
export function nextCrashCount(previous: number, ranMs: number, resetMs: number): number {
  return ranMs >= resetMs ? 1 : previous + 1;
}

/** How many stderr lines go into a failure message (Knative shows the termination message). */
export const FAILURE_STDERR_LINES = 5;

/**
 * The Revision condition for a process that exited on its own. Knative
 * reports a terminated user container as reason `ExitCode<n>` with message
 * `Container failed with: <termination message>`; a container killed by a
 * signal exits with 128+signo there (137 for SIGKILL), so we report the same.
 */
export function exitFailure(code: number | null, signal: string | null, stderrTail: string[]): RevisionFailure {
  let exitCode = code ?? 0;
  if (code === null && signal) {
    const signo = (osConstants.signals as Record<string, number | undefined>)[signal];
    exitCode = 128 + (signo ?? 0);
  }
  const tail = stderrTail.slice(-FAILURE_STDERR_LINES).join('\n').trim();
  const how = signal ? `killed by ${signal}` : `exit code ${exitCode}`;
  return {
    reason: `ExitCode${exitCode}`,
    message: tail ? `Container failed with: ${tail}` : `Container failed with ${how} and wrote nothing to stderr`,
  };
}

/** The Revision condition for a process that could not be started at all. */
export function startFailure(err: NodeJS.ErrnoException, command: string): RevisionFailure {
  if (err.code === 'ENOENT') {
    // Worded like the container runtime's message for a missing entrypoint.
    return { reason: 'CommandNotFound', message: `exec: "${command}": executable file not found in $PATH` };
  }
  if (err.code === 'EACCES') {
    return { reason: 'CommandNotExecutable', message: `exec: "${command}": permission denied` };
  }
  return { reason: 'StartError', message: `cannot start "${command}": ${err.message}` };
}

export interface VictimCandidate {
  id: string;
  ready: boolean;
  /** Creation order: higher is newer. */
  seq: number;
}

/**
 * Pods to stop when scaling down by `count`: not-ready pods first (they serve
 * nothing), then the newest (the oldest have warm caches and proven health,
 * like a ReplicaSet's preference for younger pods when it deletes).
 */
export function pickVictims(pods: readonly VictimCandidate[], count: number): string[] {
  if (count <= 0) return [];
  return [...pods]
    .sort((a, b) => Number(a.ready) - Number(b.ready) || b.seq - a.seq)
    .slice(0, count)
    .map((p) => p.id);
}
