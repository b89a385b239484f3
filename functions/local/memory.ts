/**
 * `resources.limits.memory` for local processes. Kubernetes enforces the
 * limit with the cgroup's OOM killer and reports the container as
 * terminated with reason `OOMKilled` (exit code 137). Locally:
 *
 * - Node processes get `--max-old-space-size` (in NODE_OPTIONS) at 75 % of
 *   the limit, so V8 collects garbage before the process nears it instead
 *   of growing its heap into the limit;
 * - a watchdog samples the resident set of every pod's process group
 *   (the command and whatever it forked) and SIGKILLs a group past its
 *   limit, as the OOM killer would;
 * - either way the revision's ContainerHealthy (and, before it was ever
 *   ready, Ready) condition says `OOMKilled` with the numbers.
 *
 * Knative itself reports a terminated container as `ExitCode137`; Zeno
 * reports Kubernetes' more specific termination reason instead (README,
 * "Where Zeno differs from Knative").
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { RevisionFailure } from '../runtime.js';
import { formatBytes } from '../../core/quantity.js';

/** Share of the memory limit given to V8's old space. */
export const HEAP_SHARE = 0.75;
/** Smallest heap we ask V8 for, in MiB (below this Node cannot start a server). */
const MIN_HEAP_MIB = 16;

/** Whether the command starts Node itself (`node`, `nodejs`, or this Node's own path). */
export function isNodeCommand(command: readonly string[], execPath: string = process.execPath): boolean {
  const c = command[0];
  if (!c) return false;
  return c === execPath || /^node(js)?(\.exe)?$/i.test(basename(c));
}

/** `--max-old-space-size` in MiB for a memory limit in bytes. */
export function heapLimitMiB(limitBytes: number): number {
  return Math.max(MIN_HEAP_MIB, Math.floor((limitBytes * HEAP_SHARE) / 2 ** 20));
}

/** NODE_OPTIONS with a heap limit added, unless the user set one already. */
export function nodeOptionsWithHeap(existing: string | undefined, limitBytes: number): string {
  const cur = (existing ?? '').trim();
  if (/--max-old-space-size[= ]/.test(cur)) return cur;
  const flag = `--max-old-space-size=${heapLimitMiB(limitBytes)}`;
  return cur ? `${cur} ${flag}` : flag;
}

/** The watchdog's decision: kill when the group's resident set is over the limit. */
export function overLimit(rssBytes: number, limitBytes: number | undefined): boolean {
  return limitBytes !== undefined && limitBytes > 0 && rssBytes > limitBytes;
}

/** V8 ran out of heap (the process aborts with this on stderr). */
export function isHeapOutOfMemory(stderrTail: readonly string[]): boolean {
  return stderrTail.some((l) => l.includes('JavaScript heap out of memory') || l.includes('Reached heap limit'));
}

export function oomFailure(limitBytes: number, rssBytes?: number): RevisionFailure {
  return {
    reason: 'OOMKilled',
    message: rssBytes !== undefined
      ? `Container was killed for using ${formatBytes(rssBytes)} of memory, over its limit of ${formatBytes(limitBytes)} (resources.limits.memory)`
      : `Container ran out of memory: the Node heap reached its cap of ${heapLimitMiB(limitBytes)}Mi, ${HEAP_SHARE * 100}% of resources.limits.memory ${formatBytes(limitBytes)}`,
  };
}

/** Bytes per page for /proc/PID/stat's rss field (4 KiB on the Linux machines Zeno runs on). */
const PAGE_BYTES = 4096;

function rssOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces and parentheses): pgrp is the 5th field, rss the 24th.
    const rssPages = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[21]);
    return Number.isFinite(rssPages) ? rssPages * PAGE_BYTES : undefined;
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * Resident bytes per process group, for the groups asked about (a pod's
 * group is its command and whatever it started). Finding a group's members
 * takes a pass over every process in /proc (about 20 ms with 150 processes
 * on a busy machine), so members are looked up every `rescanEvery`-th
 * sample only; the samples between read just the known members' stat
 * (a new child is counted at most that many samples late). Missing groups
 * where /proc does not exist (not Linux): the watchdog then enforces
 * nothing, and docs/security.md says so.
 */
export class GroupRssSampler {
  private members = new Map<number, number[]>();
  private samples = 0;

  constructor(private readonly rescanEvery = 8) {}

  sample(groups: ReadonlySet<number>): Map<number, number> {
    if (this.samples++ % this.rescanEvery === 0 || [...groups].some((g) => !this.members.has(g))) this.rescan(groups);
    const out = new Map<number, number>();
    for (const g of groups) {
      let total = 0;
      let found = false;
      for (const pid of this.members.get(g) ?? [g]) {
        const rss = rssOf(pid);
        if (rss === undefined) continue;
        found = true;
        total += rss;
      }
      if (found) out.set(g, total);
    }
    return out;
  }

  private rescan(groups: ReadonlySet<number>): void {
    const found = new Map<number, number[]>([...groups].map((g) => [g, [g]]));
    let entries: string[] = [];
    try {
      entries = readdirSync('/proc');
    } catch {
      // no /proc: the group leaders alone (and rssOf finds nothing either)
    }
    for (const e of entries) {
      if (e.charCodeAt(0) < 48 || e.charCodeAt(0) > 57) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      } catch {
        continue;
      }
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      const pid = Number(e);
      if (pid !== pgrp && found.has(pgrp)) found.get(pgrp)!.push(pid);
    }
    this.members = found;
  }
}
