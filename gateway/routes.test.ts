import { describe, expect, it } from 'vitest';
import { RouteTable, hostName, parseFunctionPath, pickTarget } from './routes.js';

describe('parseFunctionPath', () => {
  const cases: { label: string; url: string; want: ReturnType<typeof parseFunctionPath> }[] = [
    { label: 'bare name', url: '/function/hello', want: { name: 'hello', namespace: 'default', path: '/' } },
    { label: 'name with slash', url: '/function/hello/', want: { name: 'hello', namespace: 'default', path: '/' } },
    { label: 'namespace and rest', url: '/function/hello.team-a/api/v1?x=1', want: { name: 'hello', namespace: 'team-a', path: '/api/v1?x=1' } },
    { label: 'query right after name', url: '/function/hello?sleep=5', want: { name: 'hello', namespace: 'default', path: '/?sleep=5' } },
    { label: 'empty name', url: '/function/', want: undefined },
    { label: 'other prefix', url: '/functions/hello', want: undefined },
    { label: 'dot without namespace', url: '/function/hello./x', want: undefined },
  ];
  for (const c of cases) it(c.label, () => expect(parseFunctionPath(c.url)).toEqual(c.want));
});

describe('hostName', () => {
  const cases = [
    ['Hello.Default.localhost:8080', 'hello.default.localhost'],
    ['hello.default.localhost.', 'hello.default.localhost'],
    ['[::1]:8080', '[::1]'],
    ['example.com', 'example.com'],
  ] as const;
  for (const [input, want] of cases) it(input, () => expect(hostName(input)).toBe(want));
});

describe('pickTarget', () => {
  const targets = [
    { revision: 'default/a-00001', percent: 80 },
    { revision: 'default/a-00002', percent: 20 },
  ];
  const cases = [
    { r: 0, want: 'default/a-00001' },
    { r: 0.7999, want: 'default/a-00001' },
    { r: 0.8, want: 'default/a-00002' },
    { r: 0.9999, want: 'default/a-00002' },
  ];
  for (const c of cases) it(`r=${c.r}`, () => expect(pickTarget(targets, c.r)).toBe(c.want));
  it('empty route has no target', () => expect(pickTarget([], 0.5)).toBeUndefined());
  it('splits close to the percentages over many picks', () => {
    let second = 0;
    for (let i = 0; i < 10_000; i++) if (pickTarget(targets, i / 10_000) === 'default/a-00002') second++;
    expect(second).toBe(2000);
  });
});

describe('RouteTable', () => {
  it('routes by host, tag host and name; delete removes every host', () => {
    const t = new RouteTable();
    const entry = { namespace: 'default', service: 'hello', targets: [{ revision: 'default/hello-00002', percent: 100 }] };
    t.set(entry, 'localhost', new Map([['old', 'default/hello-00001']]));
    expect(t.lookupHost('hello.default.localhost:8080')?.entry).toBe(entry);
    expect(t.lookupHost('old-hello.default.localhost')?.revision).toBe('default/hello-00001');
    expect(t.lookupName('default', 'hello')).toBe(entry);
    expect(t.lookupHost('nope.default.localhost')).toBeUndefined();
    t.delete('default', 'hello');
    expect(t.lookupHost('hello.default.localhost')).toBeUndefined();
    expect(t.lookupHost('old-hello.default.localhost')).toBeUndefined();
    expect(t.lookupName('default', 'hello')).toBeUndefined();
  });
  it('replacing a route drops tags that went away', () => {
    const t = new RouteTable();
    const entry = { namespace: 'ns', service: 's', targets: [] };
    t.set(entry, 'example.com', new Map([['v1', 'ns/s-00001']]));
    t.set(entry, 'example.com', new Map());
    expect(t.lookupHost('v1-s.ns.example.com')).toBeUndefined();
  });
  it('Knative-Serving-Tag picks the tagged target, unknown tags fall back', () => {
    const entry = { namespace: 'ns', service: 's', targets: [{ revision: 'ns/s-2', percent: 100 }, { revision: 'ns/s-1', percent: 0, tag: 'old' }] };
    expect(RouteTable.tagged(entry, 'old')).toBe('ns/s-1');
    expect(RouteTable.tagged(entry, 'nope')).toBeUndefined();
  });
});
