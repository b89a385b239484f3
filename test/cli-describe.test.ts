/**
 * The CLI's views against a real `zeno up` and the real echo function:
 * wait progress on stderr (plain lines, as the CLI is not on a terminal
 * here), `zeno describe` with conditions and events after a cold start (for
 * a Service, its Revision, a Broker and a Trigger; text and -o json),
 * `zeno top --once` with the service's replicas, `zeno scale` waiting for
 * the new revision's replicas, and completion (the bash
 * script passes `bash -n`; `__complete` names the deployed service).
 * Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';
import { ROOT, httpCall, runCli, serviceYaml, startZeno, tempDir, writeYaml, type RunningZeno } from './support/zeno.js';

let zeno: RunningZeno;
let work: string;
let applied: { code: number | null; stdout: string; stderr: string };
const fixture = { command: ['node', 'echo.js'], workingDir: path.join(ROOT, 'test/fixtures/functions') };

beforeAll(async () => {
  work = tempDir('zeno-cli-describe-');
  zeno = await startZeno({ dataDir: path.join(work, 'data') });
  const f = writeYaml(work, 'all.yaml', [
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-autoscaler\ndata:\n  allow-zero-initial-scale: "true"\n',
    // Starts at zero pods: the first request is a cold start.
    serviceYaml('cold', { ...fixture, annotations: { 'autoscaling.knative.dev/initial-scale': '0' } }),
    serviceYaml('scaled', fixture),
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: default\n',
    'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: to-cold\nspec:\n  broker: default\n  subscriber:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: cold\n',
  ].join('---\n'));
  applied = await runCli(['apply', '-f', f], zeno.dataDir);
});

afterAll(async () => {
  await zeno?.stop();
});

const cli = (...args: string[]) => runCli(args, zeno.dataDir);

describe('zeno apply progress (not a terminal)', () => {
  it('prints plain progress lines with elapsed times on stderr and results on stdout', () => {
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^service\/cold ready at http:\/\/cold\.default\.localhost:\d+$/m);
    // kn-style "  0.1s cold: Ready" as the final state; no terminal control codes.
    expect(applied.stderr).toMatch(/^ +\d+\.\ds cold: Ready$/m);
    expect(applied.stderr).not.toContain('\r');
    expect(applied.stderr).not.toContain('\x1b[');
    expect(applied.stdout).not.toMatch(/waiting for/);
  });
});

describe('zeno describe after a cold start', () => {
  beforeAll(async () => {
    const r = await httpCall(`${zeno.gatewayUrl}/`, { host: 'cold.default.localhost' });
    expect(r.status).toBe(200);
  });

  it('shows the revision conditions and its events: scaled up, cold start, pod ready, Ready', async () => {
    let out = '';
    await waitFor(async () => {
      out = (await cli('describe', 'rev', 'cold-00001')).stdout;
      return /ColdStart/.test(out) && /ScaledUp/.test(out) && /PodReady/.test(out);
    }, 10_000, { message: 'cold start events in describe' });
    expect(out).toMatch(/^Conditions:\n  TYPE\s+STATUS\s+REASON\s+MESSAGE\s+AGE\n/m);
    expect(out).toMatch(/^  Ready\s+True\s+\d+s$/m);
    expect(out).toMatch(/^Events:\n  TYPE\s+REASON\s+AGE\s+MESSAGE\n/m);
    expect(out).toMatch(/^  Normal\s+ScaledUp\s+\d+s\s+desired pods 0 → 1$/m);
    expect(out).toMatch(/^  Normal\s+ColdStart\s+\d+s\s+a request waited \d+ ms for a pod to start$/m);
    expect(out).toMatch(/^  Normal\s+Ready\s+\d+s\s+Revision is Ready$/m);
  });

  it('shows the service conditions and its events as JSON too', async () => {
    const text = await cli('describe', 'ksvc', 'cold');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^  Ready\s+True\s+\d+s$/m);
    expect(text.stdout).toMatch(/^  Normal\s+Created\s+\d+s\s+Created Revision "cold-00001"$/m);
    const json = await cli('describe', 'ksvc', 'cold', '-o', 'json');
    expect(json.code, json.stderr).toBe(0);
    const doc = JSON.parse(json.stdout) as { object: { kind: string; metadata: { name: string } }; conditions: { type: string; status: string }[]; events: { reason: string; type: string }[] };
    expect(doc.object).toMatchObject({ kind: 'Service', metadata: { name: 'cold' } });
    expect(doc.conditions).toContainEqual(expect.objectContaining({ type: 'Ready', status: 'True' }));
    expect(doc.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Created', 'Ready']));
  });

  it('shows a broker and a trigger with their conditions and Ready events', async () => {
    let broker = '';
    await waitFor(async () => {
      broker = (await cli('describe', 'broker', 'default')).stdout;
      return /^  Normal\s+Ready\s+/m.test(broker);
    }, 10_000, { message: 'broker Ready event' });
    expect(broker).toMatch(/^  Address:\s+http:\/\/127\.0\.0\.1:\d+\/brokers\/default\/default$/m);
    expect(broker).toMatch(/^  Ready\s+True\s+\d+s$/m);
    let trigger = '';
    await waitFor(async () => {
      trigger = (await cli('describe', 'trigger', 'to-cold')).stdout;
      return /^  Normal\s+Ready\s+\d+s\s+Trigger is Ready$/m.test(trigger);
    }, 10_000, { message: 'trigger Ready event' });
    expect(trigger).toMatch(/^  Broker:\s+default$/m);
    expect(trigger).toMatch(/^  Subscriber:\s+ksvc:cold$/m);
  });

  it('fails with a hint for an unknown name and a guess for a misspelt kind', async () => {
    const missing = await cli('describe', 'ksvc', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: service "nope" not found in namespace "default" (list them with "zeno get services -A")\n');
    const kind = await cli('describe', 'brokr', 'default');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toMatch(/^error: unknown kind "brokr" \(did you mean "broker"\?\)/);
  });
});

describe('zeno top', () => {
  it('--once prints the service with its replicas, RPS and latency', async () => {
    let out = '';
    await waitFor(async () => {
      out = (await cli('top', '--once')).stdout;
      return /^cold\s+True\s+1\/1\s/m.test(out);
    }, 10_000, { message: 'cold with 1/1 replicas in zeno top' });
    expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+REPLICAS\s+RPS\s+P50\s+P99\s+INFLIGHT\s+QUEUED$/);
    const json = JSON.parse((await cli('top', '-o', 'json')).stdout) as { items: { name: string; readyReplicas: number; p50Ms: number | null }[] };
    const row = json.items.find((i) => i.name === 'cold');
    expect(row?.readyReplicas).toBe(1);
  });
});

describe('completion', () => {
  it('prints a bash script that bash -n accepts, and completes the names of the running platform', async () => {
    const r = await cli('completion', 'bash');
    expect(r.code).toBe(0);
    const file = path.join(work, 'zeno.bash');
    fs.writeFileSync(file, r.stdout);
    expect(() => execFileSync('bash', ['-n', file], { stdio: 'pipe' })).not.toThrow();
    const names = await cli('__complete', 'describe', 'ksvc', 'c');
    expect(names.stdout).toBe('cold\n');
    const kinds = await cli('__complete', 'get', 'trig');
    expect(kinds.stdout).toBe('trigger\ntriggers\n');
  });
});

describe('zeno scale', () => {
  it('sets min/max scale on a new revision and waits until it has the replicas', async () => {
    const r = await cli('scale', 'scaled', '--replicas', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('service.serving.knative.dev/scaled configured (scale 2)\n');
    expect(r.stderr).toMatch(/^ +\d+\.\ds scaled: 2 ready replicas$/m);
    const rev = JSON.parse((await cli('get', 'rev', 'scaled-00002', '-o', 'json')).stdout) as { metadata: { annotations?: Record<string, string> }; status: { actualReplicas: number } };
    expect(rev.status.actualReplicas).toBe(2);
  });

  it('gives min-scale pods to a new revision whose template also says initial-scale 0', async () => {
    const r = await cli('scale', 'cold', '--min', '2');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^ +\d+\.\ds cold: 2 ready replicas$/m);
  });
});

describe('zeno delete progress', () => {
  it('waits until the service is gone, printing its final state', async () => {
    const r = await cli('delete', 'ksvc', 'cold');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('service.serving.knative.dev/cold deleted\n');
    expect(r.stderr).toMatch(/^ +\d+\.\ds cold: deleted$/m);
  });
});
