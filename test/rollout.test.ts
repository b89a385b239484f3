/**
 * Nothing is lost while pods come and go: under steady load a revision
 * scales up, scales down from N to fewer pods, and rolls out to a new
 * revision whose predecessor goes to zero, and every request gets 200.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestLoops } from './support/request-loops.js';
import { waitFor } from './support/wait.js';
import { FAST_AUTOSCALER, ROOT, httpCall, runCli, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;

function slowService(target: string): string {
  return `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: roll
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/max-scale: "8"
    spec:
      containerConcurrency: 1
      containers:
        - command: [node, server.js]
          workingDir: ${path.join(ROOT, 'functions/examples/slow')}
          env:
            - name: ROLL
              value: "${target}"
`;
}

/** Loops that each send one request after another until stopped, counting outcomes. */
const load = (loops: number) => requestLoops(loops, () => httpCall(`${zeno.gatewayUrl}/?sleep=50`, { host: 'roll.default.localhost' }));

const rev = async (name: string) => (await zeno.admin('GET', `/apis/serving.knative.dev/v1/namespaces/default/revisions/${name}`)).json.status ?? {};

beforeAll(async () => {
  work = tempDir('zeno-rollout-');
  zeno = await startZeno({ dataDir: path.join(work, 'data'), configFile: writeYaml(work, 'config.yaml', FAST_AUTOSCALER) });
});

afterAll(async () => {
  await zeno?.stop();
});

describe('scale-down and rollout under load', () => {
  it('fails no request while scaling up, down and rolling out', async () => {
    const f = path.join(work, 'roll.yaml');
    fs.writeFileSync(f, slowService('one'));
    expect((await runCli(['apply', '-f', f], zeno.dataDir)).code).toBe(0);

    // 4 concurrent at CC 1 (target 0.7 per pod) → more than 4 pods.
    const heavy = load(4);
    await waitFor(async () => (await rev('roll-00001')).actualReplicas >= 5, 30_000, { message: 'scale up to ≥ 5 pods', intervalMs: 200 });
    const peak = (await rev('roll-00001')).actualReplicas as number;
    const heavyStatuses = await heavy.stop();

    // One loop keeps going: the revision comes down from the peak under load.
    const light = load(1);
    await waitFor(async () => (await rev('roll-00001')).actualReplicas <= 2, 40_000, { message: `scale down from ${peak} pods`, intervalMs: 200 });

    // Roll out a new template while the load goes on.
    fs.writeFileSync(f, slowService('two'));
    expect((await runCli(['apply', '-f', f], zeno.dataDir)).code).toBe(0);
    await waitFor(async () => (await rev('roll-00001')).actualReplicas === 0, 40_000, { message: 'old revision to zero', intervalMs: 200 });
    const lightStatuses = await light.stop();

    for (const s of [heavyStatuses, lightStatuses]) {
      expect([...s.keys()]).toEqual([200]);
      expect(s.get(200)).toBeGreaterThan(20);
    }
  });
});
