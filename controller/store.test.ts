import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KObject } from '../core/types.js';
import { openSqliteStore, type ResourceStore, type WatchEvent } from './store.js';

let dir: string;
let file: string;
let store: ResourceStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zeno-store-'));
  file = path.join(dir, 'zeno.db');
  store = openSqliteStore(file);
});

afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function svc(name: string, o: { ns?: string; image?: string; labels?: Record<string, string>; annotations?: Record<string, string> } = {}): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: { template: { spec: { containers: [{ image: o.image ?? 'img:1' }] } } },
  };
}

function cm(name: string, data: Record<string, string>): KObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'knative-serving' }, data };
}

const rv = (o: KObject | undefined) => Number(o?.metadata.resourceVersion);

function recordEvents(): WatchEvent[] {
  const seen: WatchEvent[] = [];
  store.watch((e) => seen.push(e));
  return seen;
}

describe('put', () => {
  it('creates, then configures, then reports unchanged', () => {
    const a = store.put('services', svc('a'));
    expect(a.action).toBe('created');
    expect(a.object.metadata).toMatchObject({ name: 'a', namespace: 'default', generation: 1 });
    expect(a.object.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.object.metadata.creationTimestamp).toBeTruthy();

    const b = store.put('services', svc('a', { image: 'img:2' }));
    expect(b.action).toBe('configured');
    // Identity survives a replace.
    expect(b.object.metadata.uid).toBe(a.object.metadata.uid);
    expect(b.object.metadata.creationTimestamp).toBe(a.object.metadata.creationTimestamp);

    const c = store.put('services', svc('a', { image: 'img:2' }));
    expect(c.action).toBe('unchanged');
    expect(c.object.metadata.resourceVersion).toBe(b.object.metadata.resourceVersion);
  });

  it('ignores key order when deciding unchanged', () => {
    store.put('services', svc('a', { labels: { x: '1', y: '2' } }));
    const again = svc('a');
    again.metadata.labels = { y: '2', x: '1' };
    expect(store.put('services', again).action).toBe('unchanged');
  });

  const genCases: { label: string; change: (o: KObject) => void; action: string; generation: number }[] = [
    { label: 'spec change bumps generation', change: (o) => ((o.spec as any).template.spec.containers[0].image = 'img:9'), action: 'configured', generation: 2 }, // eslint-disable-line @typescript-eslint/no-explicit-any
    { label: 'label change keeps generation', change: (o) => (o.metadata.labels = { team: 'x' }), action: 'configured', generation: 1 },
    { label: 'annotation change keeps generation', change: (o) => (o.metadata.annotations = { note: 'y' }), action: 'configured', generation: 1 },
    { label: 'no change', change: () => undefined, action: 'unchanged', generation: 1 },
  ];
  it.each(genCases)('$label', ({ change, action, generation }) => {
    store.put('services', svc('a'));
    const next = svc('a');
    change(next);
    const r = store.put('services', next);
    expect(r.action).toBe(action);
    expect(r.object.metadata.generation).toBe(generation);
    expect(store.get('services', 'default', 'a')?.metadata.generation).toBe(generation);
  });

  it('bumps generation on a ConfigMap data change', () => {
    store.put('configmaps', cm('config-domain', { 'example.com': '' }));
    const r = store.put('configmaps', cm('config-domain', { 'example.org': '' }));
    expect(r.object.metadata.generation).toBe(2);
  });

  it('raises resourceVersion on every write, across kinds', () => {
    const versions = [
      rv(store.put('services', svc('a')).object),
      rv(store.put('configmaps', cm('config-domain', {})).object),
      rv(store.put('services', svc('a', { labels: { l: '1' } })).object),
      rv(store.putStatus('services', 'default', 'a', { observedGeneration: 1 })),
      rv(store.put('services', svc('b')).object),
    ];
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
  });

  it('keeps the stored status across a spec replace and ignores a status in the input', () => {
    store.put('services', svc('a'));
    store.putStatus('services', 'default', 'a', { observedGeneration: 1, url: 'http://a' });
    const input = svc('a', { image: 'img:2' });
    input.status = { url: 'http://forged' };
    const r = store.put('services', input);
    expect(r.object.status).toEqual({ observedGeneration: 1, url: 'http://a' });
  });

  it('returns copies: mutating a returned object does not change the store', () => {
    const r = store.put('services', svc('a'));
    r.object.metadata.name = 'mutated';
    const got = store.get('services', 'default', 'a')!;
    got.metadata.labels = { evil: '1' };
    expect(store.get('services', 'default', 'a')?.metadata).toMatchObject({ name: 'a' });
    expect(store.get('services', 'default', 'a')?.metadata.labels).toBeUndefined();
  });
});

