import { describe, expect, it } from 'vitest';
import {
  isCIdentifier, isDns1035Label, isDns1123Label, isDns1123Subdomain, isQualifiedName, isValidLabelValue,
  validateAnnotations, validateLabels, validateObjectMeta,
} from './names.js';

const cases: { label: string; check: (v: string) => string[]; input: string; want: boolean }[] = [
  { label: '1035 ok', check: isDns1035Label, input: 'hello-world', want: true },
  { label: '1035 starts with digit', check: isDns1035Label, input: '1hello', want: false },
  { label: '1035 upper', check: isDns1035Label, input: 'Hello', want: false },
  { label: '1035 trailing dash', check: isDns1035Label, input: 'hello-', want: false },
  { label: '1035 63 chars', check: isDns1035Label, input: `a${'b'.repeat(62)}`, want: true },
  { label: '1035 64 chars', check: isDns1035Label, input: `a${'b'.repeat(63)}`, want: false },
  { label: '1035 dot', check: isDns1035Label, input: 'a.b', want: false },
  { label: '1123 label digit start', check: isDns1123Label, input: '1abc', want: true },
  { label: '1123 label dot', check: isDns1123Label, input: 'a.b', want: false },
  { label: '1123 subdomain dots', check: isDns1123Subdomain, input: 'a.b-c.d', want: true },
  { label: '1123 subdomain empty label', check: isDns1123Subdomain, input: 'a..b', want: false },
  { label: '1123 subdomain 254 chars', check: isDns1123Subdomain, input: 'a'.repeat(254), want: false },
  { label: 'qualified plain', check: isQualifiedName, input: 'app', want: true },
  { label: 'qualified prefixed', check: isQualifiedName, input: 'autoscaling.knative.dev/min-scale', want: true },
  { label: 'qualified underscore and caps', check: isQualifiedName, input: 'My_Key.x', want: true },
  { label: 'qualified empty prefix', check: isQualifiedName, input: '/x', want: false },
  { label: 'qualified two slashes', check: isQualifiedName, input: 'a/b/c', want: false },
  { label: 'qualified name part 64', check: isQualifiedName, input: 'x'.repeat(64), want: false },
  { label: 'qualified bad prefix', check: isQualifiedName, input: 'Bad_Prefix/x', want: false },
  { label: 'label value empty', check: isValidLabelValue, input: '', want: true },
  { label: 'label value space', check: isValidLabelValue, input: 'a b', want: false },
  { label: 'C identifier', check: isCIdentifier, input: '_MY_VAR1', want: true },
  { label: 'C identifier dash', check: isCIdentifier, input: 'MY-VAR', want: false },
  { label: 'C identifier digit start', check: isCIdentifier, input: '1VAR', want: false },
];

describe('name checks', () => {
  it.each(cases)('$label', ({ check, input, want }) => {
    expect(check(input).length === 0).toBe(want);
  });

  it('uses Kubernetes messages', () => {
    expect(isDns1035Label(`a${'b'.repeat(63)}`)).toContain('must be no more than 63 characters');
    expect(isDns1035Label('1a')[0]).toMatch(/^a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/);
    expect(isQualifiedName('/x')).toContain('prefix part must be non-empty');
  });
});

describe('validateObjectMeta', () => {
  const table: { label: string; input: unknown; want: string[] }[] = [
    { label: 'ok', input: { name: 'hello', namespace: 'team-a', labels: { app: 'x' }, annotations: { 'a.dev/b': 'anything at all' } }, want: [] },
    { label: 'missing metadata', input: undefined, want: ['metadata'] },
    { label: 'missing name', input: { namespace: 'default' }, want: ['metadata.name'] },
    { label: 'bad name', input: { name: 'Hello' }, want: ['metadata.name'] },
    { label: 'bad namespace', input: { name: 'a', namespace: 'Team_A' }, want: ['metadata.namespace'] },
    { label: 'bad label key', input: { name: 'a', labels: { 'a b': 'x' } }, want: ['metadata.labels["a b"]'] },
    { label: 'number label value', input: { name: 'a', labels: { v: 1 } }, want: ['metadata.labels["v"]'] },
    { label: 'bad annotation key', input: { name: 'a', annotations: { 'x/y/z': 'v' } }, want: ['metadata.annotations["x/y/z"]'] },
  ];
  it.each(table)('$label', ({ input, want }) => {
    expect(validateObjectMeta(input, 'metadata', 'dns1035-label').map((i) => i.path)).toEqual(want);
  });

  it('checks the name by the rule given', () => {
    expect(validateObjectMeta({ name: 'config.x' }, 'metadata', 'dns1123-subdomain')).toEqual([]);
    expect(validateObjectMeta({ name: 'config.x' }, 'metadata', 'dns1035-label')[0]!.message).toMatch(/^not a DNS 1035 label/);
  });

  it('limits total annotation size to 256 KiB', () => {
    expect(validateAnnotations({ a: 'x'.repeat(256 * 1024) }, 'm.annotations').map((i) => i.path)).toEqual(['m.annotations']);
    expect(validateAnnotations({ a: 'x'.repeat(1024) }, 'm.annotations')).toEqual([]);
  });

  it('label values are short', () => {
    expect(validateLabels({ a: 'x'.repeat(64) }, 'l')).toHaveLength(1);
  });
});
