import { describe, expect, it } from 'vitest';
import { ASYNC_ANNOTATIONS as A, DEFAULT_ASYNC_SETTINGS, resolveAsyncSettings, validateAsyncAnnotations } from './async.js';

describe('resolveAsyncSettings', () => {
  it('gives the defaults without annotations', () => {
    expect(resolveAsyncSettings(undefined)).toEqual({ settings: { ...DEFAULT_ASYNC_SETTINGS }, issues: [] });
    expect(DEFAULT_ASYNC_SETTINGS).toMatchObject({ attempts: 10, minWaitMs: 1_000, maxWaitMs: 120_000, maxInFlight: 10 });
    expect([...DEFAULT_ASYNC_SETTINGS.retryCodes]).toEqual([408, 429, 500, 502, 503, 504]);
  });

  it('reads every annotation', () => {
    const { settings, issues } = resolveAsyncSettings({
      [A.attempts]: '3', [A.codes]: '429, 503', [A.minWait]: '250ms', [A.maxWait]: '1m', [A.maxInFlight]: '2', [A.lease]: '45s',
    });
    expect(issues).toEqual([]);
    expect(settings).toEqual({ attempts: 3, retryCodes: new Set([429, 503]), minWaitMs: 250, maxWaitMs: 60_000, maxInFlight: 2, leaseMs: 45_000 });
  });

  const bad: { label: string; annotations: Record<string, string>; key: string }[] = [
    { label: 'attempts 0', annotations: { [A.attempts]: '0' }, key: A.attempts },
    { label: 'attempts not a number', annotations: { [A.attempts]: 'many' }, key: A.attempts },
    { label: 'attempts fractional', annotations: { [A.attempts]: '2.5' }, key: A.attempts },
    { label: 'attempts above 100', annotations: { [A.attempts]: '101' }, key: A.attempts },
    { label: 'in-flight 0', annotations: { [A.maxInFlight]: '0' }, key: A.maxInFlight },
    { label: 'lease below 1s', annotations: { [A.lease]: '500ms' }, key: A.lease },
    { label: 'lease not a duration', annotations: { [A.lease]: 'soon' }, key: A.lease },
    { label: 'a code that is not a status', annotations: { [A.codes]: '429,abc' }, key: A.codes },
    { label: 'a code out of range', annotations: { [A.codes]: '999' }, key: A.codes },
    { label: 'a wait that is not a duration', annotations: { [A.minWait]: 'soon' }, key: A.minWait },
    { label: 'a negative wait', annotations: { [A.maxWait]: '-1s' }, key: A.maxWait },
    { label: 'a wait over an hour', annotations: { [A.maxWait]: '2h' }, key: A.maxWait },
    { label: 'max below min', annotations: { [A.minWait]: '10s', [A.maxWait]: '1s' }, key: A.maxWait },
    { label: 'min above the default max', annotations: { [A.minWait]: '5m' }, key: A.minWait },
  ];
  it.each(bad)('refuses $label, naming the annotation, and keeps a usable setting', ({ annotations, key }) => {
    const { settings, issues } = resolveAsyncSettings(annotations, 'metadata.annotations');
    expect(issues.map((i) => i.path)).toEqual([`metadata.annotations["${key}"]`]);
    expect(settings.maxWaitMs).toBeGreaterThanOrEqual(settings.minWaitMs);
    expect(settings.attempts).toBeGreaterThanOrEqual(1);
  });

  it('validateAsyncAnnotations ignores other annotations', () => {
    expect(validateAsyncAnnotations({ 'autoscaling.knative.dev/min-scale': '1', owner: 'me' }, 'x')).toEqual([]);
  });
});
