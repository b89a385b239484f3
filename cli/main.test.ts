import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../core/clock.js';
import type { CliContext } from './context.js';
import { main } from './main.js';

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
}

type Handler = (req: Seen) => Response | Promise<Response>;

const TOKEN = 'secret-token-123';
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function harness(handler: Handler = () => json(404, { code: 'ZENO_ERR_RESOURCE_NOT_FOUND', message: 'nope' }), opts: { platformFiles?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'zeno-cli-'));
  if (opts.platformFiles !== false) {
    writeFileSync(join(dir, 'admin-url'), 'http://127.0.0.1:18081\n');
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    writeFileSync(join(dir, 'gateway-url'), 'http://127.0.0.1:18080\n');
  }
  const out: string[] = [];
  const err: string[] = [];
  const seen: Seen[] = [];
  const ctx: CliContext = {
    out: (c) => out.push(typeof c === 'string' ? c : new TextDecoder().decode(c)),
    err: (t) => err.push(t),
    env: { ZENO_DATA_DIR: dir },
    cwd: dir,
    clock: new FakeClock(Date.parse('2026-01-01T00:10:00Z')),
    fetch: async (url, init) => {
      const headers = Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
      const raw = init.body;
      const body = typeof raw === 'string' ? JSON.parse(raw) : raw instanceof Uint8Array ? new TextDecoder().decode(raw) : undefined;
      const req = { method: init.method ?? 'GET', url, headers, body };
      seen.push(req);
      return handler(req);
    },
    untilSignal: () => new Promise(() => undefined),
  };
  return { dir, ctx, out: () => out.join(''), err: () => err.join(''), seen };
}

const readyService = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace: 'default', generation: 1, creationTimestamp: '2026-01-01T00:09:00Z' },
  status: { observedGeneration: 1, url: 'http://hello.default.localhost:18080', latestReadyRevisionName: 'hello-00001', conditions: [{ type: 'Ready', status: 'True' }] },
};

