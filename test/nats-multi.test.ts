/**
 * Two real `zeno up` processes on one real nats-server (127.0.0.1:4222, or
 * ZENO_NATS_URL), each with its own data dir, ports and resource store, the
 * same resources applied to both. Events go to both brokers' ingress and
 * async calls to both gateways; one instance is SIGKILLed mid-stream; the
 * other must finish everything: every accepted event reaches the Trigger's
 * subscriber, every accepted call's callback arrives, and the duplicates
 * (the killed one's work in flight, done again) are counted in the
 * survivor's metrics.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectJetStream, jetStreamNames, openJetStreamEventLog } from '../eventing/log/jetstream-log.js';
import { PLATFORM_DEFAULTS } from '../core/config/platform.js';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

const NATS_URL = process.env.ZENO_NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `zm${randomBytes(4).toString('hex')}`;

/** Trigger deliveries (by ce-id) and async callbacks (by X-Call-Id) as they arrive. */
class Sink {
  /** Arrival times of each event, by ce-id. */
  readonly events = new Map<string, number[]>();
  readonly callbacks = new Map<string, number[]>();
  server!: http.Server;
  url = '';
  /** How long the subscriber takes to answer an event: keeps deliveries in flight. */
  eventDelayMs = 100;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/sub') {
          const id = String(req.headers['ce-id']);
          this.events.set(id, [...(this.events.get(id) ?? []), Date.now()]);
          setTimeout(() => res.writeHead(202).end(), this.eventDelayMs);
          return;
        }
        const id = String(req.headers['x-call-id']);
        this.callbacks.set(id, [...(this.callbacks.get(id) ?? []), Number(req.headers['x-function-status'])]);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

function manifests(sinkUrl: string): string {
  // delivery.timeout PT1S gives the Trigger a 7 s lease (two attempts plus
  // slack), so the survivor takes the dead one's events over in seconds;
  // the subscriber answers within it (a slower answer is retried, and counted).
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: shared}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t}
spec:
  broker: shared
  subscriber: {uri: ${sinkUrl}/sub}
  delivery: {timeout: PT1S, retry: 3, backoffPolicy: linear, backoffDelay: PT0.1S}
