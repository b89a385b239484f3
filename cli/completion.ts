/**
 * Shell completion: `zeno completion bash|zsh|fish` prints a script that
 * asks `zeno __complete WORDS...` (hidden, as cobra's `__complete` in
 * kubectl and kn) for the candidates of the last word: commands, flags,
 * kinds, flag values, and the names of resources of the running platform
 * (through the admin API, with a short timeout; nothing when it is down).
 * The answer is one candidate per line; the single line `:files` asks the
 * shell to complete file names instead.
 */
import { COMMON_OPTIONS, UsageError, type CommandSpec, type OptionSpec, type ParsedValues } from './args.js';
import type { AdminClient } from './client.js';
import { COMMANDS, findCommand } from './commands.js';
import { connectWith, type CliContext } from './context.js';
import { KINDS, resolveKind, type KindInfo } from './kinds.js';
import { TEMPLATES } from './new.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The line that asks the shell for file-name completion. */
export const FILES = ':files';
/** Admin API answers later than this are not waited for: the shell is blocked meanwhile. */
const COMPLETE_TIMEOUT_MS = 1_500;

export interface CompleteSource {
  /** Names of the objects of a kind in a namespace (all namespaces when undefined). */
  names(kind: KindInfo, namespace: string | undefined): Promise<string[]>;
  /** Namespaces that hold anything. */
  namespaces(): Promise<string[]>;
}

const FILE_FLAGS = new Set(['filename', 'config', 'data-dir', 'kubeconfig', 'dir', 'data-file']);
const KIND_COMMANDS = new Set(['get', 'describe', 'delete']);
const SERVICE_COMMANDS = new Set(['invoke', 'logs', 'scale']);

function optionsOf(spec: CommandSpec | undefined): Record<string, OptionSpec> {
  return { ...COMMON_OPTIONS, ...(spec?.options ?? {}) };
}

/** The option a word names (`--namespace`, `-n`, `--namespace=x`), if any. */
function optionOf(word: string, options: Record<string, OptionSpec>): [string, OptionSpec] | undefined {
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=')[0]!;
    const o = options[name];
    return o ? [name, o] : undefined;
  }
  if (/^-[A-Za-z]$/.test(word)) return Object.entries(options).find(([, o]) => o.short === word.slice(1));
  return undefined;
}

function flagWords(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]);
}

function kindWords(): string[] {
  return [...new Set(KINDS.flatMap((k) => [k.plural, k.singular, ...k.shortNames]))];
}

function valuesFor(command: string, flag: string): string[] | undefined {
  switch (flag) {
    case 'output':
      return command === 'get' ? ['json', 'yaml', 'wide'] : ['json', 'yaml'];
    case 'template':
      return [...TEMPLATES];
    case 'runtime':
      return ['local', 'kubernetes'];
    default:
      return undefined;
  }
}

/**
 * Candidates for the last of `words` (the words after `zeno`; the last one
 * is being typed and may be empty), filtered by what is typed so far.
 */
export async function complete(words: string[], source: CompleteSource): Promise<string[]> {
  const cur = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const match = (list: string[]) => [...new Set(list)].filter((c) => c.startsWith(cur)).sort();

  // The command: the first word that is neither a flag nor --data-dir's value.
  let i = 0;
  while (i < before.length && before[i]!.startsWith('-')) i += before[i] === '--data-dir' ? 2 : 1;
  if (i >= before.length) {
    if (before.at(-1) === '--data-dir') return [FILES];
    if (cur.startsWith('-')) return match(['--help', '--version', '--data-dir']);
    return match(COMMANDS.map((c) => c.name));
  }
  const command = before[i]!;
  const spec = findCommand(command);
  if (!spec) return [];
  const options = optionsOf(spec);

  // A flag's value?
  const prev = before.at(-1);
  if (prev !== undefined && before.length - 1 > i) {
    const opt = optionOf(prev, options);
    if (opt && opt[1].type === 'string' && !prev.includes('=')) {
      const [name] = opt;
      if (FILE_FLAGS.has(name)) return [FILES];
      if (name === 'namespace') return match(await source.namespaces());
      return match(valuesFor(command, name) ?? []);
    }
  }
  if (cur.startsWith('-')) return match(flagWords(options));

  // Positional arguments typed so far, and the flags that matter for names.
  const positionals: string[] = [];
  let namespace: string | undefined;
  let allNamespaces = false;
  for (let j = i + 1; j < before.length; j++) {
    const w = before[j]!;
    const opt = optionOf(w, options);
    if (opt) {
      if (opt[0] === 'all-namespaces') allNamespaces = true;
      if (opt[1].type === 'string' && !w.includes('=')) {
        if (opt[0] === 'namespace') namespace = before[j + 1];
        j++;
      } else if (opt[0] === 'namespace') namespace = w.split('=')[1];
      continue;
    }
    if (!w.startsWith('-')) positionals.push(w);
  }
  const pos = positionals.length;

  if (KIND_COMMANDS.has(command)) {
    if (pos === 0) return match(kindWords());
    const kind = resolveKind(positionals[0]!);
    if (pos === 1 && kind) return match(await source.names(kind, allNamespaces ? undefined : (namespace ?? kind.defaultNamespace)));
    return [];
  }
  if (SERVICE_COMMANDS.has(command) && pos === 0) {
    const svc = resolveKind('service')!;
    return match(await source.names(svc, namespace ?? svc.defaultNamespace));
  }
  if (command === 'events' && pos === 0) return match(['send']);
  if (command === 'completion' && pos === 0) return match([...SHELLS]);
  if (command === 'help' && pos === 0) return match(COMMANDS.map((c) => c.name));
  return [];
}

