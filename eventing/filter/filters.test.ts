import { describe, it, expect } from 'vitest';
import { compileFilters, type FilterResult, type TriggerFilterSpec } from './filters.js';

const EVENT = {
  specversion: '1.0',
  id: 'e1',
  source: 'https://example.com/src',
  type: 'com.example.order.created',
  subject: 'orders/42',
  datacontenttype: 'application/JSON; charset=utf-8',
  myext: 'customext',
  myint: 10,
};
const NO_SUBJECT = { specversion: '1.0', id: 'e2', source: '/s', type: 't' };

function match(spec: TriggerFilterSpec, attrs: Record<string, unknown> = EVENT): FilterResult {
  const c = compileFilters(spec);
  if ('issues' in c) throw new Error(`unexpected issues: ${JSON.stringify(c.issues)}`);
  return c.match(attrs);
}

interface Case { label: string; spec: TriggerFilterSpec; attrs?: Record<string, unknown>; want: FilterResult }

describe('legacy spec.filter.attributes', () => {
  const cases: Case[] = [
    { label: 'no filter at all', spec: {}, want: 'nofilter' },
    { label: 'filter: {} (the defaulter\'s value)', spec: { filter: {} }, want: 'nofilter' },
    { label: 'empty attributes map passes', spec: { filter: { attributes: {} } }, want: 'pass' },
    { label: 'exact type match', spec: { filter: { attributes: { type: 'com.example.order.created' } } }, want: 'pass' },
    { label: 'type mismatch', spec: { filter: { attributes: { type: 'other' } } }, want: 'fail' },
    { label: 'case-sensitive', spec: { filter: { attributes: { type: 'COM.EXAMPLE.ORDER.CREATED' } } }, want: 'fail' },
    { label: 'all entries must match', spec: { filter: { attributes: { type: 'com.example.order.created', source: 'x' } } }, want: 'fail' },
    { label: 'extension match', spec: { filter: { attributes: { myext: 'customext' } } }, want: 'pass' },
    { label: '"" = extension present', spec: { filter: { attributes: { myext: '' } } }, want: 'pass' },
    { label: '"" with extension missing fails', spec: { filter: { attributes: { otherext: '' } } }, want: 'fail' },
    { label: 'missing extension with value fails', spec: { filter: { attributes: { otherext: 'x' } } }, want: 'fail' },
    { label: '"" on unset subject fails (present but empty)', spec: { filter: { attributes: { subject: '' } } }, attrs: NO_SUBJECT, want: 'fail' },
    { label: '"" on set subject passes', spec: { filter: { attributes: { subject: '' } } }, want: 'pass' },
    { label: 'non-string extension never equals its text (Go interface compare)', spec: { filter: { attributes: { myint: '10' } } }, want: 'fail' },
    { label: 'non-string extension is present for ""', spec: { filter: { attributes: { myint: '' } } }, want: 'pass' },
    { label: 'datamediatype is the lower-cased media type', spec: { filter: { attributes: { datamediatype: 'application/json' } } }, want: 'pass' },
    { label: 'schemaurl reads dataschema', spec: { filter: { attributes: { schemaurl: 'https://s' } } }, attrs: { ...EVENT, dataschema: 'https://s' }, want: 'pass' },
  ];
  for (const c of cases) it(c.label, () => expect(match(c.spec, c.attrs)).toBe(c.want));
});

