/**
 * Argument parsing on node:util parseArgs: one spec per command, strict
 * flags, and usage errors (exit code 2) that say how to get help.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../core/duration.js';

/** A mistake on the command line: exit code 2, as for unknown flags and commands. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help, e.g. `FILE`. */
  arg?: string;
  /** Default shown in help; the command applies it. */
  default?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage line after `zeno `, e.g. `get KIND [NAME] [flags]`. */
  usage: string;
  options: Record<string, OptionSpec>;
  minArgs: number;
  maxArgs: number;
  /** Longer text under the usage line. */
  description?: string;
  examples?: string[];
}

/** Flags every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  'data-dir': { type: 'string', arg: 'DIR', default: '$ZENO_DATA_DIR or .zeno', help: 'where "zeno up" keeps its state, admin URL and token' },
  help: { type: 'boolean', short: 'h', help: 'show help for this command' },
};

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedCommand {
  values: ParsedValues;
  args: string[];
}

/**
 * Parses one command's arguments. Throws UsageError for unknown flags, a
 * flag missing its value, or the wrong number of positional arguments
 * (unless --help was given, which wins).
 */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const all = { ...COMMON_OPTIONS, ...spec.options };
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, o] of Object.entries(all)) {
    options[name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed: { values: ParsedValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as { values: ParsedValues; positionals: string[] };
  } catch (e) {
    throw new UsageError(`${describeParseError(e)} for "zeno ${spec.name}" (see "zeno ${spec.name} --help")`);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { values, args: positionals };
  if (positionals.length < spec.minArgs) {
    throw new UsageError(`"zeno ${spec.name}" needs more arguments: zeno ${spec.usage} (see "zeno ${spec.name} --help")`);
  }
  if (positionals.length > spec.maxArgs) {
    const extra = positionals[spec.maxArgs] ?? '';
    throw new UsageError(`unexpected argument "${extra}" for "zeno ${spec.name}": zeno ${spec.usage}`);
  }
  return { values, args: positionals };
}

function describeParseError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const quoted = /'([^']+)'/.exec(err.message ?? '')?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${quoted ?? ''}`.trimEnd();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      // Node says "Option '-n, --namespace <value>' argument missing" or
      // "... does not take an argument"; keep the flag, say it plainly.
      return /argument missing/.test(err.message ?? '')
        ? `flag ${flagOf(quoted)} needs a value`
        : `flag ${flagOf(quoted)} does not take a value`;
    default:
      return err.message ?? String(e);
  }
}

function flagOf(quoted: string | undefined): string {
  if (!quoted) return '';
  const long = /--[\w-]+/.exec(quoted)?.[0];
  return long ?? quoted;
}

/**
 * Splits `zeno [--data-dir DIR] COMMAND ARGS...`: global flags may come
 * before the command (kubectl allows it), and are handed to the command.
 */
export function splitCommandLine(argv: string[]): { command: string | undefined; rest: string[]; help: boolean; version: boolean } {
  const leading: string[] = [];
  let help = false;
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) break;
    if (a === '--help' || a === '-h') help = true;
    else if (a === '--version') version = true;
    else if (a === '--data-dir') {
      const v = argv[i + 1];
      if (v === undefined) throw new UsageError('flag --data-dir needs a value (see "zeno --help")');
      leading.push(a, v);
      i++;
    } else if (a.startsWith('--data-dir=')) leading.push(a);
    else throw new UsageError(`unknown flag ${a.split('=')[0]} (flags go after the command; see "zeno --help")`);
  }
  const command = argv[i];
  return { command, rest: [...argv.slice(i + 1), ...leading], help, version };
}

export function str(values: ParsedValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function strs(values: ParsedValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function bool(values: ParsedValues, name: string): boolean {
  return values[name] === true;
}

/** A TCP port number (0 means "any free port"). */
export function parsePort(text: string, flag: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new UsageError(`flag ${flag}: "${text}" is not a port number (0-65535)`);
  return Number(text);
}

/** A Go duration (`120s`, `2m`, `1m30s`) or bare seconds, as kubectl's --timeout. */
export function parseTimeout(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`flag ${flag}: "${text}" is not a positive duration (e.g. 120s, 2m, 1m30s)`);
  return ms;
}

/** A non-negative integer such as --tail. */
export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`flag ${flag}: "${text}" is not a whole number`);
  return Number(text);
}

/** `-H 'Name: value'` as curl takes it. */
export function parseHeader(text: string): [string, string] {
  const i = text.indexOf(':');
  const name = i < 0 ? '' : text.slice(0, i).trim();
  if (!name || /\s/.test(name)) throw new UsageError(`flag -H: "${text}" is not a header; write it as 'Name: value'`);
  return [name, text.slice(i + 1).trim()];
}
