/**
 * Brokers and Triggers end to end in a real `zeno up`: the broker data-plane
 * conformance list (shared/reference/knative-eventing.md §6: ingress codes,
 * attributes and data unchanged, at-least-once to every matching Trigger,
 * filters, replies published back, a malformed or rejected reply fails the
 * delivery and the original is redelivered, traceparent preserved),
 * dead-lettering with the knativeerror* extensions, retries with backoff,
 * delivery to a Service at zero scale, and every accepted event delivered
 * across a SIGKILL of the platform.
 *
 * Subscribers are real loopback HTTP servers in this process (they record
 * what arrives) and a real function (test/fixtures/functions/event-replier.js).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { FAST_AUTOSCALER, ROOT, runCli, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A loopback subscriber: records every request; `answer` decides the response. */
class Sink {
  readonly got: Received[] = [];
  server!: http.Server;
  url = '';
  answer: (r: Received, res: http.ServerResponse, seen: number) => void = (_r, res) => {
    res.writeHead(202);
    res.end();
  };

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r: Received = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString(), at: Date.now() };
        this.got.push(r);
        const seen = this.got.filter((g) => g.path === r.path && g.headers['ce-id'] === r.headers['ce-id']).length;
        this.answer(r, res, seen);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  at(p: string, id?: string): Received[] {
    return this.got.filter((g) => g.path === p && (id === undefined || g.headers['ce-id'] === id));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const binary = (id: string, type: string, extra: Record<string, string> = {}) => ({
  'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/e2e', 'ce-type': type, 'content-type': 'application/json', ...extra,
});

let zeno: RunningZeno;
let work: string;
let sink: Sink;
let ingress: string;

const post = (headers: Record<string, string>, body = '{"n":1}', url = ingress) => fetch(url, { method: 'POST', headers, body });

function manifests(sinkUrl: string): string {
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
spec:
  delivery: {retry: 3, backoffPolicy: linear, backoffDelay: PT0.05S}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: replier}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
    spec:
      containers:
        - image: example.com/replier
          command: [node, event-replier.js]
          workingDir: ${path.join(ROOT, 'test/fixtures/functions')}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: all}
spec:
  broker: default
  subscriber: {uri: ${sinkUrl}/all}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: typed}
spec:
  broker: default
  filter: {attributes: {type: com.example.match}}
  subscriber: {uri: ${sinkUrl}/typed}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: sql}
spec:
  broker: default
  filters: [{cesql: "myext = 'yes' AND type LIKE 'com.example.%'"}]
  subscriber: {uri: ${sinkUrl}/sql}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: ask}
spec:
  broker: default
  filter: {attributes: {type: com.example.ask}}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: replier}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: answers}
spec:
  broker: default
  filter: {attributes: {type: com.example.answer}}
  subscriber: {uri: ${sinkUrl}/answers}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: replies}
spec:
  broker: default
  filters: [{prefix: {type: com.example.reply.}}]
  subscriber: {uri: ${sinkUrl}/replies}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: failing}
spec:
  broker: default
  filters: [{prefix: {type: com.example.fail}}]
  subscriber: {uri: ${sinkUrl}/fail}
  delivery:
    retry: 2
    backoffPolicy: exponential
    backoffDelay: PT0.1S
    deadLetterSink: {uri: ${sinkUrl}/dls}