const VALID = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - command: ["node", "index.js"]
`;

describe('main: usage', () => {
  it('prints help with --help and with no command', async () => {
    const h = harness();
    expect(await main(['--help'], h.ctx)).toBe(0);
    expect(h.out()).toContain('Usage: zeno COMMAND');
    const h2 = harness();
    expect(await main([], h2.ctx)).toBe(0);
    expect(h2.out()).toContain('Commands:');
  });

  it('prints command help for "zeno get --help" and "zeno help get"', async () => {
    const a = harness();
    expect(await main(['get', '--help'], a.ctx)).toBe(0);
    const b = harness();
    expect(await main(['help', 'get'], b.ctx)).toBe(0);
    expect(a.out()).toContain('Usage: zeno get KIND [NAME]');
    expect(b.out()).toBe(a.out());
  });

  it('exits 2 on an unknown command or flag, with one error line', async () => {
    const a = harness();
    expect(await main(['frobnicate'], a.ctx)).toBe(2);
    expect(a.err()).toMatch(/^error: unknown command "frobnicate"; commands: up, apply, .*\n$/);
    const b = harness();
    expect(await main(['get', 'svc', '--frob'], b.ctx)).toBe(2);
    expect(b.err()).toBe('error: unknown flag --frob for "zeno get" (see "zeno get --help")\n');
    const c = harness();
    expect(await main(['get', 'pods'], c.ctx)).toBe(2);
    expect(c.err()).toMatch(/^error: unknown kind "pods"; use one of: services\/service\/svc/);
  });

  it('prints the version', async () => {
    const h = harness();
    expect(await main(['version'], h.ctx)).toBe(0);
    expect(h.out()).toMatch(/^zeno \d+\.\d+\.\d+\n$/);
  });
});

describe('main: finding the platform', () => {
  it('says how to fix a data dir without a platform', async () => {
    const h = harness(undefined, { platformFiles: false });
    expect(await main(['get', 'ksvc'], h.ctx)).toBe(1);
    expect(h.err()).toBe(`error: no running Zeno found in ${h.dir} (no admin-url file there): start it with "zeno up", or point --data-dir (or ZENO_DATA_DIR) at the data dir of the running one\n`);
    expect(h.seen).toEqual([]);
  });

  it('says the same, with the URL, when the platform does not answer', async () => {
    const h = harness(() => Promise.reject(new TypeError('fetch failed')));
    expect(await main(['get', 'ksvc'], h.ctx)).toBe(1);
    expect(h.err()).toBe(`error: cannot reach Zeno at http://127.0.0.1:18081 (from ${h.dir}): it is not running; start it with "zeno up", or point --data-dir (or ZENO_DATA_DIR) at the data dir of the running one\n`);
  });

  it('--data-dir wins over ZENO_DATA_DIR', async () => {
    const h = harness(undefined, { platformFiles: false });
    expect(await main(['--data-dir', '/nonexistent/zeno', 'get', 'ksvc'], h.ctx)).toBe(1);
    expect(h.err()).toContain('no running Zeno found in /nonexistent/zeno ');
  });

  it('names the token file when it is missing', async () => {
    const h = harness(undefined, { platformFiles: false });
    writeFileSync(join(h.dir, 'admin-url'), 'http://127.0.0.1:18081\n');
    expect(await main(['get', 'ksvc'], h.ctx)).toBe(1);
    expect(h.err()).toBe(`error: the admin token file ${join(h.dir, 'token')} is missing or empty ("zeno up" writes it once started); restart "zeno up" with --data-dir ${h.dir}, or point --data-dir at the data dir of the running one\n`);
    expect(h.seen).toEqual([]);
  });

  it('guesses what an unknown command or kind meant', async () => {
    const a = harness();
    expect(await main(['desribe', 'ksvc', 'x'], a.ctx)).toBe(2);
    expect(a.err()).toMatch(/^error: unknown command "desribe" \(did you mean "zeno describe"\?\); commands: up, /);
    const b = harness();
    expect(await main(['get', 'servics'], b.ctx)).toBe(2);
    expect(b.err()).toMatch(/^error: unknown kind "servics" \(did you mean "services"\?\); use one of: services\/service/);
    const c = harness();
    expect(await main(['get', 'xyzzy'], c.ctx)).toBe(2);
    expect(c.err()).toMatch(/^error: unknown kind "xyzzy"; use one of: /);
  });

  it('explains a rejected token without printing it', async () => {
    const h = harness(() => json(401, { statusCode: 401, code: 'ZENO_ERR_UNAUTHORIZED', error: 'Unauthorized', message: 'A valid bearer token is required' }));
    expect(await main(['get', 'ksvc'], h.ctx)).toBe(1);
    expect(h.err()).toMatch(/^error: the platform at http:\/\/127\.0\.0\.1:18081 rejected the token in .*token/);
    expect(h.err() + h.out()).not.toContain(TOKEN);
  });
});