describe('spec.filters dialects', () => {
  const cases: Case[] = [
    { label: 'exact pass', spec: { filters: [{ exact: { type: 'com.example.order.created' } }] }, want: 'pass' },
    { label: 'exact fail', spec: { filters: [{ exact: { type: 'com.example' } }] }, want: 'fail' },
    { label: 'exact on missing extension fails', spec: { filters: [{ exact: { nope: 'x' } }] }, want: 'fail' },
    { label: 'exact compares non-string values by text', spec: { filters: [{ exact: { myint: '10' } }] }, want: 'pass' },
    { label: 'exact with two entries: both must match', spec: { filters: [{ exact: { type: 'com.example.order.created', myext: 'nope' } }] }, want: 'fail' },
    { label: 'prefix pass', spec: { filters: [{ prefix: { type: 'com.example.' } }] }, want: 'pass' },
    { label: 'prefix fail', spec: { filters: [{ prefix: { type: 'org.' } }] }, want: 'fail' },
    { label: 'prefix on missing extension fails', spec: { filters: [{ prefix: { nope: 'c' } }] }, want: 'fail' },
    { label: 'suffix pass', spec: { filters: [{ suffix: { type: '.created' } }] }, want: 'pass' },
    { label: 'suffix fail', spec: { filters: [{ suffix: { type: '.deleted' } }] }, want: 'fail' },
    { label: 'suffix on missing extension fails', spec: { filters: [{ suffix: { nope: 'x' } }] }, want: 'fail' },
    { label: 'list is ANDed: one fails', spec: { filters: [{ prefix: { type: 'com.' } }, { exact: { myext: 'no' } }] }, want: 'fail' },
    { label: 'list is ANDed: all pass', spec: { filters: [{ prefix: { type: 'com.' } }, { exact: { myext: 'customext' } }] }, want: 'pass' },
    { label: 'all pass', spec: { filters: [{ all: [{ prefix: { type: 'com.' } }, { suffix: { type: 'created' } }] }] }, want: 'pass' },
    { label: 'all fail', spec: { filters: [{ all: [{ prefix: { type: 'com.' } }, { suffix: { type: 'deleted' } }] }] }, want: 'fail' },
    { label: 'any: one passes', spec: { filters: [{ any: [{ exact: { type: 'x' } }, { exact: { myext: 'customext' } }] }] }, want: 'pass' },
    { label: 'any: none passes', spec: { filters: [{ any: [{ exact: { type: 'x' } }, { exact: { myext: 'y' } }] }] }, want: 'fail' },
    { label: 'not flips fail to pass', spec: { filters: [{ not: { exact: { type: 'x' } } }] }, want: 'pass' },
    { label: 'not flips pass to fail', spec: { filters: [{ not: { exact: { myext: 'customext' } } }] }, want: 'fail' },
    { label: 'not of missing extension passes', spec: { filters: [{ not: { exact: { nope: 'x' } } }] }, want: 'pass' },
    { label: 'not of an empty filter is nofilter', spec: { filters: [{ not: {} }] }, want: 'nofilter' },
    { label: 'cesql true', spec: { filters: [{ cesql: "type LIKE 'com.example.%' AND myint > 5" }] }, want: 'pass' },
    { label: 'cesql false', spec: { filters: [{ cesql: "myext = 'other'" }] }, want: 'fail' },
    { label: 'cesql missing attribute fails', spec: { filters: [{ cesql: "nope LIKE 'c%'" }] }, want: 'fail' },
    { label: 'cesql NOT over missing attribute still fails (error)', spec: { filters: [{ cesql: 'NOT (nope = 1)' }] }, want: 'fail' },
    { label: 'cesql OR short-circuits past an error', spec: { filters: [{ cesql: "TRUE OR 1 / 0 = 0" }] }, want: 'pass' },
    { label: 'cesql math error fails', spec: { filters: [{ cesql: "1 / 0 = 0" }] }, want: 'fail' },
    { label: 'cesql non-boolean result fails', spec: { filters: [{ cesql: "'true'" }] }, want: 'fail' },
    { label: 'cesql empty string is skipped', spec: { filters: [{ cesql: '' }] }, want: 'nofilter' },
    { label: 'empty exact map is skipped → nofilter', spec: { filters: [{ exact: {} }] }, want: 'nofilter' },
    { label: 'element with no dialect is skipped', spec: { filters: [{}, { exact: { type: 'com.example.order.created' } }] }, want: 'pass' },
    { label: 'all: last result wins when none fails (pass, nofilter)', spec: { filters: [{ exact: { myext: 'customext' } }, { not: {} }] }, want: 'nofilter' },
    { label: 'all: (nofilter, pass) is pass', spec: { filters: [{ not: {} }, { exact: { myext: 'customext' } }] }, want: 'pass' },
    { label: 'any: (fail, nofilter) is nofilter', spec: { filters: [{ any: [{ exact: { type: 'x' } }, { not: {} }] }] }, want: 'nofilter' },
    { label: 'filters override filter', spec: { filter: { attributes: { type: 'nope' } }, filters: [{ exact: { myext: 'customext' } }] }, want: 'pass' },
    { label: 'filters override filter (fail side)', spec: { filter: { attributes: { type: 'com.example.order.created' } }, filters: [{ exact: { myext: 'x' } }] }, want: 'fail' },
    { label: 'empty filters falls back to filter', spec: { filter: { attributes: { type: 'nope' } }, filters: [] }, want: 'fail' },
    { label: 'empty filters and no filter', spec: { filters: [] }, want: 'nofilter' },
    { label: 'nested not/any/all', spec: { filters: [{ not: { any: [{ all: [{ prefix: { type: 'org.' } }] }, { suffix: { source: '.net' } }] } }] }, want: 'pass' },
    { label: 'exact on subject unset compares ""', spec: { filters: [{ exact: { subject: 'x' } }] }, attrs: NO_SUBJECT, want: 'fail' },
  ];
  for (const c of cases) it(c.label, () => expect(match(c.spec, c.attrs)).toBe(c.want));
});

