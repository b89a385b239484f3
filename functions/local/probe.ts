import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Clock } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { Probe } from '../../core/types.js';

/** A readiness probe with every default applied and every duration in ms. */
export interface ProbePlan {
  kind: 'tcp' | 'http';
  /** `'pod'` means the pod's PORT (the container port); a number is probed as it is. */
  port: number | 'pod';
  /** Undefined: the runtime's host (loopback). */
  host: string | undefined;
  scheme: 'http' | 'https';
  path: string;
  headers: Record<string, string>;
  initialDelayMs: number;
  /** Period and per-attempt timeout while the pod is not ready. */
  startPeriodMs: number;
  startTimeoutMs: number;
  /** Period and per-attempt timeout once it is ready (to notice it stop answering). */
  readyPeriodMs: number;
  readyTimeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes' probe defaults (core/v1 Probe): timeout 1 s, success 1, failure 3, period 10 s. */
const K8S_TIMEOUT_SECONDS = 1;
const K8S_SUCCESS_THRESHOLD = 1;
const K8S_FAILURE_THRESHOLD = 3;
/**
 * With `periodSeconds: 0` Knative leaves the user's probe to queue-proxy's
 * aggressive loop until ready, and kubelet then re-checks the pod every second.
 */
const AGGRESSIVE_READY_PERIOD_MS = 1_000;

/**
 * Applies Knative's and Kubernetes' defaults to a container's readinessProbe.
 * Knative (revision_defaults.go applyProbes) turns a missing probe into
 * `tcpSocket: {}` with successThreshold 1, and leaves periodSeconds at 0;
 * queue-proxy (pkg/queue/readiness/probe.go) treats periodSeconds 0 as
 * "aggressive": probe every 50 ms with a 100 ms timeout until
 * successThreshold consecutive successes (Zeno: every
 * PLATFORM_DEFAULTS.defaultProbePeriodMs, see there why). A positive periodSeconds means the
 * plain Kubernetes semantics.
 */
export function resolveProbe(probe: Probe | undefined, containerPort: number): ProbePlan {
  const p: Probe = probe ?? {};
  const http = p.httpGet;
  const rawPort = http ? http.port : p.tcpSocket?.port;
  const aggressive = !p.periodSeconds || p.periodSeconds <= 0;
  const timeoutMs = (p.timeoutSeconds && p.timeoutSeconds > 0 ? p.timeoutSeconds : K8S_TIMEOUT_SECONDS) * 1000;
  const periodMs = (p.periodSeconds ?? 0) * 1000;
  return {
    kind: http ? 'http' : 'tcp',
    port: mapProbePort(rawPort, containerPort),
    host: (http ? http.host : p.tcpSocket?.host) || undefined,
    scheme: http?.scheme?.toUpperCase() === 'HTTPS' ? 'https' : 'http',
    path: http?.path ? (http.path.startsWith('/') ? http.path : `/${http.path}`) : '/',
    headers: Object.fromEntries((http?.httpHeaders ?? []).map((h) => [h.name, h.value])),
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    startPeriodMs: aggressive ? PLATFORM_DEFAULTS.defaultProbePeriodMs : periodMs,
    startTimeoutMs: aggressive ? PLATFORM_DEFAULTS.defaultProbeTimeoutMs : timeoutMs,
    readyPeriodMs: aggressive ? AGGRESSIVE_READY_PERIOD_MS : periodMs,
    readyTimeoutMs: timeoutMs,
    successThreshold: p.successThreshold && p.successThreshold > 0 ? p.successThreshold : K8S_SUCCESS_THRESHOLD,
    failureThreshold: p.failureThreshold && p.failureThreshold > 0 ? p.failureThreshold : K8S_FAILURE_THRESHOLD,
  };
}

/**
 * Knative allows one container port and probes name it (or leave it out);
 * locally that port is whatever PORT we picked. Only a number that is not the
 * container port is taken literally (a separate health port).
 */
function mapProbePort(port: number | string | undefined, containerPort: number): number | 'pod' {
  if (port === undefined || port === '' || port === 0) return 'pod';
  const n = typeof port === 'number' ? port : /^\d+$/.test(port) ? Number(port) : NaN;
  if (Number.isNaN(n) || n === containerPort) return 'pod';
  return n;
}

export interface ProbeTarget {
  host: string;
  port: number;
}

/** One probe attempt; resolves true on success, never rejects. */
export function probeOnce(plan: ProbePlan, target: ProbeTarget, timeoutMs: number, clock: Clock): Promise<boolean> {
  return plan.kind === 'http' ? httpProbe(plan, target, timeoutMs, clock) : tcpProbe(target, timeoutMs, clock);
}

export function isSelfConnect(s: { localPort?: number | undefined; remotePort?: number | undefined; localAddress?: string | undefined; remoteAddress?: string | undefined }): boolean {
  return s.localPort !== undefined && s.localPort === s.remotePort && s.localAddress === s.remoteAddress;
}

function tcpProbe(target: ProbeTarget, timeoutMs: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const timer = clock.setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      clock.clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', () => {});
      socket.destroy();
      resolve(ok);
    }
    // Pod ports come from the ephemeral range, so a connect to a port nobody
    // listens on yet can pick that same port as its source and connect to
    // itself (TCP simultaneous open). That is not a ready pod: fail, and free
    // the port at once so the function can bind it.
    socket.once('connect', () => finish(!isSelfConnect(socket)));
    socket.once('error', () => finish(false));
  });
}

function httpProbe(plan: ProbePlan, target: ProbeTarget, timeoutMs: number, clock: Clock): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    const doRequest = plan.scheme === 'https' ? httpsRequest : httpRequest;
    const req = doRequest({
      host: target.host,
      port: target.port,
      path: plan.path,
      method: 'GET',
      // kubelet's User-Agent; user headers may override it. No keep-alive:
      // a probe must not hold a connection open in the function.
      headers: { 'User-Agent': 'kube-probe/zeno', Accept: '*/*', ...plan.headers, Connection: 'close' },
      agent: false,
      // kubelet does not verify certificates of HTTPS probes.
      rejectUnauthorized: false,
    });
    const timer = clock.setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      req.destroy();
      resolve(ok);
    }
    // `on`, not `once`: destroy() may report a late error that must not go unhandled.
    req.on('error', () => finish(false));
    req.once('response', (res) => {
      // Kubernetes: any code >= 200 and < 400 is a success.
      const status = res.statusCode ?? 0;
      res.resume();
      finish(status >= 200 && status < 400);
    });
    req.end();
  });
}