`;
}

beforeAll(async () => {
  work = tempDir('zeno-eventing-');
  sink = await new Sink().start();
  sink.answer = (r, res, seen) => {
    const type = r.headers['ce-type'];
    if (r.path === '/fail') {
      res.writeHead(Number(r.headers['ce-failcode'] ?? 500), { 'content-type': 'text/plain' });
      return res.end('nope');
    }
    if (r.path === '/replies' && type === 'com.example.reply.malformed' && seen === 1) {
      // A 200 whose body is not a CloudEvent: a failed delivery (Knative's filter: 502).
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('not a cloudevent');
    }
    if (r.path === '/replies' && type === 'com.example.reply.rejected' && seen === 1) {
      // A valid reply that the broker refuses (its TTL runs out): the original must come again.
      res.writeHead(200, { 'ce-specversion': '1.0', 'ce-id': 'loop', 'ce-source': '/sink', 'ce-type': 'com.example.looped' });
      return res.end();
    }
    res.writeHead(202);
    res.end();
  };
  const cfg = writeYaml(work, 'config.yaml', FAST_AUTOSCALER);
  zeno = await startZeno({ dataDir: path.join(work, 'data'), configFile: cfg, extraArgs: ['--warm-pool', '0'] });
  const file = writeYaml(work, 'eventing.yaml', manifests(sink.url));
  const applied = await runCli(['apply', '-f', file, '--timeout', '30s'], zeno.dataDir);
  expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
  const broker = await zeno.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/brokers/default');
  ingress = broker.json.status.address.url;
  await waitFor(async () => {
    const triggers = (await zeno.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers')).json.items as { status?: { conditions?: { type: string; status: string }[] } }[];
    return triggers.length === 7 && triggers.every((t) => t.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  }, 20_000, { message: 'every trigger Ready' });
}, 60_000);

afterAll(async () => {
  await zeno?.stop();
  await sink?.close();
});

describe('broker ingress (conformance: 202 / 400 / 404 / 405)', () => {
  it('is at the Broker status.address.url on the gateway port', () => {
    expect(ingress).toBe(`${zeno.gatewayUrl}/brokers/default/default`);
  });

  it('answers 405 with Allow to other methods, and OPTIONS as Knative', async () => {
    const get = await fetch(ingress);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
    expect((await get.json()).code).toBe('ZENO_ERR_METHOD_NOT_ALLOWED');
    const options = await fetch(ingress, { method: 'OPTIONS' });
    expect(options.status).toBe(200);
    expect(options.headers.get('webhook-allowed-origin')).toBe('*');
  });

  it('answers 400 to an invalid or batched event and 404 to an unknown broker; nothing is delivered', async () => {
    const before = sink.got.length;
    const missingType = await post(binary('bad-1', ''));
    expect(missingType.status).toBe(400);
    expect((await missingType.json()).code).toBe('ZENO_ERR_INVALID_EVENT');
    const batch = await post({ 'content-type': 'application/cloudevents-batch+json' }, JSON.stringify([{ specversion: '1.0', id: 'b', source: '/s', type: 't' }]));
    expect(batch.status).toBe(400);
    const unknown = await post(binary('nope-1', 'com.example.x'), '{}', `${zeno.gatewayUrl}/brokers/default/nope`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).code).toBe('ZENO_ERR_BROKER_NOT_FOUND');
    // A marker event proves the triggers ran after the refusals; nothing refused arrived.
    expect((await post(binary('marker-1', 'com.example.marker'))).status).toBe(202);
    await waitFor(() => sink.at('/all', 'marker-1').length > 0, 10_000, { message: 'marker delivered' });
    expect(sink.got.slice(before).map((g) => g.headers['ce-id'])).toEqual(['marker-1']);
  });
});

describe('delivery (conformance)', () => {
  it('delivers attributes and data unchanged to every matching trigger, and applies filters', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const res = await post(binary('match-1', 'com.example.match', { 'ce-myext': 'yes', 'ce-subject': 'sub', traceparent }), '{"order":42,"items":["a","b"]}');
    expect(res.status).toBe(202);
    // Structured mode too, with a non-matching type.
    const structured = JSON.stringify({ specversion: '1.0', id: 'other-1', source: '/e2e', type: 'com.example.other', myext: 'yes', datacontenttype: 'text/plain', data: 'plain text' });
    expect((await post({ 'content-type': 'application/cloudevents+json' }, structured)).status).toBe(202);
    await waitFor(() => sink.at('/all', 'match-1').length > 0 && sink.at('/typed', 'match-1').length > 0 && sink.at('/sql', 'match-1').length > 0 && sink.at('/all', 'other-1').length > 0 && sink.at('/sql', 'other-1').length > 0, 10_000, { message: 'deliveries' });
    for (const p of ['/all', '/typed', '/sql']) {
      const [got] = sink.at(p, 'match-1');
      expect(got!.headers).toMatchObject({ 'ce-specversion': '1.0', 'ce-source': '/e2e', 'ce-type': 'com.example.match', 'ce-myext': 'yes', 'ce-subject': 'sub', 'content-type': 'application/json', prefer: 'reply' });
      expect(JSON.parse(got!.body)).toEqual({ order: 42, items: ['a', 'b'] });
      // Trace context reaches the subscriber; the broker's TTL does not (Knative strips it).
      expect(got!.headers.traceparent).toBe(traceparent);
      expect(got!.headers['ce-knativebrokerttl']).toBeUndefined();
    }
    const [plain] = sink.at('/all', 'other-1');
    expect(plain!.body).toBe('plain text');
    expect(plain!.headers['content-type']).toBe('text/plain');
    // Filters: the type filter skips com.example.other.
    expect(sink.at('/typed', 'other-1')).toEqual([]);
  });

  it('zeno events send reaches the broker and prints the id', async () => {
    const sent = await runCli(['events', 'send', '--broker', 'default', '--type', 'com.example.cli', '--source', '/cli', '--id', 'cli-1', '-e', 'myext=no', '--data', '{"via":"cli"}'], zeno.dataDir);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toBe('cli-1\n');
    await waitFor(() => sink.at('/all', 'cli-1').length > 0, 10_000, { message: 'cli event delivered' });
    expect(sink.at('/all', 'cli-1')[0]!.headers['ce-myext']).toBe('no');
    const missing = await runCli(['events', 'send', '--broker', 'nope', '--type', 't', '--source', '/s'], zeno.dataDir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('broker "nope" not found');
  });

  it('delivers to a Service at zero scale (cold start), and its reply goes back into the broker to another trigger', async () => {
    const rev = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions')).json.items.find((r: { metadata: { name: string } }) => r.metadata.name.startsWith('replier-'));
    expect(rev.status.actualReplicas).toBe(0);
    expect((await post(binary('ask-1', 'com.example.ask'), '{"q":"why"}')).status).toBe(202);
    await waitFor(() => sink.at('/answers', 'answer-ask-1').length > 0, 20_000, { message: 'the reply delivered to the answers trigger' });
    const [answer] = sink.at('/answers', 'answer-ask-1');
    expect(answer!.headers).toMatchObject({ 'ce-type': 'com.example.answer', 'ce-source': '/replier' });
    expect(JSON.parse(answer!.body)).toEqual({ q: 'why' });
    // The reply is evaluated against every trigger, like any event.
    expect(sink.at('/all', 'answer-ask-1')).toHaveLength(1);
  });

  it('a malformed reply fails the delivery and the original is redelivered', async () => {
    expect((await post(binary('malformed-1', 'com.example.reply.malformed'))).status).toBe(202);
    await waitFor(() => sink.at('/replies', 'malformed-1').length >= 2, 10_000, { message: 'redelivery after a malformed reply' });
  });

  it('a reply the broker rejects fails the delivery and the original is redelivered', async () => {
    // knativebrokerttl 2 is stored as 1; the reply carries 1 back in, which ingress turns to 0 and refuses.
    expect((await post(binary('rejected-1', 'com.example.reply.rejected', { 'ce-knativebrokerttl': '2' }))).status).toBe(202);
    await waitFor(() => sink.at('/replies', 'rejected-1').length >= 2, 10_000, { message: 'redelivery after a rejected reply' });
    expect(sink.at('/all', 'loop')).toEqual([]);
  });

  it('retries with exponential backoff, then dead-letters with the knativeerror* extensions', async () => {
    expect((await post(binary('fail-500', 'com.example.fail', { 'ce-failcode': '500' }), '{"x":1}')).status).toBe(202);
    await waitFor(() => sink.at('/dls', 'fail-500').length > 0, 10_000, { message: 'dead letter' });
    const attempts = sink.at('/fail', 'fail-500');
    expect(attempts).toHaveLength(3); // retry: 2 → three attempts
    // Waits d·2^0 and d·2^1 (Knative's runtime numbering), d = 100 ms.
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(95);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(195);
    const [dead] = sink.at('/dls', 'fail-500');
    expect(dead!.headers).toMatchObject({ 'ce-type': 'com.example.fail', 'ce-knativeerrordest': `${sink.url}/fail`, 'ce-knativeerrorcode': '500', 'ce-knativeerrordata': Buffer.from('nope').toString('base64') });
    expect(JSON.parse(dead!.body)).toEqual({ x: 1 });
  });

  it('does not retry a 422 and dead-letters it at once (rekt BrokerDeadLetterSinkExtensions)', async () => {
    expect((await post(binary('fail-422', 'com.example.fail', { 'ce-failcode': '422' }))).status).toBe(202);
    await waitFor(() => sink.at('/dls', 'fail-422').length > 0, 10_000, { message: 'dead letter' });
    expect(sink.at('/fail', 'fail-422')).toHaveLength(1);
    expect(sink.at('/dls', 'fail-422')[0]!.headers['ce-knativeerrorcode']).toBe('422');
  });

  it('/metrics after this traffic counts the dead-lettered events, the retries and the subscriber\'s cold start', async () => {
    let text = '';
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };
    const failing = 'namespace_name="default",broker_name="default",trigger_name="failing"';
    // fail-500 (after 2 retries) and fail-422 (at once) went to the dead letter sink. The
    // dispatcher counts an outcome when the dead letter sink's answer is back, which can be just
    // after the sink recorded the event the earlier tests waited for: poll until it is counted.
    await waitFor(async () => {
      const res = await fetch(`${zeno.gatewayUrl}/metrics`);
      expect(res.status).toBe(200);
      text = await res.text();
      return value(`zeno_trigger_event_dead_letter_count{${failing}}`) >= 2;
    }, 10_000, { message: 'both dead letters counted in /metrics' });
    expect(value(`zeno_trigger_event_dead_letter_count{${failing}}`)).toBeGreaterThanOrEqual(2);
    expect(value(`zeno_trigger_event_retry_count{${failing}}`)).toBeGreaterThanOrEqual(2);
    // The replier Service started from zero for its first event.
    const replier = text.split('\n').find((l) => l.startsWith('zeno_cold_start_count{') && l.includes('service_name="replier"'));
    expect(Number(replier?.split(' ').pop() ?? 0)).toBeGreaterThanOrEqual(1);
  });

  it('zeno get triggers -o wide shows the delivery counters', async () => {
    const out = await runCli(['get', 'triggers', '-o', 'wide'], zeno.dataDir);
    expect(out.code, out.stderr).toBe(0);
    const row = out.stdout.split('\n').find((l) => l.startsWith('failing '))!;
    // NAME BROKER SINK AGE CONDITIONS(3 words) READY REASON? DELIVERED RETRIED DEADLETTERED FAILED INFLIGHT
    const cells = row.trim().split(/\s+/);
    expect(cells.slice(-5)).toEqual(['0', '2', '2', '0', '0']);
  });
});

describe('durability', () => {
  it('delivers every accepted event after the platform is SIGKILLed while subscribers are slow', async () => {
    const dir = path.join(tempDir('zeno-eventing-kill-'), 'data');
    const slow = await new Sink().start();
    let hang = true;
    const hung: http.ServerResponse[] = [];
    slow.answer = (_r, res) => {
      if (hang) hung.push(res);
      else {
        res.writeHead(202);
        res.end();
      }
    };
    let z = await startZeno({ dataDir: dir, extraArgs: ['--warm-pool', '0'] });
    try {
      const file = writeYaml(path.dirname(dir), 'kill.yaml', `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: durable}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: slow}
