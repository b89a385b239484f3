/**
 * Child processes of the bench (zeno up, bare functions, nginx, wrk, the
 * Node load generator) and small waits. Every child goes through
 * spawnTracked, so one call stops them all however the bench ends.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { realClock, type Clock } from '../core/clock.js';

const live = new Set<ChildProcess>();

export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, opts);
  live.add(child);
  child.once('exit', () => live.delete(child));
  // A spawn failure (ENOENT) also ends the child; 'exit' may never come.
  child.once('error', () => live.delete(child));
  return child;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after graceMs: zeno up drains and stops its pods on SIGTERM. */
export async function stopChild(child: ChildProcess, graceMs = 15_000, clock: Clock = realClock): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = clock.setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clock.clearTimeout(timer);
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)));
}

/** Last resort from process 'exit', where nothing async runs. */
export function killAllChildrenNow(): void {
  for (const c of live) if (!hasExited(c)) c.kill('SIGKILL');
}

/** Resolves with the exit code and everything the child printed. */
export function runToEnd(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Polls cond every intervalMs until it holds; throws naming `what` after timeoutMs. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string, opts: { intervalMs?: number; clock?: Clock } = {}): Promise<void> {
  const clock = opts.clock ?? realClock;
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (clock.now() >= deadline) throw new Error(`bench: ${what} not within ${timeoutMs} ms`);
    await clock.sleep(opts.intervalMs ?? 20);
  }
}

/**
 * Environments of live processes that carry name=value, by pid. Pods get
 * Knative's runtime contract (K_REVISION, PORT), so this finds a revision's
 * processes and their ports without asking the platform.
 */
export function processesWithEnv(name: string, value: string): Map<number, Map<string, string>> {
  const out = new Map<number, Map<string, string>>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const vars = readFileSync(`/proc/${d}/environ`, 'utf8').split('\0');
      if (!vars.includes(`${name}=${value}`)) continue;
      // A zombie still shows its environment until reaped.
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      const env = new Map<string, string>();
      for (const v of vars) {
        const i = v.indexOf('=');
        if (i > 0) env.set(v.slice(0, i), v.slice(i + 1));
      }
      out.set(Number(d), env);
    } catch {
      // gone meanwhile, or not readable
    }
  }
  return out;
}

/**
 * CPU time (user + system) a process has used, in ms, from /proc/PID/stat
 * (utime and stime, in clock ticks of 1/100 s: Linux's USER_HZ). Undefined
 * when the process is gone or /proc is not there.
 */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

/** The user-mode part of cpuMs (utime alone), in ms; undefined when the process is gone. */
export function userMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[11]) * 10;
  } catch {
    return undefined;
  }
}

/** Pids of the live children of `ppid` (nginx's workers under its master). */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
