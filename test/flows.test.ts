/**
 * Sources and flows end to end with a real `zeno up`: a PingSource firing
 * every second at a loopback sink, a ContainerSource process posting to
 * K_SINK, a SinkBinding injecting K_SINK into a Service's pods, a Sequence
 * of two steps with a reply, and a Parallel with two filtered branches.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { httpCall, pidsWithEnv, ROOT, runCli, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let zeno: RunningZeno;
let work: string;
let sink: http.Server;
let sinkUrl: string;
const received: Received[] = [];
const FIXTURES = path.join(ROOT, 'test/fixtures/eventing');

const cli = (args: string[]) => runCli(args, zeno.dataDir, { cwd: work });
const at = (p: string) => received.filter((r) => r.path === p);

async function apply(name: string, yaml: string): Promise<void> {
  const r = await cli(['apply', '-f', writeYaml(work, name, yaml), '--timeout', '60s']);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
}

async function statusOf(plural: string, group: string, name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (await zeno.admin('GET', `/apis/${group}/v1/namespaces/default/${plural}/${name}`)).json;
}

async function waitReady(plural: string, group: string, name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let obj: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  await waitFor(async () => {
    obj = await statusOf(plural, group, name);
    return obj?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  }, 20_000, { message: `${plural}/${name} Ready` });
  return obj;
}

function stepService(name: string, env: Record<string, string>): string {
  const e = Object.entries(env).map(([k, v]) => `            - {name: ${k}, value: "${v}"}`).join('\n');
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1"}
    spec:
      containers:
        - command: [node, ce-step.js]
          workingDir: ${FIXTURES}
          env:
${e}
`;
}

beforeAll(async () => {
  work = tempDir('zeno-flows-');
  sink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202);
      res.end();
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  zeno = await startZeno({ dataDir: path.join(work, 'data') });
}, 30_000);

afterAll(async () => {
  await zeno?.stop();
  await new Promise((r) => sink?.close(r));
});

describe('sources', () => {
  it('PingSource fires every second with Knative\'s attributes and data at its sink', async () => {
    await apply('ping.yaml', `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata:
  name: beat
spec:
  schedule: "* * * * * *"
  contentType: application/json
  data: '{"message":"hello"}'
  ceOverrides:
    extensions: {team: blue}
  sink:
    uri: ${sinkUrl}/ping
`);
    await waitFor(() => at('/ping').length >= 2, 10_000, { message: 'two ping events' });
    const [a, b] = at('/ping') as [Received, Received];
    for (const r of [a, b]) {
      expect(r.headers).toMatchObject({
        'ce-specversion': '1.0',
        'ce-type': 'dev.knative.sources.ping',
        'ce-source': '/apis/v1/namespaces/default/pingsources/beat',
        'ce-team': 'blue',
        'content-type': 'application/json',
      });
      expect(JSON.parse(r.body)).toEqual({ message: 'hello' });
      expect(Date.parse(String(r.headers['ce-time']))).not.toBeNaN();
    }
    expect(a.headers['ce-id']).not.toBe(b.headers['ce-id']);
    const ps = await waitReady('pingsources', 'sources.knative.dev', 'beat');
    expect(ps.status).toMatchObject({ sinkUri: `${sinkUrl}/ping`, ceAttributes: [{ type: 'dev.knative.sources.ping', source: '/apis/v1/namespaces/default/pingsources/beat' }] });
    const list = await cli(['get', 'pingsources']);
    expect(list.stdout).toMatch(/^beat\s+\* \* \* \* \* \*\s+.*True/m);

    const del = await cli(['delete', 'pingsource', 'beat']);
    expect(del.code, del.stderr).toBe(0);
    const n = at('/ping').length;
    // Deleted: at most a tick already in flight arrives (one jitter window, 0.5 s), then nothing.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(at('/ping').length).toBeLessThanOrEqual(n + 1);
  });

  it('ContainerSource runs its container with K_SINK and K_CE_OVERRIDES, and stops on delete', async () => {
    await apply('container.yaml', `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata:
  name: heartbeat
spec:
  ceOverrides:
    extensions: {origin: local}
  template:
    spec:
      containers:
        - name: beat
          image: example.com/heartbeat:1
          command: [node, post-to-sink.js]
          workingDir: ${FIXTURES}
          env:
            - {name: GREETING, value: hi-from-flows-test}
  sink:
    uri: ${sinkUrl}/container
`);
    await waitFor(() => at('/container').length >= 2, 15_000, { message: 'container source events' });
    const r = at('/container')[0]!;
    expect(r.headers).toMatchObject({ 'ce-type': 'dev.zeno.test.heartbeat', 'ce-origin': 'local' });
    expect(JSON.parse(r.body)).toMatchObject({ greeting: 'hi-from-flows-test' });
    expect(pidsWithEnv('GREETING', 'hi-from-flows-test')).toHaveLength(1);
    const cs = await waitReady('containersources', 'sources.knative.dev', 'heartbeat');
    expect(cs.status.sinkUri).toBe(`${sinkUrl}/container`);

    expect((await cli(['delete', 'containersource', 'heartbeat'])).code).toBe(0);
    await waitFor(() => pidsWithEnv('GREETING', 'hi-from-flows-test').length === 0, 15_000, { message: 'the source process to stop' });
  });

  it('SinkBinding injects K_SINK and K_CE_OVERRIDES into the subject Service\'s pods', async () => {
    await apply('producer.yaml', stepService('producer', { MODE: 'step' }));
    const before = await httpCall(`${zeno.gatewayUrl}/function/producer`);
    expect(JSON.parse(before.body)).toEqual({ K_SINK: null, K_CE_OVERRIDES: null });
    await apply('binding.yaml', `apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata:
  name: bind-producer
spec:
  subject:
    apiVersion: serving.knative.dev/v1
    kind: Service
    selector:
      matchLabels: {app: producer}
  ceOverrides:
    extensions: {via: binding}
  sink:
    uri: ${sinkUrl}/bound
`);
    await waitFor(async () => JSON.parse((await httpCall(`${zeno.gatewayUrl}/function/producer`)).body).K_SINK !== null, 30_000, { message: 'a pod with K_SINK' });
    const seen = JSON.parse((await httpCall(`${zeno.gatewayUrl}/function/producer`)).body);
    expect(seen).toEqual({ K_SINK: `${sinkUrl}/bound`, K_CE_OVERRIDES: '{"extensions":{"via":"binding"}}' });
    // As with Knative's webhook, the template changed: a second Revision rolled out.
    const revs = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions')).json.items.filter((r: { metadata: { name: string } }) => r.metadata.name.startsWith('producer-'));
    expect(revs.map((r: { metadata: { name: string } }) => r.metadata.name).sort()).toEqual(['producer-00001', 'producer-00002']);
    await waitReady('sinkbindings', 'sources.knative.dev', 'bind-producer');
  });
});

describe('flows', () => {
  it('a Sequence of two steps carries the event through both and replies to spec.reply', async () => {
    await apply('steps.yaml', [stepService('first', { MODE: 'step', SUFFIX: '-first', REPLY_TYPE: 'step.one' }), stepService('second', { MODE: 'step', SUFFIX: '-second', REPLY_TYPE: 'step.two' })].join('---\n'));
    await apply('sequence.yaml', `apiVersion: flows.knative.dev/v1
kind: Sequence
metadata:
  name: pipeline
spec:
  steps:
    - ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: first}
    - ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: second}
  reply:
    uri: ${sinkUrl}/sequence
`);
    const seq = await waitReady('sequences', 'flows.knative.dev', 'pipeline');
    expect(seq.status.address.url).toBe(`${zeno.gatewayUrl}/channels/default/pipeline-kn-sequence-0`);
    const names = (await zeno.admin('GET', '/apis/messaging.knative.dev/v1/namespaces/default/channels')).json.items.map((c: { metadata: { name: string } }) => c.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['pipeline-kn-sequence-0', 'pipeline-kn-sequence-1']));
    const sub0 = await statusOf('subscriptions', 'messaging.knative.dev', 'pipeline-kn-sequence-0');
    expect(sub0.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Sequence', name: 'pipeline', controller: true })]);

    const res = await fetch(seq.status.address.url, {
      method: 'POST',
      headers: { 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-type': 'start', 'ce-source': 'test', 'content-type': 'text/plain' },
      body: 'go',
    });
    expect(res.status).toBe(202);
    await waitFor(() => at('/sequence').length >= 1, 20_000, { message: 'the sequence reply' });
    const out = at('/sequence')[0]!;
    expect(out.body).toBe('go-first-second');
    expect(out.headers).toMatchObject({ 'ce-type': 'step.two', 'ce-source': 'test' });

    expect((await cli(['delete', 'sequence', 'pipeline'])).code).toBe(0);
    await waitFor(async () => (await zeno.admin('GET', '/apis/messaging.knative.dev/v1/namespaces/default/channels/pipeline-kn-sequence-0')).status === 404, 10_000, { message: 'owned channels deleted' });
    expect((await zeno.admin('GET', '/apis/messaging.knative.dev/v1/namespaces/default/subscriptions/pipeline-kn-sequence-1')).status).toBe(404);
  });

  it('a Parallel sends each event to the branches whose filter passes it', async () => {
    await apply('branches.yaml', [
      stepService('only-red', { MODE: 'filter', MATCH: 'red' }),
      stepService('on-red', { MODE: 'step', SUFFIX: '+red', REPLY_TYPE: 'branch.red' }),
      stepService('on-any', { MODE: 'step', SUFFIX: '+any', REPLY_TYPE: 'branch.any' }),
    ].join('---\n'));
    await apply('parallel.yaml', `apiVersion: flows.knative.dev/v1
kind: Parallel
metadata:
  name: fanout
spec:
  branches:
    - filter: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: only-red}}
      subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: on-red}}
    - subscriber: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: on-any}}
      reply: {uri: ${sinkUrl}/parallel-any}
  reply:
    uri: ${sinkUrl}/parallel
`);
    const par = await waitReady('parallels', 'flows.knative.dev', 'fanout');
    expect(par.status.address.url).toBe(`${zeno.gatewayUrl}/channels/default/fanout-kn-parallel`);
    for (const n of ['fanout-kn-parallel-filter-0', 'fanout-kn-parallel-0', 'fanout-kn-parallel-filter-1', 'fanout-kn-parallel-1']) {
      expect((await statusOf('subscriptions', 'messaging.knative.dev', n)).metadata.name).toBe(n);
    }
    const send = (id: string, body: string) => fetch(par.status.address.url, {
      method: 'POST', headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-type': 'color', 'ce-source': 'test', 'content-type': 'text/plain' }, body,
    });
    expect((await send('c-1', 'red')).status).toBe(202);
    expect((await send('c-2', 'blue')).status).toBe(202);
    await waitFor(() => at('/parallel').length >= 1 && at('/parallel-any').length >= 2, 20_000, { message: 'parallel replies' });
    // Branch 0 (filtered on "red") → spec.reply; branch 1 (no filter) → its own reply.
    expect(at('/parallel').map((r) => r.body)).toEqual(['red+red']);
    expect(at('/parallel-any').map((r) => r.body).sort()).toEqual(['blue+any', 'red+any']);
    expect(at('/parallel')[0]!.headers['ce-type']).toBe('branch.red');

    const list = await cli(['get', 'parallels']);
    expect(list.stdout).toMatch(/^fanout\s.*True/m);
  });
});
