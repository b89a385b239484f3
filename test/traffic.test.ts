/**
 * Traffic splits and tags through a real platform: a 50/50 split lands within
 * a statistical bound, tag hosts always reach their revision, and the
 * Knative-Serving-Tag header picks a tagged revision (falling back to the
 * main route for an unknown tag).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloService, httpCall, runCli, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;

const call = (host: string, headers: Record<string, string> = {}) => httpCall(`${zeno.gatewayUrl}/`, { host, headers });

async function apply(file: string) {
  const r = await runCli(['apply', '-f', file], zeno.dataDir);
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  work = tempDir('zeno-traffic-');
  zeno = await startZeno({ dataDir: path.join(work, 'data') });
  const f = path.join(work, 'split.yaml');
  const minOne = { 'autoscaling.knative.dev/min-scale': '1' };
  fs.writeFileSync(f, helloService('split', { env: { TARGET: 'one' }, annotations: minOne }));
  await apply(f);
  fs.writeFileSync(f, helloService('split', { env: { TARGET: 'two' }, annotations: minOne }));
  await apply(f);
  // Same template, new traffic block: no new revision, a new split.
  fs.writeFileSync(f, `${helloService('split', { env: { TARGET: 'two' }, annotations: minOne })}  traffic:
    - revisionName: split-00001
      percent: 50
      tag: old
    - latestRevision: true
      percent: 50
      tag: new
`);
  await apply(f);
});

afterAll(async () => {
  await zeno?.stop();
});

describe('traffic', () => {
  it('reports the split in status.traffic with tag URLs', async () => {
    const svc = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/services/split')).json;
    expect(svc.status.latestCreatedRevisionName).toBe('split-00002');
    const port = new URL(zeno.gatewayUrl).port;
    expect(svc.status.traffic).toEqual([
      { revisionName: 'split-00001', latestRevision: false, percent: 50, tag: 'old', url: `http://old-split.default.localhost:${port}` },
      { revisionName: 'split-00002', latestRevision: true, percent: 50, tag: 'new', url: `http://new-split.default.localhost:${port}` },
    ]);
  });

  it('a 50/50 split lands within a statistical bound', async () => {
    const n = 400;
    let one = 0;
    for (let i = 0; i < n; i++) {
      const r = await call('split.default.localhost');
      expect(r.status).toBe(200);
      if (r.body === 'Hello one!\n') one++;
      else expect(r.body).toBe('Hello two!\n');
    }
    // Binomial(400, 0.5): sd = 10; ±5 sd fails a fair split with probability < 1e-6.
    expect(Math.abs(one - n / 2)).toBeLessThanOrEqual(50);
  });

  it('a tag URL always reaches its revision', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await call('old-split.default.localhost')).body).toBe('Hello one!\n');
      expect((await call('new-split.default.localhost')).body).toBe('Hello two!\n');
    }
  });

  it('Knative-Serving-Tag picks the tagged revision; an unknown tag falls back to the split', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await call('split.default.localhost', { 'knative-serving-tag': 'old' })).body).toBe('Hello one!\n');
    }
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) seen.add((await call('split.default.localhost', { 'knative-serving-tag': 'nope' })).body);
    expect([...seen].sort()).toEqual(['Hello one!\n', 'Hello two!\n']);
  });

  it('refuses percents that do not sum to 100, changing nothing', async () => {
    const bad = writeYaml(work, 'bad-split.yaml', `${helloService('split', { env: { TARGET: 'two' } })}  traffic:
    - revisionName: split-00001
      percent: 60
    - latestRevision: true
      percent: 60
`);
    const r = await runCli(['apply', '-f', bad], zeno.dataDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spec.traffic');
    const svc = (await zeno.admin('GET', '/apis/serving.knative.dev/v1/namespaces/default/services/split')).json;
    expect(svc.status.traffic.map((t: { percent: number }) => t.percent)).toEqual([50, 50]);
  });
});
