import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait.js';
import { OrphanGuard, signalPod } from './orphan-guard.js';

// The reaper treats the end of its pipe as "the platform is gone". close()
// ends the pipe the same way a dead platform does, so it lets us check the
// reaper's bookkeeping without killing the test process.
const children: ChildProcess[] = [];
function sleeper(): number {
  const c = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  children.push(c);
  return c.pid!;
}
function exited(pid: number): boolean {
  const c = children.find((x) => x.pid === pid);
  return c !== undefined && (c.exitCode !== null || c.signalCode !== null);
}

afterEach(() => {
  for (const c of children.splice(0)) if (c.pid) signalPod(c.pid, 'SIGKILL');
});

describe.skipIf(process.platform === 'win32')('OrphanGuard', () => {
  it('kills the groups it still knows when its pipe closes, and spares forgotten ones', { timeout: 10_000 }, async () => {
    const guard = new OrphanGuard();
    const [a, b, c] = [sleeper(), sleeper(), sleeper()];
    guard.track(a);
    guard.track(b);
    guard.track(c);
    guard.untrack(b); // the middle one: exercises the removal in the script
    await waitFor(() => guard.reaperPid !== undefined, 2_000);
    guard.close();
    await waitFor(() => exited(a) && exited(c), 3_000, { message: 'tracked groups killed' });
    await new Promise((r) => setTimeout(r, 200));
    expect(exited(b)).toBe(false);
  });

  it('a replacement reaper learns every live group', { timeout: 10_000 }, async () => {
    const guard = new OrphanGuard();
    const a = sleeper();
    guard.track(a);
    const first = guard.reaperPid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => guard.reaperPid === undefined, 2_000, { message: 'reaper death noticed' });
    expect(exited(a)).toBe(false); // SIGKILL gives the reaper no chance to act
    const b = sleeper();
    guard.track(b);
    expect(guard.reaperPid).not.toBe(first);
    guard.close();
    await waitFor(() => exited(a) && exited(b), 3_000, { message: 'both groups killed by the new reaper' });
  });
});
