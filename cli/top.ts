/**
 * `zeno top`: per Service, live replicas, requests per second, p50/p99
 * latency and requests in flight, from GET /apis/zeno.dev/v1/top
 * (controller/top.ts). On a terminal it redraws every second until Ctrl-C;
 * with --once, or when stdout is not a terminal, it prints one table.
 */
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { bool, str, UsageError, type ParsedValues } from './args.js';
import { connect, type CliContext } from './context.js';
import { formatTable, type Cell } from './table.js';

// Types only: the CLI does not load the platform.
import type { TopList } from '../controller/top.js';

/** Latency for a table cell: `0.8ms`, `12ms`, `1.5s`; blank when nothing was measured. */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 10) return `${(Math.round(ms * 10) / 10).toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(Math.round(ms / 100) / 10).toFixed(1)}s`;
}

/** Requests per second: two decimals below 10, one below 100, whole above. */
export function formatRate(rps: number | null | undefined): string {
  if (rps === null || rps === undefined) return '-';
  if (rps < 10) return rps.toFixed(2);
  if (rps < 100) return rps.toFixed(1);
  return String(Math.round(rps));
}

/**
 * The table: NAME, READY (Ready condition), REPLICAS (ready/desired),
 * RPS, P50, P99 (over the window), INFLIGHT and QUEUED (now, QUEUED being
 * requests the activator holds for a pod); NAMESPACE first with -A.
 */
export function renderTop(list: TopList, opts: { allNamespaces?: boolean } = {}): string {
  const headers = ['NAME', 'READY', 'REPLICAS', 'RPS', 'P50', 'P99', 'INFLIGHT', 'QUEUED'];
  const rows: Cell[][] = list.items.map((r) => [
    r.name,
    r.ready ? 'True' : 'False',
    `${r.readyReplicas}/${r.desiredReplicas}`,
    formatRate(r.rps),
    formatLatency(r.p50Ms),
    formatLatency(r.p99Ms),
    r.inFlight,
    r.queued,
  ]);
  return opts.allNamespaces
    ? formatTable(['NAMESPACE', ...headers], rows.map((row, i) => [list.items[i]!.namespace, ...row]))
    : formatTable(headers, rows);
}

/** The header line above the table on a terminal. */
export function topHeader(list: TopList, nowMs: number): string {
  const at = new Date(nowMs).toISOString().slice(11, 19);
  return `zeno top · ${at} UTC · RPS and latency over the last ${Math.round(list.windowSeconds)}s · Ctrl-C to quit`;
}

/** Cursor home and clear screen: the next frame replaces the last one. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

export async function runTop(ctx: CliContext, values: ParsedValues): Promise<number> {
  const all = bool(values, 'all-namespaces');
  const ns = str(values, 'namespace');
  if (all && ns) throw new UsageError('give -n NS or -A to "zeno top", not both');
  const output = str(values, 'output');
  if (output !== undefined && !['json', 'yaml'].includes(output)) throw new UsageError(`flag -o: "${output}" is not one of json, yaml`);
  const namespace = all ? undefined : (ns ?? 'default');
  const { client } = await connect(ctx, values);
  const fetchList = () => client.request<TopList>('GET', `/apis/zeno.dev/v1/top${namespace ? `?namespace=${encodeURIComponent(namespace)}` : ''}`);
  const table = (list: TopList): string =>
    list.items.length ? renderTop(list, { allNamespaces: all }) : `No services found${namespace ? ` in namespace ${namespace}` : ''}.\n`;

  const once = bool(values, 'once') || output !== undefined || !(ctx.outIsTTY ?? false);
  if (once) {
    const list = await fetchList();
    if (output === 'json') ctx.out(`${JSON.stringify(list, null, 2)}\n`);
    else if (output === 'yaml') ctx.out((await import('yaml')).stringify(list));
    else if (!list.items.length) ctx.err(table(list));
    else ctx.out(table(list));
    return 0;
  }
  const stop = new AbortController();
  void ctx.untilSignal().then(() => stop.abort());
  while (!stop.signal.aborted) {
    const list = await fetchList();
    ctx.out(`${CLEAR_SCREEN}${topHeader(list, ctx.clock.now())}\n\n${table(list)}`);
    await ctx.clock.sleep(PLATFORM_DEFAULTS.cliRefreshMs, stop.signal).catch(() => undefined);
  }
  return 0;
}
