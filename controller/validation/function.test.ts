import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG, parseDefaultsConfigMap } from '../../core/config/defaults.js';
import type { ValidationContext } from './context.js';
import { validateFunction, validateFunctionFiles } from './function.js';
import { validateObject } from './index.js';

const ctx: ValidationContext = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The issue's example Function, valid as written. */
function base(): Obj {
  return {
    apiVersion: 'zeno.dev/v1',
    kind: 'Function',
    metadata: { name: 'hello', namespace: 'default', labels: { team: 'a' }, annotations: { 'autoscaling.knative.dev/min-scale': '0' } },
    spec: { handler: './hello.ts', env: { GREETING: 'hi' }, containerConcurrency: 0, timeoutSeconds: 300 },
  };
}

function withChange(change: (o: Obj) => void): Obj {
  const o = base();
  change(o);
  return o;
}

describe('validateFunction', () => {
  const cases: { label: string; input: Obj; want: string[]; message?: RegExp }[] = [
    { label: 'the issue example', input: base(), want: [] },
    { label: 'command form', input: withChange((o) => { delete o.spec.handler; o.spec.command = ['python3', 'app.py']; }), want: [] },
    { label: '.mjs and .js handlers', input: withChange((o) => { o.spec.handler = 'src/h.mjs'; }), want: [] },
    { label: 'minimal', input: { apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'a' }, spec: { handler: 'a.js' } }, want: [] },
    { label: 'both handler and command', input: withChange((o) => { o.spec.command = ['python3', 'app.py']; }), want: ['spec.command'], message: /exactly one, got both/ },
    { label: 'neither handler nor command', input: withChange((o) => { delete o.spec.handler; }), want: ['spec'], message: /got neither/ },
    { label: 'no spec', input: withChange((o) => { delete o.spec; }), want: ['spec'] },
    { label: 'handler with another extension', input: withChange((o) => { o.spec.handler = './app.py'; }), want: ['spec.handler'], message: /\.js, \.mjs, \.ts/ },
    { label: 'handler not a string', input: withChange((o) => { o.spec.handler = 3; }), want: ['spec.handler'] },
    { label: 'empty handler', input: withChange((o) => { o.spec.handler = ' '; }), want: ['spec.handler'] },
    { label: 'command not a list', input: withChange((o) => { delete o.spec.handler; o.spec.command = 'python3 app.py'; }), want: ['spec.command'] },
    { label: 'empty command', input: withChange((o) => { delete o.spec.handler; o.spec.command = []; }), want: ['spec.command'] },
    { label: 'command with a number', input: withChange((o) => { delete o.spec.handler; o.spec.command = ['sleep', 3]; }), want: ['spec.command[1]'] },
    { label: 'unknown spec field', input: withChange((o) => { o.spec.hander = 'x.js'; }), want: ['spec.hander'], message: /unknown field/ },
    { label: 'unknown top field', input: withChange((o) => { o.specs = {}; }), want: ['specs'] },
    { label: 'name not DNS-1035', input: withChange((o) => { o.metadata.name = '1hello'; }), want: ['metadata.name'], message: /DNS 1035/ },
    { label: 'missing name', input: withChange((o) => { delete o.metadata.name; }), want: ['metadata.name'] },
    { label: 'bad namespace', input: withChange((o) => { o.metadata.namespace = 'Team_A'; }), want: ['metadata.namespace'] },
    { label: 'platform label', input: withChange((o) => { o.metadata.labels['zeno.dev/function'] = 'x'; }), want: ['metadata.labels["zeno.dev/function"]'] },
    { label: 'serving label', input: withChange((o) => { o.metadata.labels['serving.knative.dev/service'] = 'x'; }), want: ['metadata.labels["serving.knative.dev/service"]'] },
    {
      label: 'autoscaling annotation out of range',
      input: withChange((o) => { o.metadata.annotations['autoscaling.knative.dev/min-scale'] = '-1'; }),
      want: ['metadata.annotations["autoscaling.knative.dev/min-scale"]'],
    },
    {
      label: 'min-scale above max-scale',
      input: withChange((o) => { o.metadata.annotations = { 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '2' }; }),
      want: ['metadata.annotations["autoscaling.knative.dev/max-scale"]'],
    },
    { label: 'annotation not a string', input: withChange((o) => { o.metadata.annotations['autoscaling.knative.dev/min-scale'] = 1; }), want: ['metadata.annotations["autoscaling.knative.dev/min-scale"]'] },
    { label: 'containerConcurrency above the limit', input: withChange((o) => { o.spec.containerConcurrency = 1001; }), want: ['spec.containerConcurrency'], message: /expected 0 <= 1001 <= 1000/ },
    { label: 'negative containerConcurrency', input: withChange((o) => { o.spec.containerConcurrency = -1; }), want: ['spec.containerConcurrency'] },
    { label: 'containerConcurrency not an integer', input: withChange((o) => { o.spec.containerConcurrency = '10'; }), want: ['spec.containerConcurrency'] },
    { label: 'timeoutSeconds above max-revision-timeout-seconds', input: withChange((o) => { o.spec.timeoutSeconds = 601; }), want: ['spec.timeoutSeconds'], message: /expected 0 <= 601 <= 600/ },
    { label: 'timeoutSeconds 0 means the default', input: withChange((o) => { o.spec.timeoutSeconds = 0; }), want: [] },
    { label: 'negative timeoutSeconds', input: withChange((o) => { o.spec.timeoutSeconds = -5; }), want: ['spec.timeoutSeconds'] },
    { label: 'env as a list', input: withChange((o) => { o.spec.env = [{ name: 'A', value: 'b' }]; }), want: ['spec.env'] },
    { label: 'env name not a C identifier', input: withChange((o) => { o.spec.env = { 'MY-VAR': 'x' }; }), want: ['spec.env["MY-VAR"]'], message: /C identifier/ },
    { label: 'reserved env name', input: withChange((o) => { o.spec.env = { PORT: '9000' }; }), want: ['spec.env["PORT"]'], message: /reserved/ },
    { label: 'env value not a string', input: withChange((o) => { o.spec.env = { N: 3 }; }), want: ['spec.env["N"]'], message: /quote it/ },
    { label: 'wrong apiVersion', input: withChange((o) => { o.apiVersion = 'zeno.dev/v2'; }), want: ['apiVersion'] },
  ];
  it.each(cases)('$label', ({ input, want, message }) => {
    const issues = validateFunction(input, ctx);
    expect(issues.map((i) => i.path)).toEqual(want);
    if (message) expect(issues[0]?.message).toMatch(message);
  });

  it('takes limits from config-defaults', () => {
    const { config: defaults } = parseDefaultsConfigMap({ 'max-revision-timeout-seconds': '60', 'revision-timeout-seconds': '30', 'allow-container-concurrency-zero': 'false' });
    const issues = validateFunction(base(), { ...ctx, defaults });
    expect(issues.map((i) => i.path)).toEqual(['spec.containerConcurrency', 'spec.timeoutSeconds']);
  });

  it('refuses Functions for the Kubernetes runtime', () => {
    expect(validateFunction(base(), { ...ctx, runtime: 'kubernetes' }).map((i) => i.path)).toEqual(['spec']);
  });

  it('is registered with validateObject', () => {
    expect(validateObject(base(), ctx)).toEqual([]);
    expect(validateObject(withChange((o) => { o.spec.env = { PORT: '1' }; }), ctx).map((i) => i.path)).toEqual(['spec.env["PORT"]']);
  });
});

