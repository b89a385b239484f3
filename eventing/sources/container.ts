/**
 * ContainerSource's receive adapter, run locally: Knative runs
 * `spec.template` as a Deployment (`NAME-deployment`, one replica) and binds
 * K_SINK and K_CE_OVERRIDES into it through a SinkBinding; here the first
 * container runs as a child process with those variables set.
 *
 * Built from the local runtime's parts, not a second runtime: its own
 * process group and the OrphanGuard reaper (no process outlives the
 * platform, even after SIGKILL), the allow-listed base environment, the
 * crash-restart backoff and the exit-reason wording (functions/local
 * pod-policy.ts). A source process has no port and no probe: it is running
 * or restarting. Stopping (delete, spec change, platform close) is SIGTERM
 * to the group, then SIGKILL after the grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Clock, TimerHandle } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import { LineSplitter, RingBuffer } from '../../functions/local/log-buffer.js';
import { OrphanGuard, SPAWN_DETACHED, signalPod } from '../../functions/local/orphan-guard.js';
import { pickBaseEnv } from '../../functions/local/pod-env.js';
import { exitFailure, nextCrashCount, restartDelayMs, startFailure } from '../../functions/local/pod-policy.js';
import type { LogLine, RevisionFailure } from '../../functions/runtime.js';

export interface ProcessSpec {
  command: string[];
  args: string[];
  /** Absolute working directory. */
  cwd: string;
  /** The container's env plus K_SINK and K_CE_OVERRIDES (base env added here). */
  env: Record<string, string>;
}

export interface ProcessStatus {
  running: boolean;
  pid?: number;
  restarts: number;
  /** Why the last run ended, in Knative's vocabulary (ExitCode1, CommandNotFound, …). */
  failure?: RevisionFailure;
}

export interface SupervisorOptions {
  clock: Clock;
  /** Called whenever a process starts or ends (for status). */
  onChange?: (key: string) => void;
  /** Environment every process starts from. @default an allow-list of process.env */
  baseEnv?: Record<string, string>;
  graceMs?: number;
  logLines?: number;
}

interface Proc {
  key: string;
  spec: ProcessSpec;
  specJson: string;
  child: ChildProcess | undefined;
  exited: Promise<void>;
  restarts: number;
  crashes: number;
  startedAt: number;
  stopping: boolean;
  restartTimer: TimerHandle | undefined;
  failure: RevisionFailure | undefined;
  stderrTail: string[];
  logs: RingBuffer<LogLine>;
}

const STDERR_TAIL_LINES = 20;

/** Keeps one process per key running, restarting it with backoff when it exits. */
export class ProcessSupervisor {
  private readonly procs = new Map<string, Proc>();
  private readonly guard = new OrphanGuard();
  private readonly baseEnv: Record<string, string>;
  private readonly graceMs: number;
  private closed = false;

  constructor(private readonly o: SupervisorOptions) {
    this.baseEnv = o.baseEnv ?? pickBaseEnv(process.env);
    this.graceMs = o.graceMs ?? PLATFORM_DEFAULTS.sourceGraceMs;
  }

  /** Runs `spec` under `key`; a changed spec restarts the process (as a new pod would), an unchanged one is left alone. */
  async upsert(key: string, spec: ProcessSpec): Promise<void> {
    if (this.closed) return;
    const json = JSON.stringify(spec);
    const prev = this.procs.get(key);
    if (prev && prev.specJson === json) return;
    if (prev) await this.stop(key);
    if (this.closed || this.procs.has(key)) return;
    const p: Proc = {
      key, spec, specJson: json, child: undefined, exited: Promise.resolve(), restarts: 0, crashes: 0, startedAt: 0,
      stopping: false, restartTimer: undefined, failure: undefined, stderrTail: [], logs: new RingBuffer(this.o.logLines ?? PLATFORM_DEFAULTS.logLinesPerRevision),
    };
    this.procs.set(key, p);
    this.start(p);
  }

