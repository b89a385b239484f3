import { describe, expect, it } from 'vitest';
import type { PodTemplate } from '../runtime.js';
import { buildPodEnv, pickBaseEnv } from './pod-env.js';

const template: PodTemplate = {
  id: 'default/hello-00001',
  namespace: 'default',
  service: 'hello',
  configuration: 'hello',
  revision: 'hello-00001',
  command: ['node', 'server.js'],
  args: [],
  workingDir: '/srv/hello',
  env: { TARGET: 'Zeno', PORT: '1', K_SERVICE: 'spoofed', PATH: '/custom/bin' },
  containerPort: 8080,
  timeoutSeconds: 300,
};

describe('pickBaseEnv', () => {
  it('keeps only the allow-listed basics', () => {
    const got = pickBaseEnv({ PATH: '/usr/bin', HOME: '/home/u', LANG: 'C.UTF-8', ZENO_SECRET: 's3cret', AWS_SECRET_ACCESS_KEY: 'x', NODE_OPTIONS: '--inspect' });
    expect(got).toEqual({ PATH: '/usr/bin', HOME: '/home/u', LANG: 'C.UTF-8' });
  });
});

describe('buildPodEnv', () => {
  it.each([
    { label: 'PORT is the picked port, not the container env', input: 'PORT', want: '41000' },
    { label: 'K_SERVICE is reserved', input: 'K_SERVICE', want: 'hello' },
    { label: 'K_CONFIGURATION', input: 'K_CONFIGURATION', want: 'hello' },
    { label: 'K_REVISION', input: 'K_REVISION', want: 'hello-00001' },
    { label: 'container env is passed', input: 'TARGET', want: 'Zeno' },
    { label: 'container env overrides the base', input: 'PATH', want: '/custom/bin' },
    { label: 'base is inherited', input: 'HOME', want: '/home/u' },
  ])('$label', ({ input, want }) => {
    const env = buildPodEnv({ PATH: '/usr/bin', HOME: '/home/u' }, template, 41000);
    expect(env[input]).toBe(want);
  });
});
