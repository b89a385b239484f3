import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { realClock, type Clock, type TimerHandle } from '../../core/clock.js';
import { PLATFORM_DEFAULTS } from '../../core/config/platform.js';
import type { RevisionId } from '../../core/types.js';
import type {
  DrainWaiter,
  FunctionRuntime,
  LogLine,
  PodInfo,
  PodState,
  PodTemplate,
  RevisionFailure,
  RevisionRuntimeStatus,
  RuntimeEvent,
} from '../runtime.js';
import { findFreePort } from './free-port.js';
import { LineSplitter, RingBuffer } from './log-buffer.js';
import { OrphanGuard, SPAWN_DETACHED, signalPod } from './orphan-guard.js';
import { isNodeRuntimeCommand, nodeRuntimeProcessEntry } from '../node/index.js';
import type { ReadyMessage } from '../node/protocol.js';
import { buildPodEnv, pickBaseEnv } from './pod-env.js';
import { exitFailure, nextCrashCount, pickVictims, restartDelayMs, startFailure } from './pod-policy.js';
import { GroupRssSampler, isHeapOutOfMemory, oomFailure, overLimit } from './memory.js';
import { probeOnce, resolveProbe, type ProbePlan } from './probe.js';
import { specialize, WarmPool } from './warm-pool.js';

export interface LocalRuntimeOptions {
  /** Drives every wait: probe periods, backoff, grace periods, the progress deadline. @default realClock */
  clock?: Clock;
  /** Waits until a pod that left routing has no request in flight (the data plane knows). @default none: no drain */
  drain?: DrainWaiter;
  /** Log lines kept per revision. @default PLATFORM_DEFAULTS.logLinesPerRevision */
  logLines?: number;
  /** Interface pods are reached and probed on. @default PLATFORM_DEFAULTS.host */
  host?: string;
  /**
   * The environment every pod starts from, before the container's env and
   * the runtime contract. @default an allow-list of process.env (PATH, HOME, LANG, …), see pod-env.ts
   */
  env?: Record<string, string>;
  /**
   * Warm generic processes for pods whose command is the Node function
   * runtime (`[node, nodeRuntimeEntry()]`). The pool starts filling at the
   * first deploy of such a revision; 0 turns it off. @default PLATFORM_DEFAULTS.warmPoolSize
   */
  warmPoolSize?: number;
  /** Called with the pool once it exists (tests read its pids). */
  onWarmPool?: (pool: WarmPool) => void;
  /** How often pods with a memory limit are sampled. @default PLATFORM_DEFAULTS.memoryCheckMs */
  memoryCheckMs?: number;
}

/** Resolves when a specialized process sends `zeno-ready` (never rejects: the probe loop's abort ends the wait). */
function readyMessage(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown): void => {
      if ((m as Partial<ReadyMessage> | null)?.type !== 'zeno-ready') return;
      off();
      resolve();
    };
    const off = (): void => {
      child.off('message', onMessage);
      child.off('exit', off);
    };
    child.on('message', onMessage);
    child.once('exit', off);
  });
}

