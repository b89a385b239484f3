import { spawn, type ChildProcess } from 'node:child_process';

/**
 * No function process may outlive the platform, however the platform ends:
 *
 * 1. Each pod runs in its own process group (spawn `detached`), so stopping
 *    it reaches whatever it forked (`sh -c`, `npm start`, …).
 * 2. A normal exit, process.exit() or an uncaught exception runs the
 *    process 'exit' hook, which SIGKILLs every live group synchronously.
 * 3. SIGKILL (or an OOM kill) runs no code at all. For that, one tiny `sh`
 *    "reaper" per runtime reads a pipe whose write end only the platform
 *    holds, and learns the live groups through it (`+pgid` / `-pgid`). When
 *    the platform dies the kernel closes the pipe, `read` sees EOF, and the
 *    reaper kills every group it still knows.
 *
 * One reaper per runtime instead of a wrapper per pod: pods stay direct
 * children (exact exit codes and signals, real pids), and starting a pod
 * costs one pipe write instead of one more exec on the cold-start path.
 * Windows has no process groups; there a pod is signalled directly and
 * only the exit hook applies.
 */

const usesGroups = process.platform !== 'win32';

/** `+N` adds group N, `-N` forgets it; EOF or a signal kills what is left. */
const REAPER_SCRIPT = `
groups=' '
reap() { for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done; exit 0; }
trap reap HUP INT TERM
while IFS= read -r line; do
  id=\${line#?}
  case $line in
    +*) groups="$groups$id " ;;
    -*) case $groups in *" $id "*) groups="\${groups%% $id *} \${groups#* $id }" ;; esac ;;
  esac
done
reap
`;

/** Live groups of every runtime in this process, for the synchronous exit hook. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) signalPod(pid, 'SIGKILL');
  });
}

/** Whether pods should be spawned `detached` (their own process group). */
export const SPAWN_DETACHED = usesGroups;

/** Sends `signal` to the pod's whole process group; a gone group is not an error. */
export function signalPod(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(usesGroups ? -pid : pid, signal);
  } catch {
    // ESRCH: already gone. EPERM cannot happen for our own children.
  }
}

export class OrphanGuard {
  private reaper: ChildProcess | undefined;
  private readonly groups = new Set<number>();
  private closed = false;

  /** Call right after spawning a pod (its pid is its process group id). */
  track(pid: number): void {
    installExitHook();
    this.groups.add(pid);
    liveGroups.add(pid);
    this.send(`+${pid}`);
  }

  /** Call once the pod's group has been killed. */
  untrack(pid: number): void {
    this.groups.delete(pid);
    liveGroups.delete(pid);
    this.send(`-${pid}`);
  }

  /** Pid of the reaper, if running (for tests). */
  get reaperPid(): number | undefined {
    return this.reaper?.pid;
  }

  /** Ends the reaper; call when every pod is gone. */
  close(): void {
    this.closed = true;
    this.reaper?.stdin?.end();
    this.reaper = undefined;
  }

  private send(line: string): void {
    if (!usesGroups || this.closed) return;
    // A new reaper is told the whole current set, which already includes this change.
    if (!this.reaper) this.startReaper();
    else this.reaper.stdin?.write(`${line}\n`);
  }

  private startReaper(): void {
    const reaper = spawn('/bin/sh', ['-c', REAPER_SCRIPT], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    this.reaper = reaper;
    // The reaper must never keep the platform alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    reaper.stdin?.on('error', () => {});
    reaper.on('error', () => {});
    reaper.on('exit', () => {
      // Killed by someone: the next track/untrack starts a new one and replays the groups.
      if (this.reaper === reaper) this.reaper = undefined;
    });
    // A replacement reaper learns every group still alive.
    const replay = [...this.groups].map((g) => `+${g}\n`).join('');
    if (replay) reaper.stdin?.write(replay);
  }
}
