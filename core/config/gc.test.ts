import { describe, expect, it } from 'vitest';
import { DEFAULT_GC_CONFIG, parseGcConfigMap, revisionsToCollect, type GcCandidate } from './gc.js';

const H = 3_600_000;

describe('parseGcConfigMap', () => {
  const cases: { label: string; data: Record<string, string>; want?: Partial<typeof DEFAULT_GC_CONFIG>; bad?: string }[] = [
    { label: 'defaults (gc.yaml)', data: {}, want: { retainSinceCreateTimeMs: 48 * H, retainSinceLastActiveTimeMs: 15 * H, minNonActiveRevisions: 20, maxNonActiveRevisions: 1000 } },
    { label: 'durations and counts', data: { 'retain-since-create-time': '1h', 'retain-since-last-active-time': '30m', 'min-non-active-revisions': '2', 'max-non-active-revisions': '5' }, want: { retainSinceCreateTimeMs: H, retainSinceLastActiveTimeMs: H / 2, minNonActiveRevisions: 2, maxNonActiveRevisions: 5 } },
    { label: 'disabled', data: { 'retain-since-create-time': 'disabled', 'max-non-active-revisions': 'disabled' }, want: { retainSinceCreateTimeMs: Infinity, maxNonActiveRevisions: Infinity } },
    { label: 'bad duration', data: { 'retain-since-create-time': 'soon' }, bad: 'data.retain-since-create-time' },
    { label: 'bad count', data: { 'min-non-active-revisions': '-1' }, bad: 'data.min-non-active-revisions' },
    { label: 'max below min', data: { 'min-non-active-revisions': '5', 'max-non-active-revisions': '2' }, bad: 'data.max-non-active-revisions' },
  ];
  for (const c of cases) {
    it(c.label, () => {
      const r = parseGcConfigMap(c.data);
      if (c.bad) expect(r.issues.map((i) => i.path)).toEqual([c.bad]);
      else {
        expect(r.issues).toEqual([]);
        expect(r.config).toMatchObject(c.want!);
      }
    });
  }
});

describe('revisionsToCollect', () => {
  const now = 100 * H;
  const rev = (name: string, ageH: number, idleH: number, keep = false): GcCandidate => ({ name, createdMs: now - ageH * H, lastActiveMs: now - idleH * H, keep });
  const cfg = { retainSinceCreateTimeMs: 48 * H, retainSinceLastActiveTimeMs: 15 * H, minNonActiveRevisions: 1, maxNonActiveRevisions: 3 };
  const cases: { label: string; revs: GcCandidate[]; want: string[] }[] = [
    { label: 'keeps min-non-active, newest-active first', revs: [rev('a', 60, 20), rev('b', 60, 30)], want: ['b'] },
    { label: 'young by creation: kept', revs: [rev('a', 60, 20), rev('b', 10, 30)], want: [] },
    { label: 'recently active: kept', revs: [rev('a', 60, 1), rev('b', 60, 10)], want: [] },
    { label: 'no-gc: never collected, and does not count', revs: [rev('a', 60, 20, true), rev('b', 60, 30)], want: [] },
    { label: 'beyond max: collected even when young', revs: [rev('a', 1, 1), rev('b', 1, 2), rev('c', 1, 3), rev('d', 1, 4)], want: ['d'] },
  ];
  for (const c of cases) it(c.label, () => expect(revisionsToCollect(c.revs, cfg, now)).toEqual(c.want));
});
