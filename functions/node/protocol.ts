/**
 * The few names the Node function runtime (main.ts) and the local runtime's
 * warm pool agree on. Kept free of imports: main.ts loads it on every cold start.
 *
 *   pool spawns  main.js --zeno-warm HOST
 *   warm  → pool  {type: 'zeno-warm', port}        listening on HOST:port, warmed up
 *   pool  → warm  {type: 'zeno-exercise'}          nothing to do (warms the receiving side)
 *   pool  → warm  {type: 'zeno-specialize', …}     become this revision (env.PORT = port)
 *   warm  → pool  {type: 'zeno-ready'}             handler imported, serving; then the
 *                                                  process closes the channel
 */

/** argv[2] of a generic, not yet specialized runtime process; argv[3] is the host to listen on. */
export const WARM_FLAG = '--zeno-warm';

/**
 * Warm process → pool, over the IPC channel, once its preloads are done and
 * its HTTP server listens on `port` (on the host the pool gave it). The
 * server answers nothing but 503 until the process is specialized and its
 * handler is loaded.
 */
export interface WarmMessage {
  type: 'zeno-warm';
  port: number;
}

/**
 * Pool → warm process, once, in answer to `zeno-warm`: nothing to do. The
 * process ignores it; receiving it runs the IPC channel's receiving side
 * (read, JSON parse, 'message' dispatch) once, which is otherwise cold code
 * at `zeno-specialize`: measured ~0.5 ms of its delivery (send → handler,
 * p50 ~1.1-1.3 → ~0.6 ms, load average 3-5).
 */
export interface ExerciseMessage {
  type: 'zeno-exercise';
}

/**
 * Pool → warm process: become this revision's pod. The process replaces its
 * whole environment with `env` (which carries PORT, the port it already
 * listens on, and K_*), changes to `cwd`, then imports the handler `args[0]`.
 */
export interface SpecializeMessage {
  type: 'zeno-specialize';
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Specialized process → runtime: the handler is imported and requests now reach it (its readiness). */
export interface ReadyMessage {
  type: 'zeno-ready';
}

/** A valid `zeno-warm` message (the port is checked: it becomes a pod's URL). */
export function isWarmMessage(m: unknown): m is WarmMessage {
  const o = m as Partial<WarmMessage> | null;
  return o?.type === 'zeno-warm' && Number.isInteger(o.port) && o.port! > 0 && o.port! < 65536;
}
