import { describe, expect, it } from 'vitest';
import { matchesLabels, parseFieldSelector, parseLabelSelector } from './selector.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'serving.knative.dev/revision': 'hello-00001' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['app in (db,web)', true],
    ['app in (db)', false],
    ['app notin (db)', true],
    ['tier notin (front, back)', false],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
    ['serving.knative.dev/revision=hello-00001', true],
    ['app in (web),!missing,tier', true],
  ])('%s → %s', (sel, want) => {
    expect(matchesLabels(parseLabelSelector(sel), labels)).toBe(want);
  });

  it.each(['app in (web', 'a=b,,c', 'bad key!=x', 'app=has space', '=x'])('rejects %s', (sel) => {
    expect(() => parseLabelSelector(sel)).toThrow();
  });
});

describe('field selectors', () => {
  it('matches metadata.name and metadata.namespace, rejects other fields', () => {
    const f = parseFieldSelector('metadata.name=a,metadata.namespace!=kube-system');
    expect(f({ metadata: { name: 'a', namespace: 'default' } })).toBe(true);
    expect(f({ metadata: { name: 'b', namespace: 'default' } })).toBe(false);
    expect(f({ metadata: { name: 'a', namespace: 'kube-system' } })).toBe(false);
    expect(() => parseFieldSelector('status.phase=Running')).toThrow(/not supported/);
  });
});
