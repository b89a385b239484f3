import { describe, expect, it } from 'vitest';
import { connectionError } from './client.js';

describe('connectionError: what a failed call to the platform tells the user', () => {
  const fetchFailed = (code?: string) => Object.assign(new TypeError('fetch failed'), code ? { cause: Object.assign(new Error(code), { code }) } : {});
  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', undefined])('%s: not running, start it', (code) => {
    const e = connectionError('http://127.0.0.1:8081', '/d', fetchFailed(code));
    expect(e.code).toBe('ZENO_ERR_PLATFORM_UNREACHABLE');
    expect(e.message).toBe('cannot reach Zeno at http://127.0.0.1:8081 (from /d): it is not running; start it with "zeno up", or point --data-dir (or ZENO_DATA_DIR) at the data dir of the running one');
  });
  it.each(['UND_ERR_SOCKET', 'ECONNRESET', 'UND_ERR_HEADERS_TIMEOUT'])('%s: the connection broke, never "not running"', (code) => {
    const e = connectionError('http://127.0.0.1:8081', '/d', fetchFailed(code));
    expect(e.code).toBe('ZENO_ERR_PLATFORM_UNREACHABLE');
    expect(e.message).toContain(`closed the connection before answering (${code})`);
    expect(e.message).not.toContain('not running');
  });
});