function untilOrAborted(p: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** Longest wait after a process exits for its stdout/stderr to be read to the end. */
const STDIO_SETTLE_MS = 200;
/** stderr lines kept per process for the failure message. */
const STDERR_TAIL_LINES = 20;
/**
 * When the drain used up the grace period, SIGTERM still gets this long
 * before SIGKILL (kubelet grants a one-time 2 s extension when preStop
 * overruns terminationGracePeriodSeconds).
 */
const MIN_TERM_TO_KILL_MS = 2_000;

interface Revision {
  template: PodTemplate;
  desired: number;
  pods: Pod[];
  logs: RingBuffer<LogLine>;
  failure: RevisionFailure | undefined;
  probe: ProbePlan;
}

/** A pod outlives its processes: a crash restarts a new process in the same pod, as kubelet does. */
/**
 * Start-up probe period of a specialized warm process (default probe only):
 * it is listening a few ms after specialization, and at 10 ms the probe
 * period alone would be most of the cold start.
 */
const WARM_START_PROBE_MS = 1;

interface Pod {
  id: string;
  seq: number;
  rev: Revision;
  state: PodState;
  url: string;
  port: number;
  pid: number | undefined;
  restarts: number;
  startedAt: number;
  readyAt: number | undefined;
  everReady: boolean;
  crashes: number;
  child: ChildProcess | undefined;
  /** Resolves when the current process has exited. */
  exited: Promise<void> | undefined;
  stderrTail: string[];
  probeAbort: AbortController | undefined;
  /** A specialized warm process: it listens within milliseconds, so probe every 1 ms until ready. */
  fastStart?: boolean;
  /**
   * A Node runtime process with the default probe (specialized from the pool,
   * or spawned with an IPC channel): ready when it says its handler is loaded
   * and it listens.
   */
  ipcReady?: Promise<void> | undefined;
  restartTimer: TimerHandle | undefined;
  deadlineTimer: TimerHandle | undefined;
  stopping: Promise<void> | undefined;
  /** Set when the memory watchdog killed the current process: its resident bytes then. */
  oomRss?: number | undefined;
}

/**
 * The embedded FunctionRuntime: a pod is a child process running the
 * container's command and args in its workingDir, with PORT (a free port),
 * K_SERVICE, K_CONFIGURATION, K_REVISION and the container's env (Knative's
 * runtime contract, reference §4).
 */
export function createLocalRuntime(opts: LocalRuntimeOptions = {}): FunctionRuntime {
  const clock = opts.clock ?? realClock;
  const host = opts.host ?? PLATFORM_DEFAULTS.host;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const logLines = opts.logLines ?? PLATFORM_DEFAULTS.logLinesPerRevision;
  const baseEnv = opts.env ?? pickBaseEnv(process.env);
  const drain = opts.drain;
  const revisions = new Map<RevisionId, Revision>();
  const listeners = new Set<(e: RuntimeEvent) => void>();
  const warmListeners = new Set<(url: string) => void>();
  const followers = new Map<RevisionId, Set<(l: LogLine) => void>>();
  const usedPodIds = new Set<string>();
  const guard = new OrphanGuard();
  const poolSize = opts.warmPoolSize ?? PLATFORM_DEFAULTS.warmPoolSize;
  let pool: WarmPool | undefined;
  let podSeq = 0;
  let closed = false;
  /** Samples pods with a memory limit (memory.ts); runs while any revision has one. */
  let memoryTimer: TimerHandle | undefined;
  const memoryCheckMs = opts.memoryCheckMs ?? PLATFORM_DEFAULTS.memoryCheckMs;
  const rssSampler = new GroupRssSampler();

  /** One pass over /proc for every limited pod; a group past its limit is killed as the OOM killer would. */
  function checkMemory(): void {
    const limited = new Map<number, Pod>();
    for (const rev of revisions.values()) {
      if (rev.template.memoryLimitBytes === undefined) continue;
      for (const pod of rev.pods) if (pod.child?.pid !== undefined && pod.oomRss === undefined) limited.set(pod.child.pid, pod);
    }
    if (limited.size === 0) return;
    const rss = rssSampler.sample(new Set(limited.keys()));
    for (const [pgid, pod] of limited) {
      const used = rss.get(pgid) ?? 0;
      if (!overLimit(used, pod.rev.template.memoryLimitBytes)) continue;
      pod.oomRss = used;
      signalPod(pgid, 'SIGKILL');
    }
  }

  function emit(e: RuntimeEvent): void {
    for (const l of [...listeners]) {
      try {
        l(e);
      } catch {
        // A broken listener must not stop the runtime or other listeners.
      }
    }
  }

  function info(pod: Pod): PodInfo {
    const out: PodInfo = {
      id: pod.id,
      revision: pod.rev.template.id,
      url: pod.url,
      state: pod.state,
      restarts: pod.restarts,
      startedAt: pod.startedAt,
    };
    if (pod.pid !== undefined) out.pid = pod.pid;
    if (pod.readyAt !== undefined) out.readyAt = pod.readyAt;
    return out;
  }

  function addLog(rev: Revision, pod: Pod, stream: LogLine['stream'], line: string): void {
    const entry: LogLine = { time: clock.now(), pod: pod.id, stream, line };
    rev.logs.push(entry);
    for (const f of [...(followers.get(rev.template.id) ?? [])]) {
      try {
        f(entry);
      } catch {
        // same as emit()
      }
    }
  }

  const HPA_UNSUPPORTED: RevisionFailure = {
    reason: 'HPAClassUnsupported',
    message:
      'autoscaling.knative.dev/class: hpa.autoscaling.knative.dev needs a HorizontalPodAutoscaler, which only the Kubernetes runtime has (zeno up --runtime kubernetes); the embedded runtime scales with the KPA: remove the annotation or set kpa.autoscaling.knative.dev',
  };

  function setFailure(rev: Revision, failure: RevisionFailure): void {
    if (rev.failure?.reason === failure.reason && rev.failure.message === failure.message) return;
    rev.failure = failure;
    emit({ type: 'revision-failed', revision: rev.template.id, failure });
  }

  function newPodId(rev: Revision): string {
    for (;;) {
      const id = `${rev.template.revision}-${randomBytes(2).toString('hex')}`;
      if (!usedPodIds.has(id)) {
        usedPodIds.add(id);
        return id;
      }
    }
  }

  function createPod(rev: Revision): void {
    const pod: Pod = {
      id: newPodId(rev),
      seq: ++podSeq,
      rev,
      state: 'starting',
      url: '',
      port: 0,
      pid: undefined,
      restarts: 0,
      startedAt: clock.now(),
      readyAt: undefined,
      everReady: false,
      crashes: 0,
      child: undefined,
      exited: undefined,
      stderrTail: [],
      probeAbort: undefined,
      restartTimer: undefined,
      deadlineTimer: undefined,
      stopping: undefined,
    };
    rev.pods.push(pod);
    // Knative's progress-deadline: a pod that never became ready fails the revision.
    const deadlineMs = rev.template.progressDeadlineMs ?? PLATFORM_DEFAULTS.progressDeadlineMs;
    pod.deadlineTimer = clock.setTimeout(() => {
      pod.deadlineTimer = undefined;
      if (pod.everReady || pod.state === 'terminating') return;
      const seconds = Math.round(deadlineMs / 1000);
      setFailure(rev, {
        reason: 'ProgressDeadlineExceeded',
        message: `Pod ${pod.id} did not become ready within ${seconds}s` + lastStderr(pod),
      });
    }, deadlineMs);
    void startProcess(pod);
  }

  function lastStderr(pod: Pod): string {
    const tail = pod.stderrTail.slice(-3).join('\n').trim();
    return tail ? `; last stderr: ${tail}` : '';
  }

  /** The pod is being stopped, or the runtime closed (checked after every wait). */
  function stopped(pod: Pod): boolean {
    return pod.state === 'terminating' || closed;
  }

  /** Kills a taken warm process that will not become a pod after all. */
  function dropWarm(child: ChildProcess): void {
    if (child.pid === undefined) return;
    signalPod(child.pid, 'SIGKILL');
    guard.untrack(child.pid);
  }

  interface FromPool {
    child: ChildProcess;
    port: number;
    ready: Promise<void> | undefined;
  }

  /**
   * Takes a warm Node runtime process for the pod and specializes it. It
   * already listens on its port (the pod's port). A booted process is
   * specialized synchronously: the message leaves before whatever else the
   * event loop has to do in this tick. Undefined when the pool has none for
   * this command, or the one taken died: spawn instead.
   */
  function fromPool(pod: Pod): FromPool | Promise<FromPool | undefined> | undefined {
    const t = pod.rev.template;
    // A memory-limited pod is spawned, so its Node gets the heap cap (memory.ts); a warm process already runs without one.
    const taken = pool && isNodeRuntimeCommand(t.command) && t.memoryLimitBytes === undefined ? pool.take() : undefined;
    if (!taken) return undefined;
    if (typeof taken.port === 'number') return specializeFor(pod, taken.child, taken.port);
    return taken.port.then(
      (port) => specializeFor(pod, taken.child, port),
      () => {
        dropWarm(taken.child);
        return undefined;
      },
    );
  }

  function specializeFor(pod: Pod, child: ChildProcess, port: number): FromPool | undefined {
    const t = pod.rev.template;
    if (stopped(pod)) {
      dropWarm(child);
      return undefined;
    }
    // With the default probe, readiness is the process saying its handler is
    // loaded: a TCP probe would pass on the pre-bound socket before that.
    const ready = t.readinessProbe === undefined ? readyMessage(child) : undefined;
    if (!specialize(child, { args: t.args, cwd: t.workingDir, env: buildPodEnv(baseEnv, t, port) })) {
      dropWarm(child);
      return undefined;
    }
    return { child, port, ready };
  }

  async function startProcess(pod: Pod): Promise<void> {
    const rev = pod.rev;
    const t = rev.template;
    pod.state = 'starting';
    pod.startedAt = clock.now();
    pod.readyAt = undefined;
    pod.stderrTail = [];
    pod.oomRss = undefined;

    const [command, ...commandArgs] = t.command;
    if (!command) {
      onProcessGone(pod, undefined, null, null, {
        reason: 'CommandNotFound',
        message: 'The container has no command; locally a container runs its `command` and `args`',
      });
      return;
    }
    if (!existsSync(t.workingDir)) {
      onProcessGone(pod, undefined, null, null, {
        reason: 'WorkingDirNotFound',
        message: `workingDir ${t.workingDir} does not exist`,
      });
      return;
    }

    const taken = fromPool(pod);
    const warm = taken instanceof Promise ? await taken : taken;
    let port: number;
    if (warm) {
      port = warm.port;
    } else {
      try {
        port = await findFreePort(host);
      } catch (err) {
        const message = `cannot find a free port on ${host}: ${(err as Error).message}`;
        if (!stopped(pod)) onProcessGone(pod, undefined, null, null, { reason: 'PortAllocationFailed', message });
        return;
      }
    }
    if (stopped(pod)) {
      if (warm) dropWarm(warm.child);
      return;
    }
    pod.port = port;
    pod.url = `http://${urlHost}:${port}`;
    const specialized = warm !== undefined;
    // A spawned Node runtime with the default probe says when it listens with
    // its handler loaded, over an IPC channel it then closes: no probe period
    // between listening and ready (functions/node/main.ts).
    const ipcReadiness = !specialized && t.readinessProbe === undefined && isNodeRuntimeCommand(t.command);
    let child: ChildProcess;
    try {
      // The Node runtime starts from its one-file bundle when built (nodeRuntimeProcessEntry).
      const args = isNodeRuntimeCommand(t.command) ? [nodeRuntimeProcessEntry(), ...t.args] : [...commandArgs, ...t.args];
      child = warm ? warm.child : spawn(command, args, {
        cwd: t.workingDir,
        env: buildPodEnv(baseEnv, t, port),
        detached: SPAWN_DETACHED,
        stdio: ipcReadiness ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      onProcessGone(pod, undefined, null, null, startFailure(err as Error, command));
      return;
    }

    pod.child = child;
    pod.pid = child.pid;
    pod.fastStart = specialized;
    pod.ipcReady = warm ? warm.ready : ipcReadiness ? readyMessage(child) : undefined;
    let resolveExited!: () => void;
    pod.exited = new Promise((r) => (resolveExited = r));
    if (child.pid !== undefined && !specialized) guard.track(child.pid);

    let ended = false;
    const end = (code: number | null, signal: string | null, failure?: RevisionFailure): void => {
      if (ended) return;
      ended = true;
      if (child.pid !== undefined) {
        // Whatever the process forked dies with it, then the reaper forgets the group.
        signalPod(child.pid, 'SIGKILL');
        guard.untrack(child.pid);
      }
      resolveExited();
      onProcessGone(pod, child, code, signal, failure);
    };
    child.on('error', (err) => {
      // Spawn failures (ENOENT, EACCES) arrive here without an 'exit'; later
      // errors (a failed kill) change nothing but must not go unhandled.
      if (child.pid === undefined) end(null, null, startFailure(err, command));
    });
    child.once('exit', (code, signal) => {
      // Report once stdout and stderr are read to the end ('close'), so the
      // failure message has the last words of a process that wrote and died;
      // killing the group first makes sure no forked process holds the pipes.
      if (child.pid !== undefined) signalPod(child.pid, 'SIGKILL');
      const settle = clock.setTimeout(() => end(code, signal), STDIO_SETTLE_MS);
      child.once('close', () => {
        clock.clearTimeout(settle);
        end(code, signal);
      });
    });

    const stdout = new LineSplitter((line) => addLog(rev, pod, 'stdout', line));
    const stderr = new LineSplitter((line) => {
      pod.stderrTail.push(line);
      if (pod.stderrTail.length > STDERR_TAIL_LINES) pod.stderrTail.shift();
      addLog(rev, pod, 'stderr', line);
    });
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});
    child.stdout?.on('data', (b: Buffer) => stdout.write(b));
    child.stdout?.on('end', () => stdout.end());
    child.stderr?.on('data', (b: Buffer) => stderr.write(b));
    child.stderr?.on('end', () => stderr.end());

    if (child.pid === undefined) return;
    // A pooled process holds requests until its handler is imported (functions/node/main.ts).
    if (specialized) emit({ type: 'pod-listening', revision: rev.template.id, pod: info(pod), holdsRequests: pod.ipcReady !== undefined });
    const abort = new AbortController();
    pod.probeAbort = abort;
    void probeLoop(pod, child, abort.signal);
  }

  /**
   * Readiness, then liveness-for-routing: probe until successThreshold
   * successes in a row (pod-ready), then keep probing so a pod that stops
   * answering for failureThreshold probes leaves routing (pod-unready).
   */
  async function probeLoop(pod: Pod, child: ChildProcess, signal: AbortSignal): Promise<void> {
    const plan = pod.rev.probe;
    const target = { host: plan.host ?? host, port: plan.port === 'pod' ? pod.port : plan.port };
    let successes = 0;
    let failures = 0;
    try {
      if (pod.ipcReady) {
        await untilOrAborted(pod.ipcReady, signal);
        if (signal.aborted || pod.child !== child) return;
        markReady(pod);
        // From here on the periodic probe watches liveness, as for any pod.
        await clock.sleep(plan.readyPeriodMs, signal);
      } else if (plan.initialDelayMs > 0) await clock.sleep(plan.initialDelayMs, signal);
      while (!signal.aborted && pod.child === child) {
        const ready = pod.state === 'ready';
        const ok = await probeOnce(plan, target, ready ? plan.readyTimeoutMs : plan.startTimeoutMs, clock);
        if (signal.aborted || pod.child !== child) return;
        if (ok) {
          successes++;
          failures = 0;
          if (!ready && successes >= plan.successThreshold) markReady(pod);
        } else {
          failures++;
          successes = 0;
          if (ready && failures >= plan.failureThreshold) markUnready(pod);
        }
        const startPeriod = pod.fastStart && plan.startPeriodMs === PLATFORM_DEFAULTS.defaultProbePeriodMs ? WARM_START_PROBE_MS : plan.startPeriodMs;
        await clock.sleep(pod.state === 'ready' ? plan.readyPeriodMs : startPeriod, signal);
      }
    } catch {
      // Aborted: the process exited or the pod is terminating.
    }
  }

  function markReady(pod: Pod): void {
    const rev = pod.rev;
    pod.state = 'ready';
    pod.readyAt = clock.now();
    pod.everReady = true;
    clock.clearTimeout(pod.deadlineTimer);
    pod.deadlineTimer = undefined;
    emit({ type: 'pod-ready', revision: rev.template.id, pod: info(pod) });
    if (rev.failure) {
      rev.failure = undefined;
      emit({ type: 'revision-recovered', revision: rev.template.id });
    }
  }

  function markUnready(pod: Pod): void {
    pod.state = 'starting';
    pod.readyAt = undefined;
    emit({ type: 'pod-unready', revision: pod.rev.template.id, pod: info(pod) });
  }

  /** The pod's process ended (or never started). Restart it unless the pod is being stopped. */
  function onProcessGone(
    pod: Pod,
    child: ChildProcess | undefined,
    code: number | null,
    signal: string | null,
    failure?: RevisionFailure,
  ): void {
    if (child && pod.child !== child) return;
    const rev = pod.rev;
    const wasReady = pod.state === 'ready';
    const ranMs = clock.now() - pod.startedAt;
    pod.child = undefined;
    pod.pid = undefined;
    pod.probeAbort?.abort();
    pod.probeAbort = undefined;

    if (pod.state === 'terminating') {
      emit({ type: 'pod-exited', revision: rev.template.id, pod: info(pod), code, signal });
      return;
    }
    pod.state = 'exited';
    pod.readyAt = undefined;
    if (wasReady) emit({ type: 'pod-unready', revision: rev.template.id, pod: info(pod) });
    emit({ type: 'pod-exited', revision: rev.template.id, pod: info(pod), code, signal });
    const limit = rev.template.memoryLimitBytes;
    // Killed by the watchdog, or V8 hit the heap cap set from the limit: OOMKilled, as Kubernetes reports it.
    const oom = limit === undefined ? undefined
      : pod.oomRss !== undefined ? oomFailure(limit, pod.oomRss)
        : isHeapOutOfMemory(pod.stderrTail) ? oomFailure(limit) : undefined;
    setFailure(rev, failure ?? oom ?? exitFailure(code, signal, pod.stderrTail));

    if (closed) return;
    pod.crashes = nextCrashCount(pod.crashes, ranMs, PLATFORM_DEFAULTS.restartBackoffResetMs);
    const delay = restartDelayMs(pod.crashes, {
      baseMs: PLATFORM_DEFAULTS.restartBackoffBaseMs,
      maxMs: PLATFORM_DEFAULTS.restartBackoffMaxMs,
    });
    pod.restartTimer = clock.setTimeout(() => {
      pod.restartTimer = undefined;
      if (pod.state === 'terminating' || closed) return;
      pod.restarts++;
      void startProcess(pod);
    }, delay);
  }

  /**
   * Scale-down of one pod: out of routing first, then drain in-flight
   * requests, then SIGTERM, then SIGKILL once the grace period
   * (terminationGracePeriodSeconds = the revision's timeoutSeconds) is over.
   */
  function stopPod(pod: Pod): Promise<void> {
    if (pod.stopping) return pod.stopping;
    const rev = pod.rev;
    pod.state = 'terminating';
    pod.readyAt = undefined;
    clock.clearTimeout(pod.restartTimer);
    clock.clearTimeout(pod.deadlineTimer);
    pod.restartTimer = undefined;
    pod.deadlineTimer = undefined;
    pod.probeAbort?.abort();
    pod.probeAbort = undefined;
    emit({ type: 'pod-unready', revision: rev.template.id, pod: info(pod) });

    pod.stopping = (async () => {
      const graceMs = Math.max(0, rev.template.timeoutSeconds * 1000);
      const startedAt = clock.now();
      if (pod.child && drain) await drainWithin(pod.id, graceMs);
      const child = pod.child;
      if (child?.pid !== undefined && pod.exited) {
        const pid = child.pid;
        signalPod(pid, 'SIGTERM');
        const killIn = Math.max(startedAt + graceMs - clock.now(), Math.min(MIN_TERM_TO_KILL_MS, graceMs));
        const killTimer = clock.setTimeout(() => signalPod(pid, 'SIGKILL'), killIn);
        await pod.exited;
        clock.clearTimeout(killTimer);
      }
      pod.state = 'exited';
      const i = rev.pods.indexOf(pod);
      if (i >= 0) rev.pods.splice(i, 1);
    })();
    return pod.stopping;
  }

  /** The data plane's drain, bounded by the grace period even if it ignores its signal. */
  async function drainWithin(podId: string, graceMs: number): Promise<void> {
    if (!drain) return;
    const ac = new AbortController();
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = clock.setTimeout(() => {
        ac.abort(new Error(`grace period of ${graceMs} ms elapsed`));
        resolve();
      }, graceMs);
    });
    try {
      await Promise.race([drain(podId, ac.signal).catch(() => {}), timedOut]);
    } finally {
      clock.clearTimeout(timer);
    }
  }

  function converge(rev: Revision): void {
    const want = closed ? 0 : rev.desired;
    const active = rev.pods.filter((p) => p.state !== 'terminating');
    for (let n = active.length; n < want; n++) createPod(rev);
    if (active.length > want) {
      const victims = new Set(
        pickVictims(
          active.map((p) => ({ id: p.id, ready: p.state === 'ready', seq: p.seq })),
          active.length - want,
        ),
      );
      for (const p of active) if (victims.has(p.id)) void stopPod(p);
    }
  }

  return {
    deploy(template) {
      if (revisions.has(template.id)) return;
      if (!pool && !closed && poolSize > 0 && isNodeRuntimeCommand(template.command)) {
        const onListening = (port: number): void => {
          for (const l of [...warmListeners]) {
            try {
              l(`http://${urlHost}:${port}`);
            } catch {
              // same as emit()
            }
          }
        };
        pool = new WarmPool({ size: poolSize, entry: nodeRuntimeProcessEntry(), host, env: baseEnv, guard, clock, onListening });
        pool.start();
        opts.onWarmPool?.(pool);
      }
      if (template.memoryLimitBytes !== undefined && !memoryTimer && !closed) memoryTimer = clock.setInterval(checkMemory, memoryCheckMs);
      revisions.set(template.id, {
        template: structuredClone(template),
        desired: 0,
        pods: [],
        logs: new RingBuffer<LogLine>(logLines),
        failure: undefined,
        probe: resolveProbe(template.readinessProbe, template.containerPort),
      });
      // The HPA class needs a HorizontalPodAutoscaler, i.e. Kubernetes: refuse it plainly (docs/functions.md).
      if (template.hpa) setFailure(revisions.get(template.id)!, HPA_UNSUPPORTED);
    },

    scale(revision, replicas) {
      // Unknown revisions are ignored, not an error: the autoscaler's timer
      // may fire once more for a revision that remove() just forgot, and a
      // throw there would surface as an uncaught exception.
      const rev = revisions.get(revision);
      if (!rev || rev.template.hpa) return;
      rev.desired = Math.max(0, Math.floor(replicas));
      converge(rev);
    },

    async remove(revision) {
      const rev = revisions.get(revision);
      if (!rev) return;
      rev.desired = 0;
      await Promise.all(rev.pods.map((p) => stopPod(p)));
      revisions.delete(revision);
    },

    status(revision) {
      const rev = revisions.get(revision);
      if (!rev) return undefined;
      const out: RevisionRuntimeStatus = {
        desired: rev.desired,
        ready: rev.pods.filter((p) => p.state === 'ready').length,
        pods: rev.pods.map(info),
      };
      if (rev.failure) out.failure = { ...rev.failure };
      return out;
    },

    readyPods(revision) {
      return (revisions.get(revision)?.pods ?? []).filter((p) => p.state === 'ready').map(info);
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    onWarmListening(listener) {
      warmListeners.add(listener);
      return () => warmListeners.delete(listener);
    },

    logs(revision, o) {
      return revisions.get(revision)?.logs.tail(o?.tail) ?? [];
    },

    followLogs(revision, listener) {
      const set = followers.get(revision) ?? new Set<(l: LogLine) => void>();
      followers.set(revision, set);
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0 && followers.get(revision) === set) followers.delete(revision);
      };
    },

    async close() {
      closed = true;
      clock.clearInterval(memoryTimer);
      memoryTimer = undefined;
      const all: Promise<void>[] = [];
      for (const rev of revisions.values()) for (const p of rev.pods) all.push(stopPod(p));
      all.push(pool?.close() ?? Promise.resolve());
      await Promise.all(all);
      guard.close();
    },
  };
}