describe('putStatus', () => {
  it('writes status, keeps generation, and is a no-op when equal', () => {
    store.put('services', svc('a', { image: 'img:1' }));
    store.put('services', svc('a', { image: 'img:2' }));
    const seen = recordEvents();
    const s1 = store.putStatus('services', 'default', 'a', { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] });
    expect(s1?.metadata.generation).toBe(2);
    expect(s1?.status).toEqual({ observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }] });
    expect(seen.map((e) => e.type)).toEqual(['MODIFIED']);

    // Same content, other key order: nothing written, no event.
    const s2 = store.putStatus('services', 'default', 'a', { conditions: [{ status: 'True', type: 'Ready' }], observedGeneration: 2 });
    expect(rv(s2)).toBe(rv(s1));
    expect(seen).toHaveLength(1);
    expect(rv(store.get('services', 'default', 'a'))).toBe(rv(s1));
  });

  it('returns undefined for a missing object', () => {
    expect(store.putStatus('services', 'default', 'nope', {})).toBeUndefined();
  });
});

describe('delete, get and list', () => {
  it('deletes and returns the old object; a second delete is undefined', () => {
    store.put('services', svc('a'));
    const seen = recordEvents();
    expect(store.delete('services', 'default', 'a')?.metadata.name).toBe('a');
    expect(store.get('services', 'default', 'a')).toBeUndefined();
    expect(store.delete('services', 'default', 'a')).toBeUndefined();
    expect(seen.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['DELETED a']);
  });

  it('lists by namespace (sorted by name) and across namespaces, per kind', () => {
    store.put('services', svc('b', { ns: 'default' }));
    store.put('services', svc('a', { ns: 'default' }));
    store.put('services', svc('c', { ns: 'apps' }));
    store.put('configmaps', cm('config-domain', {}));
    const names = (l: KObject[]) => l.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    const cases: { label: string; ns: string | undefined; want: string[] }[] = [
      { label: 'default', ns: 'default', want: ['default/a', 'default/b'] },
      { label: 'apps', ns: 'apps', want: ['apps/c'] },
      { label: 'empty namespace', ns: 'nope', want: [] },
      { label: 'all', ns: undefined, want: ['apps/c', 'default/a', 'default/b'] },
    ];
    for (const c of cases) expect(names(store.list('services', c.ns)), c.label).toEqual(c.want);
    expect(names(store.list('configmaps'))).toEqual(['knative-serving/config-domain']);
    expect(store.list('revisions')).toEqual([]);
  });

  it('list sees status writes', () => {
    store.put('services', svc('a'));
    store.putStatus('services', 'default', 'a', { url: 'http://a' });
    expect(store.list('services', 'default')[0]?.status).toEqual({ url: 'http://a' });
  });
});

describe('watch', () => {
  it('delivers ADDED, MODIFIED and DELETED with copies of the object, and stops after unwatch', () => {
    const seen: WatchEvent[] = [];
    const stop = store.watch((e) => seen.push(e));
    store.put('services', svc('a'));
    store.put('services', svc('a', { image: 'img:2' }));
    store.put('services', svc('a', { image: 'img:2' })); // unchanged: no event
    store.delete('services', 'default', 'a');
    expect(seen.map((e) => `${e.type} ${e.kind} ${e.object.metadata.generation}`)).toEqual([
      'ADDED services 1', 'MODIFIED services 2', 'DELETED services 2',
    ]);
    seen[0]!.object.metadata.name = 'mutated';
    stop();
    store.put('services', svc('b'));
    expect(seen).toHaveLength(3);
  });
});

