import { describe, expect, it } from 'vitest';
import { manifestProblems } from '../../test/support/fake-kube/validate.js';
import type { PodTemplate } from '../runtime.js';
import { buildDeployment } from './manifests.js';

const t: PodTemplate = {
  id: 'shop/hog-00001', namespace: 'shop', service: 'hog', configuration: 'hog', revision: 'hog-00001', image: 'ghcr.io/example/hog:1',
  command: [], args: [], workingDir: '/x', env: {}, containerPort: 8080, timeoutSeconds: 30,
};

describe('container resources on Kubernetes', () => {
  it('carries limits and requests into the Deployment, valid against the Kubernetes schema', () => {
    const built = buildDeployment({ ...t, memoryLimitBytes: 128 * 2 ** 20, resources: { limits: { memory: '128Mi', cpu: '500m' }, requests: { memory: '64Mi' } } });
    expect(built.ok).toBe(true);
    if (!built.ok) return;
    expect(built.object.spec.template.spec.containers[0].resources).toEqual({ limits: { memory: '128Mi', cpu: '500m' }, requests: { memory: '64Mi' } });
    expect(manifestProblems(built.object)).toEqual([]);
  });
  it('sets none when the container has none', () => {
    const built = buildDeployment(t);
    expect(built.ok && built.object.spec.template.spec.containers[0].resources).toBeUndefined();
  });
});
