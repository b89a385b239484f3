/**
 * Kubernetes label selectors in their query-string form
 * (`a=b,c!=d,e in (x,y),f notin (z),g,!h`), as the API server parses
 * `?labelSelector=`. Pure: parse once, match many.
 */
export type Requirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists' };

export class SelectorError extends Error {}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new SelectorError(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (value.length > 63 || !VALUE.test(value)) throw new SelectorError(`invalid label value "${value}"`);
  return value;
}

/** Splits on commas that are not inside a `( … )` value set. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (depth !== 0) throw new SelectorError(`unbalanced parentheses in "${s}"`);
  out.push(cur);
  return out;
}

export function parseLabelSelector(text: string | null | undefined): Requirement[] {
  if (!text || !text.trim()) return [];
  const reqs: Requirement[] = [];
  for (const raw of splitTerms(text)) {
    const term = raw.trim();
    if (!term) throw new SelectorError(`empty term in "${text}"`);
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^(\S+)\s+(in|notin)\s*\((.*)\)$/))) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim()));
      reqs.push({ key: checkKey(m[1]!), op: m[2] as 'in' | 'notin', values });
    } else if ((m = term.match(/^([^!=\s]+)\s*!=\s*(\S*)$/))) {
      reqs.push({ key: checkKey(m[1]!), op: 'notin', values: [checkValue(m[2]!)] });
    } else if ((m = term.match(/^([^!=\s]+)\s*==?\s*(\S*)$/))) {
      reqs.push({ key: checkKey(m[1]!), op: 'in', values: [checkValue(m[2]!)] });
    } else if ((m = term.match(/^!\s*(\S+)$/))) {
      reqs.push({ key: checkKey(m[1]!), op: '!exists' });
    } else if ((m = term.match(/^(\S+)$/))) {
      reqs.push({ key: checkKey(m[1]!), op: 'exists' });
    } else {
      throw new SelectorError(`cannot parse label selector term "${term}"`);
    }
  }
  return reqs;
}

export function matchesLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]!);
      case 'notin':
        return !has || !r.values.includes(l[r.key]!);
    }
  });
}

/** `spec.selector.matchLabels` of a Deployment or a Service's `spec.selector`, as requirements. */
export function fromMatchLabels(m: Record<string, string> | undefined): Requirement[] {
  return Object.entries(m ?? {}).map(([key, v]) => ({ key, op: 'in' as const, values: [v] }));
}

/** Field selectors the fake serves: equality (and `!=`) on metadata.name and metadata.namespace. */
export function parseFieldSelector(text: string | null | undefined): (obj: { metadata?: { name?: string; namespace?: string } }) => boolean {
  if (!text || !text.trim()) return () => true;
  const tests = text.split(',').map((term) => {
    const m = term.trim().match(/^(metadata\.name|metadata\.namespace)\s*(!=|==|=)\s*(\S*)$/);
    if (!m) throw new SelectorError(`field selector "${term}" is not supported (metadata.name, metadata.namespace)`);
    const field = m[1] === 'metadata.name' ? 'name' : 'namespace';
    const neg = m[2] === '!=';
    return (o: { metadata?: { name?: string; namespace?: string } }) => (o.metadata?.[field] === m[3]) !== neg;
  });
  return (o) => tests.every((t) => t(o));
}
