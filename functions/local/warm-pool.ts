import { spawn, type ChildProcess } from 'node:child_process';
import { dirname } from 'node:path';
import { realClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { isWarmMessage, WARM_FLAG, type ExerciseMessage, type SpecializeMessage } from '../node/protocol.js';
import { SPAWN_DETACHED, signalPod } from './orphan-guard.js';
import { restartDelayMs } from './pod-policy.js';

export interface WarmPoolOptions {
  /** Idle processes kept ready. @default PLATFORM_DEFAULTS.warmPoolSize */
  size?: number;
  /** The Node runtime's entry point (nodeRuntimeProcessEntry(): its bundle when built). */
  entry: string;
  /** Interface the warm processes listen on: the runtime's host, where pods are reached. */
  host: string;
  /** The only environment a warm process starts with (the pods' base env). */
  env: Record<string, string>;
  /** Same process-group bookkeeping as pods, so warm processes die with the platform. */
  guard: { track(pid: number): void; untrack(pid: number): void };
  /** @default realClock */
  clock?: Clock;
  /** @default process.execPath */
  execPath?: string;
  /**
   * Wait after a take() before spawning the replacement, so the refill does
   * not compete for the CPU with the import the taken process is doing
   * (that import is the cold start). @default 100
   */
  refillDelayMs?: number;
  /**
   * A warm process booted and listens on `port` (of `host`): the data plane
   * may connect to it ahead of the cold start that will take it.
   */
  onListening?: (port: number) => void;
}

interface Warm {
  child: ChildProcess;
  pid: number;
  /** Sent `zeno-warm`: its preloads are done and it listens on `port`. */
  booted: boolean;
  port: number;
  detach(): void;
}

/** A process handed over by take(). */
export interface TakenProcess {
  child: ChildProcess;
  /**
   * The port it listens on (the pod's port): a number for a booted process
   * (so it can be specialized in the same tick); for one still booting, a
   * promise of it that rejects if the process dies first.
   */
  port: number | Promise<number>;
}

/**
 * Fission-style pool of generic Node runtime processes (`main.js
 * --zeno-warm`), each in its own process group, refilled in the background.
 * A taken process belongs to the caller from then on (the pool forgets it
 * and never gets it back): a specialized process serves one revision only.
 */
export class WarmPool {
  private readonly size: number;
  private readonly clock: Clock;
  private readonly refillDelayMs: number;
  private readonly idle: Warm[] = [];
  private refillTimer: TimerHandle | undefined;
  /** Warm processes that died before being taken, in a row: backs off a broken entry point. */
  private failures = 0;
  private started = false;
  private closed = false;

  constructor(private readonly opts: WarmPoolOptions) {
    this.size = Math.max(0, Math.floor(opts.size ?? PLATFORM_DEFAULTS.warmPoolSize));
    this.clock = opts.clock ?? realClock;
    this.refillDelayMs = opts.refillDelayMs ?? 100;
  }

  /** Begins filling the pool (idempotent). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.fill();
  }

  /** Pids of the idle processes, booted or still booting (for tests and status). */
  pids(): number[] {
    return this.idle.map((w) => w.pid);
  }

  /** Idle processes that finished booting. */
  bootedCount(): number {
    return this.idle.filter((w) => w.booted).length;
  }

  /**
   * Hands over an idle process, a booted one first (a booting one still
   * beats a fresh spawn: it is further along). Undefined when the pool is
   * empty. The caller owns the process from then on, kill included.
   */
  take(): TakenProcess | undefined {
    const i = this.idle.findIndex((w) => w.booted);
    const [w] = this.idle.splice(i >= 0 ? i : 0, 1);
    if (!w) return undefined;
    w.detach();
    this.scheduleFill(this.refillDelayMs);
    const { child } = w;
    // Until the new owner listens: an 'error' with no listener would throw.
    child.on('error', () => {});
    if (!child.connected || child.exitCode !== null || child.signalCode !== null) {
      this.forget(w);
      return undefined;
    }
    if (w.booted) return { child, port: w.port };
    const port = new Promise<number>((resolve, reject) => {
      const onMessage = (m: unknown): void => {
        if (!isWarmMessage(m)) return;
        off();
        this.failures = 0;
        resolve(m.port);
      };
      const onGone = (): void => {
        off();
        reject(new Error(`warm process ${w.pid} exited while booting`));
      };
      const off = (): void => {
        child.off('message', onMessage);
        child.off('exit', onGone);
        child.off('disconnect', onGone);
      };
      child.on('message', onMessage);
      child.once('exit', onGone);
      child.once('disconnect', onGone);
    });
    return { child, port };
  }

  /** Kills every idle process. */
  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    const all = this.idle.splice(0);
    await Promise.all(
      all.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.detach();
            if (w.child.exitCode !== null || w.child.signalCode !== null) resolve();
            else w.child.once('exit', () => resolve());
            this.forget(w);
          }),
      ),
    );
  }

  private forget(w: Warm): void {
    signalPod(w.pid, 'SIGKILL');
    this.opts.guard.untrack(w.pid);
  }

  private scheduleFill(delayMs: number): void {
    if (this.closed || this.refillTimer) return;
    this.refillTimer = this.clock.setTimeout(() => {
      this.refillTimer = undefined;
      this.fill();
    }, delayMs);
  }

  private fill(): void {
    while (!this.closed && this.idle.length < this.size) {
      if (!this.spawnOne()) {
        this.scheduleFill(this.backoffMs());
        return;
      }
    }
  }

  private backoffMs(): number {
    return restartDelayMs(this.failures, { baseMs: PLATFORM_DEFAULTS.restartBackoffBaseMs, maxMs: PLATFORM_DEFAULTS.restartBackoffMaxMs });
  }

  private spawnOne(): boolean {
    let child: ChildProcess;
    try {
      child = spawn(this.opts.execPath ?? process.execPath, [this.opts.entry, WARM_FLAG, this.opts.host], {
        cwd: dirname(this.opts.entry),
        env: this.opts.env,
        detached: SPAWN_DETACHED,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        windowsHide: true,
      });
    } catch {
      this.failures++;
      return false;
    }
    const pid = child.pid;
    if (pid === undefined) {
      child.on('error', () => {});
      this.failures++;
      return false;
    }
    this.opts.guard.track(pid);
    const w: Warm = {
      child,
      pid,
      booted: false,
      port: 0,
      detach: () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        child.off('error', onError);
      },
    };
    const onMessage = (m: unknown): void => {
      if (isWarmMessage(m)) {
        w.booted = true;
        w.port = m.port;
        this.failures = 0;
        exercise(child);
        this.opts.onListening?.(m.port);
      }
    };
    const onExit = (): void => {
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      w.detach();
      this.forget(w);
      this.failures++;
      this.scheduleFill(this.backoffMs());
    };
    const onError = (): void => {};
    child.on('message', onMessage);
    child.on('exit', onExit);
    child.on('error', onError);
    this.idle.push(w);
    return true;
  }
}

/** Sends `zeno-exercise` (protocol.ts): best effort, a dead channel is noticed by 'exit'. */
function exercise(child: ChildProcess): void {
  if (!child.connected) return;
  try {
    child.send({ type: 'zeno-exercise' } satisfies ExerciseMessage, () => {});
  } catch {
    // Only an optimization.
  }
}

/**
 * Tells a taken warm process which revision to become. False when the
 * process can no longer be told (it died meanwhile).
 */
export function specialize(child: ChildProcess, msg: Omit<SpecializeMessage, 'type'>): boolean {
  if (!child.connected) return false;
  try {
    return child.send({ type: 'zeno-specialize', ...msg } satisfies SpecializeMessage, (err) => {
      // The 'exit' that follows a dead channel restarts the pod.
      if (err && child.pid !== undefined) signalPod(child.pid, 'SIGKILL');
    }) || true;
  } catch {
    return false;
  }
}
