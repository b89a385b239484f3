import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_TABLE, ZenoError, errorBody, formatIssue } from './errors.js';

describe('error table', () => {
  const doc = fs.readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(ZENO_ERR_[A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1]!, Number(m[2])]));

  it('every code is documented in docs/errors.md with its status', () => {
    for (const [code, { status }] of Object.entries(ERROR_TABLE)) expect([code, documented.get(code)]).toEqual([code, status]);
  });
  it('docs/errors.md lists no code that does not exist', () => {
    for (const code of documented.keys()) expect(Object.keys(ERROR_TABLE)).toContain(code);
  });
  it('error bodies have the fastify shape', () => {
    const e = new ZenoError('ZENO_ERR_QUEUE_FULL', 'full', { retryAfter: 2 });
    expect(errorBody(e)).toEqual({ statusCode: 503, code: 'ZENO_ERR_QUEUE_FULL', error: 'Service Unavailable', message: 'full' });
    expect(e.retryAfter).toBe(2);
  });
  it('issues print as file:line:col: path: message', () => {
    expect(formatIssue({ file: 'a.yaml', line: 3, column: 5, path: 'spec.x', message: 'bad' })).toBe('a.yaml:3:5: spec.x: bad');
    expect(formatIssue({ path: 'spec.x', message: 'bad' })).toBe('spec.x: bad');
  });
});
