/**
 * Pure readings of Pod and EndpointSlice objects: which pods of a revision
 * are routable and at what URL, and why a revision cannot run. Objects come
 * either raw from a watch (times as strings) or deserialized by the client
 * (times as Dates), so every field is read defensively.
 */
import type { PodState, RevisionFailure } from '../runtime.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

export interface EndpointView {
  pod: string;
  url: string;
  ready: boolean;
  terminating: boolean;
}

/** Every endpoint of one EndpointSlice that has a pod, an address and a port. */
export function sliceEndpoints(slice: any): EndpointView[] {
  const port: number | undefined = slice?.ports?.[0]?.port;
  if (!port) return [];
  const out: EndpointView[] = [];
  for (const ep of slice?.endpoints ?? []) {
    const pod: string | undefined = ep?.targetRef?.kind === 'Pod' || ep?.targetRef?.name ? ep?.targetRef?.name : undefined;
    const addr: string | undefined = ep?.addresses?.[0];
    if (!pod || !addr) continue;
    const host = addr.includes(':') ? `[${addr}]` : addr;
    const terminating = ep?.conditions?.terminating === true;
    // EndpointSlice v1: an unset `ready` means ready (the API reference's wording: "nil should be interpreted as true").
    const ready = ep?.conditions?.ready !== false && !terminating;
    out.push({ pod, url: `http://${host}:${port}`, ready, terminating });
  }
  return out;
}

export function timeMs(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

export function podState(pod: any, endpoint: EndpointView | undefined): PodState {
  if (pod?.metadata?.deletionTimestamp || endpoint?.terminating) return 'terminating';
  if (endpoint?.ready) return 'ready';
  return 'starting';
}

export function podRestarts(pod: any): number {
  return (pod?.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (Number(c?.restartCount) || 0), 0);
}

/** Waiting reasons that mean the pod will not start without a change (kubelet's own words). */
const STUCK = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'CrashLoopBackOff']);

/**
 * Why a pod cannot run, in the words the local runtime uses: a crash loop is
 * `ExitCode<N>` (Knative's revision reason for a container that exited),
 * anything else stuck is the kubelet's waiting reason.
 */
export function podFailure(pod: any): RevisionFailure | undefined {
  for (const c of pod?.status?.containerStatuses ?? []) {
    const waiting = c?.state?.waiting;
    const last = c?.lastState?.terminated ?? c?.state?.terminated;
    if (waiting?.reason === 'CrashLoopBackOff' && last && typeof last.exitCode === 'number') {
      const why = (last.message ?? last.reason ?? '').trim();
      return { reason: `ExitCode${last.exitCode}`, message: `Container failed with: ${why || `exit code ${last.exitCode}`}` };
    }
    if (waiting?.reason && STUCK.has(waiting.reason)) {
      return { reason: waiting.reason, message: String(waiting.message ?? waiting.reason) };
    }
  }
  return undefined;
}

/** The exit of a deleted pod's container, for pod-exited. */
export function podExit(pod: any): { code: number | null; signal: string | null } {
  const t = pod?.status?.containerStatuses?.[0]?.state?.terminated;
  return { code: typeof t?.exitCode === 'number' ? t.exitCode : null, signal: typeof t?.signal === 'number' ? String(t.signal) : null };
}

/** `2026-01-01T00:00:00.123456789Z line` (a log line with timestamps=true) → time and text. */
export function parseLogLine(raw: string, fallbackMs: number): { time: number; line: string } {
  const m = raw.match(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$/s);
  if (!m) return { time: fallbackMs, line: raw };
  const t = Date.parse(m[1]!.replace(/(\.\d{3})\d+/, '$1'));
  return { time: Number.isNaN(t) ? fallbackMs : t, line: m[2]! };
}
