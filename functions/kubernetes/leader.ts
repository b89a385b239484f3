/**
 * Leader election on a coordination.k8s.io/v1 Lease, after client-go's
 * leaderelection package: a candidate takes the Lease when it is free or its
 * holder has not renewed it for leaseDuration (measured on the candidate's
 * own clock, from when it last saw the record change, so clock skew between
 * machines does not matter); the leader renews every retryPeriod and steps
 * down when it could not renew for renewDeadline. Writes carry the Lease's
 * resourceVersion, so of two racing candidates one gets 409 Conflict and loses.
 */
import * as k8s from '@kubernetes/client-node';
import { realClock, type Clock, type TimerHandle } from '../../core/clock.js';

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** A Lease time: MicroTime, exactly six fractional digits (the API server's layout 2006-01-02T15:04:05.000000Z07:00). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface LeaseDecisionInput {
  current: LeaseRecord | undefined;
  identity: string;
  nowMs: number;
  /** When this candidate last saw the record change (its own clock). */
  observedAtMs: number;
  leaseDurationMs: number;
}

/** What to write, or nothing: the Lease is held by someone else who renewed it recently. Pure. */
export function nextLease(i: LeaseDecisionInput): LeaseRecord | undefined {
  const seconds = Math.max(1, Math.ceil(i.leaseDurationMs / 1000));
  const now = microTime(i.nowMs);
  const cur = i.current;
  if (!cur) return { holderIdentity: i.identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 };
  const held = !!cur.holderIdentity && cur.holderIdentity !== i.identity;
  // The holder's own duration counts (it may differ from ours), as client-go does.
  const holderDurationMs = (cur.leaseDurationSeconds ?? seconds) * 1000;
  if (held && i.observedAtMs + holderDurationMs > i.nowMs) return undefined;
  if (cur.holderIdentity === i.identity) {
    return { ...cur, leaseDurationSeconds: seconds, renewTime: now };
  }
  return { holderIdentity: i.identity, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: (cur.leaseTransitions ?? 0) + (cur.holderIdentity ? 1 : 0) };
}

export interface LeaderElectorOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  clock?: Clock;
  /** client-go's defaults: 15 s, 10 s, 2 s. */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  log?: (line: string) => void;
}

function statusOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

function recordOf(lease: k8s.V1Lease | undefined): LeaseRecord | undefined {
  const s = lease?.spec;
  if (!s) return undefined;
  const t = (v: unknown) => (v instanceof Date ? microTime(v.getTime()) : typeof v === 'string' ? v : undefined);
  const out: LeaseRecord = {};
  if (s.holderIdentity !== undefined) out.holderIdentity = s.holderIdentity;
  if (s.leaseDurationSeconds !== undefined) out.leaseDurationSeconds = s.leaseDurationSeconds;
  const a = t(s.acquireTime);
  const r = t(s.renewTime);
  if (a) out.acquireTime = a;
  if (r) out.renewTime = r;
  if (s.leaseTransitions !== undefined) out.leaseTransitions = s.leaseTransitions;
  return out;
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { key: string; atMs: number } | undefined;
  private leader = false;
  private lastRenewMs = 0;
  private timer: TimerHandle | undefined;
  private running = false;
  /** Attempts made (tests wait on it). */
  attempts = 0;
  /** Rounds of the start() loop finished, each with its next attempt scheduled on the clock (tests wait on it). */
  rounds = 0;

  constructor(private readonly o: LeaderElectorOptions) {
    this.api = o.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.clock = o.clock ?? realClock;
    this.leaseDurationMs = o.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = o.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = o.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Tries every retryPeriod, for as long as it runs. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async () => {
      if (!this.running) return;
      await this.step();
      if (this.running) this.timer = this.clock.setTimeout(() => void loop(), this.retryPeriodMs);
      this.rounds++;
    };
    void loop();
  }

  /** One attempt to acquire or renew, and what follows from it (leading or not). */
  async step(): Promise<void> {
    const ok = await this.tryAcquireOrRenew();
    const now = this.clock.now();
    if (ok) {
      this.lastRenewMs = now;
      if (!this.leader) {
        this.leader = true;
        this.o.log?.(`leader election: ${this.o.identity} leads ${this.o.namespace}/${this.o.name}`);
        this.o.onStartedLeading?.();
      }
    } else if (this.leader && now - this.lastRenewMs >= this.renewDeadlineMs) {
      this.stepDown();
    }
  }

  private stepDown(): void {
    if (!this.leader) return;
    this.leader = false;
    this.o.log?.(`leader election: ${this.o.identity} stopped leading ${this.o.namespace}/${this.o.name}`);
    this.o.onStoppedLeading?.();
  }

  /** Reads the Lease and writes the next record if this candidate may; false when someone else holds it or won a race. */
  async tryAcquireOrRenew(): Promise<boolean> {
    this.attempts++;
    const { namespace, name, identity } = this.o;
    const now = this.clock.now();
    let lease: k8s.V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (statusOf(e) !== 404) {
        this.o.log?.(`leader election: reading lease ${namespace}/${name}: ${(e as Error).message.split('\n')[0]}`);
        return false;
      }
    }
    const current = recordOf(lease);
    const key = JSON.stringify(current ?? null);
    if (!this.observed || this.observed.key !== key) this.observed = { key, atMs: now };
    const next = nextLease({ current, identity, nowMs: now, observedAtMs: this.observed.atMs, leaseDurationMs: this.leaseDurationMs });
    if (!next) return false;
    const body = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lease ? { name, namespace, resourceVersion: lease.metadata?.resourceVersion } : { name, namespace },
      spec: next,
    } as unknown as k8s.V1Lease;
    try {
      if (lease) await this.api.replaceNamespacedLease({ name, namespace, body });
      else await this.api.createNamespacedLease({ namespace, body });
    } catch (e) {
      // 409: another candidate wrote first (AlreadyExists on create, Conflict on a stale resourceVersion).
      if (statusOf(e) !== 409) this.o.log?.(`leader election: writing lease ${namespace}/${name}: ${(e as Error).message.split('\n')[0]}`);
      return false;
    }
    this.observed = { key: JSON.stringify(next), atMs: now };
    return true;
  }

  /** Stops trying; a leader releases the Lease (empty holder) so another candidate takes over at once. */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.running = false;
    this.clock.clearTimeout(this.timer);
    if (!this.leader) return;
    if (opts.release ?? true) {
      const { namespace, name } = this.o;
      try {
        const lease = await this.api.readNamespacedLease({ name, namespace });
        if (lease.spec?.holderIdentity === this.o.identity) {
          const now = microTime(this.clock.now());
          const body = {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace, resourceVersion: lease.metadata?.resourceVersion },
            spec: { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0 },
          } as unknown as k8s.V1Lease;
          await this.api.replaceNamespacedLease({ name, namespace, body });
        }
      } catch (e) {
        this.o.log?.(`leader election: releasing lease: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    this.stepDown();
  }
}
