/**
 * Property-based fuzzing of the YAML loader and the validators behind
 * `zeno apply` and `zeno up --config`: whatever the text, parsing and
 * validating either give documents or issues that name the file, a line and
 * a field path — never an exception, never a hang. Runs are bounded
 * (numRuns) to keep this file within a few seconds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DEFAULT_AUTOSCALER_CONFIG } from '../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../core/config/defaults.js';
import type { FieldIssue } from '../core/errors.js';
import { parseManifestText, validateManifests } from './manifest.js';
import type { ValidationContext } from './validation/context.js';

const ctx: ValidationContext = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };
const FILE = 'fuzz.yaml';

const VALID = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  annotations:
    autoscaling.knative.dev/min-scale: "1"
spec:
  template:
    spec:
      containerConcurrency: 10
      timeoutSeconds: 30
      containers:
        - command: ["node", "server.js"]
          env:
            - name: TARGET
              value: "x"
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet:
              path: /
  traffic:
    - latestRevision: true
      percent: 100
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: t
spec:
  broker: default
  filter:
    attributes:
      type: x
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: hello}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: config-autoscaler
  namespace: knative-serving
data:
  stable-window: "60s"
`;

const KINDS: [string, string][] = [
  ['serving.knative.dev/v1', 'Service'], ['zeno.dev/v1', 'Function'], ['v1', 'ConfigMap'],
  ['eventing.knative.dev/v1', 'Broker'], ['eventing.knative.dev/v1', 'Trigger'],
  ['messaging.knative.dev/v1', 'Channel'], ['messaging.knative.dev/v1', 'Subscription'],
  ['flows.knative.dev/v1', 'Sequence'], ['flows.knative.dev/v1', 'Parallel'],
  ['sources.knative.dev/v1', 'PingSource'], ['sources.knative.dev/v1', 'ContainerSource'],
  ['sources.knative.dev/v1', 'SinkBinding'], ['sources.knative.dev/v1', 'ApiServerSource'],
];

/** Loads and validates as `zeno apply` does; returns every issue. Throws only on a bug. */
function loadAndValidate(text: string): FieldIssue[] {
  const { docs, issues } = parseManifestText(text, FILE, '/tmp');
  return [...issues, ...validateManifests(docs, ctx)];
}

function expectWellFormed(issues: FieldIssue[], text: string): void {
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const i of issues) {
    expect(i.file).toBe(FILE);
    expect(typeof i.path).toBe('string');
    expect(typeof i.message).toBe('string');
    expect(i.message.length).toBeGreaterThan(0);
    expect(Number.isInteger(i.line) && i.line! >= 1 && i.line! <= lines + 1, `line ${i.line} of ${lines}`).toBe(true);
    expect(Number.isInteger(i.column) && i.column! >= 1).toBe(true);
  }
}

/** A value of any JSON-ish shape, with the odd types YAML can produce. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, true, -1, 0, 1e308, -2147483649, 2147483648, '', ' ', '0', 'NaN', '__proto__', '../etc/passwd', '\u0000', '%2e%2e'),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
);

/** Paths into a manifest where an odd value is planted. */
const FIELD_PATHS = [
  [], ['metadata'], ['metadata', 'name'], ['metadata', 'namespace'], ['metadata', 'labels'], ['metadata', 'annotations'],
  ['spec'], ['spec', 'template'], ['spec', 'template', 'metadata'], ['spec', 'template', 'spec'],
  ['spec', 'template', 'spec', 'containers'], ['spec', 'template', 'spec', 'containers', 0],
  ['spec', 'template', 'spec', 'containers', 0, 'env'], ['spec', 'template', 'spec', 'containers', 0, 'ports'],
  ['spec', 'template', 'spec', 'containers', 0, 'readinessProbe'], ['spec', 'template', 'spec', 'containers', 0, 'resources'],
  ['spec', 'template', 'spec', 'timeoutSeconds'], ['spec', 'traffic'], ['spec', 'traffic', 0],
  ['spec', 'broker'], ['spec', 'filter'], ['spec', 'filters'], ['spec', 'subscriber'], ['spec', 'subscriber', 'ref'], ['spec', 'sink'],
  ['spec', 'delivery'], ['spec', 'schedule'], ['spec', 'steps'], ['spec', 'branches'], ['spec', 'subject'], ['spec', 'channel'],
  ['spec', 'handler'], ['spec', 'scale'], ['spec', 'env'], ['data'], ['data', 'stable-window'], ['data', 'container-concurrency-target-default'],
] as const;

