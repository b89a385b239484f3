import { describe, expect, it } from 'vitest';
import { DEFAULT_DEFAULTS_CONFIG, parseDefaultsConfigMap, renderContainerName } from './defaults.js';
import type { DefaultsConfig } from './defaults.js';

describe('parseDefaultsConfigMap', () => {
  it('gives Knative defaults for an empty ConfigMap', () => {
    const { config, issues } = parseDefaultsConfigMap({});
    expect(issues).toEqual([]);
    expect(config).toEqual(DEFAULT_DEFAULTS_CONFIG);
    expect(config).toMatchObject({
      revisionTimeoutSeconds: 300,
      maxRevisionTimeoutSeconds: 600,
      revisionResponseStartTimeoutSeconds: 300,
      revisionIdleTimeoutSeconds: 0,
      containerNameTemplate: 'user-container',
      containerConcurrency: 0,
      containerConcurrencyMaxLimit: 1000,
      allowContainerConcurrencyZero: true,
    });
  });

  const ok: { label: string; input: Record<string, string>; want: Partial<DefaultsConfig> }[] = [
    { label: 'timeouts', input: { 'revision-timeout-seconds': '120', 'max-revision-timeout-seconds': '900' }, want: { revisionTimeoutSeconds: 120, maxRevisionTimeoutSeconds: 900 } },
    { label: 'response start follows the revision timeout', input: { 'revision-timeout-seconds': '120' }, want: { revisionResponseStartTimeoutSeconds: 120 } },
    { label: 'explicit response start', input: { 'revision-response-start-timeout-seconds': '10' }, want: { revisionResponseStartTimeoutSeconds: 10 } },
    { label: 'idle timeout', input: { 'revision-idle-timeout-seconds': '30' }, want: { revisionIdleTimeoutSeconds: 30 } },
    { label: 'concurrency', input: { 'container-concurrency': '10', 'container-concurrency-max-limit': '50' }, want: { containerConcurrency: 10, containerConcurrencyMaxLimit: 50 } },
    { label: 'allow zero false', input: { 'allow-container-concurrency-zero': 'false' }, want: { allowContainerConcurrencyZero: false } },
    { label: 'service links true (any case)', input: { 'enable-service-links': 'True' }, want: { enableServiceLinks: true } },
    { label: 'service links default', input: { 'enable-service-links': 'default' }, want: { enableServiceLinks: undefined } },
    { label: 'name template', input: { 'container-name-template': '{{.Name}}-app' }, want: { containerNameTemplate: '{{.Name}}-app' } },
    { label: 'quantities', input: { 'revision-cpu-request': '400m', 'revision-memory-limit': '200Mi' }, want: { revisionCpuRequest: '400m', revisionMemoryLimit: '200Mi' } },
    { label: 'unknown keys and _example ignored', input: { 'some-future-key': 'x', _example: 'revision-timeout-seconds: "bad"' }, want: { revisionTimeoutSeconds: 300 } },
  ];
  it.each(ok)('$label', ({ input, want }) => {
    const { config, issues } = parseDefaultsConfigMap(input);
    expect(issues).toEqual([]);
    expect(config).toMatchObject(want);
  });

  const bad: { label: string; input: Record<string, string>; path: string; message: RegExp }[] = [
    { label: 'not an integer', input: { 'revision-timeout-seconds': '5m' }, path: 'data.revision-timeout-seconds', message: /integer/ },
    { label: 'timeout above max', input: { 'revision-timeout-seconds': '700' }, path: 'data.revision-timeout-seconds', message: /cannot be greater than max-revision-timeout-seconds \(600\)/ },
    { label: 'response start above timeout', input: { 'revision-response-start-timeout-seconds': '301' }, path: 'data.revision-response-start-timeout-seconds', message: /cannot be greater than revision-timeout-seconds/ },
    { label: 'idle above timeout', input: { 'revision-idle-timeout-seconds': '400' }, path: 'data.revision-idle-timeout-seconds', message: /cannot be greater/ },
    { label: 'max limit below 1', input: { 'container-concurrency-max-limit': '0' }, path: 'data.container-concurrency-max-limit', message: /expected 1 <= 0/ },
    { label: 'concurrency above limit', input: { 'container-concurrency': '2000' }, path: 'data.container-concurrency', message: /expected 0 <= 2000 <= 1000/ },
    { label: 'negative concurrency', input: { 'container-concurrency': '-1' }, path: 'data.container-concurrency', message: /expected 0 <= -1/ },
    { label: 'bad bool', input: { 'allow-container-concurrency-zero': 'maybe' }, path: 'data.allow-container-concurrency-zero', message: /true or false/ },
    { label: 'bad quantity', input: { 'revision-memory-request': 'lots' }, path: 'data.revision-memory-request', message: /quantity/ },
    { label: 'unsupported template', input: { 'container-name-template': '{{.Labels.app}}' }, path: 'data.container-name-template', message: /only \{\{\.Name\}\}/ },
  ];
  it.each(bad)('rejects $label', ({ input, path, message }) => {
    const { issues } = parseDefaultsConfigMap(input);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe(path);
    expect(issues[0]!.message).toMatch(message);
  });
});

describe('renderContainerName', () => {
  it.each([
    { label: 'literal', input: 'user-container', want: 'user-container' },
    { label: 'name', input: '{{.Name}}-c', want: 'hello-c' },
    { label: 'spaced and namespace', input: '{{ .Namespace }}-{{ .Name }}', want: 'ns-hello' },
  ])('$label', ({ input, want }) => {
    expect(renderContainerName(input, { name: 'hello', namespace: 'ns' })).toBe(want);
  });
});
