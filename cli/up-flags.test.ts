import { describe, expect, it } from 'vitest';
import { UsageError } from './args.js';
import { parseGatewayUrl, parseLeaseRef } from './up.js';

describe('parseLeaseRef (zeno up --lease)', () => {
  it.each<[string, ReturnType<typeof parseLeaseRef>]>([
    ['zeno-system/zeno-controller', { namespace: 'zeno-system', name: 'zeno-controller' }],
    ['zeno-controller', { name: 'zeno-controller' }],
    ['ns/a.b-c', { namespace: 'ns', name: 'a.b-c' }],
  ])('%s', (text, want) => expect(parseLeaseRef(text)).toEqual(want));

  it.each(['', '/x', 'ns/', 'a/b/c', 'Zeno/x', 'ns/UPPER', 'n.s/x', '-ns/x', 'ns/-x'])('refuses %j with a usage error', (text) => {
    expect(() => parseLeaseRef(text)).toThrow(UsageError);
  });
});

describe('parseGatewayUrl (zeno up --gateway-url)', () => {
  it.each<[string, string]>([
    ['http://zeno-gateway.zeno-system.svc.cluster.local', 'http://zeno-gateway.zeno-system.svc.cluster.local'],
    ['http://gw.example.com:8080/', 'http://gw.example.com:8080'],
    ['https://gw.example.com:443', 'https://gw.example.com'],
  ])('%s → %s', (text, want) => expect(parseGatewayUrl(text)).toBe(want));

  it.each(['gw.example.com', 'ftp://gw', 'http://gw/path', 'http://gw/?q=1', 'http://u:p@gw', 'http://'])('refuses %j with a usage error', (text) => {
    expect(() => parseGatewayUrl(text)).toThrow(UsageError);
  });
});
