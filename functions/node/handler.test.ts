import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeRuntimeEntry } from './index.js';

// loadHandlers of the built runtime (dist/, `npm run build`) in a real node
// process, as a pod runs it (the test runner's own import() is not Node's).
// Each module counts its evaluations, so running one twice would show.
const T = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'zeno-handler-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const HANDLER_JS = pathToFileURL(join(dirname(nodeRuntimeEntry()), 'handler.js')).href;

function file(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `globalThis.runs = (globalThis.runs ?? 0) + 1;\n${body}`);
  return path;
}

interface Outcome {
  runs: number;
  body?: string;
  code?: string;
  message?: string;
}

/** `nodeArgs`: e.g. --no-experimental-require-module, to be the Node before 20.19 that has no require(esm). */
function load(path: string, nodeArgs: string[] = []): Promise<Outcome> {
  const script = `
    const { loadHandlers } = await import(${JSON.stringify(HANDLER_JS)});
    const out = {};
    try {
      const h = await loadHandlers(${JSON.stringify(path)});
      out.body = await (await h.fetch(new Request('http://x/'))).text();
    } catch (e) {
      out.code = e.code;
      out.message = e.message;
    }
    out.runs = globalThis.runs ?? 0;
    process.stdout.write(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { timeout: T }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as Outcome);
    });
  });
}

describe('loadHandlers: require(esm) first, import() where it must (real node processes)', () => {
  it('an ES module, run once', async () => {
    expect(await load(file('plain.mjs', "export default () => new Response('esm');\n"))).toEqual({ runs: 1, body: 'esm' });
  }, T);

  it('an ES module on a Node without require(esm) (before 20.19) goes through import(), run once', async () => {
    const path = file('old-node.mjs', "export default () => new Response('old node');\n");
    expect(await load(path, ['--no-experimental-require-module'])).toEqual({ runs: 1, body: 'old node' });
  }, T);

  it('an ES module with top-level await goes through import(), run once', async () => {
    const path = file('tla.mjs', "await new Promise((r) => setTimeout(r, 5));\nexport default () => new Response('tla');\n");
    expect(await load(path)).toEqual({ runs: 1, body: 'tla' });
  }, T);

  it('a CommonJS module: its exports are the default export, as with import(), and it runs once', async () => {
    expect(await load(file('cjs.cjs', "module.exports = () => new Response('cjs');\n"))).toEqual({ runs: 1, body: 'cjs' });
  }, T);

  it('a module that throws fails with its own error and does not run again (ES module and CommonJS)', async () => {
    expect(await load(file('throws.mjs', "throw new Error('esm boom');\n"))).toMatchObject({ runs: 1, message: 'esm boom' });
    expect(await load(file('throws.cjs', "throw new Error('cjs boom');\n"))).toMatchObject({ runs: 1, message: 'cjs boom' });
  }, T);

  it('a missing file fails as import() says it', async () => {
    expect(await load(join(dir, 'missing.mjs'))).toMatchObject({ runs: 0, code: 'ERR_MODULE_NOT_FOUND' });
  }, T);
});
