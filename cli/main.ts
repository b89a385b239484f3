#!/usr/bin/env node
/**
 * The `zeno` command: argument parsing and dispatch only; each command
 * group lives in its own file and is loaded when used, so `zeno get` does
 * not pay for loading the platform.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { realClock } from '../core/clock.js';
import { parseCommand, splitCommandLine, UsageError, type ParsedValues } from './args.js';
import { COMMANDS, findCommand, renderCommandHelp, renderMainHelp } from './commands.js';
import { cliVersion, reportError, type CliContext } from './context.js';
import { closest } from './hints.js';

type Runner = (ctx: CliContext, values: ParsedValues, args: string[]) => Promise<number>;

const RUNNERS: Record<string, () => Promise<Runner>> = {
  up: async () => (await import('./up.js')).runUp,
  apply: async () => (await import('./apply.js')).runApply,
  delete: async () => (await import('./apply.js')).runDelete,
  get: async () => (await import('./get.js')).runGet,
  describe: async () => (await import('./get.js')).runDescribe,
  invoke: async () => (await import('./invoke.js')).runInvoke,
  logs: async () => (await import('./invoke.js')).runLogs,
  events: async () => (await import('./events.js')).runEvents,
  new: async () => (await import('./new.js')).runNew,
  dashboard: async () => (await import('./dashboard.js')).runDashboard,
  top: async () => (await import('./top.js')).runTop,
  scale: async () => (await import('./scale.js')).runScale,
  completion: async () => (await import('./completion.js')).runCompletion,
};

/** Runs one command line; returns the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[], ctx: CliContext): Promise<number> {
  try {
    // Hidden: what the completion scripts call; takes the words as they are.
    if (argv[0] === '__complete') return await (await import('./completion.js')).runComplete(ctx, argv.slice(1));
    const { command, rest, help, version } = splitCommandLine(argv);
    if (version) return printVersion(ctx);
    if (command === undefined) {
      ctx.out(renderMainHelp());
      return 0;
    }
    const spec = findCommand(command);
    if (!spec) {
      const guess = closest(command, COMMANDS.map((c) => c.name));
      throw new UsageError(`unknown command "${command}"${guess ? ` (did you mean "zeno ${guess}"?)` : ''}; commands: ${COMMANDS.map((c) => c.name).join(', ')} (see "zeno --help")`);
    }
    const { values, args } = parseCommand(spec, rest);
    if (help || values.help === true) {
      ctx.out(renderCommandHelp(spec));
      return 0;
    }
    if (spec.name === 'version') return printVersion(ctx);
    if (spec.name === 'help') {
      const about = args[0] === undefined ? undefined : findCommand(args[0]);
      if (args[0] !== undefined && !about) throw new UsageError(`unknown command "${args[0]}" (see "zeno --help")`);
      ctx.out(about ? renderCommandHelp(about) : renderMainHelp());
      return 0;
    }
    const run = await RUNNERS[spec.name]!();
    return await run(ctx, values, args);
  } catch (e) {
    return reportError(ctx, e);
  }
}

function printVersion(ctx: CliContext): number {
  ctx.out(`zeno ${cliVersion()}\n`);
  return 0;
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', first);
      process.off('SIGTERM', first);
      // A second Ctrl-C means "now": skip the graceful stop.
      const force = (): void => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
}

/** True when this file is the program (also through npm's bin symlink), not an import in a test. */
function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return pathToFileURL(realpathSync(argv1)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main(process.argv.slice(2), {
    out: (chunk) => process.stdout.write(chunk),
    err: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    clock: realClock,
    untilSignal,
    errIsTTY: process.stderr.isTTY === true && !process.env.CI,
    outIsTTY: process.stdout.isTTY === true,
    ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
  });
  // Exit explicitly: a platform that closed or a stream that ended may leave
  // idle sockets or timers behind, and the CLI must not hang on them.
  process.exit(code);
}
