/**
 * Closed-loop clients for end-to-end tests: `loops` clients, each sending one
 * request after another until stopped, counting every outcome (an HTTP status,
 * or "error <message>" when the call failed), so a test can assert that
 * nothing but the expected status came back.
 */
export interface RequestLoops {
  readonly statuses: Map<number | string, number>;
  /** Stops every client after its current request and returns the counts. */
  stop(): Promise<Map<number | string, number>>;
}

export function requestLoops(loops: number, call: () => Promise<{ status: number }>, opts: { pauseAfterErrorMs?: number } = {}): RequestLoops {
  const statuses = new Map<number | string, number>();
  let stop = false;
  const one = async () => {
    while (!stop) {
      const r = await call().then((x) => x.status, (e: Error) => `error ${e.message}`);
      statuses.set(r, (statuses.get(r) ?? 0) + 1);
      // A server that is gone refuses at once: do not spin on it.
      if (typeof r === 'string' && opts.pauseAfterErrorMs) await new Promise((res) => setTimeout(res, opts.pauseAfterErrorMs));
    }
  };
  const running = Promise.all(Array.from({ length: loops }, one));
  return {
    statuses,
    async stop() {
      stop = true;
      await running;
      return statuses;
    },
  };
}