---
${serviceYaml('afn', {
  annotations: {
    'autoscaling.knative.dev/min-scale': '1',
    'zeno.dev/async-max-inflight': '4',
    'zeno.dev/async-lease': '2s',
    'com.openfaas.retry.attempts': '3',
    'com.openfaas.retry.min_wait': '100ms',
  },
  command: ['node', 'async.js'],
  workingDir: path.join(ROOT, 'test/fixtures/functions'),
})}`;
}

/** Sum of a counter's samples whose labels include every pair given. */
function metricSum(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const running: RunningZeno[] = [];
let sink: Sink | undefined;

afterAll(async () => {
  for (const z of running) await z.stop().catch(() => undefined);
  await sink?.close();
  const { nc, jsm } = await connectJetStream(NATS_URL);
  await jsm.streams.delete(jetStreamNames(prefix).stream).catch(() => undefined);
  await nc.close();
});

async function instance(work: string, name: string, file: string): Promise<{ z: RunningZeno; ingress: string }> {
  const z = await startZeno({ dataDir: path.join(work, name), extraArgs: ['--nats', NATS_URL, '--nats-prefix', prefix, '--warm-pool', '0'] });
  running.push(z);
  const applied = await runCli(['apply', '-f', file, '--timeout', '30s'], z.dataDir);
  expect(applied.code, `${applied.stdout}\n${applied.stderr}`).toBe(0);
  await waitFor(
    async () => (await z.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers/t')).json.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
    15_000,
    { message: `trigger Ready on ${name}` },
  );
  const broker = await z.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/brokers/shared');
  return { z, ingress: broker.json.status.address.url as string };
}

describe('two zeno up instances on one NATS', () => {
  it('share events and async calls, and the survivor finishes the work of one killed with SIGKILL', async () => {
    const t0 = Date.now();
    const phase = (what: string) => console.log(`nats-multi: ${what} at ${Date.now() - t0} ms`);
    sink = await new Sink().start();
    const work = tempDir('zeno-nats-multi-');
    const file = writeYaml(work, 'shared.yaml', manifests(sink.url));
    const [a, b] = await Promise.all([instance(work, 'a', file), instance(work, 'b', file)]);
    phase('both up');

    // Events to both ingresses, calls to both gateways, all accepted before the kill.
    const N = 200;
    const ids = Array.from({ length: N }, (_, i) => `ev-${i}`);
    const sends = ids.map((id, i) =>
      fetch((i % 2 ? b : a).ingress, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-source': '/multi', 'ce-type': 'dev.zeno.multi', 'content-type': 'application/json' },
        body: `{"i":${i}}`,
      }).then((r) => r.status),
    );
    const M = 24;
    const calls = Array.from({ length: M }, (_, i) =>
      httpCall(`${(i % 2 ? b : a).z.gatewayUrl}/async-function/afn/slow?ms=300`, { method: 'POST', headers: { 'x-callback-url': `${sink!.url}/cb` } }).then((r) => {
        expect(r.status, r.body).toBe(202);
        return r.headers['x-call-id'] as string;
      }),
    );
    expect((await Promise.all(sends)).every((s) => s === 202)).toBe(true);
    const callIds = await Promise.all(calls);

    // Mid-stream: the instance to be killed holds deliveries in flight (the
    // subscriber got them; their acks never come). Who gets an event is
    // whoever pulls first, so the test waits for the victim to hold some
    // rather than assume it.
    const stats = async (z: RunningZeno) =>
      (await z.admin('GET', '/apis/eventing.knative.dev/v1/namespaces/default/triggers/t')).json.status?.deliveryStats as { inFlight: number; delivered: number } | undefined;
    // Either instance may be the one that pulled (a NATS pull goes to whoever
    // asks first), so the victim is whichever holds deliveries, a if both do.
    let victim: typeof a | undefined;
    await waitFor(async () => {
      for (const x of [a, b]) if (((await stats(x.z))?.inFlight ?? 0) > 0) return (victim = x) !== undefined;
      return false;
    }, 15_000, { message: 'an instance to hold deliveries' });
    const survivor = victim === a ? b : a;
    await victim!.z.kill();
    const killedAt = Date.now();
    phase('killed');
    sink.eventDelayMs = 5;

    // Done means delivered and settled: the dead one's leases ran out and the
    // survivor acked what it took over (the log, read on NATS directly).
    const log = await openJetStreamEventLog({ url: NATS_URL, prefix });
    const settled = async (consumer: string) => {
      const info = await log.info(consumer);
      return info !== undefined && info.outstanding === 0 && info.backlog === 0;
    };
    try {
      await waitFor(async () => ids.every((id) => sink!.events.has(id)) && (await settled('trigger:default/t')), 20_000, { message: 'every accepted event delivered and settled by the survivor' });
      phase('events settled');
      await waitFor(async () => callIds.every((id) => sink!.callbacks.get(id)?.includes(200)) && (await settled('async:default/afn')), 20_000, { message: "every accepted call's callback" });
    } finally {
      await log.close();
    }

    const eventDups = [...sink.events.values()].reduce((n, c) => n + c.length - 1, 0);
    // A second (or later) arrival after the kill: the survivor's doing.
    const lateDups = [...sink.events.values()].reduce((n, c) => n + c.slice(1).filter((t) => t >= killedAt).length, 0);
    const callDups = [...sink.callbacks.values()].reduce((n, c) => n + c.length - 1, 0);
    const metrics = (await httpCall(`${survivor.z.gatewayUrl}/metrics`)).body;
    const redeliveredEvents = metricSum(metrics, 'zeno_trigger_event_redelivery_count', { trigger_name: 't' });
    const retriedEvents = metricSum(metrics, 'zeno_trigger_event_retry_count', { trigger_name: 't' });
    const redeliveredCalls = metricSum(metrics, 'zeno_async_call_count', { service_name: 'afn', outcome: 'redelivered' });
    // The survivor took over the dead one's leases, and every duplicate the
    // subscriber or the callback saw is one the survivor counted (as a
    // redelivery, or as its own retry of a slow answer).
    expect(redeliveredEvents).toBeGreaterThan(0);
    // (Duplicates before the kill are retries of answers slower than the
    // delivery timeout, counted by the instance that retried.)
    expect(lateDups).toBeLessThanOrEqual(redeliveredEvents + retriedEvents);
    expect(callDups).toBeLessThanOrEqual(redeliveredCalls);
    console.log(`nats-multi: ${N} events, ${eventDups} duplicates, ${lateDups} after the kill (${redeliveredEvents} redelivered, ${retriedEvents} retried); ${M} calls, ${callDups} duplicate callbacks (${redeliveredCalls} redelivered)`);
    // Rare: at most what the dead instance could hold unacked (the Trigger's
    // in-flight limit, and the function's async-max-inflight of 4 per
    // instance), never the whole stream.
    expect(lateDups).toBeLessThanOrEqual(PLATFORM_DEFAULTS.triggerMaxInFlight);
    expect(callDups).toBeLessThanOrEqual(M / 4);
  }, 60_000);
});
