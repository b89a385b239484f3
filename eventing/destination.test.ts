import { describe, expect, it } from 'vitest';
import type { KObject } from '../core/types.js';
import { defaultRefNamespace, resolveDestination, type Destination, type Resolution } from './destination.js';

const GW = 'http://127.0.0.1:8080';
const obj = (apiVersion: string, kind: string, ns: string, name: string, status?: Record<string, unknown>): KObject => ({
  apiVersion, kind, metadata: { name, namespace: ns }, spec: {}, ...(status ? { status } : {}),
});
const stored: Record<string, KObject> = {
  'services/default/hello': obj('serving.knative.dev/v1', 'Service', 'default', 'hello'),
  'services/team/hello': obj('serving.knative.dev/v1', 'Service', 'team', 'hello'),
  'functions/default/fn': obj('zeno.dev/v1', 'Function', 'default', 'fn'),
  'brokers/default/ready': obj('eventing.knative.dev/v1', 'Broker', 'default', 'ready', { address: { url: `${GW}/brokers/default/ready` } }),
  'brokers/default/pending': obj('eventing.knative.dev/v1', 'Broker', 'default', 'pending', { conditions: [] }),
};
const ctx = { namespace: 'default', gatewayUrl: GW, get: (p: string, ns: string, n: string) => stored[`${p}/${ns}/${n}`] };

describe('resolveDestination', () => {
  const cases: { name: string; dest: Destination; want: Resolution | { ok: false; reason: string } }[] = [
    { name: 'absolute uri as is', dest: { uri: 'http://127.0.0.1:9000/sink?x=1' }, want: { ok: true, url: 'http://127.0.0.1:9000/sink?x=1' } },
    { name: 'relative uri alone', dest: { uri: '/sink' }, want: { ok: false, reason: 'InvalidURI' } },
    { name: 'Service ref through the gateway', dest: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' } }, want: { ok: true, url: `${GW}/function/hello.default` } },
    { name: 'ref namespace wins over the holder', dest: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello', namespace: 'team' } }, want: { ok: true, url: `${GW}/function/hello.team` } },
    { name: 'Service ref + path: the function sees the path', dest: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' }, uri: '/hook?a=b' }, want: { ok: true, url: `${GW}/function/hello.default/hook?a=b` } },
    { name: 'Service ref + path without slash', dest: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'hello' }, uri: 'hook' }, want: { ok: true, url: `${GW}/function/hello.default/hook` } },
    { name: 'Function ref = its Service', dest: { ref: { apiVersion: 'zeno.dev/v1', kind: 'Function', name: 'fn' } }, want: { ok: true, url: `${GW}/function/fn.default` } },
    { name: 'missing Service', dest: { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'nope' } }, want: { ok: false, reason: 'NotFound' } },
    { name: 'Addressable with address', dest: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'ready' } }, want: { ok: true, url: `${GW}/brokers/default/ready` } },
    { name: 'Addressable + relative uri: URL resolution', dest: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'ready' }, uri: 'extra' }, want: { ok: true, url: `${GW}/brokers/default/extra` } },
    { name: 'Addressable without address yet', dest: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'pending' } }, want: { ok: false, reason: 'AddressNotReady' } },
    { name: 'Addressable not stored', dest: { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'gone' } }, want: { ok: false, reason: 'NotFound' } },
    { name: 'core v1 Service is not a kind Zeno stores', dest: { ref: { apiVersion: 'v1', kind: 'Service', name: 'hello' } }, want: { ok: false, reason: 'NotAddressable' } },
    { name: 'unknown kind', dest: { ref: { apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' } }, want: { ok: false, reason: 'NotAddressable' } },
  ];
  it.each(cases)('$name', ({ dest, want }) => {
    const got = resolveDestination(dest, ctx);
    expect(got).toMatchObject(want);
  });
});

describe('defaultRefNamespace', () => {
  it('fills the holder namespace only when the ref has none', () => {
    expect(defaultRefNamespace({ ref: { kind: 'Service', name: 'a' } }, 'ns')).toEqual({ ref: { kind: 'Service', name: 'a', namespace: 'ns' } });
    expect(defaultRefNamespace({ ref: { kind: 'Service', name: 'a', namespace: 'x' } }, 'ns')).toEqual({ ref: { kind: 'Service', name: 'a', namespace: 'x' } });
    expect(defaultRefNamespace({ uri: 'http://a' }, 'ns')).toEqual({ uri: 'http://a' });
    expect(defaultRefNamespace(undefined, 'ns')).toBeUndefined();
  });
});
