import { describe, expect, it } from 'vitest';
import { UsageError } from './args.js';
import { checkToken, gatewayRoleConflict, parseControlUrl, parseGatewayUrl, parseLeaseRef, parseOnOff, parseRole } from './up.js';

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

describe('zeno up --role gateway flags', () => {
  it.each<[string | undefined, string]>([[undefined, 'all'], ['all', 'all'], ['gateway', 'gateway']])('--role %s → %s', (text, want) => expect(parseRole(text)).toBe(want));
  it.each(['', 'Gateway', 'activator', 'control'])('refuses --role %j', (text) => expect(() => parseRole(text)).toThrow(UsageError));

  it.each<[string, string]>([
    ['http://127.0.0.1:8081', 'http://127.0.0.1:8081'],
    ['http://zeno-control.zeno-system.svc.cluster.local:8081/', 'http://zeno-control.zeno-system.svc.cluster.local:8081'],
    ['https://cp.example.com', 'https://cp.example.com'],
  ])('--control-url %s → %s', (text, want) => expect(parseControlUrl(text)).toBe(want));
  it.each([undefined, '127.0.0.1:8081', 'ftp://x', 'http://x/apis', 'http://u:p@x', 'http://x/?a=1'])('refuses --control-url %j', (text) => {
    expect(() => parseControlUrl(text)).toThrow(UsageError);
  });

  it.each<[Record<string, unknown>, string | undefined]>([
    [{ role: 'gateway', port: '8080', host: '0.0.0.0', 'control-url': 'http://x', 'token-file': 't', 'access-log': true, 'headers-timeout': '5s' }, undefined],
    [{ role: 'gateway', 'admin-port': '8081' }, 'admin-port'],
    [{ role: 'gateway', 'data-dir': '/tmp/x' }, 'data-dir'],
    [{ role: 'gateway', nats: 'nats://x' }, 'nats'],
    [{ role: 'gateway', examples: true }, 'examples'],
    [{ role: 'gateway', examples: false }, undefined],
    [{ role: 'gateway', runtime: 'kubernetes' }, 'runtime'],
  ])('%j: conflict %s', (values, want) => expect(gatewayRoleConflict(values as never)).toBe(want));

  it('reads --lean-server on|off and refuses anything else', () => {
    expect(parseOnOff(undefined, true, '--lean-server')).toBe(true);
    expect(parseOnOff('on', false, '--lean-server')).toBe(true);
    expect(parseOnOff('off', true, '--lean-server')).toBe(false);
    for (const bad of ['', 'yes', 'OFF', '0']) expect(() => parseOnOff(bad, true, '--lean-server')).toThrow(UsageError);
  });

  it('takes a token of 16-512 visible characters and never shows a refused one', () => {
    expect(checkToken('a'.repeat(16), 'x')).toBe('a'.repeat(16));
    for (const bad of ['short', 'has a space in it here', 'x'.repeat(513), 'tab\there-0123456789']) {
      expect(() => checkToken(bad, '$ZENO_TOKEN')).toThrow(UsageError);
      try {
        checkToken(bad, '$ZENO_TOKEN');
      } catch (e) {
        expect((e as Error).message).not.toContain(bad);
      }
    }
  });
});
