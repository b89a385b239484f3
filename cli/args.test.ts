import { describe, expect, it } from 'vitest';
import { parseCommand, parseHeader, parsePort, parseTimeout, splitCommandLine, UsageError } from './args.js';
import { COMMANDS, findCommand, renderCommandHelp, renderMainHelp } from './commands.js';

const spec = (name: string) => findCommand(name)!;

describe('parseCommand', () => {
  it('reads repeatable, short and boolean flags', () => {
    const got = parseCommand(spec('apply'), ['-f', 'a.yaml', '--filename', 'dir', '--no-wait', '--timeout', '90s', '-n', 'team-a']);
    expect(got.values).toMatchObject({ filename: ['a.yaml', 'dir'], 'no-wait': true, timeout: '90s', namespace: 'team-a' });
    expect(got.args).toEqual([]);
  });

  it('reads positionals and --data-dir anywhere', () => {
    const got = parseCommand(spec('get'), ['services', '--data-dir', '/tmp/z', 'hello', '-o', 'yaml']);
    expect(got.args).toEqual(['services', 'hello']);
    expect(got.values).toMatchObject({ 'data-dir': '/tmp/z', output: 'yaml' });
  });

  const bad: { label: string; input: [string, string[]]; want: RegExp }[] = [
    { label: 'unknown long flag', input: ['get', ['svc', '--bogus']], want: /unknown flag --bogus for "zeno get"/ },
    { label: 'unknown short flag', input: ['invoke', ['hello', '-z']], want: /unknown flag -z/ },
    { label: 'flag without its value', input: ['get', ['svc', '-n']], want: /flag --namespace needs a value/ },
    { label: 'value given to a boolean', input: ['apply', ['--no-wait=yes']], want: /flag --no-wait does not take a value/ },
    { label: 'too few arguments', input: ['describe', ['service']], want: /needs more arguments: zeno describe KIND NAME/ },
    { label: 'too many arguments', input: ['get', ['svc', 'a', 'b']], want: /unexpected argument "b"/ },
  ];
  it.each(bad)('usage error: $label', ({ input, want }) => {
    const run = () => parseCommand(spec(input[0]), input[1]);
    expect(run).toThrow(UsageError);
    expect(run).toThrow(want);
  });

  it('lets --help through even when arguments are missing', () => {
    expect(parseCommand(spec('describe'), ['--help']).values.help).toBe(true);
  });
});

describe('splitCommandLine', () => {
  const cases: { label: string; input: string[]; want: ReturnType<typeof splitCommandLine> }[] = [
    { label: 'a command and its args', input: ['get', 'svc'], want: { command: 'get', rest: ['svc'], help: false, version: false } },
    { label: 'global --data-dir before the command moves after it', input: ['--data-dir', '/d', 'get', 'svc'], want: { command: 'get', rest: ['svc', '--data-dir', '/d'], help: false, version: false } },
    { label: '--data-dir=X form', input: ['--data-dir=/d', 'logs', 'x'], want: { command: 'logs', rest: ['x', '--data-dir=/d'], help: false, version: false } },
    { label: '--help alone', input: ['--help'], want: { command: undefined, rest: [], help: true, version: false } },
    { label: '-h before a command', input: ['-h', 'apply'], want: { command: 'apply', rest: [], help: true, version: false } },
    { label: '--version', input: ['--version'], want: { command: undefined, rest: [], help: false, version: true } },
  ];
  it.each(cases)('$label', ({ input, want }) => {
    expect(splitCommandLine(input)).toEqual(want);
  });

  it('rejects other flags before the command', () => {
    expect(() => splitCommandLine(['-n', 'x', 'get'])).toThrow(UsageError);
  });
});

describe('value parsers', () => {
  it('parses ports', () => {
    expect(parsePort('8080', '--port')).toBe(8080);
    expect(parsePort('0', '--port')).toBe(0);
    expect(() => parsePort('70000', '--port')).toThrow(UsageError);
    expect(() => parsePort('80a', '--port')).toThrow(/not a port number/);
  });

  const timeouts: { label: string; input: string; want: number | 'error' }[] = [
    { label: 'seconds', input: '120s', want: 120_000 },
    { label: 'minutes and seconds', input: '1m30s', want: 90_000 },
    { label: 'bare number is seconds', input: '5', want: 5_000 },
    { label: 'zero is refused', input: '0s', want: 'error' },
    { label: 'garbage', input: 'soon', want: 'error' },
  ];
  it.each(timeouts)('timeout: $label', ({ input, want }) => {
    if (want === 'error') expect(() => parseTimeout(input, '--timeout')).toThrow(UsageError);
    else expect(parseTimeout(input, '--timeout')).toBe(want);
  });

  it('parses curl-style headers', () => {
    expect(parseHeader('Content-Type: application/json')).toEqual(['Content-Type', 'application/json']);
    expect(parseHeader('X-Empty:')).toEqual(['X-Empty', '']);
    expect(parseHeader('X-A: b: c')).toEqual(['X-A', 'b: c']);
    expect(() => parseHeader('novalue')).toThrow(UsageError);
    expect(() => parseHeader('Bad Name: x')).toThrow(UsageError);
  });
});

describe('help text', () => {
  it('lists every command in the main help', () => {
    const help = renderMainHelp();
    for (const c of COMMANDS) expect(help).toContain(`  ${c.name} `);
    expect(help).toContain('ZENO_DATA_DIR');
  });

  it('shows every flag of a command, with its default', () => {
    const help = renderCommandHelp(spec('up'));
    for (const flag of ['--port PORT', '--admin-port PORT', '--host HOST', '--data-dir DIR', '--config FILE', '--examples', '--warm-pool N', '--runtime', '--nats']) expect(help).toContain(flag);
    expect(help).toContain('(default 8080)');
    expect(help).toContain('Usage: zeno up');
  });
});
