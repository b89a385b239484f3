/**
 * The Function kind end to end, as a user runs it: `zeno new` for every
 * template, `zeno apply -f NAME` as written, a call through the gateway,
 * `zeno get functions`, and `zeno delete function` taking the Service along.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { FAST_AUTOSCALER, httpCall, runCli, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;

const cli = (args: string[]) => runCli(args, zeno.dataDir, { cwd: work });

const call = (name: string, pathAndQuery = '/', opts: { body?: string; headers?: Record<string, string> } = {}) =>
  httpCall(`${zeno.gatewayUrl}${pathAndQuery}`, { host: `${name}.default.localhost`, ...opts });

beforeAll(async () => {
  work = tempDir('zeno-fn-');
  const cfg = writeYaml(work, 'config.yaml', FAST_AUTOSCALER);
  zeno = await startZeno({ dataDir: path.join(work, 'data'), configFile: cfg });
});

afterAll(async () => {
  await zeno?.stop();
});

async function newAndApply(name: string, template: string): Promise<void> {
  const made = await cli(['new', name, '--template', template]);
  expect(made.code, made.stderr).toBe(0);
  const applied = await cli(['apply', '-f', name, '--timeout', '60s']);
  expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
  expect(applied.stdout).toContain(`function.zeno.dev/${name} created`);
  expect(applied.stdout).toContain(`service.serving.knative.dev/${name} created`);
  // apply waits for the generated Service, and prints its URL.
  expect(applied.stdout).toMatch(new RegExp(`service/${name} ready at http://${name}\\.default\\.localhost:\\d+`));
}

describe('Function kind, end to end', () => {
  it('python template: the command form runs in the manifest folder', async () => {
    await newAndApply('py', 'python');
    const r = await call('py', '/?name=Ada');
    expect(r.status).toBe(200);
    expect(r.body).toBe('Hello, Ada! (py)\n');
  });

  it('get functions shows it Ready; delete function removes its Service', async () => {
    const list = await cli(['get', 'functions']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^py\s.*True/m);
    const one = await cli(['get', 'fn', 'py', '-o', 'json']);
    expect(JSON.parse(one.stdout)).toMatchObject({ kind: 'Function', spec: { command: ['python3', 'app.py'] }, status: { url: expect.stringMatching(/^http:\/\/py\.default\.localhost/) } });

    const del = await cli(['delete', 'function', 'py']);
    expect(del.code, del.stderr).toBe(0);
    expect(del.stdout).toContain('function.zeno.dev/py deleted');
    expect((await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/services/py')).status).toBe(404);
    await waitFor(async () => (await call('py')).status === 404, 10_000, { message: 'py to be unrouted' });
  });

  it('refuses a Function whose handler file is missing, naming file and line', async () => {
    const f = writeYaml(work, 'missing.yaml', 'apiVersion: zeno.dev/v1\nkind: Function\nmetadata:\n  name: ghost\nspec:\n  handler: ./ghost.ts\n');
    const r = await cli(['apply', '-f', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/missing\.yaml:6:\d+: spec\.handler: no such file/);
    expect((await zeno.admin('GET', '/apis/zeno.dev/v1/namespaces/default/functions/ghost')).status).toBe(404);
  });
});

// The first Node Function after `zeno up` takes a warm process that may still
// be booting; that once crashed the specialized child (fixed in
// functions/node/main.ts: unref the IPC channel instead of disconnecting).
describe('Function kind with Node handlers, end to end', () => {
  it('http template: new, apply as written, call through the gateway', async () => {
    await newAndApply('hello', 'http');
    const r = await call('hello', '/?name=Ada');
    expect(r.status).toBe(200);
    expect(r.body).toBe('Hello, Ada! (hello)\n');
    const post = await httpCall(`${zeno.gatewayUrl}/function/hello`, { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.body)).toEqual({ greeting: 'Hello', received: { a: 1 } });
  });

  it('at zero with the warm pool: requests sent while the handler loads are answered by it', async () => {
    writeYaml(work, 'slow-load.mjs', "await new Promise((r) => setTimeout(r, 300));\nexport default (request) => new Response(`loaded ${new URL(request.url).pathname} ${process.env.K_REVISION}`);\n");
    const f = writeYaml(work, 'slowload.yaml', 'apiVersion: zeno.dev/v1\nkind: Function\nmetadata:\n  name: slowload\n  annotations:\n    autoscaling.knative.dev/initial-scale: "0"\nspec:\n  handler: ./slow-load.mjs\n');
    const applied = await cli(['apply', '-f', f]);
    expect(applied.code, applied.stderr).toBe(0);
    const rs = await Promise.all(['/a', '/b', '/c'].map((p) => call('slowload', p)));
    expect(rs.map((r) => `${r.status} ${r.body}`)).toEqual(['/a', '/b', '/c'].map((p) => `200 loaded ${p} slowload-00001`));
    // Each is a cold start that waited for the 300 ms import (gateway/server.test.ts pins down when an early pod's wait ends).
    const text = (await httpCall(`${zeno.gatewayUrl}/metrics`)).body;
    const series = (name: string) => Number(new RegExp(`^${name}\\{[^}]*revision_name="slowload-00001"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(series('zeno_cold_start_count')).toBe(3);
    expect(series('zeno_cold_start_latencies_sum') / 3).toBeGreaterThanOrEqual(250);
  });

  it('at zero with the warm pool: a handler that cannot load fails the requests with the clear error, not a 502', async () => {
    writeYaml(work, 'bad-shape.mjs', 'export default 42;\n');
    const f = writeYaml(work, 'badshape.yaml', 'apiVersion: zeno.dev/v1\nkind: Function\nmetadata:\n  name: badshape\n  annotations:\n    autoscaling.knative.dev/initial-scale: "0"\nspec:\n  handler: ./bad-shape.mjs\n');
    const applied = await cli(['apply', '-f', f, '--no-wait']);
    expect(applied.code, applied.stderr).toBe(0);
    const rs = await Promise.all(Array.from({ length: 3 }, () => call('badshape')));
    for (const r of rs) {
      expect(r.status, r.body).toBe(503);
      const body = JSON.parse(r.body) as { code: string; message: string };
      expect(body.code).toBe('ZENO_ERR_REVISION_FAILED');
      expect(body.message).toContain('export default');
    }
  });

  it('typescript template: the handler is compiled on load', async () => {
    await newAndApply('greeter', 'typescript');
    const r = await call('greeter', '/?name=Ada', { headers: { accept: 'application/json' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ greeting: 'Hello', name: 'Ada' });
  });

  it('cloudevent template: answers an event with a reply event', async () => {
    await newAndApply('events', 'cloudevent');
    const r = await call('events', '/', {
      body: '{"n":1}',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-source': '/test', 'ce-type': 'dev.example.ping', 'content-type': 'application/json' },
    });
    expect(r.status).toBe(200);
    expect(r.headers['ce-type']).toBe('dev.zeno.events.reply');
    expect(r.headers['ce-source']).toBe('/functions/events');
    expect(JSON.parse(r.body)).toEqual({ receivedType: 'dev.example.ping', receivedId: 'e-1', data: { n: 1 } });
  });
});