describe('transaction', () => {
  it('commits every write and delivers watch events only after commit', () => {
    store.put('services', svc('old'));
    const seen: string[] = [];
    store.watch((e) => seen.push(`${e.type} ${e.object.metadata.name}`));
    const out = store.transaction(() => {
      store.put('services', svc('a'));
      store.put('configmaps', cm('config-domain', {}));
      store.delete('services', 'default', 'old');
      // Inside, the writes are visible to this caller but nobody was told yet.
      expect(store.get('services', 'default', 'a')).toBeDefined();
      expect(seen).toEqual([]);
      return 42;
    });
    expect(out).toBe(42);
    expect(seen).toEqual(['ADDED a', 'ADDED config-domain', 'DELETED old']);
  });

  it('lets a listener read the committed state when events arrive', () => {
    const reads: (string | undefined)[] = [];
    store.watch(() => reads.push(store.get('services', 'default', 'b')?.metadata.name));
    store.transaction(() => {
      store.put('services', svc('a'));
      store.put('services', svc('b'));
    });
    // Even the event for "a" sees "b": delivery happens after the whole batch.
    expect(reads).toEqual(['b', 'b']);
  });

  it('rolls back SQLite and the cache on throw, and emits nothing', () => {
    store.put('services', svc('keep'));
    store.put('services', svc('gone'));
    store.putStatus('services', 'default', 'keep', { url: 'http://keep' });
    const before = {
      keep: store.get('services', 'default', 'keep'),
      gone: store.get('services', 'default', 'gone'),
    };
    const seen = recordEvents();
    expect(() =>
      store.transaction(() => {
        store.put('services', svc('new'));
        store.put('services', svc('keep', { image: 'img:2' }));
        store.putStatus('services', 'default', 'keep', { url: 'http://changed' });
        store.delete('services', 'default', 'gone');
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(seen).toEqual([]);

    // Cache (get) and SQLite (list) agree with the state before.
    expect(store.get('services', 'default', 'new')).toBeUndefined();
    expect(store.get('services', 'default', 'keep')).toEqual(before.keep);
    expect(store.get('services', 'default', 'gone')).toEqual(before.gone);
    expect(store.list('services')).toEqual([before.gone, before.keep]);

    // A fresh connection on the same file agrees too.
    const other = openSqliteStore(file);
    try {
      expect(other.list('services')).toEqual([before.gone, before.keep]);
    } finally {
      other.close();
    }

    // The store still works and resourceVersion keeps rising from the committed value.
    const next = store.put('services', svc('after'));
    expect(rv(next.object)).toBeGreaterThan(rv(before.keep));
    expect(seen.map((e) => e.object.metadata.name)).toEqual(['after']);
  });

  it('rolls back a status-only write completely, resourceVersion included', () => {
    store.put('services', svc('a'));
    const before = store.get('services', 'default', 'a');
    expect(() =>
      store.transaction(() => {
        store.putStatus('services', 'default', 'a', { url: 'http://x' });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(store.get('services', 'default', 'a')).toEqual(before);
  });

  it('runs a nested transaction inside the outer one', () => {
    const seen = recordEvents();
    store.transaction(() => {
      store.put('services', svc('a'));
      store.transaction(() => store.put('services', svc('b')));
      expect(seen).toEqual([]);
    });
    expect(seen.map((e) => e.object.metadata.name)).toEqual(['a', 'b']);
  });
});

describe('persistence', () => {
  it('keeps objects, status and the resourceVersion counter across reopen', () => {
    const a = store.put('services', svc('a', { labels: { team: 'x' } })).object;
    store.put('services', svc('a', { image: 'img:2', labels: { team: 'x' } }));
    const withStatus = store.putStatus('services', 'default', 'a', { observedGeneration: 2 })!;
    store.put('configmaps', cm('config-domain', { 'example.com': '' }));
    store.put('services', svc('b', { ns: 'apps' }));
    store.delete('services', 'apps', 'b');
    const lastRv = rv(store.list('configmaps')[0]);
    store.close();

    store = openSqliteStore(file);
    const got = store.get('services', 'default', 'a');
    expect(got).toEqual(withStatus);
    expect(got?.metadata.uid).toBe(a.metadata.uid);
    expect(got?.metadata.generation).toBe(2);
    expect(store.get('configmaps', 'knative-serving', 'config-domain')?.data).toEqual({ 'example.com': '' });
    expect(store.get('services', 'apps', 'b')).toBeUndefined();
    expect(store.list('services').map((o) => o.metadata.name)).toEqual(['a']);
    // resourceVersion never goes back after a restart (clients compare them).
    expect(rv(store.put('services', svc('c')).object)).toBeGreaterThan(Math.max(lastRv, rv(withStatus)));
    // And unchanged is still detected against what was loaded from disk.
    expect(store.put('services', svc('a', { image: 'img:2', labels: { team: 'x' } })).action).toBe('unchanged');
  });
});

describe('list with namePrefix', () => {
  it('returns exactly the names starting with the prefix, in order, per namespace', () => {
    for (const n of ['a', 'a-00001', 'a-00002', 'a-b-00001', 'ab-00001', 'b-00001', 'a-'] as const) store.put('services', svc(n));
    store.put('services', svc('a-00003', { ns: 'other' }));
    const names = (ns: string | undefined, namePrefix: string) => store.list('services', ns, { namePrefix }).map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
    expect(names('default', 'a-')).toEqual(['default/a-', 'default/a-00001', 'default/a-00002', 'default/a-b-00001']);
    expect(names('default', 'ab-')).toEqual(['default/ab-00001']);
    expect(names('default', 'zz-')).toEqual([]);
    expect(names(undefined, 'a-0')).toEqual(['default/a-00001', 'default/a-00002', 'other/a-00003']);
    expect(store.list('services', 'default').length).toBe(7);
  });
});
