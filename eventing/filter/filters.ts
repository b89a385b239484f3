/**
 * Trigger filters: legacy `spec.filter.attributes` and the SubscriptionsAPI
 * `spec.filters` dialects, with Knative's three-valued result
 * (knative/eventing pkg/eventfilter/filter.go: PassFilter, FailFilter, NoFilter).
 * The broker delivers on 'pass' and 'nofilter' and drops on 'fail'.
 *
 * Semantics follow knative/eventing pkg/eventfilter (see
 * shared/reference/knative-eventing.md §1 "Legacy filter.attributes" and "filters"):
 *  - a non-empty `filters` list overrides `filter`; it is ANDed (wrapped in `all`).
 *    An empty or absent list falls back to `filter` (subscriptionsapi/create.go,
 *    broker filter handler).
 *  - `all` returns the result of the last filter unless one fails; `any` the last
 *    result unless one passes; both with a single member are that member
 *    (all_filter.go, any_filter.go). So `all: [pass, nofilter]` is 'nofilter'.
 *  - `not` swaps pass and fail and keeps 'nofilter' (not_filter.go).
 *  - An element with no dialect set (e.g. `{exact: {}}` or `{cesql: ''}`) is
 *    skipped, as MaterializeSubscriptionsAPIFilter returns nil for it.
 * Compile-time issues mirror the Trigger webhook (trigger_validation.go): one
 * dialect per element, attribute names `^[a-z][a-z0-9]*$`, non-empty `all`/`any`,
 * a CESQL expression that parses.
 */
import type { FieldIssue } from '../../core/errors.js';
import { CesqlParseError, evaluateCesql, parseCesql } from './cesql.js';

export type FilterResult = 'pass' | 'fail' | 'nofilter';

export type EventAttributes = Record<string, unknown>;

export interface CompiledFilter {
  match(attrs: EventAttributes): FilterResult;
}

export interface TriggerFilterSpec {
  filter?: { attributes?: Record<string, string> };
  filters?: unknown[];
}

type Fn = (attrs: EventAttributes) => FilterResult;

/** trigger_validation.go:38 */
const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

const DIALECTS = ['exact', 'prefix', 'suffix', 'all', 'any', 'not', 'cesql'] as const;
type Dialect = (typeof DIALECTS)[number];

/**
 * Knative's LookupAttribute (pkg/eventfilter/attributes/filter.go): the context
 * attributes are always "present" (an unset optional one reads as ''); anything
 * else is an extension, present only when set.
 */
function lookup(attrs: EventAttributes, name: string): { ok: boolean; value: unknown } {
  switch (name) {
    case 'specversion': case 'type': case 'source': case 'subject': case 'id': case 'datacontenttype':
      return { ok: true, value: attrs[name] ?? '' };
    case 'time': {
      const t = attrs.time;
      // sdk-go marshals an unset time as Go's zero time.
      if (t === undefined || t === null || t === '') return { ok: true, value: '0001-01-01T00:00:00Z' };
      return { ok: true, value: t instanceof Date ? t.toISOString() : t };
    }
    case 'dataschema': case 'schemaurl':
      return { ok: true, value: attrs.dataschema ?? attrs.schemaurl ?? '' };
    case 'datamediatype': {
      const ct = attrs.datacontenttype;
      return { ok: true, value: typeof ct === 'string' ? (ct.split(';')[0] ?? '').trim().toLowerCase() : '' };
    }
    case 'datacontentencoding':
      return { ok: true, value: attrs.datacontentencoding ?? '' };
    default: {
      const v = attrs[name];
      return v === undefined || v === null ? { ok: false, value: undefined } : { ok: true, value: v };
    }
  }
}

/** exact/prefix/suffix compare non-string values by their `%v` form (exact_filter.go). */
function asText(v: unknown): string {
  return typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v);
}

/**
 * Legacy attributes filter (attributes/filter.go): every entry must match; the
 * value '' means "present and non-empty"; a missing extension fails. Knative
 * compares the raw attribute value, so a non-string extension (e.g. the integer
 * 10) never equals the filter text "10".
 */
function legacyFilter(want: Record<string, string>): Fn {
  const entries = Object.entries(want);
  return (attrs) => {
    for (const [k, v] of entries) {
      const { ok, value } = lookup(attrs, k);
      if (!ok || (v === '' && value === '')) return 'fail';
      if (v !== '' && v !== value) return 'fail';
    }
    return 'pass';
  };
}

function stringMatch(entries: Array<[string, string]>, test: (value: string, want: string) => boolean): Fn {
  return (attrs) => {
    for (const [k, want] of entries) {
      const { ok, value } = lookup(attrs, k);
      if (!ok || !test(asText(value), want)) return 'fail';
    }
    return 'pass';
  };
}

function allOf(fns: Fn[]): Fn {
  if (fns.length === 1) return fns[0]!;
  return (attrs) => {
    let res: FilterResult = 'nofilter';
    for (const f of fns) {
      res = f(attrs);
      if (res === 'fail') return 'fail';
    }
    return res;
  };
}

function anyOf(fns: Fn[]): Fn {
  if (fns.length === 1) return fns[0]!;
  return (attrs) => {
    let res: FilterResult = 'nofilter';
    for (const f of fns) {
      res = f(attrs);
      if (res === 'pass') return 'pass';
    }
    return res;
  };
}