function plant(base: Record<string, unknown>, path: readonly (string | number)[], value: unknown): Record<string, unknown> {
  if (path.length === 0) return (value !== null && typeof value === 'object' && !Array.isArray(value) ? value : { v: value }) as Record<string, unknown>;
  const root = structuredClone(base);
  let node: Record<string | number, unknown> = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = node[k];
    if (next === null || typeof next !== 'object') node[k] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[k] as Record<string | number, unknown>;
  }
  node[path.at(-1)!] = value;
  return root;
}

const manifestWithOddField = fc.record({
  kind: fc.constantFrom(...KINDS),
  path: fc.constantFrom(...FIELD_PATHS),
  value: anyValue,
}).map(({ kind, path, value }) => {
  const base = { apiVersion: kind[0], kind: kind[1], metadata: { name: 'x', namespace: 'default' }, spec: { template: { spec: { containers: [{ command: ['node'] }] } } } };
  return stringify(plant(base, path, value));
});

describe('YAML loader and validation under fuzzing', { timeout: 60_000 }, () => {
  it('arbitrary text: documents or well-formed issues, never a throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (text) => {
        expectWellFormed(loadAndValidate(text), text);
      }),
      { numRuns: 400 },
    );
  }, 30_000);

  it('a valid manifest with random edits (inserted, deleted or replaced characters)', () => {
    const edit = fc.record({
      at: fc.nat({ max: VALID.length }),
      del: fc.nat({ max: 8 }),
      ins: fc.string({ maxLength: 6, unit: fc.constantFrom(...': -[]{}"\'\n\t#&*!|>%@`,?0aZ\u0000\u00e9'.split('')) }),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let text = VALID;
        for (const e of edits) text = text.slice(0, Math.min(e.at, text.length)) + e.ins + text.slice(Math.min(e.at, text.length) + e.del);
        expectWellFormed(loadAndValidate(text), text);
      }),
      { numRuns: 300 },
    );
  }, 30_000);

  it('every kind with a field of the wrong shape: issues that point at a line, never a throw', () => {
    fc.assert(
      fc.property(manifestWithOddField, (text) => {
        expectWellFormed(loadAndValidate(text), text);
      }),
      { numRuns: 500 },
    );
  }, 30_000);

  it('YAML structure generated from arbitrary values round-trips into validation', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 5 }), { maxLength: 3 }), (values) => {
        const text = values.map((v) => stringify(v)).join('---\n');
        expectWellFormed(loadAndValidate(text), text);
      }),
      { numRuns: 300 },
    );
  }, 30_000);

  it.each([
    ['alias bomb (billion laughs)', `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n`],
    ['deep flow nesting', `${'['.repeat(5_000)}${']'.repeat(5_000)}\n`],
    ['deep block nesting', Array.from({ length: 2_000 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')],
    ['unterminated quote', 'apiVersion: "v1\nkind: ConfigMap\n'],
    ['tabs for indentation', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: x\n'],
    ['unknown tag', 'apiVersion: !!js/function "function(){}"\nkind: ConfigMap\n'],
    ['binary tag', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: !!binary aGVsbG8=\n'],
    ['merge keys', 'base: &b {name: x}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  <<: *b\n'],
    ['duplicate keys', 'apiVersion: v1\napiVersion: v2\nkind: ConfigMap\n'],
    ['a huge key', `${'k'.repeat(200_000)}: v\n`],
    ['NUL bytes', 'apiVersion: v1\u0000\nkind: ConfigMap\n'],
    ['BOM and CRLF', '\uFEFFapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: x\r\n'],
    ['only document markers', '---\n---\n...\n---\n'],
    ['a scalar document', '42\n'],
    ['a list document', '- a\n- b\n'],
  ])('%s: answered within a second', (_label, text) => {
    const t0 = performance.now();
    const issues = loadAndValidate(text);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expectWellFormed(issues, text);
  });

  it('__proto__ keys do not pollute Object.prototype', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  __proto__: {polluted: yes}\n__proto__:\n  polluted: yes\ndata: {constructor: {prototype: {polluted: yes}}}\n';
    loadAndValidate(text);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
