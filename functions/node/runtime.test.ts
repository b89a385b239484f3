import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { pickBaseEnv } from '../local/pod-env.js';
import { findFreePort } from '../local/free-port.js';
import { waitFor } from '../../test/support/wait.js';
import { handlersOf } from './handler.js';
import { isNodeRuntimeCommand, nodeRuntimeEntry } from './index.js';
import { isWarmMessage, WARM_FLAG, type ExerciseMessage, type SpecializeMessage, type WarmMessage } from './protocol.js';

// Real processes of the built runtime (dist/, `npm run build`): every wait polls with a deadline.
const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, 'testdata');
const T = 20_000;
const tmp = mkdtempSync(join(tmpdir(), 'zeno-node-rt-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Proc {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  stdout: () => string;
  exit: Promise<{ code: number | null; signal: string | null }>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function startRuntime(handler: string, env: Record<string, string> = {}): Promise<Proc> {
  const port = await findFreePort('127.0.0.1');
  const child = spawn(process.execPath, [nodeRuntimeEntry(), handler], {
    cwd: dirname(handler),
    env: { ...pickBaseEnv(process.env), PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`runtime exited ${child.exitCode}: ${err}`);
      return (await fetch(`${url}/ready`).catch(() => undefined)) !== undefined;
    },
    T,
    { message: `${handler} to listen` },
  );
  return { child, url, stderr: () => err, stdout: () => out, exit };
}

describe('handlersOf', () => {
  const fetchFn = (): Response => new Response('x');
  const ceFn = (): undefined => undefined;
  it.each([
    { label: 'default function is a fetch handler', input: { default: fetchFn }, want: { fetch: true, cloudevent: false } },
    { label: 'object with fetch', input: { default: { fetch: fetchFn } }, want: { fetch: true, cloudevent: false } },
    { label: 'object with cloudevent', input: { default: { cloudevent: ceFn } }, want: { fetch: false, cloudevent: true } },
    { label: 'object with both', input: { default: { fetch: fetchFn, cloudevent: ceFn } }, want: { fetch: true, cloudevent: true } },
  ])('$label', ({ input, want }) => {
    const h = handlersOf(input);
    expect({ fetch: h.fetch !== undefined, cloudevent: h.cloudevent !== undefined }).toEqual(want);
  });
  it.each([
    { label: 'no default export', input: { handler: fetchFn } },
    { label: 'a number', input: { default: 42 } },
    { label: 'an object without methods', input: { default: { fetch: 'no' } } },
  ])('rejects $label', ({ input }) => {
    expect(() => handlersOf(input)).toThrow(/export default/);
  });
});

describe('isNodeRuntimeCommand', () => {
  it.each([
    { label: 'node + entry', input: ['node', nodeRuntimeEntry()], want: true },
    { label: 'execPath + entry', input: [process.execPath, nodeRuntimeEntry()], want: true },
    { label: 'another script', input: ['node', resolve(DATA, 'echo.mjs')], want: false },
    { label: 'extra command word', input: ['node', '--inspect', nodeRuntimeEntry()], want: false },
    { label: 'not node', input: ['python3', nodeRuntimeEntry()], want: false },
    { label: 'empty', input: [], want: false },
  ])('$label → $want', ({ input, want }) => {
    expect(isNodeRuntimeCommand(input)).toBe(want);
  });
});

describe('Node function runtime (real processes)', () => {
  it('serves a fetch handler: method, path, headers, streamed request and response bodies, set-cookie', async () => {
    const p = await startRuntime(join(DATA, 'echo.mjs'));
    const res = await fetch(`${p.url}/a/b?q=1`, { method: 'POST', headers: { 'x-test': 'yes' }, body: 'payload' });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const j = (await res.json()) as Record<string, unknown>;
    expect(j).toMatchObject({ method: 'POST', path: '/a/b?q=1', header: 'yes', body: 'payload' });
    const s = await fetch(`${p.url}/stream`);
    expect(s.headers.get('transfer-encoding')).toBe('chunked');
    expect(await s.text()).toBe('part0;part1;part2;');
  }, T);

  it('a handler that throws answers 500, logs the error, and the next request is served', async () => {
    const p = await startRuntime(join(DATA, 'echo.mjs'));
    const bad = await fetch(`${p.url}/throw`);
    expect(bad.status).toBe(500);
    await bad.text();
    await waitFor(() => p.stderr().includes('boom from the handler'), T, { message: 'the error on stderr' });
    const ok = await fetch(`${p.url}/after`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { path: string }).path).toBe('/after');
    expect(p.child.exitCode).toBeNull();
  }, T);

  it('a module without a handler exits 1 and says why', async () => {
    const port = await findFreePort('127.0.0.1');
    const child = spawn(process.execPath, [nodeRuntimeEntry(), join(DATA, 'bad-shape.mjs')], {
      env: { ...pickBaseEnv(process.env), PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.push(child);
    let err = '';
    child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(1);
    expect(err).toContain('export default');
  }, T);

  it('SIGTERM: stops accepting, finishes the request in flight, exits 0', async () => {
    const p = await startRuntime(join(DATA, 'echo.mjs'));
    const inFlight = fetch(`${p.url}/slow?ms=500`);
    await waitFor(() => p.stdout().includes('slow: started'), T, { message: 'the request to be in the handler' });
    p.child.kill('SIGTERM');
    await waitFor(async () => (await fetch(`${p.url}/x`).then(() => false, () => true)), T, { message: 'new connections refused' });
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { path: string }).path).toBe('/slow?ms=500');
    expect(await p.exit).toEqual({ code: 0, signal: null });
  }, T);

  describe('CloudEvent handler', () => {
    const ping = { id: 'e-1', source: '/test', type: 'com.example.ping', specversion: '1.0' };

    it('binary mode in, reply event out in binary mode', async () => {
      const p = await startRuntime(join(DATA, 'cloudevent.mjs'));
      const res = await fetch(p.url, {
        method: 'POST',
        headers: { 'ce-id': ping.id, 'ce-source': ping.source, 'ce-type': ping.type, 'ce-specversion': '1.0', 'content-type': 'application/json' },
        body: JSON.stringify({ n: 1 }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('ce-type')).toBe('com.example.pong');
      expect(res.headers.get('ce-source')).toBe('/zeno/test');
      expect(res.headers.get('ce-specversion')).toBe('1.0');
      expect(res.headers.get('ce-id')).toBeTruthy();
      expect(await res.json()).toEqual({ got: { n: 1 }, id: 'e-1' });
    }, T);

    it('structured mode in, reply event out', async () => {
      const p = await startRuntime(join(DATA, 'cloudevent.mjs'));
      const res = await fetch(p.url, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json' },
        body: JSON.stringify({ ...ping, id: 'e-2', datacontenttype: 'application/json', data: { n: 2 } }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('ce-type')).toBe('com.example.pong');
      expect(await res.json()).toEqual({ got: { n: 2 }, id: 'e-2' });
    }, T);

    it('no reply is 204; a request that is not a CloudEvent is 400', async () => {
      const p = await startRuntime(join(DATA, 'cloudevent.mjs'));
      const none = await fetch(p.url, {
        method: 'POST',
        headers: { 'ce-id': 'x', 'ce-source': '/s', 'ce-type': 'other', 'ce-specversion': '1.0' },
      });
      expect(none.status).toBe(204);
      const bad = await fetch(p.url, { method: 'POST', body: 'hello' });
      expect(bad.status).toBe(400);
    }, T);
  });

  describe('TypeScript handler', () => {
    it('compiles on load without a build step, bundling local imports, and caches the output', async () => {
      const dir = mkdtempSync(join(tmp, 'ts-'));
      const cache = join(dir, '.cache');
      writeFileSync(join(dir, 'greet.ts'), `export const greet = (who: string): string => \`hi \${who}\`;\n`);
      writeFileSync(
        join(dir, 'hello.ts'),
        `import { greet } from './greet.js';\ninterface Out { text: string }\nexport default (req: Request): Response => {\n  const o: Out = { text: greet(new URL(req.url).pathname) };\n  return new Response(o.text);\n};\n`,
      );
      const p1 = await startRuntime(join(dir, 'hello.ts'), { ZENO_CACHE_DIR: cache });
      expect(await (await fetch(`${p1.url}/you`)).text()).toBe('hi /you');
      p1.child.kill('SIGTERM');
      await p1.exit;
      const files = readdirSync(join(cache, 'ts'));
      const out = files.find((f) => f.endsWith('.mjs'));
      expect(out).toBeDefined();
      const mtime = statSync(join(cache, 'ts', out!)).mtimeMs;

      // Unchanged sources: the cached module is used as it is.
      const p2 = await startRuntime(join(dir, 'hello.ts'), { ZENO_CACHE_DIR: cache });
      expect(await (await fetch(`${p2.url}/again`)).text()).toBe('hi /again');
      expect(statSync(join(cache, 'ts', out!)).mtimeMs).toBe(mtime);
      expect(readdirSync(join(cache, 'ts'))).toEqual(files);
      p2.child.kill('SIGTERM');
      await p2.exit;

      // A change in an imported file (not the handler itself) is a cache miss.
      writeFileSync(join(dir, 'greet.ts'), `export const greet = (who: string): string => \`hello \${who}\`;\n`);
      const p3 = await startRuntime(join(dir, 'hello.ts'), { ZENO_CACHE_DIR: cache });
      expect(await (await fetch(`${p3.url}/you`)).text()).toBe('hello /you');
      expect(readdirSync(join(cache, 'ts')).filter((f) => f.endsWith('.mjs'))).toHaveLength(2);
    }, T);

    it('resolves packages from the handler folder, not from the cache', async () => {
      const dir = mkdtempSync(join(tmp, 'ts-pkg-'));
      const pkg = join(dir, 'node_modules', 'tiny-dep');
      rmSync(pkg, { recursive: true, force: true });
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      await import('node:fs').then((fs) => fs.mkdirSync(pkg, { recursive: true }));
      writeFileSync(join(pkg, 'package.json'), '{"name":"tiny-dep","type":"module","exports":"./index.js"}');
      writeFileSync(join(pkg, 'index.js'), 'export const tag = "from-tiny-dep";\n');
      writeFileSync(join(dir, 'h.ts'), `import { tag } from 'tiny-dep';\nexport default (): Response => new Response(tag as string);\n`);
      const p = await startRuntime(join(dir, 'h.ts'), { ZENO_CACHE_DIR: join(dir, '.cache') });
      expect(await (await fetch(p.url)).text()).toBe('from-tiny-dep');
      expect(existsSync(join(dir, '.cache', 'ts'))).toBe(true);
    }, T);
  });
});

describe('Node function runtime: responses', () => {
  it('a body that arrives in one chunk goes out with a Content-Length, head and body in one write; a stream stays chunked', async () => {
    const p = await startRuntime(join(DATA, 'echo.mjs'));
    const { port } = new URL(p.url);
    const chunks = await new Promise<string[]>((resolve, reject) => {
      const out: string[] = [];
      const s = connect({ host: '127.0.0.1', port: Number(port) }, () => s.end('GET /one HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
      s.on('data', (b: Buffer) => out.push(b.toString()));
      s.once('end', () => resolve(out));
      s.once('error', reject);
    });
    const first = chunks[0]!;
    const [head, body] = first.split('\r\n\r\n') as [string, string];
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1]);
    expect(head).not.toMatch(/transfer-encoding/i);
    expect(length).toBe(Buffer.byteLength(body));
    expect(JSON.parse(body)).toMatchObject({ path: '/one' });
    const s = await fetch(`${p.url}/stream`);
    expect(s.headers.get('content-length')).toBeNull();
    expect(s.headers.get('transfer-encoding')).toBe('chunked');
    expect(await s.text()).toBe('part0;part1;part2;');
  }, T);
});

interface WarmProc {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  stdout: () => string;
  messages: unknown[];
}

/** `main.js --zeno-warm 127.0.0.1` as the pool starts it, once it reports its port. */
async function startWarm(env: Record<string, string> = {}): Promise<WarmProc> {
  const child = spawn(process.execPath, [nodeRuntimeEntry(), WARM_FLAG, '127.0.0.1'], {
    cwd: tmp,
    env: { ...pickBaseEnv(process.env), ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  running.push(child);
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const messages: unknown[] = [];
  child.on('message', (m) => messages.push(m));
  await waitFor(() => messages.some(isWarmMessage), T, { message: 'zeno-warm with a port' });
  const port = (messages.find(isWarmMessage) as WarmMessage).port;
  return { child, port, stderr: () => err, stdout: () => out, messages };
}

function specializeTo(w: WarmProc, handler: string, env: Record<string, string>): void {
  const msg: SpecializeMessage = { type: 'zeno-specialize', args: [handler], cwd: dirname(handler), env: { ...pickBaseEnv(process.env), PORT: String(w.port), ...env } };
  w.child.send(msg);
}

describe('Node function runtime: warm process protocol (real processes)', () => {
  it('listens on the given host before specialization and answers 503 there, with no handler', async () => {
    const w = await startWarm();
    const res = await fetch(`http://127.0.0.1:${w.port}/anything`);
    expect(res.status).toBe(503);
    expect(res.headers.get('connection')).toBe('close');
    expect(((await res.json()) as { error: string }).error).toBe('Service Unavailable');
  }, T);

  it('specialized: a request sent while the handler loads waits for it (never the warm placeholder), then zeno-ready and the channel closes', async () => {
    const w = await startWarm({ ZENO_TEST_LEAK: 'warm-only' });
    const disconnected = new Promise<void>((r) => w.child.once('disconnect', () => r()));
    specializeTo(w, join(DATA, 'slow-load.mjs'), { K_REVISION: 'slow-00001', LOAD_MS: '400' });
    await waitFor(() => w.stdout().includes('slow-load: importing'), T, { message: 'the import to start' });
    // The handler's import is still waiting out its 400 ms.
    const early = fetch(`http://127.0.0.1:${w.port}/early`);
    expect(w.messages.some((m) => (m as { type?: string }).type === 'zeno-ready')).toBe(false);
    const res = await early;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('loaded /early slow-00001');
    await waitFor(() => w.messages.some((m) => (m as { type?: string }).type === 'zeno-ready'), T, { message: 'zeno-ready' });
    await disconnected;
  }, T);

  it('specialization replaces the whole environment, cwd and argv; PORT is the port it already listens on', async () => {
    const w = await startWarm({ ZENO_TEST_LEAK: 'warm-only' });
    specializeTo(w, join(DATA, 'echo.mjs'), { K_REVISION: 'echo-00001', SECRET: 's' });
    await waitFor(() => w.messages.some((m) => (m as { type?: string }).type === 'zeno-ready'), T, { message: 'zeno-ready' });
    const e = (await (await fetch(`http://127.0.0.1:${w.port}/who`)).json()) as Record<string, unknown>;
    expect(e).toMatchObject({ revision: 'echo-00001', secret: 's', leak: null, channelEnv: [], port: String(w.port), cwd: DATA, argv: [join(DATA, 'echo.mjs')] });
    await waitFor(async () => ((await (await fetch(`http://127.0.0.1:${w.port}/who`)).json()) as { ipc: boolean }).ipc === false, T, { message: 'the channel to close' });
  }, T);

  it('the pool\'s zeno-exercise gets no reply, and a specialization sent after it works as usual', async () => {
    const w = await startWarm();
    for (let i = 0; i < 3; i++) w.child.send({ type: 'zeno-exercise' } satisfies ExerciseMessage);
    // The channel is ordered: a message sent after the exercises is handled after them.
    specializeTo(w, join(DATA, 'slow-load.mjs'), { K_REVISION: 'after-00001', LOAD_MS: '300' });
    await waitFor(() => w.stdout().includes('slow-load: importing'), T, { message: 'the import to start' });
    const res = await fetch(`http://127.0.0.1:${w.port}/x`);
    expect(await res.text()).toBe('loaded /x after-00001');
    await waitFor(() => w.messages.some((m) => (m as { type?: string }).type === 'zeno-ready'), T, { message: 'zeno-ready' });
    expect(w.messages.filter((m) => !isWarmMessage(m)).map((m) => (m as { type?: string }).type)).toEqual(['zeno-ready']);
  }, T);

  it('exercise messages alone leave it serving nothing', async () => {
    const w = await startWarm();
    w.child.send({ type: 'zeno-exercise' } satisfies ExerciseMessage);
    // A round trip after the message: the process has handled it by then (the channel is ordered).
    await new Promise<void>((r) => w.child.send({ type: 'zeno-exercise' } satisfies ExerciseMessage, () => r()));
    const res = await fetch(`http://127.0.0.1:${w.port}/anything`);
    expect(res.status).toBe(503);
    expect(w.child.exitCode).toBe(null);
  }, T);

  it('SIGTERM once specialized, its handler still loading: a graceful stop, exit 0 (as a spawned pod), not death by the signal', async () => {
    const w = await startWarm();
    specializeTo(w, join(DATA, 'slow-load.mjs'), { K_REVISION: 'term-00001', LOAD_MS: '5000' });
    await waitFor(() => w.stdout().includes('slow-load: importing'), T, { message: 'the import to start' });
    const exited = new Promise<[number | null, string | null]>((r) => w.child.once('exit', (code, signal) => r([code, signal])));
    w.child.kill('SIGTERM');
    // Nothing in flight: it stops at once, without waiting out the 5 s import.
    expect(await exited).toEqual([0, null]);
  }, T);

  it('specialized, the environment is exactly the message\'s (replaced by difference; the warm-up\'s own exercise of it leaves nothing)', async () => {
    const w = await startWarm({ ZENO_TEST_LEAK: 'warm-only', HOME: '/warm-home' });
    const env = { ...pickBaseEnv(process.env), HOME: '/pod-home', PORT: String(w.port), K_REVISION: 'env-00001', EMPTY: '' };
    w.child.send({ type: 'zeno-specialize', args: [join(DATA, 'echo.mjs')], cwd: DATA, env } satisfies SpecializeMessage);
    await waitFor(() => w.messages.some((m) => (m as { type?: string }).type === 'zeno-ready'), T, { message: 'zeno-ready' });
    const e = (await (await fetch(`http://127.0.0.1:${w.port}/who`)).json()) as { env: Record<string, string> };
    expect(e.env).toEqual(env);
  }, T);

  it('a handler that fails to load exits 1 and says why, without ever saying ready', async () => {
    const w = await startWarm();
    specializeTo(w, join(DATA, 'bad-shape.mjs'), {});
    const code = await new Promise((r) => w.child.once('close', r));
    expect(code).toBe(1);
    expect(w.stderr()).toContain('export default');
    expect(w.messages.some((m) => (m as { type?: string }).type === 'zeno-ready')).toBe(false);
  }, T);
});
