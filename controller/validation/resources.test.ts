import { describe, expect, it } from 'vitest';
import { DEFAULT_AUTOSCALER_CONFIG } from '../../core/config/autoscaler.js';
import { DEFAULT_DEFAULTS_CONFIG } from '../../core/config/defaults.js';
import { validateService } from './service.js';
import { validateFunction } from './function.js';
import { functionToService } from '../function-kind.js';

const ctx = { defaults: DEFAULT_DEFAULTS_CONFIG, autoscaler: DEFAULT_AUTOSCALER_CONFIG };
const svc = (resources: unknown) => ({
  apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'm' },
  spec: { template: { spec: { containers: [{ command: ['node'], resources }] } } },
});
const P = 'spec.template.spec.containers[0].resources';

describe('container resources', () => {
  it.each([
    [{ limits: { memory: '128Mi' } }],
    [{ limits: { memory: '1Gi', cpu: '500m' }, requests: { memory: '64Mi', cpu: 0.25 } }],
    [{ requests: { memory: '128974848' } }],
    [{}],
    [undefined],
  ])('%j is valid', (r) => expect(validateService(svc(r), ctx)).toEqual([]));

  it.each([
    [{ limits: { memory: '128MB' } }, `${P}.limits.memory`, 'is not a quantity'],
    [{ limits: { memory: true } }, `${P}.limits.memory`, 'is not a quantity'],
    [{ limits: { memory: '-1Mi' } }, `${P}.limits.memory`, 'greater than or equal to 0'],
    [{ limits: 'lots' }, `${P}.limits`, 'must map resource names'],
    [{ limits: { memory: '64Mi' }, requests: { memory: '128Mi' } }, `${P}.requests.memory`, 'less than or equal to memory limit'],
    [{ limit: { memory: '64Mi' } }, `${P}.limit`, ''],
    ['64Mi', P, 'must be a mapping'],
  ])('%j: an issue at %s', (r, path, msg) => {
    const issues = validateService(svc(r), ctx);
    expect(issues.map((i) => i.path)).toContain(path);
    expect(issues.find((i) => i.path === path)!.message).toContain(msg);
  });
});

describe('a Function\'s resources', () => {
  const fn = (resources: unknown) => ({ apiVersion: 'zeno.dev/v1', kind: 'Function', metadata: { name: 'f' }, spec: { command: ['node', 'x.js'], resources } });
  it('are validated as a container\'s', () => {
    expect(validateFunction(fn({ limits: { memory: '128Mi' } }), ctx)).toEqual([]);
    expect(validateFunction(fn({ limits: { memory: 'lots' } }), ctx).map((i) => i.path)).toEqual(['spec.resources.limits.memory']);
  });
  it('reach the generated Service\'s container', () => {
    const svc = functionToService(fn({ limits: { memory: '128Mi' } }) as never, { baseDir: '/srv', runtimeEntry: '/zeno/main.js' });
    expect(svc.spec?.template.spec.containers[0]!.resources).toEqual({ limits: { memory: '128Mi' } });
  });
});
