import { realClock, type Clock } from '../../core/clock.js';

/**
 * Polls `cond` until it holds or `timeoutMs` passes, for tests with real
 * processes and sockets, where a fixed sleep is either flaky or slow.
 * Rejects with `message` (and how long it waited) on timeout.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  opts: { intervalMs?: number; message?: string; clock?: Clock } = {},
): Promise<void> {
  const clock = opts.clock ?? realClock;
  const interval = opts.intervalMs ?? 20;
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (clock.now() >= deadline) {
      throw new Error(`waitFor: ${opts.message ?? 'condition'} not met within ${timeoutMs} ms`);
    }
    await clock.sleep(interval);
  }
}
