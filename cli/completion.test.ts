import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { complete, completionScript, FILES, SHELLS, type CompleteSource } from './completion.js';
import type { CliContext } from './context.js';
import type { KindInfo } from './kinds.js';
import { main } from './main.js';

/** Objects by plural and namespace; records what was asked. */
function source(asked: string[] = []): CompleteSource {
  const objects: Record<string, Record<string, string[]>> = {
    services: { default: ['hello', 'hola', 'shop'], 'team-a': ['billing'] },
    revisions: { default: ['hello-00001', 'hello-00002'] },
    brokers: { default: ['default'] },
  };
  return {
    async names(kind: KindInfo, ns: string | undefined) {
      asked.push(`${kind.plural}/${ns ?? '*'}`);
      const byNs = objects[kind.plural] ?? {};
      return ns === undefined ? Object.values(byNs).flat() : (byNs[ns] ?? []);
    },
    async namespaces() {
      return ['default', 'team-a'];
    },
  };
}

describe('complete', () => {
  const cases: { words: string[]; want: string[] | ((got: string[]) => void) }[] = [
    { words: [''], want: (got) => expect(got).toEqual(expect.arrayContaining(['apply', 'completion', 'describe', 'get', 'top', 'up'])) },
    { words: ['de'], want: ['delete', 'describe'] },
    { words: ['--'], want: ['--data-dir', '--help', '--version'] },
    { words: ['--data-dir', ''], want: [FILES] },
    { words: ['--data-dir', '/tmp/z', 'g'], want: ['get'] },
    { words: ['get', 'rev'], want: ['rev', 'revision', 'revisions'] },
    { words: ['get', 'k'], want: ['kservice', 'ksvc'] },
    { words: ['describe', 'ksvc', 'h'], want: ['hello', 'hola'] },
    { words: ['describe', 'ksvc', '-n', 'team-a', ''], want: ['billing'] },
    { words: ['describe', '--namespace=team-a', 'ksvc', ''], want: ['billing'] },
    { words: ['get', 'services', '-A', ''], want: ['billing', 'hello', 'hola', 'shop'] },
    { words: ['delete', 'rev', 'hello-0000'], want: ['hello-00001', 'hello-00002'] },
    { words: ['describe', 'broker', ''], want: ['default'] },
    { words: ['describe', 'nosuchkind', ''], want: [] },
    { words: ['describe', 'ksvc', 'hello', ''], want: [] },
    { words: ['invoke', 's'], want: ['shop'] },
    { words: ['logs', '-n', 'team-a', ''], want: ['billing'] },
    { words: ['get', 'ksvc', '-n', ''], want: ['default', 'team-a'] },
    { words: ['get', 'ksvc', '-o', ''], want: ['json', 'wide', 'yaml'] },
    { words: ['describe', 'ksvc', 'hello', '-o', ''], want: ['json', 'yaml'] },
    { words: ['apply', '-f', ''], want: [FILES] },
    { words: ['apply', '--no'], want: ['--no-wait'] },
    { words: ['top', '--o'], want: ['--once', '--output'] },
    { words: ['new', 'x', '--template', 't'], want: ['typescript'] },
    { words: ['completion', ''], want: ['bash', 'fish', 'zsh'] },
    { words: ['events', ''], want: ['send'] },
    { words: ['nosuchcommand', ''], want: [] },
  ];
  it.each(cases)('$words', async ({ words, want }) => {
    const got = await complete(words, source());
    if (typeof want === 'function') want(got);
    else expect(got).toEqual(want);
  });

  it('does not list the hidden __complete command', async () => {
    expect(await complete([''], source())).not.toContain('__complete');
  });

  it('asks for names in the kind default namespace', async () => {
    const asked: string[] = [];
    await complete(['get', 'cm', ''], source(asked));
    expect(asked).toEqual(['configmaps/knative-serving']);
  });
});

describe('completion scripts', () => {
  it.each(SHELLS)('%s: calls zeno __complete and names the shell', (shell) => {
    const script = completionScript(shell);
    expect(script).toContain('zeno __complete');
    expect(script).toContain(FILES);
  });

  it('the bash script is valid bash (bash -n)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-completion-'));
    const file = join(dir, 'zeno.bash');
    writeFileSync(file, completionScript('bash'));
    expect(() => execFileSync('bash', ['-n', file], { stdio: 'pipe' })).not.toThrow();
  });

  it('the bash function completes through a stand-in zeno on PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-completion-'));
    const script = join(dir, 'zeno.bash');
    writeFileSync(script, completionScript('bash'));
    // A stand-in zeno that answers as __complete would, and records its arguments.
    const fake = join(dir, 'zeno');
    writeFileSync(fake, `#!/bin/sh\necho "$@" > "${dir}/args"\nprintf 'hello\\nhola\\nshop\\n'\n`, { mode: 0o755 });
    const out = execFileSync('bash', ['-c', `source ${script}; COMP_WORDS=(zeno describe ksvc h); COMP_CWORD=3; _zeno_complete; printf '%s\\n' "\${COMPREPLY[@]}"; cat ${dir}/args`], {
      env: { PATH: `${dir}:${process.env.PATH ?? ''}` },
      encoding: 'utf8',
    });
    expect(out).toBe('hello\nhola\n__complete describe ksvc h\n');
  });
});

describe('zeno completion and zeno __complete (main)', () => {
  function harness(dataDir?: string) {
    const out: string[] = [];
    const err: string[] = [];
    const ctx: CliContext = {
      out: (c) => out.push(String(c)),
      err: (t) => err.push(t),
      env: dataDir ? { ZENO_DATA_DIR: dataDir } : { ZENO_DATA_DIR: mkdtempSync(join(tmpdir(), 'zeno-none-')) },
      cwd: tmpdir(),
      clock: new FakeClock(),
      untilSignal: () => new Promise(() => undefined),
      fetch: async (url) => {
        if (url.endsWith('/apis/serving.knative.dev/v1/namespaces/default/services')) {
          return new Response(JSON.stringify({ items: [{ metadata: { name: 'hello' } }, { metadata: { name: 'shop' } }] }), { status: 200 });
        }
        return new Response('{}', { status: 404 });
      },
    };
    return { ctx, out: () => out.join(''), err: () => err.join('') };
  }

  it('prints the script, and refuses an unknown shell with the list (exit 2)', async () => {
    const h = harness();
    expect(await main(['completion', 'bash'], h.ctx)).toBe(0);
    expect(h.out()).toContain('complete -F _zeno_complete zeno');
    const bad = harness();
    expect(await main(['completion', 'tcsh'], bad.ctx)).toBe(2);
    expect(bad.err()).toBe('error: "zeno completion": "tcsh" is not a supported shell; use one of: bash, zsh, fish\n');
  });

  it('completes names from the admin API', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zeno-complete-'));
    writeFileSync(join(dir, 'admin-url'), 'http://127.0.0.1:1\n');
    writeFileSync(join(dir, 'token'), 't\n');
    const h = harness(dir);
    expect(await main(['__complete', 'invoke', ''], h.ctx)).toBe(0);
    expect(h.out()).toBe('hello\nshop\n');
  });

  it('completes commands and prints nothing else when no platform is running', async () => {
    const h = harness();
    expect(await main(['__complete', 'describe', 'ksvc', ''], h.ctx)).toBe(0);
    expect(h.out()).toBe('');
    expect(h.err()).toBe('');
    const c = harness();
    expect(await main(['__complete', 'to'], c.ctx)).toBe(0);
    expect(c.out()).toBe('top\n');
  });
});