spec:
  broker: durable
  subscriber: {uri: ${slow.url}/slow}
`);
      const applied = await runCli(['apply', '-f', file, '--timeout', '30s'], dir);
      expect(applied.code, applied.stderr).toBe(0);
      const url = `${z.gatewayUrl}/brokers/default/durable`;
      await waitFor(async () => (await z.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers/slow')).json.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'), 10_000, { message: 'trigger Ready' });
      const N = 300;
      const ids = Array.from({ length: N }, (_, i) => `durable-${i}`);
      const answers = await Promise.all(ids.map((id) => post(binary(id, 'com.example.durable'), `{"i":"${id}"}`, url).then((r) => r.status)));
      expect(answers.every((s) => s === 202)).toBe(true);
      // Deliveries are under way (and hanging) when the platform dies.
      await waitFor(() => slow.got.length >= 50, 10_000, { message: 'deliveries in flight' });
      expect(new Set(slow.got.map((g) => g.headers['ce-id'])).size).toBeLessThan(N);
      await z.kill();
      for (const res of hung) res.destroy();
      hang = false;
      z = await startZeno({ dataDir: dir, extraArgs: ['--warm-pool', '0'] });
      await waitFor(() => ids.every((id) => slow.at('/slow', id).length > 0), 30_000, { message: 'every accepted event delivered after the restart' });
      expect(new Set(slow.got.map((g) => g.headers['ce-id']))).toEqual(new Set(ids));
    } finally {
      await z.stop();
      await slow.close();
    }
  }, 60_000);
});
