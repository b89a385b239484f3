import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import { loadManifests, validateManifests } from '../controller/manifest.js';
import { DEFAULT_AUTOSCALER_CONFIG } from '../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../core/config/defaults.js';
import { validateFunctionFiles } from '../controller/validation/function.js';
import type { CliContext } from './context.js';
import { packageRoot } from './context.js';
import { main } from './main.js';
import { renderTemplateText, TEMPLATES, type TemplateName } from './new.js';

let dir: string;
let out: string[];
let err: string[];

function ctx(): CliContext {
  return {
    out: (c) => out.push(typeof c === 'string' ? c : new TextDecoder().decode(c)),
    err: (t) => err.push(t),
    env: {},
    cwd: dir,
    clock: new FakeClock(0),
    untilSignal: () => new Promise(() => undefined),
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'zeno-new-'));
  out = [];
  err = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const EXPECTED: Record<TemplateName, string[]> = {
  http: ['README.md', 'function.yaml', 'handler.mjs', 'handler.test.mjs', 'package.json'],
  cloudevent: ['README.md', 'function.yaml', 'handler.mjs', 'handler.test.mjs', 'package.json'],
  typescript: ['README.md', 'function.yaml', 'handler.test.mjs', 'handler.ts', 'package.json'],
  python: ['README.md', 'app.py', 'function.yaml', 'test_app.py'],
};

const ROOT = packageRoot()!;
/** As `npm run` does, plus Zeno's own node_modules/.bin, so the typescript template's esbuild is found without an install. */
const PATH_WITH_BIN = [join(ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);

/** Runs a template's own test command in its folder; resolves with the exit code and output. */
function runTemplateTests(template: TemplateName, cwd: string): { code: number | null; output: string } {
  const [cmd, args] = template === 'python' ? ['python3', ['-m', 'unittest']] : ['npm', ['test', '--silent']];
  const r = spawnSync(cmd, args as string[], { cwd, env: { ...process.env, PATH: PATH_WITH_BIN, GREETING: '' }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}\n${r.stderr}` };
}

describe('zeno new', () => {
  it.each(TEMPLATES.map((t) => ({ template: t })))('$template writes the expected files, a valid Function, and tests that pass', async ({ template }) => {
    const code = await main(['new', 'hello', '--template', template], ctx());
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    const fnDir = join(dir, 'hello');
    for (const f of EXPECTED[template]) expect(out.join(''), f).toContain(`created ${join('hello', f)}`);
    for (const f of EXPECTED[template]) {
      const text = readFileSync(join(fnDir, f), 'utf8');
      expect(text, f).not.toContain('{{name}}');
    }

    // The written function.yaml passes the same validation `zeno apply` runs, handler file included.
    const loaded = loadManifests([fnDir]);
    expect(loaded.issues).toEqual([]);
    expect(loaded.docs.map((d) => `${d.object.kind}/${d.object.metadata.name}`)).toEqual(['Function/hello']);
    const doc = loaded.docs[0]!;
    expect(validateManifests(loaded.docs, { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG })).toEqual([]);
    expect(validateFunctionFiles(doc.object, doc.baseDir, (p) => existsSync(p))).toEqual([]);

    // The template's own test passes as written, and fails when the handler is broken.
    const ok = runTemplateTests(template, fnDir);
    expect(ok.code, ok.output).toBe(0);
    const handlerFile = { http: 'handler.mjs', cloudevent: 'handler.mjs', typescript: 'handler.ts', python: 'app.py' }[template];
    const original = readFileSync(join(fnDir, handlerFile), 'utf8');
    writeFileSync(join(fnDir, handlerFile), original.replaceAll('(hello)', '(broken)').replaceAll('/functions/hello', '/broken').replaceAll('received', 'got'));
    const broken = runTemplateTests(template, fnDir);
    expect(broken.code, broken.output).not.toBe(0);
  }, 90_000);

  it('writes into --dir and accepts an existing empty folder', async () => {
    mkdirSync(join(dir, 'fns', 'hello'), { recursive: true });
    expect(await main(['new', 'hello', '--dir', 'fns'], ctx())).toBe(0);
    expect(existsSync(join(dir, 'fns', 'hello', 'function.yaml'))).toBe(true);
    expect(readFileSync(join(dir, 'fns', 'hello', 'function.yaml'), 'utf8')).toContain('handler: ./handler.mjs');
  });

  const refused: { label: string; argv: string[]; setup?: () => void; want: number; message: RegExp }[] = [
    { label: 'an invalid name', argv: ['new', 'Hello_World'], want: 2, message: /invalid function name "Hello_World"/ },
    { label: 'a name starting with a digit', argv: ['new', '1fn'], want: 2, message: /DNS-1035/ },
    { label: 'an unknown template', argv: ['new', 'hello', '--template', 'rust'], want: 2, message: /unknown template "rust"/ },
    { label: 'no name', argv: ['new'], want: 2, message: /./ },
    {
      label: 'an existing non-empty folder',
      argv: ['new', 'hello'],
      setup: () => {
        mkdirSync(join(dir, 'hello'));
        writeFileSync(join(dir, 'hello', 'keep.txt'), 'mine');
      },
      want: 1,
      message: /already exists and is not empty/,
    },
    { label: 'an existing file of that name', argv: ['new', 'hello'], setup: () => writeFileSync(join(dir, 'hello'), 'x'), want: 1, message: /already exists/ },
  ];
  it.each(refused)('refuses $label', async ({ argv, setup, want, message }) => {
    setup?.();
    const code = await main(argv, ctx());
    expect(code).toBe(want);
    expect(err.join('')).toMatch(message);
    expect(existsSync(join(dir, 'hello', 'function.yaml'))).toBe(false);
    if (argv[1] === 'hello' && existsSync(join(dir, 'hello', 'keep.txt'))) expect(readFileSync(join(dir, 'hello', 'keep.txt'), 'utf8')).toBe('mine');
  });

  it('replaces every {{name}}', () => {
    expect(renderTemplateText('name: {{name}}\n# {{name}}', 'fn')).toBe('name: fn\n# fn');
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('the python template as Zeno runs it', () => {
  it('answers over HTTP on $PORT and stops on SIGTERM', async () => {
    expect(await main(['new', 'py', '--template', 'python'], ctx())).toBe(0);
    const port = await freePort();
    const p = spawn('python3', ['app.py'], { cwd: join(dir, 'py'), env: { ...process.env, PORT: String(port), GREETING: 'Hi' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 10_000;
      let res: Response | undefined;
      while (!res && Date.now() < deadline) {
        res = await fetch(`http://127.0.0.1:${port}/?name=Ada`).catch(() => undefined);
        if (!res) await new Promise((r) => setTimeout(r, 20));
      }
      expect(res?.status).toBe(200);
      expect(await res!.text()).toBe('Hi, Ada! (py)\n');
      const post = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{"a":1}' });
      expect(await post.json()).toEqual({ greeting: 'Hi', received: { a: 1 } });
    } finally {
      p.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 20_000);
});
