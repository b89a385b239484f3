import { describe, expect, it } from 'vitest';
import { DEFAULT_DOMAIN_CONFIG, parseDomainConfigMap } from './domain.js';

describe('parseDomainConfigMap', () => {
  it('defaults to localhost', () => {
    expect(DEFAULT_DOMAIN_CONFIG.domain).toBe('localhost');
    expect(parseDomainConfigMap(undefined)).toEqual({ config: { domain: 'localhost' }, issues: [] });
  });

  const ok: { label: string; input: Record<string, string>; want: string }[] = [
    { label: 'one empty value', input: { 'example.com': '' }, want: 'example.com' },
    { label: 'selector domains are not the default', input: { 'prod.example.com': 'selector:\n  app: prod\n', 'dev.local': '' }, want: 'dev.local' },
    { label: 'only selector domains: localhost stays', input: { 'prod.example.com': 'selector:\n  app: prod\n' }, want: 'localhost' },
    { label: 'several defaults: alphabetically first (Knative lookup)', input: { 'b.example': '', 'a.example': '' }, want: 'a.example' },
    { label: 'empty selector counts as default', input: { 'svc.example': 'selector: {}' }, want: 'svc.example' },
    { label: '_example ignored', input: { _example: 'anything', 'x.dev': '' }, want: 'x.dev' },
  ];
  it.each(ok)('$label', ({ input, want }) => {
    const { config, issues } = parseDomainConfigMap(input);
    expect(issues).toEqual([]);
    expect(config.domain).toBe(want);
  });

  const bad: { label: string; input: Record<string, unknown>; path: string; message: RegExp }[] = [
    { label: 'upper case', input: { 'Example.com': '' }, path: 'data.Example.com', message: /not a valid DNS name/ },
    { label: 'underscore', input: { 'my_domain.com': '' }, path: 'data.my_domain.com', message: /RFC 1123 subdomain/ },
    { label: 'label too long', input: { [`${'a'.repeat(64)}.com`]: '' }, path: `data.${'a'.repeat(64)}.com`, message: /63 characters/ },
    { label: 'bad selector yaml', input: { 'a.com': 'selector: [' }, path: 'data.a.com', message: /cannot parse/ },
    { label: 'selector not a map', input: { 'a.com': 'selector: prod' }, path: 'data.a.com', message: /selector/ },
    { label: 'unknown selector field', input: { 'a.com': 'matchLabels:\n  a: b' }, path: 'data.a.com', message: /unknown field "matchLabels"/ },
  ];
  it.each(bad)('rejects $label', ({ input, path, message }) => {
    const { issues } = parseDomainConfigMap(input);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe(path);
    expect(issues[0]!.message).toMatch(message);
  });
});
