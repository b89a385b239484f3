/**
 * What every command gets from main: output streams, environment, clock,
 * and the way to reach the platform. Tests build one with fakes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../core/clock.js';
import { isZenoError, formatIssue } from '../core/errors.js';
import { str, UsageError, type ParsedValues } from './args.js';
import { Progress } from './progress.js';
import { AdminClient, readPlatformAddress, resolveDataDir, type FetchLike, type PlatformAddress } from './client.js';

export interface CliContext {
  /** stdout: results and data. */
  out: (chunk: string | Uint8Array) => void;
  /** stderr: progress, warnings and errors. */
  err: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  clock: Clock;
  /** For tests; global fetch otherwise. */
  fetch?: FetchLike;
  /** Resolves on the first SIGINT or SIGTERM (`zeno up` stops gracefully then). */
  untilSignal: () => Promise<string>;
  /** stderr is a terminal: progress redraws one line (cli/progress.ts). Default false. */
  errIsTTY?: boolean;
  /** stdout is a terminal: `zeno top` redraws its table. Default false. */
  outIsTTY?: boolean;
  /** Terminal width. Default 80. */
  columns?: number;
}

/** The progress display for this command's waits, on stderr. */
export function progressOf(ctx: CliContext): Progress {
  return new Progress({ write: ctx.err, clock: ctx.clock, tty: ctx.errIsTTY ?? false, ...(ctx.columns ? { columns: ctx.columns } : {}) });
}

export function dataDirOf(ctx: CliContext, values: ParsedValues): string {
  return resolveDataDir(str(values, 'data-dir'), ctx.env, ctx.cwd);
}

/** The admin client for the platform the data dir points at. */
export function connect(ctx: CliContext, values: ParsedValues): Promise<{ client: AdminClient; address: PlatformAddress }> {
  return connectWith(ctx, values, {});
}

/** connect() with a shorter request timeout (completion must not keep the shell waiting). */
export async function connectWith(ctx: CliContext, values: ParsedValues, opts: { timeoutMs?: number }): Promise<{ client: AdminClient; address: PlatformAddress }> {
  const address = await readPlatformAddress(dataDirOf(ctx, values));
  const client = new AdminClient({
    baseUrl: address.adminUrl,
    token: address.token,
    dataDir: address.dataDir,
    ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
  });
  return { client, address };
}

/** Prints an error as one `error:` line (plus its field issues); returns the exit code. */
export function reportError(ctx: CliContext, e: unknown): number {
  if (e instanceof UsageError) {
    ctx.err(`error: ${e.message}\n`);
    return 2;
  }
  if (isZenoError(e)) {
    for (const i of e.issues ?? []) ctx.err(`${formatIssue(i)}\n`);
    ctx.err(`error: ${e.message}\n`);
    return 1;
  }
  const err = e as { message?: string; code?: string };
  ctx.err(`error: ${err.message ?? String(e)}${err.code ? ` (${err.code})` : ''}\n`);
  return 1;
}

/**
 * The package's root folder: dist/cli/ when built, cli/ when run from
 * source; the first ancestor with Zeno's package.json.
 */
export function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'zeno') return dir;
      } catch {
        // Not ours; keep looking.
      }
    }
    dir = dirname(dir);
  }
  return undefined;
}

export function cliVersion(): string {
  const root = packageRoot();
  if (!root) return 'unknown';
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
}