function notOf(inner: Fn | undefined): Fn {
  if (!inner) return () => 'nofilter';
  return (attrs) => {
    const r = inner(attrs);
    return r === 'pass' ? 'fail' : r === 'fail' ? 'pass' : 'nofilter';
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a dialect field counts as set, as Knative tests it (len > 0, != nil, != ""). */
function isSet(d: Dialect, v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (d === 'not') return true;
  if (d === 'cesql') return v !== '';
  if (d === 'all' || d === 'any') return !Array.isArray(v) || v.length > 0;
  return !isObject(v) || Object.keys(v).length > 0;
}

class Compiler {
  readonly issues: FieldIssue[] = [];

  private issue(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  private attributeMap(v: unknown, path: string): Array<[string, string]> {
    if (!isObject(v)) { this.issue(path, 'must be a map of attribute name to value'); return []; }
    const out: Array<[string, string]> = [];
    for (const [k, val] of Object.entries(v)) {
      if (!ATTRIBUTE_NAME.test(k)) {
        this.issue(`${path}[${k}]`, 'Attribute name must start with a letter and can only contain lowercase alphanumeric');
      } else if (typeof val !== 'string' || val === '') {
        // NewExactFilter/NewPrefixFilter/NewSuffixFilter reject empty values; Knative would
        // then silently skip the filter, so we reject it up front instead.
        this.issue(`${path}[${k}]`, 'value must be a non-empty string');
      } else out.push([k, val]);
    }
    return out;
  }

  private list(v: unknown, path: string): Fn[] {
    if (!Array.isArray(v)) { this.issue(path, 'must be a list of filters'); return []; }
    const out: Fn[] = [];
    v.forEach((el, i) => {
      const f = this.one(el, `${path}[${i}]`);
      if (f) out.push(f);
    });
    return out;
  }

  /** One SubscriptionsAPIFilter; undefined when no dialect is set (Knative skips it). */
  one(el: unknown, path: string): Fn | undefined {
    if (!isObject(el)) { this.issue(path, 'must be a filter object'); return undefined; }
    for (const key of Object.keys(el)) {
      if (!(DIALECTS as readonly string[]).includes(key)) this.issue(`${path}.${key}`, `unknown filter dialect; expected one of ${DIALECTS.join(', ')}`);
    }
    const set = DIALECTS.filter((d) => isSet(d, el[d]));
    if (set.length > 1) {
      this.issue(path, `multiple dialects found, filters can have only one dialect set (found ${set.join(', ')})`);
      return undefined;
    }
    const d = set[0];
    if (d === undefined) {
      for (const key of ['all', 'any'] as const) {
        if (Array.isArray(el[key])) this.issue(`${path}.${key}`, `${key === 'all' ? 'All' : 'Any'} must contain at least one nested filter`);
      }
      return undefined;
    }
    const v = el[d];
    const p = `${path}.${d}`;
    switch (d) {
      case 'exact': return stringMatch(this.attributeMap(v, p), (value, want) => value === want);
      case 'prefix': return stringMatch(this.attributeMap(v, p), (value, want) => value.startsWith(want));
      case 'suffix': return stringMatch(this.attributeMap(v, p), (value, want) => value.endsWith(want));
      case 'all': return allOf(this.list(v, p));
      case 'any': return anyOf(this.list(v, p));
      case 'not': return notOf(this.one(v, p));
      case 'cesql': {
        if (typeof v !== 'string') { this.issue(p, 'must be a CESQL expression string'); return undefined; }
        try {
          const ast = parseCesql(v);
          // Any evaluation error, or a result that is not exactly true, fails the filter
          // (cesql spec §1.2; Knative cesql_filter.go).
          return (attrs) => {
            const r = evaluateCesql(ast, attrs);
            return r.errors.length === 0 && r.value === true ? 'pass' : 'fail';
          };
        } catch (e) {
          if (e instanceof CesqlParseError) { this.issue(p, e.message); return undefined; }
          throw e;
        }
      }
    }
  }

  top(spec: TriggerFilterSpec): Fn {
    const filters = (spec as { filters?: unknown }).filters;
    if (filters !== undefined && filters !== null) {
      if (!Array.isArray(filters)) {
        this.issue('spec.filters', 'must be a list of filters');
      } else if (filters.length > 0) {
        // Validate `filter` too, so a broken legacy block is still reported.
        this.legacy(spec);
        return allOf(this.list(filters, 'spec.filters'));
      }
    }
    return this.legacy(spec);
  }

  private legacy(spec: TriggerFilterSpec): Fn {
    const filter = (spec as { filter?: unknown }).filter;
    if (filter === undefined || filter === null) return () => 'nofilter';
    if (!isObject(filter)) { this.issue('spec.filter', 'must be an object'); return () => 'nofilter'; }
    const attributes = filter.attributes;
    // A nil attributes map is NoFilter; an empty one passes every event (attributes/filter.go).
    if (attributes === undefined || attributes === null) return () => 'nofilter';
    if (!isObject(attributes)) { this.issue('spec.filter.attributes', 'must be a map of attribute name to value'); return () => 'nofilter'; }
    const want: Record<string, string> = {};
    for (const [k, v] of Object.entries(attributes)) {
      if (!ATTRIBUTE_NAME.test(k)) this.issue(`spec.filter.attributes[${k}]`, 'Attribute name must start with a letter and can only contain lowercase alphanumeric');
      else if (typeof v !== 'string') this.issue(`spec.filter.attributes[${k}]`, 'value must be a string');
      else want[k] = v;
    }
    return legacyFilter(want);
  }
}

/**
 * Compiles a Trigger's filter spec once; `match` is then a cheap closure walk.
 * Returns `{issues}` (field paths like `spec.filters[0].cesql`) when the spec
 * would be rejected at admission.
 */
export function compileFilters(spec: TriggerFilterSpec): CompiledFilter | { issues: FieldIssue[] } {
  const c = new Compiler();
  const fn = c.top(spec);
  if (c.issues.length > 0) return { issues: c.issues };
  return { match: fn };
}
