import { existsSync, readFileSync } from 'node:fs';

/**
 * Alive and not a zombie: a killed process may linger as one until its
 * parent (or a non-reaping init) collects it, and that is not "running".
 * Without /proc (not Linux) existence is all we can tell.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return true;
  try {
    return readFileSync(stat, 'utf8').split(') ').at(-1)?.[0] !== 'Z';
  } catch {
    return false;
  }
}
