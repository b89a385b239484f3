/**
 * The few names the Node function runtime (main.ts) and the local runtime's
 * warm pool agree on. Kept free of imports: main.ts loads it on every cold start.
 */

/** argv[2] of a generic, not yet specialized runtime process. */
export const WARM_FLAG = '--zeno-warm';

/** Warm process → pool, over the IPC channel, once its preloads are done. */
export interface WarmMessage {
  type: 'zeno-warm';
}

/**
 * Pool → warm process: become this revision's pod. The process replaces its
 * whole environment with `env` (which carries PORT and K_*), changes to
 * `cwd`, then imports the handler `args[0]` and listens.
 */
export interface SpecializeMessage {
  type: 'zeno-specialize';
  args: string[];
  cwd: string;
  env: Record<string, string>;
}
