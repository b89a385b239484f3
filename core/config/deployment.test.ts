import { describe, expect, it } from 'vitest';
import { PLATFORM_DEFAULTS } from './platform.js';
import { PROGRESS_DEADLINE_ANNOTATION as A, progressDeadlineMs, validateDeploymentAnnotations } from './deployment.js';

describe('serving.knative.dev/progress-deadline', () => {
  it.each([
    [undefined, PLATFORM_DEFAULTS.progressDeadlineMs],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1500ms', 1_500],
    ['45', 45_000],
  ])('%s → %d ms', (value, ms) => {
    expect(progressDeadlineMs(value === undefined ? {} : { [A]: value })).toBe(ms);
    expect(validateDeploymentAnnotations(value === undefined ? {} : { [A]: value }, 'm')).toEqual([]);
  });

  it.each(['0s', '-5s', 'soon', '', '0.1ms'])('refuses %j and falls back to the default', (value) => {
    const issues = validateDeploymentAnnotations({ [A]: value }, 'spec.template.metadata.annotations');
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe(`spec.template.metadata.annotations["${A}"]`);
    expect(progressDeadlineMs({ [A]: value })).toBe(PLATFORM_DEFAULTS.progressDeadlineMs);
  });
});
