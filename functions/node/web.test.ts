import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/support/wait.js';
import { findFreePort } from '../local/free-port.js';
import { pickBaseEnv } from '../local/pod-env.js';
import { createLocalRuntime } from '../local/local-runtime.js';
import { nodeRuntimeEntry, nodeRuntimeProcessEntry } from './index.js';
import { codeCachePath, requestInit } from './web.js';

// Real processes of the built runtime (dist/, `npm run build`, which also writes the bundles).
const T = 20_000;
const DIST = dirname(nodeRuntimeEntry());
const BUNDLE = join(DIST, 'web-classes.cjs');
const tmp = mkdtempSync(join(tmpdir(), 'zeno-web-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A handler that reports what a handler relies on of the web classes. */
const PROBE = `export default async (request) => {
  const url = new URL(request.url);
  if (url.pathname === '/echo') return new Response('echo ' + request.method + ' ' + (await request.text()), { headers: { 'x-echo': '1' } });
  if (url.pathname === '/form') return new Response('form ' + (await request.formData()).get('f'));
  if (url.pathname === '/utf8') return new Response('h\u00e9llo \u{1F600}');
  if (url.pathname === '/bytes') return new Response(new Uint8Array([104, 105, 0, 255]).subarray(1, 4));
  if (url.pathname === '/cloned') { const r = new Response('twice'); await r.clone().text(); return r; }
  if (url.pathname === '/used') { const r = new Response('read'); await r.text(); return r; }
  if (url.pathname === '/form-via-fetch') {
    const form = new FormData();
    form.append('f', 'sent as multipart');
    return fetch('http://127.0.0.1:' + process.env.PORT + '/form', { method: 'POST', body: form });
  }
  if (url.pathname === '/via-fetch') {
    // The incoming-style Request, passed to the global fetch as it is.
    const out = new Request('http://127.0.0.1:' + process.env.PORT + '/echo', { method: 'POST', body: 'through fetch', headers: { 'content-type': 'text/plain' } });
    return fetch(out);
  }
  const form = new FormData();
  form.append('a', '1');
  const fromForm = await new Response(form).formData();
  const body = request.method === 'POST' ? await request.json() : null;
  return Response.json({
    names: [Request.name, Response.name, Headers.name, FormData.name],
    isRequest: request instanceof Request,
    headersAreHeaders: request.headers instanceof Headers,
    header: request.headers.get('x-test'),
    body,
    formRoundTrip: fromForm.get('a'),
    brand: Object.prototype.toString.call(new Response('x')),
    cloneText: await new Response('cloned').clone().text(),
  }, { status: 201, headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2']] });
};
`;
const handler = join(tmp, 'probe.mjs');
writeFileSync(handler, PROBE);

async function start(entry: string, cacheDir: string): Promise<{ url: string; stderr: () => string }> {
  const port = await findFreePort('127.0.0.1');
  const child = spawn(process.execPath, [entry, handler], {
    cwd: tmp,
    env: { ...pickBaseEnv(process.env), PORT: String(port), ZENO_CACHE_DIR: cacheDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.push(child);
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`runtime exited ${child.exitCode}: ${err}`);
    return (await fetch(`${url}/echo`).catch(() => undefined)) !== undefined;
  }, T, { message: 'the runtime to listen' });
  return { url, stderr: () => err };
}

async function probeBehaviour(url: string): Promise<void> {
  const res = await fetch(`${url}/p`, { method: 'POST', headers: { 'x-test': 'yes', 'content-type': 'application/json' }, body: '{"n":1}' });
  expect(res.status).toBe(201);
  expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
  expect(await res.json()).toEqual({
    names: ['Request', 'Response', 'Headers', 'FormData'],
    isRequest: true,
    headersAreHeaders: true,
    header: 'yes',
    body: { n: 1 },
    formRoundTrip: '1',
    brand: '[object Response]',
    cloneText: 'cloned',
  });
  const viaFetch = await fetch(`${url}/via-fetch`);
  expect(viaFetch.status).toBe(200);
  expect(viaFetch.headers.get('x-echo')).toBe('1');
  expect(await viaFetch.text()).toBe('echo POST through fetch');
  const form = await fetch(`${url}/form-via-fetch`);
  expect(await form.text()).toBe('form sent as multipart');
  // Bodies built from a string or bytes go out whole, with their length in bytes.
  const utf8 = await fetch(`${url}/utf8`);
  expect(utf8.headers.get('content-length')).toBe('11');
  expect(utf8.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
  expect(await utf8.text()).toBe('h\u00e9llo \u{1F600}');
  const bytes = await fetch(`${url}/bytes`);
  expect(bytes.headers.get('content-length')).toBe('3');
  expect([...new Uint8Array(await bytes.arrayBuffer())]).toEqual([105, 0, 255]);
  expect(await (await fetch(`${url}/cloned`)).text()).toBe('twice');
  // A body the handler already read cannot be sent: 500, as with Node's own classes.
  const used = await fetch(`${url}/used`);
  expect(used.status).toBe(500);
  await used.text();
}

describe('the web classes of a function process (real processes)', () => {
  it('are the bundled undici classes: the behaviour handlers rely on, fetch(request), and a code cache written after the first response', async () => {
    const cache = join(tmp, 'cache-1');
    const p = await start(nodeRuntimeEntry(), cache);
    await probeBehaviour(p.url);
    // Written only by the bundle's loader: it proves these classes served.
    await waitFor(() => existsSync(join(cache, 'v8')) && readdirSync(join(cache, 'v8')).some((f) => f.endsWith('.bin')), T, { message: 'the code cache file' });
    // Only the handler's own error (the /used request); nothing about loading the classes.
    expect(p.stderr()).toContain('handler error on GET /used');
    expect(p.stderr()).not.toContain('zeno node runtime:');
  }, T);

  it('a corrupt code cache is rejected by V8, the classes still serve, and the file is written anew', async () => {
    const cache = join(tmp, 'cache-2');
    const st = statSync(BUNDLE);
    const file = codeCachePath(BUNDLE, st.size, st.mtimeMs, { ZENO_CACHE_DIR: cache });
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'not a code cache');
    const p = await start(nodeRuntimeEntry(), cache);
    await probeBehaviour(p.url);
    await waitFor(() => readFileSync(file, 'latin1') !== 'not a code cache', T, { message: 'the cache to be rewritten' });
    expect(statSync(file).size).toBeGreaterThan(10_000);
  }, T);

  it('without the bundles (a runtime built by tsc alone) the runtime runs as ES modules with Node\'s own classes, silently', async () => {
    const dir = join(tmp, 'no-bundles');
    mkdirSync(dir);
    for (const f of readdirSync(DIST)) if (f.endsWith('.js')) cpSync(join(DIST, f), join(dir, f));
    expect(existsSync(join(dir, 'runtime.cjs')) || existsSync(join(dir, 'web-classes.cjs'))).toBe(false);
    const cache = join(tmp, 'cache-3');
    const p = await start(join(dir, 'main.js'), cache);
    await probeBehaviour(p.url);
    expect(existsSync(join(cache, 'v8'))).toBe(false);
    // Only the handler's own error (the /used request); nothing about loading the classes.
    expect(p.stderr()).toContain('handler error on GET /used');
    expect(p.stderr()).not.toContain('zeno node runtime:');
  }, T);
});

describe('the local runtime starts the Node runtime from its bundle', () => {
  it('a pod with the command [node, main.js] runs runtime.cjs (no pool) and serves', async () => {
    expect(nodeRuntimeProcessEntry()).toBe(join(DIST, 'runtime.cjs'));
    const rt = createLocalRuntime({ warmPoolSize: 0 });
    try {
      const id = 'default/bundled-00001';
      rt.deploy({
        id, namespace: 'default', service: 'bundled', configuration: 'bundled', revision: 'bundled-00001',
        command: ['node', nodeRuntimeEntry()], args: [handler], workingDir: tmp, env: {}, containerPort: 8080, timeoutSeconds: 5,
      });
      rt.scale(id, 1);
      await waitFor(() => rt.readyPods(id).length === 1, T, { message: 'the pod to be ready' });
      const pod = rt.readyPods(id)[0]!;
      const argv = readFileSync(`/proc/${pod.pid}/cmdline`, 'utf8').split('\0');
      expect(argv.slice(1, 3)).toEqual([join(DIST, 'runtime.cjs'), handler]);
      await probeBehaviour(pod.url);
    } finally {
      await rt.close();
    }
  }, T);
});

/** Runs an ES module script in a fresh node process (the classes change its globals) and gives its stdout; a non-zero exit fails with its stderr. */
function runModuleScript(script: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let o = '';
    let e = '';
    child.stdout?.on('data', (b: Buffer) => (o += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (e += b.toString()));
    child.once('close', (code) => (code === 0 ? resolve(o) : reject(new Error(`exit ${code}: ${e}`))));
  });
}

describe('installWebClasses (in a child process: it changes globals)', () => {
  it('is lazy, installs the bundle\'s classes on first touch, and keeps a global a handler assigned first', async () => {
    const script = `
      import { installWebClasses, loadedWebClasses } from ${JSON.stringify(join(DIST, 'web.js'))};
      installWebClasses(undefined, { ZENO_CACHE_DIR: ${JSON.stringify(join(tmp, 'cache-4'))} });
      const before = loadedWebClasses() === undefined;
      class Mine {}
      globalThis.Headers = Mine;
      const r = new Response('x');
      console.log(JSON.stringify({ before, after: loadedWebClasses() !== undefined, headersKept: globalThis.Headers === Mine, responseFromBundle: Response === loadedWebClasses().classes.Response, text: await r.text() }));
    `;
    const out = await runModuleScript(script);
    expect(JSON.parse(out)).toEqual({ before: true, after: true, headersKept: true, responseFromBundle: true, text: 'x' });
  }, T);
});

describe('wholeBody (in a child process: it installs the classes)', () => {
  it('gives the source of a string or bytes body not yet read, nothing for a stream, a Blob, a used body or a foreign Response', async () => {
    const script = `
      import { installWebClasses, wholeBody } from ${JSON.stringify(join(DIST, 'web.js'))};
      installWebClasses(undefined, { ZENO_CACHE_DIR: ${JSON.stringify(join(tmp, 'cache-5'))} });
      const used = new Response('u');
      await used.text();
      const out = {
        string: wholeBody(new Response('s')),
        bytes: [...wholeBody(new Response(new Uint8Array([1, 2])))],
        stream: wholeBody(new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1])); c.close(); } }))) ?? null,
        blob: wholeBody(new Response(new Blob(['b']))) ?? null,
        none: wholeBody(new Response(null)) ?? null,
        used: wholeBody(used) ?? null,
        foreign: wholeBody({ status: 200 }) ?? null,
      };
      console.log(JSON.stringify(out));
    `;
    const out = await runModuleScript(script);
    expect(JSON.parse(out)).toEqual({ string: 's', bytes: [1, 2], stream: null, blob: null, none: null, used: null, foreign: null });
  }, T);
});

describe('requestInit', () => {
  it.each([
    { label: 'GET: no body, no duplex', input: new Request('http://x/a', { headers: { a: '1' } }), want: { method: 'GET', headers: [['a', '1']], body: undefined, duplex: undefined } },
    { label: 'POST: the body stream, duplex half', input: new Request('http://x/a', { method: 'POST', body: 'b' }), want: { method: 'POST', headers: [['content-type', 'text/plain;charset=UTF-8']], body: 'stream', duplex: 'half' } },
  ])('$label', ({ input, want }) => {
    const init = requestInit(input) as RequestInit & { duplex?: string };
    expect({ method: init.method, headers: init.headers, body: init.body === undefined ? undefined : 'stream', duplex: init.duplex }).toEqual(want);
    expect(init.signal).toBe(input.signal);
  });

  it('refuses a Request whose body was already read, as fetch would', async () => {
    const r = new Request('http://x/', { method: 'POST', body: 'b' });
    await r.text();
    expect(() => requestInit(r)).toThrow(/already used/);
  });
});
