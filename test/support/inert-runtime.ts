/**
 * A FunctionRuntime that runs nothing, for unit tests of the admin API and
 * the dashboard (they need a runtime, not pods); `overrides` supplies the
 * few methods a test reads (status, logs).
 */
import type { FunctionRuntime } from '../../functions/runtime.js';

export function inertRuntime(overrides: Partial<FunctionRuntime> = {}): FunctionRuntime {
  return {
    deploy: () => undefined,
    scale: () => undefined,
    remove: async () => undefined,
    status: () => undefined,
    readyPods: () => [],
    subscribe: () => () => undefined,
    logs: () => [],
    followLogs: () => () => undefined,
    close: async () => undefined,
    ...overrides,
  };
}
