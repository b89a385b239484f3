import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test/support/wait.js';
import type { FunctionRuntime, PodInfo, PodTemplate, RuntimeEvent } from './runtime.js';

/**
 * One backend under test. Every backend runs the same suite: what the
 * platform above the runtime relies on, whatever runs the pods.
 */
export interface RuntimeHarness {
  runtime: FunctionRuntime;
  /** A template for a fresh revision (unique name) whose pods answer HTTP. */
  template(over?: Partial<PodTemplate>): PodTemplate;
  /** A template whose pods can be made to fail readiness with breakReadiness(). */
  breakableTemplate(): PodTemplate;
  breakReadiness(pod: PodInfo): Promise<void>;
  /** The environment the pod's container sees. */
  env(pod: PodInfo): Promise<Record<string, string>>;
  /** Stops the runtime and anything the harness started. */
  dispose(): Promise<void>;
}

const T = 30_000;
const WAIT = 15_000;

function count(events: RuntimeEvent[], type: RuntimeEvent['type'], revision?: string): number {
  return events.filter((e) => e.type === type && (!revision || e.revision === revision)).length;
}

export function runFunctionRuntimeContract(name: string, makeHarness: () => Promise<RuntimeHarness>): void {
  describe(`FunctionRuntime contract: ${name}`, () => {
    let h: RuntimeHarness;
    let events: RuntimeEvent[];
    beforeEach(async () => {
      h = await makeHarness();
      events = [];
      h.runtime.subscribe((e) => events.push(e));
    });
    afterEach(async () => {
      await h.dispose();
    });

    it('deploy registers a revision at zero; deploy again is a no-op; unknown revisions are ignored', { timeout: T }, () => {
      const t = h.template();
      h.runtime.deploy(t);
      h.runtime.deploy({ ...t, env: { CHANGED: '1' } });
      expect(h.runtime.status(t.id)).toEqual({ desired: 0, ready: 0, pods: [] });
      expect(h.runtime.readyPods(t.id)).toEqual([]);
      expect(() => h.runtime.scale('default/never-deployed', 2)).not.toThrow();
      expect(h.runtime.status('default/never-deployed')).toBeUndefined();
      expect(h.runtime.readyPods('default/never-deployed')).toEqual([]);
      expect(h.runtime.logs('default/never-deployed')).toEqual([]);
    });

    it('scale 1 → one pod-ready with a URL that answers, with the runtime contract env; scale 0 → unready, then gone', { timeout: T }, async () => {
      const t = h.template({ env: { GREETING: 'hi' } });
      h.runtime.deploy(t);
      h.runtime.scale(t.id, 1);
      expect(h.runtime.status(t.id)!.desired).toBe(1);
      await waitFor(() => h.runtime.readyPods(t.id).length === 1, WAIT, { message: 'one ready pod' });
      const pod = h.runtime.readyPods(t.id)[0]!;
      expect(pod).toMatchObject({ revision: t.id, state: 'ready' });
      expect(pod.url).toMatch(/^http:\/\/[^/]+:\d+$/);
      expect(pod.readyAt).toBeGreaterThan(0);
      expect(events.filter((e) => e.type === 'pod-ready')).toEqual([{ type: 'pod-ready', revision: t.id, pod: expect.objectContaining({ id: pod.id, url: pod.url }) }]);
      expect(h.runtime.status(t.id)).toMatchObject({ desired: 1, ready: 1, pods: [expect.objectContaining({ id: pod.id, state: 'ready' })] });
      expect((await fetch(`${pod.url}/`)).status).toBe(200);
      expect(await h.env(pod)).toMatchObject({ K_SERVICE: t.service, K_CONFIGURATION: t.configuration, K_REVISION: t.revision, GREETING: 'hi' });

      h.runtime.scale(t.id, 0);
      await waitFor(() => count(events, 'pod-unready', t.id) === 1, WAIT, { message: 'pod-unready' });
      expect(h.runtime.readyPods(t.id)).toEqual([]);
      expect(events.find((e) => e.type === 'pod-unready')).toMatchObject({ pod: { id: pod.id } });
      await waitFor(() => h.runtime.status(t.id)!.pods.length === 0, WAIT, { message: 'pods gone' });
      expect(h.runtime.status(t.id)).toMatchObject({ desired: 0, ready: 0 });
      expect(events.filter((e) => e.revision === t.id).map((e) => e.type).slice(0, 2)).toEqual(['pod-ready', 'pod-unready']);
    });

    it('scales to N and back down to 1, keeping one ready pod', { timeout: T }, async () => {
      const t = h.template();
      h.runtime.deploy(t);
      h.runtime.scale(t.id, 3);
      await waitFor(() => h.runtime.readyPods(t.id).length === 3, WAIT, { message: 'three ready pods' });
      const ids = h.runtime.readyPods(t.id).map((p) => p.id);
      expect(new Set(ids).size).toBe(3);
      h.runtime.scale(t.id, 1);
      await waitFor(() => h.runtime.readyPods(t.id).length === 1 && h.runtime.status(t.id)!.pods.length === 1, WAIT, { message: 'one pod left' });
      expect(ids).toContain(h.runtime.readyPods(t.id)[0]!.id);
      expect(count(events, 'pod-unready', t.id)).toBe(2);
    });

    it('a pod that fails readiness leaves routing with pod-unready', { timeout: T }, async () => {
      const t = h.breakableTemplate();
      h.runtime.deploy(t);
      h.runtime.scale(t.id, 1);
      await waitFor(() => h.runtime.readyPods(t.id).length === 1, WAIT, { message: 'ready' });
      const pod = h.runtime.readyPods(t.id)[0]!;
      await h.breakReadiness(pod);
      await waitFor(() => count(events, 'pod-unready', t.id) === 1, WAIT, { message: 'pod-unready' });
      expect(h.runtime.readyPods(t.id)).toEqual([]);
      expect(h.runtime.status(t.id)!.pods).toEqual([expect.objectContaining({ id: pod.id, state: 'starting' })]);
    });

    it('keeps the pods’ log lines per revision and streams new ones', { timeout: T }, async () => {
      const t = h.template();
      h.runtime.deploy(t);
      const followed: string[] = [];
      const stop = h.runtime.followLogs(t.id, (l) => followed.push(l.line));
      h.runtime.scale(t.id, 1);
      await waitFor(() => h.runtime.readyPods(t.id).length === 1, WAIT);
      const pod = h.runtime.readyPods(t.id)[0]!;
      await waitFor(() => h.runtime.logs(t.id).some((l) => l.line.startsWith('listening on')), WAIT, { message: 'the start-up line' });
      const line = h.runtime.logs(t.id).find((l) => l.line.startsWith('listening on'))!;
      expect(line).toMatchObject({ pod: pod.id, stream: 'stdout' });
      expect(line.time).toBeGreaterThan(0);
      expect(followed.some((l) => l.startsWith('listening on'))).toBe(true);
      expect(h.runtime.logs(t.id, { tail: 1 })).toHaveLength(1);
      stop();
    });

    it('remove stops the pods and forgets the revision; unsubscribe stops events', { timeout: T }, async () => {
      const t = h.template();
      h.runtime.deploy(t);
      h.runtime.scale(t.id, 1);
      await waitFor(() => h.runtime.readyPods(t.id).length === 1, WAIT);
      await h.runtime.remove(t.id);
      expect(h.runtime.status(t.id)).toBeUndefined();
      expect(h.runtime.readyPods(t.id)).toEqual([]);
      expect(h.runtime.logs(t.id)).toEqual([]);
      expect(count(events, 'pod-unready', t.id)).toBe(1);

      const seen: RuntimeEvent[] = [];
      const off = h.runtime.subscribe((e) => seen.push(e));
      off();
      const t2 = h.template();
      h.runtime.deploy(t2);
      h.runtime.scale(t2.id, 1);
      await waitFor(() => h.runtime.readyPods(t2.id).length === 1, WAIT);
      expect(seen).toEqual([]);
      expect(count(events, 'pod-ready', t2.id)).toBe(1);
    });
  });
}
