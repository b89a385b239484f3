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

describe('buildPodEnv with a memory limit', () => {
  const limited: PodTemplate = { ...template, command: ['node', 'server.js'], env: {}, memoryLimitBytes: 128 * 2 ** 20 };
  it('caps the V8 heap of a Node command at 75% of the limit', () => {
    expect(buildPodEnv({}, limited, 1).NODE_OPTIONS).toBe('--max-old-space-size=96');
  });
  it('keeps NODE_OPTIONS the container sets, adding the cap', () => {
    expect(buildPodEnv({}, { ...limited, env: { NODE_OPTIONS: '--enable-source-maps' } }, 1).NODE_OPTIONS).toBe('--enable-source-maps --max-old-space-size=96');
  });
  it('leaves other commands and unlimited pods alone', () => {
    expect(buildPodEnv({}, { ...limited, command: ['python3', 'app.py'] }, 1).NODE_OPTIONS).toBeUndefined();
    expect(buildPodEnv({}, { ...limited, memoryLimitBytes: undefined }, 1).NODE_OPTIONS).toBeUndefined();
  });
  it('never passes the platform\'s own environment', () => {
    const env = buildPodEnv(pickBaseEnv({ PATH: '/bin', ZENO_ADMIN_TOKEN: 't', NODE_OPTIONS: '--inspect=0.0.0.0', AWS_SECRET_ACCESS_KEY: 'k' }), limited, 1);
    expect(env.ZENO_ADMIN_TOKEN).toBeUndefined();
    expect(env.AWS_SECRET_ACCESS_KEY).toBeUndefined();
    expect(env.NODE_OPTIONS).toBe('--max-old-space-size=96');
  });
});