describe('main: get and describe', () => {
  it('lists services with the bearer token and prints a table', async () => {
    const h = harness(() => json(200, { apiVersion: 'serving.knative.dev/v1', kind: 'ServiceList', items: [readyService] }));
    expect(await main(['get', 'ksvc'], h.ctx)).toBe(0);
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]).toMatchObject({ method: 'GET', url: 'http://127.0.0.1:18081/apis/serving.knative.dev/v1/namespaces/default/services', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(h.out()).toBe('NAME    URL                                    LATEST        AGE   READY   REASON\nhello   http://hello.default.localhost:18080   hello-00001   60s   True\n');
  });

  it('lists all namespaces with -A and prints JSON lists', async () => {
    const h = harness(() => json(200, { items: [readyService] }));
    expect(await main(['get', 'services', '-A', '-o', 'json'], h.ctx)).toBe(0);
    expect(h.seen[0]!.url).toBe('http://127.0.0.1:18081/apis/serving.knative.dev/v1/services');
    expect(JSON.parse(h.out())).toEqual({ apiVersion: 'v1', kind: 'List', items: [readyService] });
  });

  it('says so on stderr when there is nothing to list', async () => {
    const h = harness(() => json(200, { items: [] }));
    expect(await main(['get', 'rev', '-n', 'team-a'], h.ctx)).toBe(0);
    expect(h.out()).toBe('');
    expect(h.err()).toBe('No revisions found in namespace team-a.\n');
  });

  it('fails with a one-line error for a missing object', async () => {
    const h = harness();
    expect(await main(['get', 'ksvc', 'nope'], h.ctx)).toBe(1);
    expect(h.err()).toBe('error: service "nope" not found in namespace "default" (list them with "zeno get services -A")\n');
  });

  it('reads configmaps from knative-serving by default', async () => {
    const h = harness(() => json(200, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler' }, data: {} }));
    expect(await main(['get', 'cm', 'config-autoscaler', '-o', 'yaml'], h.ctx)).toBe(0);
    expect(h.seen[0]!.url).toBe('http://127.0.0.1:18081/api/v1/namespaces/knative-serving/configmaps/config-autoscaler');
    expect(h.out()).toContain('kind: ConfigMap');
  });

  it('describes a service with its events', async () => {
    const h = harness((req) =>
      req.url.includes('/events?')
        ? json(200, { items: [{ type: 'Normal', reason: 'Created', message: 'Created Revision "hello-00001"', lastTimestamp: '2026-01-01T00:09:30Z' }] })
        : json(200, readyService),
    );
    expect(await main(['describe', 'ksvc', 'hello'], h.ctx)).toBe(0);
    expect(h.seen[1]!.url).toBe('http://127.0.0.1:18081/api/v1/namespaces/default/events?involvedObject=Service%2Fhello');
    expect(h.out()).toContain('Name:         hello\n');
    expect(h.out()).toMatch(/Events:\n  TYPE\s+REASON\s+AGE\s+MESSAGE\n  Normal\s+Created\s+30s\s+Created Revision "hello-00001"\n/);
  });
});

describe('main: apply and delete', () => {
  let h: ReturnType<typeof harness>;
  beforeEach(() => {
    h = harness((req) => {
      if (req.url.endsWith('/apis/zeno.dev/v1/apply')) {
        return json(200, { results: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'hello', action: 'created' }], items: [readyService] });
      }
      if (req.url.endsWith('/apis/zeno.dev/v1/delete')) return json(200, { results: [{ kind: 'Service', namespace: 'default', name: 'hello', action: 'deleted' }] });
      if (req.method === 'GET' && req.url.endsWith('/services/hello')) return h.seen.some((s) => s.url.endsWith('/delete')) ? json(404, { code: 'ZENO_ERR_RESOURCE_NOT_FOUND', message: 'gone' }) : json(200, readyService);
      return json(500, { code: 'ZENO_ERR_INTERNAL', message: `unexpected ${req.method} ${req.url}` });
    });
  });

  it('refuses an invalid manifest with file:line:col and sends nothing', async () => {
    writeFileSync(join(h.dir, 'bad.yaml'), 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  template:\n    spec:\n      containers:\n        - command: ["node"]\n');
    expect(await main(['apply', '-f', 'bad.yaml'], h.ctx)).toBe(1);
    expect(h.err()).toMatch(/bad\.yaml:4:\d+: metadata\.name: .+\n/);
    expect(h.err()).toMatch(/\nerror: 1 problem in the manifests; nothing was applied\n$/);
    // Only the platform's ConfigMaps and info (its runtime) were read; nothing was written.
    expect(h.seen.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual(['GET /api/v1/configmaps', 'GET /apis/zeno.dev/v1/info']);
  });

  it.each<[string, unknown, number]>([
    ['a platform running functions on Kubernetes takes an image-only Service', { runtime: 'kubernetes' }, 0],
    ['a local platform refuses it, naming file, line and field', { runtime: 'local' }, 1],
    ['a platform too old to name its runtime is local', {}, 1],
  ])('validates for the platform runtime: %s', async (_label, info, code) => {
    const p = harness((req) =>
      req.url.endsWith('/apis/zeno.dev/v1/info')
        ? json(200, info)
        : req.url.endsWith('/api/v1/configmaps')
          ? json(200, { items: [] })
          : json(200, { results: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'img', action: 'created' }], items: [] }),
    );
    writeFileSync(join(p.dir, 'img.yaml'), 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: img\nspec:\n  template:\n    spec:\n      containers:\n        - image: ghcr.io/zeno/hello:1\n');
    expect(await main(['apply', '-f', 'img.yaml', '--no-wait'], p.ctx)).toBe(code);
    if (code === 0) {
      expect(p.seen.map((r) => r.method)).toEqual(['GET', 'GET', 'POST']);
      expect(p.out()).toBe('service.serving.knative.dev/img created\n');
    } else {
      expect(p.err()).toMatch(/img\.yaml:9:11: spec\.template\.spec\.containers\[0\]\.command: the embedded runtime runs `command` \+ `args`, not container images/);
      expect(p.seen.map((r) => r.method)).toEqual(['GET', 'GET']);
    }
  });

  it('validates against the platform\'s ConfigMaps: initial-scale 0 needs allow-zero-initial-scale', async () => {
    const svc = VALID.replace('spec:\n  template:\n', 'spec:\n  template:\n    metadata:\n      annotations:\n        autoscaling.knative.dev/initial-scale: "0"\n');
    expect(svc).toContain('initial-scale');
    writeFileSync(join(h.dir, 'svc.yaml'), svc);
    expect(await main(['apply', '-f', 'svc.yaml', '--no-wait'], h.ctx)).toBe(1);
    expect(h.err()).toContain('allow-zero-initial-scale');
    const allowing = harness((req) =>
      req.url.endsWith('/api/v1/configmaps')
        ? json(200, { items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-autoscaler', namespace: 'knative-serving' }, data: { 'allow-zero-initial-scale': 'true' } }] })
        : json(200, { results: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'hello', action: 'created' }], items: [] }),
    );
    writeFileSync(join(allowing.dir, 'svc.yaml'), svc);
    expect(await main(['apply', '-f', 'svc.yaml', '--no-wait'], allowing.ctx)).toBe(0);
    expect(allowing.seen.map((r) => r.method)).toEqual(['GET', 'GET', 'POST']);
  });

  it('sends every item at once with base-dir and namespace, then waits for Ready', async () => {
    writeFileSync(join(h.dir, 'svc.yaml'), VALID);
    expect(await main(['apply', '-f', join(h.dir, 'svc.yaml')], h.ctx)).toBe(0);
    const apply = h.seen.find((r) => r.method === 'POST')!;
    expect(new URL(apply.url).pathname).toBe('/apis/zeno.dev/v1/apply');
    const items = (apply.body as { items: { metadata: { namespace: string; annotations: Record<string, string> } }[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]!.metadata.namespace).toBe('default');
    expect(items[0]!.metadata.annotations['zeno.dev/base-dir']).toBe(h.dir);
    expect(h.out()).toBe('service.serving.knative.dev/hello created\nservice/hello ready at http://hello.default.localhost:18080\n');
  });

  it('does not wait with --no-wait', async () => {
    writeFileSync(join(h.dir, 'svc.yaml'), VALID);
    expect(await main(['apply', '-f', join(h.dir, 'svc.yaml'), '--no-wait'], h.ctx)).toBe(0);
    // The ConfigMaps and info read, then the apply; no polling for Ready.
    expect(h.seen.map((r) => r.method)).toEqual(['GET', 'GET', 'POST']);
    expect(h.out()).toBe('service.serving.knative.dev/hello created\n');
  });

  it('exits 1 when the service turns Ready=False', async () => {
    const failed = { ...readyService, status: { ...readyService.status, conditions: [{ type: 'Ready', status: 'False', reason: 'RevisionFailed', message: 'exit code 1' }] } };
    const f = harness((req) =>
      req.url.endsWith('/apply')
        ? json(200, { results: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', namespace: 'default', name: 'hello', action: 'configured' }], items: [readyService] })
        : json(200, failed),
    );
    writeFileSync(join(f.dir, 'svc.yaml'), VALID);
    expect(await main(['apply', '-f', 'svc.yaml'], f.ctx)).toBe(1);
    expect(f.out()).toBe('service.serving.knative.dev/hello configured\n');
    expect(f.err()).toBe('error: service/hello is not ready: RevisionFailed: exit code 1 (see "zeno describe service hello" and "zeno logs hello")\n');
  });

  it('maps issues the platform finds back to files', async () => {
    const f = harness(() => json(422, { statusCode: 422, code: 'ZENO_ERR_INVALID_RESOURCE', error: 'Unprocessable Entity', message: 'The resource is invalid', issues: [{ index: 0, path: 'spec.template.spec.timeoutSeconds', message: 'too big' }] }));
    writeFileSync(join(f.dir, 'svc.yaml'), VALID);
    expect(await main(['apply', '-f', 'svc.yaml'], f.ctx)).toBe(1);
    expect(f.err()).toMatch(/^\S*svc\.yaml: Service\/hello spec\.template\.spec\.timeoutSeconds: too big\nerror: The resource is invalid; nothing was applied\n$/);
  });

  it('deletes by kind and name and waits until gone', async () => {
    expect(await main(['delete', 'ksvc', 'hello'], h.ctx)).toBe(0);
    expect(h.seen[0]!.body).toEqual({ items: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default' } }] });
    expect(h.seen[1]!.url).toBe('http://127.0.0.1:18081/apis/serving.knative.dev/v1/namespaces/default/services/hello');
    expect(h.out()).toBe('service.serving.knative.dev/hello deleted\n');
  });

  it('fails for a missing object unless --ignore-not-found', async () => {
    const f = harness(() => json(200, { results: [{ kind: 'Service', namespace: 'default', name: 'ghost', action: 'not found' }] }));
    expect(await main(['delete', 'svc', 'ghost'], f.ctx)).toBe(1);
    expect(f.err()).toContain('error: service.serving.knative.dev/ghost not found in namespace "default"');
    const g = harness(() => json(200, { results: [{ kind: 'Service', namespace: 'default', name: 'ghost', action: 'not found' }] }));
    expect(await main(['delete', 'svc', 'ghost', '--ignore-not-found'], g.ctx)).toBe(0);
  });

  it('deletes what a file names', async () => {
    writeFileSync(join(h.dir, 'svc.yaml'), VALID);
    expect(await main(['delete', '-f', 'svc.yaml', '--no-wait'], h.ctx)).toBe(0);
    expect(h.seen).toHaveLength(1);
    expect(h.seen[0]!.body).toEqual({ items: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default' } }] });
  });

  it('needs -f or KIND NAME, not both', async () => {
    expect(await main(['delete'], h.ctx)).toBe(2);
    expect(await main(['delete', 'svc', 'x', '-f', 'a.yaml'], h.ctx)).toBe(2);
    expect(await main(['apply'], h.ctx)).toBe(2);
  });
});

describe('main: invoke and logs', () => {
  it('calls /function/NAME.NS on the gateway and prints the body', async () => {
    const h = harness(() => new Response('hello world\n', { status: 200 }));
    expect(await main(['invoke', 'hello', '--data', '{"a":1}', '--path', '/x'], h.ctx)).toBe(0);
    expect(h.seen[0]).toMatchObject({ method: 'POST', url: 'http://127.0.0.1:18080/function/hello.default/x', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(h.seen[0]!.headers.authorization).toBeUndefined();
    expect(h.out()).toBe('hello world\n');
  });

  it('reads --data @file', async () => {
    const h = harness(() => new Response('ok'));
    writeFileSync(join(h.dir, 'in.txt'), 'from a file');
    expect(await main(['invoke', 'hello', '-d', '@in.txt'], h.ctx)).toBe(0);
    expect(h.seen[0]!.body).toBe('from a file');
  });

  it('exits 1 with the platform error code on stderr', async () => {
    const h = harness(() => json(503, { statusCode: 503, code: 'ZENO_ERR_NO_READY_REVISION', error: 'Service Unavailable', message: 'The route has no ready revision yet' }));
    expect(await main(['invoke', 'hello'], h.ctx)).toBe(1);
    expect(h.out()).toBe('');
    expect(h.err()).toBe('error: HTTP 503: ZENO_ERR_NO_READY_REVISION: The route has no ready revision yet (see why with "zeno describe ksvc hello" and "zeno logs hello")\n');
  });

  it('prints [pod] line for each NDJSON line, split across chunks', async () => {
    const h = harness(() => {
      const chunks = ['{"pod":"hello-00001-a","stream":"stdout","line":"one"}\n{"pod":"hel', 'lo-00001-b","stream":"stderr","line":"two"}\n', '{"pod":"hello-00001-a","line":"three"}'];
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const ch of chunks) c.enqueue(new TextEncoder().encode(ch));
          c.close();
        },
      });
      return new Response(body, { status: 200 });
    });
    expect(await main(['logs', 'hello', '--tail', '5', '-f'], h.ctx)).toBe(0);
    expect(h.seen[0]!.url).toBe('http://127.0.0.1:18081/apis/serving.knative.dev/v1/namespaces/default/services/hello/logs?tail=5&follow=true');
    expect(h.out()).toBe('[hello-00001-a] one\n[hello-00001-b] two\n[hello-00001-a] three\n');
  });
});

describe('main: up flags', () => {
  it('refuses a --warm-pool that is not a number from 0 to 64 (usage error, exit 2)', async () => {
    for (const bad of ['x', '-1', '65', '1.5']) {
      const h = harness();
      expect(await main(['up', '--warm-pool', bad], h.ctx)).toBe(2);
      expect(h.err()).toContain('--warm-pool');
    }
  });

  it('refuses runtimes that are not supported yet and NATS URLs that are not ones, before starting anything', async () => {
    const a = harness();
    expect(await main(['up', '--runtime', 'kubernetes', '--kubeconfig', join(a.dir, 'no-such-kubeconfig')], a.ctx)).toBe(1);
    expect(a.err()).toMatch(/^error: cannot load kubeconfig: .*no-such-kubeconfig does not exist \[ZENO_ERR_KUBECONFIG\]\n$/);
    const k = harness();
    expect(await main(['up', '--kubeconfig', 'x'], k.ctx)).toBe(2);
    expect(k.err()).toBe('error: flag --kubeconfig needs --runtime kubernetes\n');
    const sc = harness();
    expect(await main(['up', '--sidecar-image', 'zeno:1'], sc.ctx)).toBe(2);
    expect(sc.err()).toBe('error: flag --sidecar-image needs --runtime kubernetes\n');
    const b = harness();
    expect(await main(['up', '--runtime', 'docker'], b.ctx)).toBe(2);
    for (const bad of [['--nats', 'http://127.0.0.1:4222'], ['--nats', '127.0.0.1:4222'], ['--nats', 'nats://h:1', '--nats-prefix', 'a.b'], ['--nats-prefix', 'x']]) {
      const c = harness();
      expect(await main(['up', ...bad], c.ctx), bad.join(' ')).toBe(2);
      expect(c.err()).toMatch(/^error: flag --nats/);
    }
    const d = harness();
    expect(await main(['up', '--port', 'http'], d.ctx)).toBe(2);
  });

  it('refuses an invalid --config file with file:line and starts nothing', async () => {
    const h = harness();
    writeFileSync(join(h.dir, 'cfg.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\ndata:\n  stable-window: "forever"\n');
    expect(await main(['up', '--config', 'cfg.yaml', '--port', '0', '--admin-port', '0'], h.ctx)).toBe(1);
    expect(h.err()).toMatch(/cfg\.yaml:6:\d+: data\.stable-window: /);
    expect(h.err()).toMatch(/error: invalid --config file; nothing was started\n$/);
  });

  it('refuses a Service in --config', async () => {
    const h = harness();
    writeFileSync(join(h.dir, 'svc.yaml'), VALID);
    expect(await main(['up', '--config', 'svc.yaml'], h.ctx)).toBe(1);
    expect(h.err()).toContain('svc.yaml: kind: Service does not belong in --config (only ConfigMaps)');
  });
});
