import { describe, expect, it } from 'vitest';
import type { KObject } from '../core/types.js';
import { UsageError } from './args.js';
import { buildSendRequest } from './events.js';
import { resolveKind } from './kinds.js';
import { renderTable } from './output.js';

const base = { gatewayUrl: 'http://127.0.0.1:8080/', broker: 'default', namespace: 'team', type: 'com.example.t', source: '/cli', extensions: [] as string[] };

describe('buildSendRequest', () => {
  it('posts in binary mode to the broker path with the attributes as ce- headers', () => {
    const r = buildSendRequest({ ...base, id: 'e1', subject: 's', extensions: ['priority=high', 'n=1=2'], data: { bytes: Buffer.from('{"a":1}'), fromFile: false } });
    expect(r.url).toBe('http://127.0.0.1:8080/brokers/team/default');
    expect(r.id).toBe('e1');
    expect(r.headers).toEqual({
      'ce-specversion': '1.0', 'ce-id': 'e1', 'ce-type': 'com.example.t', 'ce-source': '/cli', 'ce-subject': 's',
      'ce-priority': 'high', 'ce-n': '1=2', 'content-type': 'application/json',
    });
    expect(Buffer.from(r.body).toString()).toBe('{"a":1}');
  });
  it.each([
    ['text', { bytes: Buffer.from('hello'), fromFile: false }, 'text/plain; charset=utf-8'],
    ['a JSON string', { bytes: Buffer.from('"hello"'), fromFile: false }, 'application/json'],
    ['binary file', { bytes: Buffer.from([0xff, 0x00]), fromFile: true }, 'application/octet-stream'],
    ['text file', { bytes: Buffer.from('plain'), fromFile: true }, 'application/octet-stream'],
  ])('guesses the content type of %s', (_l, data, want) => expect(buildSendRequest({ ...base, data }).headers['content-type']).toBe(want));
  it('gives a fresh UUID id and no content type without data', () => {
    const a = buildSendRequest(base);
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(buildSendRequest(base).id).not.toBe(a.id);
    expect(a.headers['content-type']).toBeUndefined();
  });
  it.each([['BAD=x'], ['noequals'], ['id=x'], ['subject=x'], ['a-b=c']])('refuses --extension %s', (ext) => {
    expect(() => buildSendRequest({ ...base, extensions: [ext] })).toThrow(UsageError);
  });
});

describe('get brokers / triggers tables (kn broker list, kn trigger list)', () => {
  const NOW = Date.parse('2026-01-01T00:10:00Z');
  const ready = [{ type: 'BrokerReady', status: 'True' }, { type: 'Ready', status: 'True' }];
  const broker: KObject = {
    apiVersion: 'eventing.knative.dev/v1', kind: 'Broker',
    metadata: { name: 'default', namespace: 'default', creationTimestamp: '2026-01-01T00:05:00Z', annotations: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' } },
    status: { address: { url: 'http://127.0.0.1:8080/brokers/default/default' }, conditions: ready },
  };
  const trigger: KObject = {
    apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger',
    metadata: { name: 'orders', namespace: 'default', creationTimestamp: '2026-01-01T00:09:00Z' },
    spec: { broker: 'default', subscriber: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'consumer' } } },
    status: { conditions: ready, deliveryStats: { delivered: 7, retried: 2, deadLettered: 1, failed: 0, inFlight: 3 } },
  };
  it('lists brokers with their URL', () => {
    expect(renderTable(resolveKind('brokers')!, [broker], { nowMs: NOW })).toBe(
      'NAME      URL                                             AGE   CONDITIONS   READY   REASON\n' +
      'default   http://127.0.0.1:8080/brokers/default/default   5m    2 OK / 2     True\n',
    );
  });
  it('lists triggers with their sink, and delivery counters in -o wide', () => {
    const wide = renderTable(resolveKind('triggers')!, [trigger], { nowMs: NOW, wide: true });
    const [head, row] = wide.trimEnd().split('\n');
    expect(head!.split(/\s+/)).toEqual(['NAME', 'BROKER', 'SINK', 'AGE', 'CONDITIONS', 'READY', 'REASON', 'DELIVERED', 'RETRIED', 'DEADLETTERED', 'FAILED', 'INFLIGHT']);
    expect(row!.split(/\s+/)).toEqual(['orders', 'default', 'ksvc:consumer', '60s', '2', 'OK', '/', '2', 'True', '7', '2', '1', '0', '3']);
  });
});