describe('compileFilters issues (admission)', () => {
  const cases: Array<{ label: string; spec: unknown; want: Array<{ path: string; message: RegExp }> }> = [
    { label: 'bad cesql names spec.filters[i].cesql and the column', spec: { filters: [{ exact: { type: 'a' } }, { cesql: "type = 'a' AND" }] }, want: [{ path: 'spec.filters[1].cesql', message: /column 15: expected a value, found end of expression/ }] },
    { label: 'nested bad cesql path', spec: { filters: [{ all: [{ not: { cesql: 'a LIKE 1' } }] }] }, want: [{ path: 'spec.filters[0].all[0].not.cesql', message: /LIKE must be followed by a string literal/ }] },
    { label: 'multiple dialects', spec: { filters: [{ exact: { a: 'b' }, suffix: { a: 'b' } }] }, want: [{ path: 'spec.filters[0]', message: /multiple dialects found/ }] },
    { label: 'bad attribute name in exact', spec: { filters: [{ exact: { SOURCE: 'x' } }] }, want: [{ path: 'spec.filters[0].exact[SOURCE]', message: /lowercase alphanumeric/ }] },
    { label: 'empty value in prefix', spec: { filters: [{ prefix: { type: '' } }] }, want: [{ path: 'spec.filters[0].prefix[type]', message: /non-empty/ }] },
    { label: 'empty all', spec: { filters: [{ all: [] }] }, want: [{ path: 'spec.filters[0].all', message: /at least one nested filter/ }] },
    { label: 'empty any', spec: { filters: [{ any: [] }] }, want: [{ path: 'spec.filters[0].any', message: /at least one nested filter/ }] },
    { label: 'unknown dialect', spec: { filters: [{ sql: "a = 'b'" }] }, want: [{ path: 'spec.filters[0].sql', message: /unknown filter dialect/ }] },
    { label: 'filters not a list', spec: { filters: { exact: { a: 'b' } } }, want: [{ path: 'spec.filters', message: /list/ }] },
    { label: 'legacy bad key', spec: { filter: { attributes: { 's-pace': 'x' } } }, want: [{ path: 'spec.filter.attributes[s-pace]', message: /lowercase alphanumeric/ }] },
    { label: 'legacy key starting with a digit', spec: { filter: { attributes: { '123': 'x' } } }, want: [{ path: 'spec.filter.attributes[123]', message: /lowercase alphanumeric/ }] },
  ];
  for (const c of cases) {
    it(c.label, () => {
      const r = compileFilters(c.spec as TriggerFilterSpec);
      expect('issues' in r).toBe(true);
      const issues = (r as { issues: Array<{ path: string; message: string }> }).issues;
      expect(issues.map((i) => i.path)).toStrictEqual(c.want.map((w) => w.path));
      c.want.forEach((w, i) => expect(issues[i]!.message).toMatch(w.message));
    });
  }
});
