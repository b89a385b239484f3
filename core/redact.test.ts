import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretName, redactQuery, redactSecrets, restoreRedacted } from './redact.js';

describe('isSecretName', () => {
  it.each([
    ['API_TOKEN', true], ['token', true], ['GITHUB_TOKEN', true], ['DB_PASSWORD', true], ['db_passwd', true], ['client_secret', true],
    ['AWS_SECRET_ACCESS_KEY', true], ['STRIPE_API_KEY', true], ['apikey', true], ['PRIVATE_KEY', true], ['GOOGLE_CREDENTIALS', true],
    ['GREETING', false], ['PORT', false], ['KEYBOARD', false], ['K_SERVICE', false], ['MONKEY', false],
  ])('%s → %s', (name, want) => expect(isSecretName(name)).toBe(want));
});

describe('redactSecrets', () => {
  it('replaces secret values in env lists and env maps at any depth, keeps the rest and the input', () => {
    const input = {
      items: [{ spec: { template: { spec: { containers: [{ env: [{ name: 'A_TOKEN', value: 's1' }, { name: 'MODE', value: 'm' }, { name: 'X_SECRET', valueFrom: { secretKeyRef: { name: 'k', key: 'v' } } }] }] } } } }],
      fn: { spec: { env: { DB_PASSWORD: 's2', LEVEL: 'debug' } } },
      data: { env: 'not-a-list', token: 'configmap data is not env' },
    };
    const copy = structuredClone(input);
    expect(redactSecrets(input)).toEqual({
      items: [{ spec: { template: { spec: { containers: [{ env: [{ name: 'A_TOKEN', value: REDACTED }, { name: 'MODE', value: 'm' }, { name: 'X_SECRET', valueFrom: { secretKeyRef: { name: 'k', key: 'v' } } }] }] } } } }],
      fn: { spec: { env: { DB_PASSWORD: REDACTED, LEVEL: 'debug' } } },
      data: { env: 'not-a-list', token: 'configmap data is not env' },
    });
    expect(input).toEqual(copy);
  });
  it.each([null, 1, 'x', [], [1, [2]], { a: null }])('leaves %j alone', (v) => expect(redactSecrets(v)).toEqual(v));
});

describe('restoreRedacted', () => {
  it('puts stored values back and reports placeholders with nothing stored', () => {
    const prev = { spec: { template: { spec: { containers: [{ env: [{ name: 'A_TOKEN', value: 'real' }] }] } } } };
    const next = { spec: { template: { spec: { containers: [{ env: [{ name: 'A_TOKEN', value: REDACTED }, { name: 'B_TOKEN', value: REDACTED }, { name: 'C', value: 'c' }] }] } } } };
    expect(restoreRedacted(next, prev)).toEqual(['B_TOKEN']);
    expect(next.spec.template.spec.containers[0]!.env[0]).toEqual({ name: 'A_TOKEN', value: 'real' });
    const fn = { spec: { env: { S_SECRET: REDACTED } } };
    expect(restoreRedacted(fn, { spec: { env: { S_SECRET: 'kept' } } })).toEqual([]);
    expect(fn.spec.env.S_SECRET).toBe('kept');
    expect(restoreRedacted({ spec: {} }, undefined)).toEqual([]);
  });
});

describe('redactQuery', () => {
  it.each([
    ['/x', '/x'],
    ['/x?a=1&token=abc&b=2', `/x?a=1&token=${REDACTED}&b=2`],
    ['/x?api_key=1&API%5FKEY=2&flag', `/x?api_key=${REDACTED}&API%5FKEY=${REDACTED}&flag`],
    ['/x?%E0%A4%A=1', '/x?%E0%A4%A=1'],
  ])('%s', (path, want) => expect(redactQuery(path)).toBe(want));
});