describe('validateFunctionFiles', () => {
  const files = new Set(['/srv/fn/hello.ts', '/srv/lib/shared.mjs']);
  const isFile = (p: string) => files.has(p);
  const cases: { label: string; input: Obj; baseDir: string; want: string[] }[] = [
    { label: 'relative handler that exists', input: base(), baseDir: '/srv/fn', want: [] },
    { label: 'relative handler elsewhere', input: withChange((o) => { o.spec.handler = '../lib/shared.mjs'; }), baseDir: '/srv/fn', want: [] },
    { label: 'absolute handler', input: withChange((o) => { o.spec.handler = '/srv/fn/hello.ts'; }), baseDir: '/other', want: [] },
    { label: 'missing handler', input: base(), baseDir: '/srv/other', want: ['spec.handler'] },
    { label: 'command form is not checked', input: withChange((o) => { delete o.spec.handler; o.spec.command = ['python3', 'nope.py']; }), baseDir: '/x', want: [] },
    { label: 'other kinds are ignored', input: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'a' }, spec: { handler: 'x.js' } }, baseDir: '/x', want: [] },
  ];
  it.each(cases)('$label', ({ input, baseDir, want }) => {
    const issues = validateFunctionFiles(input, baseDir, isFile);
    expect(issues.map((i) => i.path)).toEqual(want);
    if (want.length) expect(issues[0]!.message).toContain(path.resolve(baseDir, input.spec.handler));
  });
});
