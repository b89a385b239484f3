/**
 * Wiring of asynchronous calls into the platform: the queue on the event
 * log, its worker, and the `/async-function/` mount on the gateway.
 */
import type { Clock } from '../../core/clock.js';
import { resolveAsyncSettings, type AsyncSettings } from '../../core/config/async.js';
import type { AsyncMetrics } from '../../core/metrics.js';
import type { Tracer } from '../otel.js';
import type { KObject } from '../../core/types.js';
import type { EventLog } from '../../eventing/log/event-log.js';
import type { RouteTable } from '../routes.js';
import type { Gateway } from '../server.js';
import { ASYNC_PREFIX } from './calls.js';
import { asyncIngress } from './ingress.js';
import { createAsyncQueue, type AsyncQueue, type AsyncTiming } from './queue.js';

export interface AsyncCallsDeps {
  gateway: Gateway;
  log: EventLog;
  routes: RouteTable;
  clock: Clock;
  maxBodyBytes: number;
  /** The gateway's URL once it listens. */
  gatewayUrl: () => string;
  /** The Service a call is for (its annotations hold the per-function settings). */
  service: (namespace: string, name: string) => KObject | undefined;
  logLine?: (line: string) => void;
  timing?: Partial<AsyncTiming>;
  metrics?: AsyncMetrics;
  /** Names this instance's own consumers in the log (several instances on one NATS). */
  instanceId?: string;
  tracer?: Tracer;
}

/** Defaults overridden by the Service's annotations, then its template's (a Function's scale annotations land there). */
export function asyncSettingsOf(service: KObject | undefined): AsyncSettings {
  const template = (service?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template;
  return resolveAsyncSettings({ ...service?.metadata.annotations, ...template?.metadata?.annotations }).settings;
}

/** Mounts `/async-function/` and returns the queue; call `start()` once the gateway listens. */
export function mountAsyncCalls(deps: AsyncCallsDeps): AsyncQueue {
  const queue = createAsyncQueue({
    log: deps.log,
    clock: deps.clock,
    gatewayUrl: deps.gatewayUrl,
    settings: (ns, name) => asyncSettingsOf(deps.service(ns, name)),
    ...(deps.logLine ? { logLine: deps.logLine } : {}),
    ...(deps.timing ? { timing: deps.timing } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.instanceId ? { instanceId: deps.instanceId } : {}),
    ...(deps.tracer ? { tracer: deps.tracer } : {}),
  });
  deps.gateway.mount(ASYNC_PREFIX, asyncIngress({ queue, routes: deps.routes, clock: deps.clock, maxBodyBytes: deps.maxBodyBytes }));
  return queue;
}