  /** Stops the process (SIGTERM, SIGKILL after the grace period) and forgets it. */
  async stop(key: string): Promise<void> {
    const p = this.procs.get(key);
    if (!p) return;
    p.stopping = true;
    this.o.clock.clearTimeout(p.restartTimer);
    const child = p.child;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      signalPod(child.pid, 'SIGTERM');
      const kill = this.o.clock.setTimeout(() => signalPod(child.pid!, 'SIGKILL'), this.graceMs);
      await p.exited;
      this.o.clock.clearTimeout(kill);
    }
    if (this.procs.get(key) === p) this.procs.delete(key);
    this.o.onChange?.(key);
  }

  status(key: string): ProcessStatus | undefined {
    const p = this.procs.get(key);
    if (!p) return undefined;
    const running = p.child !== undefined && p.child.exitCode === null && p.child.signalCode === null && p.child.pid !== undefined;
    return { running, ...(running ? { pid: p.child!.pid! } : {}), restarts: p.restarts, ...(p.failure ? { failure: p.failure } : {}) };
  }

  logs(key: string, tail?: number): LogLine[] {
    return this.procs.get(key)?.logs.tail(tail) ?? [];
  }

  keys(): string[] {
    return [...this.procs.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.procs.keys()].map((k) => this.stop(k)));
    this.guard.close();
  }

  private start(p: Proc): void {
    const { spec } = p;
    const [command, ...commandArgs] = spec.command;
    p.startedAt = this.o.clock.now();
    p.stderrTail = [];
    if (!command) return this.ended(p, undefined, { reason: 'CommandNotFound', message: 'The container has no command; locally a container runs its `command` and `args`' });
    if (!existsSync(spec.cwd)) return this.ended(p, undefined, { reason: 'WorkingDirNotFound', message: `workingDir ${spec.cwd} does not exist` });
    let child: ChildProcess;
    try {
      child = spawn(command, [...commandArgs, ...spec.args], {
        cwd: spec.cwd,
        env: { ...this.baseEnv, ...spec.env },
        detached: SPAWN_DETACHED,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      return this.ended(p, undefined, startFailure(err as Error, command));
    }
    p.child = child;
    let resolveExited!: () => void;
    p.exited = new Promise((r) => (resolveExited = r));
    if (child.pid !== undefined) this.guard.track(child.pid);
    let done = false;
    const end = (failure: RevisionFailure | undefined): void => {
      if (done) return;
      done = true;
      if (child.pid !== undefined) {
        signalPod(child.pid, 'SIGKILL'); // whatever it forked goes with it
        this.guard.untrack(child.pid);
      }
      resolveExited();
      this.ended(p, child, failure);
    };
    child.on('error', (err) => {
      if (child.pid === undefined) end(startFailure(err, command));
    });
    child.once('exit', (code, signal) => end(p.stopping ? undefined : exitFailure(code, signal, p.stderrTail)));
    const log = (stream: LogLine['stream']) => new LineSplitter((line) => {
      if (stream === 'stderr') {
        p.stderrTail.push(line);
        if (p.stderrTail.length > STDERR_TAIL_LINES) p.stderrTail.shift();
      }
      p.logs.push({ time: this.o.clock.now(), pod: p.key, stream, line });
    });
    const out = log('stdout');
    const err = log('stderr');
    child.stdout?.on('data', (b: Buffer) => out.write(b));
    child.stdout?.on('end', () => out.end());
    child.stderr?.on('data', (b: Buffer) => err.write(b));
    child.stderr?.on('end', () => err.end());
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});
    this.o.onChange?.(p.key);
  }

  /** A run ended (or never started): restart with backoff unless stopping. */
  private ended(p: Proc, child: ChildProcess | undefined, failure: RevisionFailure | undefined): void {
    if (p.child === child) p.child = undefined;
    if (failure) p.failure = failure;
    if (p.stopping || this.closed || this.procs.get(p.key) !== p) return;
    p.crashes = nextCrashCount(p.crashes, this.o.clock.now() - p.startedAt, PLATFORM_DEFAULTS.restartBackoffResetMs);
    const delay = restartDelayMs(p.crashes, { baseMs: PLATFORM_DEFAULTS.restartBackoffBaseMs, maxMs: PLATFORM_DEFAULTS.restartBackoffMaxMs });
    p.restartTimer = this.o.clock.setTimeout(() => {
      if (p.stopping || this.closed) return;
      p.restarts++;
      this.start(p);
    }, delay);
    this.o.onChange?.(p.key);
  }
}