/** Names from the admin API; an unreachable platform completes nothing rather than failing. */
export function adminSource(client: AdminClient | undefined): CompleteSource {
  return {
    async names(kind, namespace) {
      if (!client) return [];
      const items = await client.list(kind, namespace).catch(() => []);
      return items.map((o) => o.metadata.name);
    },
    async namespaces() {
      if (!client) return [];
      const items = await client.list(resolveKind('service')!, undefined).catch(() => []);
      return [...new Set(['default', ...items.map((o) => o.metadata.namespace ?? 'default')])];
    },
  };
}

/** `zeno __complete WORDS...`: never fails; prints what it can. */
export async function runComplete(ctx: CliContext, words: string[]): Promise<number> {
  // --data-dir may appear anywhere in the line, as the commands accept it.
  const values: ParsedValues = {};
  for (let i = 0; i < words.length - 1; i++) {
    if (words[i] === '--data-dir' && i + 1 < words.length - 1) values['data-dir'] = words[i + 1];
    else if (words[i]!.startsWith('--data-dir=')) values['data-dir'] = words[i]!.slice('--data-dir='.length);
  }
  let client: AdminClient | undefined;
  try {
    client = (await connectWith(ctx, values, { timeoutMs: COMPLETE_TIMEOUT_MS })).client;
  } catch {
    client = undefined;
  }
  const out = await complete(words.length ? words : [''], adminSource(client)).catch(() => []);
  if (out.length) ctx.out(`${out.join('\n')}\n`);
  return 0;
}

/** The script for one shell; `zeno` must be on PATH (npm link, or npm i -g). */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return `# zeno completion for bash. Load it with:
#   source <(zeno completion bash)
# or save it as /etc/bash_completion.d/zeno (or ~/.local/share/bash-completion/completions/zeno).
_zeno_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  local out
  out=$(zeno __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
  if [[ "$out" == "${FILES}" ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
    return 0
  fi
  COMPREPLY=($(compgen -W "$out" -- "$cur"))
  return 0
}
complete -F _zeno_complete zeno
`;
    case 'zsh':
      return `#compdef zeno
# zeno completion for zsh. Load it with:
#   source <(zeno completion zsh)
# or save it as _zeno in a folder of your $fpath.
_zeno() {
  local out
  out=$(zeno __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)
  if [[ "$out" == "${FILES}" ]]; then
    _files
    return
  fi
  local -a candidates
  candidates=("\${(@f)out}")
  compadd -a candidates
}
if [[ "$funcstack[1]" == "_zeno" ]]; then
  _zeno "$@"
else
  compdef _zeno zeno
fi
`;
    case 'fish':
      return `# zeno completion for fish. Load it with:
#   zeno completion fish | source
# or save it as ~/.config/fish/completions/zeno.fish.
function __zeno_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -l out (zeno __complete $tokens[2..-1] 2>/dev/null)
    if test "$out" = "${FILES}"
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $out
    end
end
complete -c zeno -f -a '(__zeno_complete)'
`;
  }
}

export async function runCompletion(ctx: CliContext, _values: ParsedValues, args: string[]): Promise<number> {
  const shell = args[0] as Shell;
  if (!SHELLS.includes(shell)) throw new UsageError(`"zeno completion": "${args[0]}" is not a supported shell; use one of: ${SHELLS.join(', ')}`);
  ctx.out(completionScript(shell));
  return 0;
}
